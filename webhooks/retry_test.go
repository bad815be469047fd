package webhooks

import (
	"testing"
	"time"
)

func TestNextDelayFollowsTheSchedule(t *testing.T) {
	tests := []struct {
		attempt int
		want    time.Duration
		ok      bool
	}{
		{0, 0, true},
		{1, 0, true},
		{2, 5 * time.Second, true},
		{3, 5 * time.Minute, true},
		{4, 30 * time.Minute, true},
		{5, 2 * time.Hour, true},
		{6, 5 * time.Hour, true},
		{7, 10 * time.Hour, true},
		{8, 10 * time.Hour, true},
		{9, 0, false},
		{100, 0, false},
	}
	for _, tt := range tests {
		got, ok := NextDelay(tt.attempt, nil)
		if got != tt.want || ok != tt.ok {
			t.Errorf("NextDelay(%d, nil) = %v, %v; want %v, %v", tt.attempt, got, ok, tt.want, tt.ok)
		}
	}
}

func TestNextDelayJittersWithinTwentyPercent(t *testing.T) {
	tests := []struct {
		attempt int
		jitter  float64
		want    time.Duration
	}{
		{1, 0, 0}, // the first attempt stays immediate
		{1, 0.99, 0},
		{2, 0, 4 * time.Second},
		{2, 0.5, 5 * time.Second},
		{2, 1, 6 * time.Second},
		{3, 0, 4 * time.Minute},
		{3, 0.75, 5*time.Minute + 30*time.Second},
		{5, 0.25, 108 * time.Minute},
		{8, 0, 8 * time.Hour},
		{8, 1, 12 * time.Hour},
		{8, -3, 8 * time.Hour}, // out-of-range jitter is clamped
		{8, 7, 12 * time.Hour},
	}
	for _, tt := range tests {
		got, ok := NextDelay(tt.attempt, func() float64 { return tt.jitter })
		if !ok || got != tt.want {
			t.Errorf("NextDelay(%d, %v) = %v, %v; want %v", tt.attempt, tt.jitter, got, ok, tt.want)
		}
	}
}
