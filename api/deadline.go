package api

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

// Timeouts bound how long a client may take to send a request body and how
// long the gateway may take to answer. Zero values disable a bound. The
// defaults of the gateway are documented in the README.
type Timeouts struct {
	// Body is the longest pause while a request body arrives, and the
	// grace period before MinBodyRate applies.
	Body time.Duration
	// MinBodyRate is the average rate, in bytes per second, that a body
	// must keep up after the grace period: a client that sends a body
	// slower than this is cut off with 408, however steadily it trickles.
	MinBodyRate int64
	// Write bounds the time from the end of the request body to the end of
	// the answer.
	Write time.Duration
}

// ErrBodyTooSlow is the error a handler reads from a request body that
// stalled or fell below the minimum rate. It wraps os.ErrDeadlineExceeded.
var ErrBodyTooSlow = fmt.Errorf("the request body arrived too slowly: %w", os.ErrDeadlineExceeded)

// WithTimeouts wraps h so that every request body is read under a
// deadline that each chunk received moves on (at most Body after the last
// chunk, and no later than the grace period plus the time the bytes so far
// would take at MinBodyRate), and every answer under a write deadline
// Write after the body ended. A legitimately slow upload of any size
// passes; a stalled or trickling one holds neither a connection nor a
// handler for long.
func WithTimeouts(h http.Handler, t Timeouts) http.Handler {
	if t.Body <= 0 && t.Write <= 0 {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		now := time.Now()
		if t.Write > 0 {
			_ = rc.SetWriteDeadline(now.Add(t.Write))
		}
		// Without a body the server reads ahead on the connection to notice
		// a client that goes away; no read deadline may end that.
		if t.Body > 0 && r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0 {
			b := &deadlineBody{body: r.Body, rc: rc, t: t, start: now}
			b.arm(now)
			r.Body = b
		}
		h.ServeHTTP(w, r)
	})
}

// deadlineBody moves the connection's read deadline as a body arrives and
// lifts it when the body is done.
type deadlineBody struct {
	body  io.ReadCloser
	rc    *http.ResponseController
	t     Timeouts
	start time.Time
	total int64
	done  bool
}

// arm sets the read deadline for the next chunk, and the write deadline
// Write past it.
func (b *deadlineBody) arm(now time.Time) {
	d := now.Add(b.t.Body)
	if b.t.MinBodyRate > 0 {
		earned := time.Duration(float64(b.total) / float64(b.t.MinBodyRate) * float64(time.Second))
		if byRate := b.start.Add(b.t.Body + earned); byRate.Before(d) {
			d = byRate
		}
	}
	_ = b.rc.SetReadDeadline(d)
	if b.t.Write > 0 {
		_ = b.rc.SetWriteDeadline(d.Add(b.t.Write))
	}
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	if b.done {
		return b.body.Read(p)
	}
	n, err := b.body.Read(p)
	b.total += int64(n)
	now := time.Now()
	if err == nil {
		if n > 0 {
			b.arm(now)
		}
		return n, nil
	}
	b.done = true
	if b.t.Write > 0 {
		_ = b.rc.SetWriteDeadline(now.Add(b.t.Write))
	}
	if errors.Is(err, io.EOF) {
		// The whole body is in: the server now reads ahead on the
		// connection to notice a client that goes away, which no deadline
		// may end.
		_ = b.rc.SetReadDeadline(time.Time{})
		return n, err
	}
	// Cut off or failed: the deadline stays, so that the server gives up on
	// the rest of the body at once and closes the connection.
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return n, ErrBodyTooSlow
	}
	return n, err
}

func (b *deadlineBody) Close() error { return b.body.Close() }
