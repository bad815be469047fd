package connectorstest

import (
	"bytes"
	"net/http"
	"sync"
	"time"
)

// Replays keeps the first answer to each idempotency key of a fake's
// writes (QuickBooks' requestid, Xero's Idempotency-Key), so that a retried
// write is answered as the first one was instead of being done twice, and
// runs the test's hook between a write done and its answer.
type Replays struct {
	// Counts counts each "replay".
	Counts *Counts

	mu      sync.Mutex
	answers map[string]answer
	before  func(op string)
}

type answer struct {
	header http.Header
	status int
	body   []byte
}

// Serve answers one call. A write with a key seen before gets the stored
// answer; otherwise route serves the call (returning the operation done),
// and a write's answer is kept under its key unless it is a 5xx.
//
// The test's hook runs before a write's answer: when the caller goes away
// meanwhile (a worker killed, a push cancelled), the answer waits a moment
// for the connection to close, so that it is lost as it would be, rather
// than racing the caller's cancellation.
func (p *Replays) Serve(w http.ResponseWriter, r *http.Request, write bool, key string, route func(w http.ResponseWriter) string) {
	if write && key != "" {
		p.mu.Lock()
		prev, seen := p.answers[key]
		p.mu.Unlock()
		if seen {
			p.Counts.Add("replay")
			prev.write(w)
			return
		}
	}
	rec := &recorder{answer: answer{header: http.Header{}, status: http.StatusOK}}
	op := route(rec)
	if write {
		p.mu.Lock()
		if key != "" && rec.status < 500 {
			if p.answers == nil {
				p.answers = map[string]answer{}
			}
			p.answers[key] = answer{header: http.Header{"Content-Type": rec.header["Content-Type"]}, status: rec.status, body: rec.body.Bytes()}
		}
		hook := p.before
		p.mu.Unlock()
		if hook != nil && rec.status < 300 {
			hook(op)
			select {
			case <-r.Context().Done():
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	rec.answer.body = rec.body.Bytes()
	rec.answer.write(w)
}

// BeforeAnswer runs fn after each write is done and before it is answered
// (nil: none). Tests cancel a push there to play a worker killed after
// the application accepted its call.
func (p *Replays) BeforeAnswer(fn func(op string)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.before = fn
}

func (a answer) write(w http.ResponseWriter) {
	for k, v := range a.header {
		w.Header()[k] = v
	}
	w.WriteHeader(a.status)
	_, _ = w.Write(a.body)
}

type recorder struct {
	answer
	body bytes.Buffer
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) WriteHeader(status int)      { r.status = status }
func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }
