package console

import (
	"fmt"
	"net/http"
	"time"

	calgate "github.com/calgate/calgate"
)

// healthData is the health overview of a workspace.
type healthData struct {
	Hours []hourCount
	// EventsCapped says the count stopped at healthEventCap events.
	EventsCapped bool
	EventsTotal  int
	// Delivery success over the deliveries looked at (the newest of each
	// endpoint).
	Delivered, DeliveryFailed, DeliveryPending int
	SuccessRate                                string
	QueueDepth                                 string
	Owed                                       []owedRow
	ShowOwed                                   bool
	Failing                                    []failing
}

type hourCount struct {
	Label  string
	Count  int
	Height int // of its bar, pixels of 60
	Y      int
	X      string
}

type owedRow struct {
	Destination string
	Batches     int
	Events      int64
	Oldest      string
}

// failing is something that is failing now, with its last error.
type failing struct {
	What, Name, State, Error, Href string
	Since                          *time.Time
}

// Limits of the health overview's reads.
const (
	healthEventCap       = 5000
	healthDeliveriesEach = 100
	healthEndpoints      = 200
)

func (c *Console) health(w http.ResponseWriter, r *http.Request, v *visit) {
	ctx := r.Context()
	ws := v.workspaceID()
	now := c.Now()
	d := healthData{QueueDepth: "—", ShowOwed: v.principal.Token.Admin}

	// Events per hour over the last 24 hours, newest events first.
	if _, err := c.Store.Sequence(ctx); err != nil {
		c.fail(w, r, v, err)
		return
	}
	loc := zoneOf(&v.principal.Workspace)
	first := now.Add(-23 * time.Hour).Truncate(time.Hour)
	counts := make([]int, 24)
	seen := 0
	filter := calgate.EventFilter{Desc: true, Limit: 1000}
scan:
	for seen < healthEventCap {
		evs, err := c.Store.Events(ctx, ws, filter)
		if err != nil {
			c.fail(w, r, v, err)
			return
		}
		for _, ev := range evs {
			if ev.CreatedAt.Before(first) {
				break scan
			}
			if i := int(ev.CreatedAt.Sub(first) / time.Hour); i >= 0 && i < 24 {
				counts[i]++
			}
			seen++
			filter.After = ev.Position
		}
		if len(evs) < filter.Limit {
			break
		}
	}
	d.EventsCapped = seen >= healthEventCap
	top := 1
	for _, n := range counts {
		top = max(top, n)
	}
	for i, n := range counts {
		d.EventsTotal += n
		d.Hours = append(d.Hours, hourCount{Label: first.Add(time.Duration(i) * time.Hour).In(loc).Format("15:04"), Count: n,
			Height: n * 60 / top, Y: 70 - n*60/top, X: pct(float64(i) * 100 / 24)})
	}

	if c.QueueDepth != nil {
		if n, err := c.QueueDepth(); err == nil {
			d.QueueDepth = fmt.Sprint(n)
		}
	}
	if d.ShowOwed {
		owed, err := c.Store.OwedWork(ctx)
		if err != nil {
			c.fail(w, r, v, err)
			return
		}
		for _, o := range owed {
			row := owedRow{Destination: o.Destination, Batches: o.Batches, Events: o.Events, Oldest: "—"}
			if !o.Oldest.IsZero() {
				row.Oldest = now.Sub(o.Oldest).Round(time.Second).String() + " ago"
			}
			d.Owed = append(d.Owed, row)
		}
	}
	if err := c.failingWebhooks(r, ws, &d); err != nil {
		c.fail(w, r, v, err)
		return
	}
	if err := c.failingSync(r, ws, &d); err != nil {
		c.fail(w, r, v, err)
		return
	}
	if err := c.failingConnectors(r, ws, &d); err != nil {
		c.fail(w, r, v, err)
		return
	}
	if done := d.Delivered + d.DeliveryFailed; done > 0 {
		d.SuccessRate = fmt.Sprintf("%.1f%%", float64(d.Delivered)*100/float64(done))
	} else {
		d.SuccessRate = "—"
	}
	c.render(w, r, http.StatusOK, "health", v, d)
}

// failingWebhooks counts the newest deliveries of every endpoint and lists
// the endpoints that are disabled or failing, with their last error.
func (c *Console) failingWebhooks(r *http.Request, ws string, d *healthData) error {
	if c.Webhooks == nil {
		return nil
	}
	ctx := r.Context()
	hooks, _, err := c.Webhooks.List(ctx, ws, "", healthEndpoints)
	if err != nil {
		return err
	}
	for _, h := range hooks {
		list, _, err := c.Webhooks.Deliveries(ctx, ws, h.ID, calgate.DeliveryFilter{Limit: healthDeliveriesEach})
		if err != nil {
			return err
		}
		lastErr := ""
		for _, del := range list {
			switch del.Status {
			case "succeeded":
				d.Delivered++
			case "failed":
				d.DeliveryFailed++
			default:
				d.DeliveryPending++
			}
			if lastErr == "" && len(del.Log) > 0 {
				if a := del.Log[len(del.Log)-1]; a.Error != "" {
					lastErr = a.Error
				}
			}
		}
		if h.Disabled || h.FailingSince != nil {
			state := "failing"
			if h.Disabled {
				state = "disabled: " + h.DisabledReason
			}
			d.Failing = append(d.Failing, failing{What: "Webhook endpoint", Name: h.URL, State: state, Error: lastErr,
				Since: h.FailingSince, Href: "/console/webhooks/" + h.ID})
		}
	}
	return nil
}

// failingSync lists CalDAV targets and iCal subscriptions in error.
func (c *Console) failingSync(r *http.Request, ws string, d *healthData) error {
	targets, err := c.Store.CalDAVTargets(r.Context(), ws)
	if err != nil {
		return err
	}
	for _, t := range targets {
		if t.LastError != "" {
			d.Failing = append(d.Failing, failing{What: "CalDAV target", Name: targetName(t), State: t.State, Error: t.LastError, Href: "/console/sync"})
		}
	}
	subs, err := c.subscriptions(r, ws)
	if err != nil {
		return err
	}
	for _, s := range subs {
		if s.State == calgate.SubscriptionError {
			d.Failing = append(d.Failing, failing{What: "iCal subscription", Name: s.Name, State: s.State, Error: s.LastError,
				Since: s.LastPolledAt, Href: "/console/sync"})
		}
	}
	if c.Pulls == nil {
		return nil
	}
	pulls, _, err := c.Pulls.Pulls(r.Context(), ws, "", maxPulls)
	if err != nil {
		return err
	}
	for _, p := range pulls {
		if p.LastStatus == calgate.PullRunFailed {
			d.Failing = append(d.Failing, failing{What: "Scheduled pull", Name: p.Name, State: p.LastStatus, Error: p.LastError,
				Since: p.LastRunAt, Href: "/console/imports"})
		}
	}
	return nil
}
