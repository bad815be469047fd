package connectors

import (
	"context"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limits are an application's rate limits per remote tenant.
type Limits struct {
	// Windows are the call budgets: at most Calls calls in any Per.
	Windows []Window
	// Concurrent bounds the calls in flight at once (0: no bound).
	Concurrent int
}

// Window is a call budget.
type Window struct {
	Calls int
	Per   time.Duration
}

// Unlimited reports whether l limits nothing.
func (l Limits) Unlimited() bool { return len(l.Windows) == 0 && l.Concurrent <= 0 }

// Share returns the limits one of n processes may use.
func (l Limits) Share(n int) Limits {
	if n <= 1 {
		return l
	}
	out := Limits{Concurrent: l.Concurrent}
	if l.Concurrent > 0 {
		out.Concurrent = max(1, l.Concurrent/n)
	}
	for _, w := range l.Windows {
		out.Windows = append(out.Windows, Window{Calls: max(1, w.Calls/n), Per: w.Per})
	}
	return out
}

// tenant is the rate state of one remote tenant in this process.
type tenant struct {
	limiters []*rate.Limiter
	logs     []*slidingLog
	slots    chan struct{}
}

// longWindow is the window beyond which a budget is counted exactly
// instead of spread out.
const longWindow = time.Hour

// newTenant turns each window of up to an hour into a token bucket that can
// never let more than Calls calls through in any Per: a burst of a twelfth
// of the budget, the rest spread over the window with a tenth to spare (so
// that network jitter cannot make calls sent a window apart arrive closer).
// A longer window (Xero's 5,000 a day) is a log of the calls made in it, so
// that the whole budget can be used at the pace of the shorter windows.
func newTenant(l Limits) *tenant {
	t := &tenant{}
	for _, w := range l.Windows {
		if w.Per > longWindow {
			t.logs = append(t.logs, &slidingLog{calls: w.Calls, per: w.Per})
			continue
		}
		burst := max(1, w.Calls/12)
		per := time.Duration(float64(w.Per) * 1.1)
		r := rate.Limit(float64(w.Calls-burst) / per.Seconds())
		if w.Calls-burst <= 0 {
			r = rate.Limit(1 / per.Seconds())
		}
		t.limiters = append(t.limiters, rate.NewLimiter(r, burst))
	}
	if l.Concurrent > 0 {
		t.slots = make(chan struct{}, l.Concurrent)
	}
	return t
}

// maxLimitWait is the longest a call waits for the tenant's budget; a
// longer wait gives the push back, due when the budget allows, instead of
// holding a worker.
const maxLimitWait = 20 * time.Second

// wait blocks until a call may start and returns the function that ends it.
// When the budget allows the call only later than maxLimitWait, it returns
// a *RetryAfterError with that wait.
func (t *tenant) wait(ctx context.Context) (done func(), err error) {
	if t.slots != nil {
		select {
		case t.slots <- struct{}{}:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	release := func() {
		if t.slots != nil {
			<-t.slots
		}
	}
	for _, l := range t.logs {
		if err := l.wait(ctx, maxLimitWait); err != nil {
			release()
			return nil, err
		}
	}
	now := time.Now()
	var reservations []*rate.Reservation
	delay := time.Duration(0)
	for _, l := range t.limiters {
		r := l.ReserveN(now, 1)
		reservations = append(reservations, r)
		delay = max(delay, r.DelayFrom(now))
	}
	if delay > maxLimitWait {
		for _, r := range reservations {
			r.CancelAt(now)
		}
		release()
		return nil, &RetryAfterError{Wait: delay, Text: "calgate's own rate limit for this account"}
	}
	if delay > 0 {
		timer := time.NewTimer(delay)
		select {
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			for _, r := range reservations {
				r.Cancel()
			}
			release()
			return nil, ctx.Err()
		}
	}
	return sync.OnceFunc(release), nil
}

// slidingLog admits at most calls calls in any per.
type slidingLog struct {
	mu    sync.Mutex
	calls int
	per   time.Duration
	at    []time.Time
}

func (l *slidingLog) wait(ctx context.Context, maxWait time.Duration) error {
	for {
		l.mu.Lock()
		now := time.Now()
		cut := now.Add(-l.per)
		i := 0
		for i < len(l.at) && !l.at[i].After(cut) {
			i++
		}
		l.at = l.at[i:]
		if len(l.at) < l.calls {
			l.at = append(l.at, now)
			l.mu.Unlock()
			return nil
		}
		wait := l.at[0].Add(l.per).Sub(now) + time.Millisecond
		l.mu.Unlock()
		if wait > maxWait {
			return &RetryAfterError{Wait: wait, Text: "calgate's own rate limit for this account"}
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
	}
}

// tenants holds the rate state of every tenant this process calls.
type tenants struct {
	mu sync.Mutex
	m  map[string]*tenant
}

func (ts *tenants) get(key string, l Limits) *tenant {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.m == nil {
		ts.m = map[string]*tenant{}
	}
	t := ts.m[key]
	if t == nil {
		t = newTenant(l)
		ts.m[key] = t
	}
	return t
}
