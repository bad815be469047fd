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
	slots    chan struct{}
}

// newTenant turns each window into a token bucket that can never let more
// than Calls calls through in any Per: a burst of a twelfth of the budget,
// the rest spread over the window with a tenth to spare (so that network
// jitter cannot make calls sent a window apart arrive closer).
func newTenant(l Limits) *tenant {
	t := &tenant{}
	for _, w := range l.Windows {
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

// wait blocks until a call may start and returns the function that ends it.
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
	for _, l := range t.limiters {
		if err := l.Wait(ctx); err != nil {
			release()
			return nil, err
		}
	}
	return sync.OnceFunc(release), nil
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
