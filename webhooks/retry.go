package webhooks

import "time"

// MaxAttempts is how many times a message is tried before it fails.
const MaxAttempts = 8

// nominalDelay is the wait before each attempt: immediately, then 5 s,
// 5 min, 30 min, 2 h, 5 h, 10 h and 10 h (about 28 hours in all).
func nominalDelay(attempt int) time.Duration {
	switch attempt {
	case 2:
		return 5 * time.Second
	case 3:
		return 5 * time.Minute
	case 4:
		return 30 * time.Minute
	case 5:
		return 2 * time.Hour
	case 6:
		return 5 * time.Hour
	case 7, 8:
		return 10 * time.Hour
	}
	return 0
}

// Jitter is the largest fraction by which NextDelay moves a wait either
// way, so that endpoints failing together are not retried in lockstep.
const Jitter = 0.2

// NextDelay returns how long to wait before attempt number attempt (1 for
// the first, which is immediate) and false when attempt is past
// MaxAttempts: the message then fails. jitter returns a number in [0, 1)
// (math/rand/v2's Float64 will do) that spreads the wait over ±20%; nil
// means no jitter.
func NextDelay(attempt int, jitter func() float64) (time.Duration, bool) {
	if attempt > MaxAttempts {
		return 0, false
	}
	if attempt < 1 {
		attempt = 1
	}
	d := nominalDelay(attempt)
	if jitter == nil || d == 0 {
		return d, true
	}
	j := min(max(jitter(), 0), 1)
	factor := 1 + Jitter*(2*j-1)
	return time.Duration(float64(d) * factor), true
}
