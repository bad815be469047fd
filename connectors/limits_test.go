package connectors

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestTenantNeverLetsMoreThanTheBudgetThrough(t *testing.T) {
	// Slowness can only spread the calls further apart: the test cannot
	// fail on a loaded machine.
	tn := newTenant(Limits{Windows: []Window{{Calls: 10, Per: 300 * time.Millisecond}}, Concurrent: 3})
	var at []time.Time
	for range 25 {
		done, err := tn.wait(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		at = append(at, time.Now())
		done()
	}
	for i := range at {
		n := 0
		for j := i; j < len(at) && at[j].Sub(at[i]) < 300*time.Millisecond; j++ {
			n++
		}
		if n > 10 {
			t.Fatalf("%d calls within 300 ms from call %d", n, i)
		}
	}
}

func TestSlidingLogAdmitsTheWholeBudgetAtOnce(t *testing.T) {
	l := &slidingLog{calls: 5, per: 200 * time.Millisecond}
	ctx := context.Background()
	start := time.Now()
	for range 5 {
		if err := l.wait(ctx, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	if len(l.at) != 5 {
		t.Fatalf("log holds %d calls", len(l.at))
	}
	if err := l.wait(ctx, time.Minute); err != nil {
		t.Fatal(err)
	}
	// The sixth call waited for the first to leave the window.
	if l.at[len(l.at)-1].Sub(start) < 200*time.Millisecond {
		t.Fatal("the sixth call went through within the window")
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	for range 5 {
		_ = l.wait(cctx, time.Minute)
	}
	if err := l.wait(cctx, time.Minute); err == nil {
		t.Fatal("a wait past the budget ignored its cancelled context")
	}
}

func TestShareDividesTheLimitsBetweenProcesses(t *testing.T) {
	l := Limits{Windows: []Window{{Calls: 60, Per: time.Minute}, {Calls: 5000, Per: 24 * time.Hour}}, Concurrent: 5}.Share(2)
	if l.Windows[0].Calls != 30 || l.Windows[1].Calls != 2500 || l.Concurrent != 2 {
		t.Fatalf("Share(2) = %+v", l)
	}
}

func TestAWaitBeyondTheLimitGivesThePushBack(t *testing.T) {
	tn := newTenant(Limits{Windows: []Window{{Calls: 2, Per: 48 * time.Hour}}})
	for range 2 {
		done, err := tn.wait(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		done()
	}
	_, err := tn.wait(context.Background())
	var ra *RetryAfterError
	if !errors.As(err, &ra) || ra.Wait < 47*time.Hour {
		t.Fatalf("third call: %v, want a retry after about two days", err)
	}
	tn = newTenant(Limits{Windows: []Window{{Calls: 12, Per: 10 * time.Minute}}})
	for range 1 {
		if _, err := tn.wait(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tn.wait(context.Background()); !errors.As(err, &ra) || ra.Wait < 30*time.Second {
		t.Fatalf("a call past the burst of a 10-minute budget: %v", err)
	}
}
