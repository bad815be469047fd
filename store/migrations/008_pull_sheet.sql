-- The worksheet a pull reads from the Excel workbooks it fetches; empty for
-- the first sheet (and for CSV and JSON sources).

ALTER TABLE pull_imports ADD COLUMN sheet TEXT NOT NULL DEFAULT '';
