// Package imports turns foreign records into calendar entries and entries
// back into foreign records.
//
// A Template, written as a JSON document, maps one record of another system
// (a PlanningNow order, a Skyplanner order, a row of a Planyo CSV export) to
// zero, one or several entries in calgate's wire form, ready for
// calgate.ParseEntry; an export template renders an entry in the shape
// another system expects. CSVReader and XLSXReader stream the rows of
// spreadsheet files for templates with columns. The package does no I/O of
// its own beyond the readers it is handed.
package imports
