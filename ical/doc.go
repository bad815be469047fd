// Package ical turns calgate entries into iCalendar (RFC 5545) documents and
// reads iCalendar documents back into entries.
//
// Rendering writes feeds that subscribing clients (Google Calendar, Outlook,
// Apple Calendar, Thunderbird) poll, and single-event objects for CalDAV
// (RFC 4791) and "add to calendar" links. The writer folds lines at 75
// octets without splitting UTF-8 sequences, ends them with CRLF, escapes
// TEXT values, and generates one VTIMEZONE per time zone used from Go's
// zone database, so that every client shows the same wall-clock times.
// Output is deterministic: the same entries give the same bytes, which
// makes rendered feeds usable for ETags.
package ical
