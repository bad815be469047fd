-- Connectors, part 2. account_url is where the account's API lives when it
-- differs per account (Salesforce's instance URL, Mailchimp's data
-- centre). The index serves the claim of one connector's owed pushes in
-- batches (applications that write many records in one call).

ALTER TABLE connectors ADD COLUMN account_url TEXT NOT NULL DEFAULT '';

CREATE INDEX connector_links_connector_due ON connector_links (connector_id, next_attempt_at) WHERE wanted_version > pushed_version;
