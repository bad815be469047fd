// Package imports runs imports and exports through templates (package
// imports/template) against the store.
//
// Service keeps a workspace's templates beside the built-in ones, imports
// JSON documents and CSV and Excel files (read by package imports/sheet) in
// chunks, so files of any size import in constant memory, replaces
// documents sent whole, and serves exports. Scheduled pulls from other
// systems (a URL, or a PostgreSQL or MySQL/MariaDB query) are package
// imports/pull, which imports what it fetched through this one.
package imports
