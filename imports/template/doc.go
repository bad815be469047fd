// Package template is the mapping language of imports and exports.
//
// A Template, written as a JSON document, maps one record of another system
// (a PlanningNow order, a Skyplanner order, a row of a Planyo CSV report) to
// zero, one or several entries in calgate's wire form, ready for
// calgate.ParseEntryFields (the validation calgate.ParseEntry gives JSON);
// an export template renders an entry in the shape another system expects.
// Tabular templates read the rows of package sheet's readers. The built-in
// templates (Builtin) are embedded documents of the same language. The
// imports package runs templates against the store.
//
// # Import templates
//
//	{
//	  "name": "planningnow-order", "kind": "production_window", "direction": "import",
//	  "for_each": ["positions", "tasks"],
//	  "skip_if_missing": ["start", "end"],
//	  "should_insert": true, "should_update": true,
//	  "timezone": "Europe/Berlin",
//	  "fields": {
//	    "external_id": {"path": "id"},
//	    "cost_centre": {"path": "cost_centre_name"},
//	    "order":       {"path": ["$.project_no", "$.id"]},
//	    "position":    {"path": "^.pos_no"},
//	    "start":       {"path": "production_start", "transform": [{"type": "date", "layout": "yyyy-MM-dd HH:mm:ss"}]},
//	    "source":      {"const": "planningnow"},
//	    "attributes.article": {"path": "^.article_number"}
//	  }
//	}
//
// for_each walks keys from the record: every element of an array (or an
// object) becomes the current record of one entry, so an order with
// positions with tasks gives one entry per task. Without for_each the
// record itself gives one entry; a list of records is mapped element by
// element.
//
// fields maps wire field names (external_id, source, title, description,
// location, start, end, all_day, timezone, status, the kind's resource field
// or "resource" for it, customer.name, customer.email, customer.phone,
// quantity, order, order_item, product, position, activity, attributes.NAME)
// to a mapping: "path" (a path or a list of paths, the first with a value
// wins), "const", "default" (used when nothing else gave a value) and
// "transform" (a list run in order). Paths are dot-separated keys with [n]
// indexes, relative to the current record; "^." reaches the parent record,
// "^^." the grandparent, "$." the root record. A value is missing when it
// is absent, null or blank.
//
// Transforms, written {"type": NAME, options…} or just "NAME":
//
//   - date: layout (yyyy MM dd HH mm ss SSS, M/d/yy h:mm a, 'quoted'
//     text, or a Go layout with 2006 or 15:04 in it), zone (IANA name;
//     defaults to the template's timezone), output (a layout; default
//     RFC 3339). Text is read with the
//     layout, or without one in the forms calgate.ParseTime accepts; numbers
//     are Excel date serials. A time read without a zone stays local
//     ("2025-09-20T08:00:00") and takes the entry's time zone; a date
//     without time stays a date, which makes an all-day entry.
//   - format: pattern with {path} placeholders ({} is the value itself,
//     {{ and }} are braces), or printf with one verb (%05d, %.2f, %s).
//   - join: paths and separator (default a space): the present values,
//     trimmed; without paths, the elements of a list value.
//   - lookup: table of value → replacement (exact, then ignoring case),
//     default for the rest; a value not in the table without a default is an
//     error.
//   - number: decimal_separator, thousands_separator, decimals (rounding;
//     0 gives a whole number).
//   - lower, upper, trim.
//
// skip_if_missing lists fields whose absence makes Map report the entry as
// Skipped rather than failed, as for a task not yet scheduled.
//
// "document" makes a template map documents sent whole (document.go): a
// record's entries replace what its document held before, and "archived"
// paths remove elements deleted in the other system.
// should_insert and should_update are passed on to the caller's upsert.
//
// # Tabular templates
//
// A template with "columns" (or "input": "table") reads CSV and Excel rows
// with MapRow. columns maps a header name, compared without case and
// surrounding spaces, to a wire field name or to {"field": …, "default": …,
// "transform": […]}; paths in fields and in transforms are column names.
// Columns no mapping reads go into attributes under their header. Errors
// name the line and column: `line 7, column "Start": start: …`.
//
// # Export templates
//
//	{"name": "planningpme-tasks", "kind": "job", "direction": "export",
//	 "fields": {"Label": {"path": "title"}, "StartDate": {"path": "start", "transform": [{"type": "date", "output": "yyyy-MM-dd'T'HH:mm:ss"}]}}}
//
// fields maps foreign names (dots build nested objects) to mappings over
// the entry's wire form (calgate.Entry.Wire).
package template
