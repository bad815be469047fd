// Package sheet reads the rows of CSV files and Excel workbooks for
// tabular templates.
//
// CSVReader detects the encoding (UTF-8, with or without a byte order
// mark, else Windows-1252) and the delimiter (comma, semicolon or tab);
// XLSXReader streams one worksheet of an .xlsx workbook. Open picks one by
// the file's first bytes. Both read the first row as the header, and a row
// is looked up by column name without regard to case or surrounding spaces
// (Normalize, Row.Lookup).
package sheet
