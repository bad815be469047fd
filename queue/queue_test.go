package queue

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	calgate "github.com/calgate/calgate"
	"github.com/calgate/calgate/internal/testenv"
)

func TestJobsRunOnceByIDOnEmbeddedAndRealRedis(t *testing.T) {
	for _, tc := range []struct {
		name string
		url  func(t *testing.T) string
	}{
		{"embedded", func(t *testing.T) string { return "" }},
		{"redis", func(t *testing.T) string { return testenv.Redis(t) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q, err := Open(Options{RedisURL: tc.url(t)}, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			defer q.Close()
			var mu sync.Mutex
			got := map[string]int{}
			q.HandleJob("echo", calgate.Policy{MaxRetry: 1}, func(ctx context.Context, payload []byte) error {
				mu.Lock()
				defer mu.Unlock()
				got[string(payload)]++
				return nil
			})
			ctx := context.Background()
			// Two jobs with one ID collapse while the first is queued; a
			// job without an ID always runs.
			for _, j := range []calgate.Job{
				{Type: "echo", Payload: []byte("a"), ID: "same", At: time.Now().Add(200 * time.Millisecond)},
				{Type: "echo", Payload: []byte("a"), ID: "same"},
				{Type: "echo", Payload: []byte("b")},
			} {
				if err := q.Enqueue(ctx, j); err != nil {
					t.Fatal(err)
				}
			}
			if depth, err := q.Depth(); err != nil || depth != 2 {
				t.Fatalf("depth %d (%v), want 2", depth, err)
			}
			wctx, stop := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() { done <- q.RunWorker(wctx, nil, time.Second) }()
			deadline := time.Now().Add(15 * time.Second)
			for {
				mu.Lock()
				n := got["a"] + got["b"]
				mu.Unlock()
				if n == 2 || time.Now().After(deadline) {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			stop()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if got["a"] != 1 || got["b"] != 1 {
				t.Fatalf("ran %v, want a and b once each", got)
			}
		})
	}
}
