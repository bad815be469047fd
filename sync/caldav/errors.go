package caldav

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/calgate/calgate"
)

// Errors a caller can test for with errors.Is.
var (
	// ErrUnauthorized means the server refused the credentials (401 or 403).
	ErrUnauthorized = errors.New("caldav: wrong credentials or no access")
	// ErrNotCalDAV means the URL does not lead to a CalDAV server: it
	// answered with an HTML page, a 404, or a WebDAV answer without
	// calendars.
	ErrNotCalDAV = errors.New("caldav: not a CalDAV server")
	// ErrNoCalendar means the server has no calendar for events, or none
	// matching the hint. The error is a *NoCalendarError listing what exists.
	ErrNoCalendar = errors.New("caldav: no matching calendar")
	// ErrPreconditionFailed means a conditional write failed (412): the
	// object was created or changed on the server since its ETag was read.
	ErrPreconditionFailed = errors.New("caldav: object changed on the server")
	// ErrSyncTokenInvalid means the server no longer accepts a sync token:
	// start over with an empty token or with List.
	ErrSyncTokenInvalid = errors.New("caldav: sync token no longer valid")
)

// StatusError is an unexpected HTTP answer. It matches ErrUnauthorized
// (401, 403), ErrPreconditionFailed (412) and calgate.ErrNotFound (404, 410)
// with errors.Is; 408, 429 and 5xx are retryable.
type StatusError struct {
	Method string
	URL    string
	Code   int
	// Body is the start of the server's answer.
	Body string
}

func (e *StatusError) Error() string {
	s := fmt.Sprintf("%s %s: %d %s", e.Method, e.URL, e.Code, http.StatusText(e.Code))
	if e.Body != "" {
		s += ": " + e.Body
	}
	return s
}

// Is reports whether the status means target.
func (e *StatusError) Is(target error) bool {
	switch target {
	case ErrUnauthorized:
		return e.Code == http.StatusUnauthorized || e.Code == http.StatusForbidden
	case ErrPreconditionFailed:
		return e.Code == http.StatusPreconditionFailed
	case calgate.ErrNotFound:
		return e.Code == http.StatusNotFound || e.Code == http.StatusGone
	}
	return false
}

func (e *StatusError) retryable() bool {
	return e.Code >= 500 || e.Code == http.StatusTooManyRequests || e.Code == http.StatusRequestTimeout
}

// NetworkError is a request that got no HTTP answer (refused connection,
// timeout, reset). It is retryable.
type NetworkError struct {
	Method string
	URL    string
	Err    error
}

func (e *NetworkError) Error() string {
	return fmt.Sprintf("%s %s: %v", e.Method, e.URL, e.Err)
}

func (e *NetworkError) Unwrap() error { return e.Err }

// NoCalendarError is returned by Connect when no calendar fits. It matches
// ErrNoCalendar and lists the calendars the server has.
type NoCalendarError struct {
	Hint      string
	Available []Calendar
}

func (e *NoCalendarError) Error() string {
	names := make([]string, 0, len(e.Available))
	for _, c := range e.Available {
		n := c.Path
		if c.Name != "" {
			n = fmt.Sprintf("%q (%s)", c.Name, c.Path)
		}
		names = append(names, n)
	}
	what := "no calendar for events"
	if e.Hint != "" {
		what = fmt.Sprintf("no calendar matches %q", e.Hint)
	}
	if len(names) == 0 {
		return "caldav: " + what + "; the server has no calendars"
	}
	return "caldav: " + what + "; calendars: " + strings.Join(names, ", ")
}

// Is reports whether target is ErrNoCalendar.
func (e *NoCalendarError) Is(target error) bool { return target == ErrNoCalendar }

// IsRetryable reports whether err is worth retrying later: no answer from
// the server, a 5xx, 408 or 429. Wrong credentials, precondition failures
// and other 4xx answers are permanent.
func IsRetryable(err error) bool {
	var ne *NetworkError
	if errors.As(err, &ne) {
		return true
	}
	var se *StatusError
	return errors.As(err, &se) && se.retryable()
}
