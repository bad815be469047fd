-- Availability reads the entries of a resource in a window from an index
-- ordered by start_at, bounded on both sides: an entry that overlaps
-- [from, to) starts before to and no earlier than from less the longest
-- entry the resource has ever carried. longest_entry keeps that length in
-- whole seconds, rounded up: every write raises it when it stores a longer
-- entry, nothing lowers it. NULL means not known (the read then scans
-- without the lower bound). See docs/availability.md.
ALTER TABLE resources ADD COLUMN longest_entry {{BIGINT}};

-- (workspace_id, resource, start_at) serves what the two indexes it
-- replaces served: every lookup of a resource's entries, and the
-- windowed busy read. end_at, status and archived_at come along so that
-- the availability read (resource, start_at, end_at, filtered on status
-- and archived_at) is answered from the index alone.
CREATE INDEX entries_workspace_resource_start ON entries (workspace_id, resource, start_at, end_at, status, archived_at);
DROP INDEX entries_workspace_resource_end;
DROP INDEX entries_workspace_resource;

UPDATE resources SET longest_entry = (SELECT COALESCE(MAX({{ENTRY_SECONDS}}), 0) FROM entries
    WHERE entries.workspace_id = resources.workspace_id AND entries.resource = resources.name);
