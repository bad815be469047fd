// Package pull runs scheduled imports: a pull fetches a URL (CSV, Excel or
// JSON) or reads rows from a PostgreSQL or MySQL query on a cron schedule,
// imports what it got through a template (package imports), records each
// run with its report, and raises import.failed (and e-mails, when SMTP is
// configured) when a run fails.
package pull
