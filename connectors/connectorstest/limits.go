package connectorstest

import (
	"sync"
	"time"
)

// Window is a limit of calls in a rolling period.
type Window struct {
	Calls int
	Per   time.Duration
}

// Refusal is why Limits refused a call.
type Refusal struct {
	// Window is the index of the window that was full; -1 when too many
	// calls were in flight or the test throttled the call.
	Window int
	// Wait is how long until the window has room again (0 for calls in
	// flight: soon).
	Wait time.Duration
	// Throttled reports a refusal the test asked for (Throttle), which is
	// no violation.
	Throttled bool
}

// Limits play an application's rate limits in a fake: calls per rolling
// window and calls at once, counting every call beyond them as a
// violation, and refusals a test asks for.
type Limits struct {
	windows    []Window
	concurrent int

	mu         sync.Mutex
	calls      [][]time.Time
	inFlight   int
	violations int
	throttle   int
}

// NewLimits returns limits of the windows and of concurrent calls at once
// (0: none); off turns both off, leaving Throttle.
func NewLimits(off bool, concurrent int, windows ...Window) *Limits {
	if off {
		windows, concurrent = nil, 0
	}
	return &Limits{windows: windows, concurrent: concurrent, calls: make([][]time.Time, len(windows))}
}

// Admit takes one call: done must be called when it is answered. A
// refused call is not taken (done is nil).
func (l *Limits) Admit() (done func(), refused *Refusal) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.throttle > 0 {
		l.throttle--
		return nil, &Refusal{Window: -1, Throttled: true}
	}
	now := time.Now()
	for i, win := range l.windows {
		kept := l.calls[i][:0]
		for _, at := range l.calls[i] {
			if at.After(now.Add(-win.Per)) {
				kept = append(kept, at)
			}
		}
		l.calls[i] = kept
	}
	if l.concurrent > 0 && l.inFlight >= l.concurrent {
		l.violations++
		return nil, &Refusal{Window: -1}
	}
	for i, win := range l.windows {
		if len(l.calls[i]) >= win.Calls {
			l.violations++
			return nil, &Refusal{Window: i, Wait: l.calls[i][0].Add(win.Per).Sub(now)}
		}
	}
	for i := range l.windows {
		l.calls[i] = append(l.calls[i], now)
	}
	l.inFlight++
	return func() { l.mu.Lock(); l.inFlight--; l.mu.Unlock() }, nil
}

// Remaining returns the calls left in window i.
func (l *Limits) Remaining(i int) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.windows[i].Calls - len(l.calls[i])
}

// Throttle refuses the next n calls, as if another app had used the
// budget; they are not violations.
func (l *Limits) Throttle(n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.throttle = n
}

// Violations counts calls beyond the limits.
func (l *Limits) Violations() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.violations
}
