// Package caldavsync keeps CalDAV calendars (RFC 4791) in step with
// calgate's entries: it is the "caldav" destination, which records per
// target and entry the version wanted and pushes it with conditional
// requests (If-None-Match / If-Match, RFC 7232), and the reconciler, which
// compares what a calendar holds with what a target's filter selects and
// converges. The gateway is the source of truth for its own objects; it
// never touches objects it did not create.
package caldavsync
