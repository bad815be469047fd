-- Database pulls: a pull may read rows with a SQL query instead of
-- fetching a URL. database holds the engine, the sealed DSN, the query,
-- the cursor column, the timeout and the row limit; cursor is where an
-- incremental pull goes on from (the cursor column's last value).

ALTER TABLE pull_imports ADD COLUMN database_settings {{JSON}};

ALTER TABLE pull_imports ADD COLUMN pull_cursor {{JSON}};
