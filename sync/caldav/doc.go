// Package caldav pushes calgate entries to a remote CalDAV calendar
// (RFC 4791) and reads back what is there.
//
// Connect finds the calendar from any URL a user may paste (a server root, a
// principal, a calendar home or a calendar) by following
// current-user-principal and calendar-home-set (RFC 5397, RFC 4791 §6.2).
// Writes are conditional (If-Match / If-None-Match, RFC 7232) so that an
// edit made on the server is never silently overwritten, and List and
// Changes (RFC 6578 sync-collection) tell a reconciler what the server
// holds. Errors say why a request failed: ErrUnauthorized, ErrNotCalDAV,
// ErrNoCalendar, ErrPreconditionFailed, calgate.ErrNotFound, and
// IsRetryable for failures worth trying again later.
package caldav
