// Package imports runs imports and exports through templates (package
// imports/template) against the store.
//
// Service keeps a workspace's templates beside the built-in ones, imports
// JSON documents and CSV and Excel files (read by package imports/sheet) in
// chunks, so files of any size import in constant memory, replaces
// documents sent whole, serves exports, and runs scheduled pulls from other
// systems: of a URL, or of a PostgreSQL or MySQL/MariaDB query (sqlpull.go),
// with an e-mail to the pull's addresses when one fails (mail.go).
package imports
