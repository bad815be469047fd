package webhooks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/calgate/calgate"
	"github.com/calgate/calgate/outbound"
)

// UserAgent is sent with every delivery.
const UserAgent = "calgate-webhooks/1"

// MaxResponseBody is how much of an endpoint's answer an Attempt keeps.
const MaxResponseBody = 4 << 10

// MaxRetryAfter caps the wait an endpoint may ask for with Retry-After.
const MaxRetryAfter = 24 * time.Hour

// Message is one event to deliver. Its ID stays the same across attempts
// so receivers can de-duplicate; the webhook-timestamp header, by
// contrast, is the time of each attempt, as the specification requires,
// so a retry hours later still passes the receiver's tolerance.
type Message struct {
	// ID is sent as webhook-id ("msg_…").
	ID string
	// Type is the event type ("entry.created", …), also inside Body.
	Type string
	// Timestamp is when the event happened, also inside Body.
	Timestamp time.Time
	// Body is the JSON payload, sent byte for byte as signed.
	Body []byte
}

// Payload is the Standard Webhooks body of a message: the event type, its
// time and its data (the event's wire data).
type Payload struct {
	Type      string    `json:"type"`
	Timestamp time.Time `json:"timestamp"`
	Data      any       `json:"data"`
}

// NewMessage returns a message whose body is the Standard Webhooks shape
// {"type": …, "timestamp": …, "data": …}, the timestamp in RFC 3339 UTC.
func NewMessage(id, typ string, ts time.Time, data any) (Message, error) {
	ts = ts.UTC()
	body, err := json.Marshal(Payload{Type: typ, Timestamp: ts, Data: data})
	if err != nil {
		return Message{}, fmt.Errorf("webhooks: encode message %s: %w", id, err)
	}
	return Message{ID: id, Type: typ, Timestamp: ts, Body: body}, nil
}

// Outcome says what to do after an attempt.
type Outcome string

// Outcomes of an attempt.
const (
	// Succeeded: the endpoint answered 2xx.
	Succeeded Outcome = "succeeded"
	// Gone: the endpoint answered 410 and must be disabled.
	Gone Outcome = "gone"
	// Retry: anything else (other statuses, 3xx, connection errors,
	// timeouts, refused addresses); try again later.
	Retry Outcome = "retry"
)

// Attempt records one delivery attempt.
type Attempt struct {
	// At is when the attempt started.
	At time.Time
	// StatusCode is the endpoint's HTTP status, 0 when none was received.
	StatusCode int
	// Latency is the time until the answer was read.
	Latency time.Duration
	// Error explains a failure in words; empty on success.
	Error string
	// ResponseBody is the start of the endpoint's answer (at most
	// MaxResponseBody bytes, made storable: see calgate.StorableText).
	ResponseBody string
	// RetryAfter is the wait a 429 or 503 answer asked for, capped at
	// MaxRetryAfter; 0 when none.
	RetryAfter time.Duration
	// Outcome says what to do next.
	Outcome Outcome
}

// Send makes one delivery attempt of m to url with client (an
// outbound.NewClient), signed with every secret, and reports how it went.
// It never returns an error: failures are in the Attempt.
func Send(ctx context.Context, client *http.Client, url string, secrets [][]byte, m Message) Attempt {
	start := time.Now()
	a := Attempt{At: start, Outcome: Retry}
	if len(secrets) == 0 {
		a.Error = "no signing secret"
		return a
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(m.Body))
	if err != nil {
		a.Error = fmt.Sprintf("build request: %v", err)
		return a
	}
	req.Header.Set(HeaderID, m.ID)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(start.Unix(), 10))
	req.Header.Set(HeaderSignature, Sign(secrets, m.ID, start, m.Body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", UserAgent)

	resp, err := client.Do(req)
	if err != nil {
		a.Latency = time.Since(start)
		a.Error = err.Error()
		if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
			a.Error = "timed out: " + a.Error
		}
		return a
	}
	defer resp.Body.Close()
	body, _, readErr := outbound.LimitBody(resp.Body, MaxResponseBody)
	a.Latency = time.Since(start)
	a.StatusCode = resp.StatusCode
	a.ResponseBody = calgate.StorableText(string(body))

	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		a.Outcome = Succeeded
		return a
	case code == http.StatusGone:
		a.Outcome = Gone
		a.Error = "endpoint answered 410 Gone: it should be disabled"
	case code >= 300 && code < 400:
		a.Error = fmt.Sprintf("endpoint answered %d with a redirect to %q; redirects are not followed", code, resp.Header.Get("Location"))
	default:
		a.Error = fmt.Sprintf("endpoint answered %d", code)
		if code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable {
			a.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
		}
	}
	if readErr != nil {
		a.Error += fmt.Sprintf(" (reading the answer: %v)", readErr)
	}
	return a
}

// parseRetryAfter reads a Retry-After value, in seconds or as an HTTP
// date, as a wait from now capped at MaxRetryAfter. Bad or past values
// give 0.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		if secs >= int64(MaxRetryAfter/time.Second) {
			return MaxRetryAfter
		}
		d = time.Duration(secs) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), MaxRetryAfter)
}
