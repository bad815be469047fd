package console

import (
	"net/http"

	calgate "github.com/calgate/calgate"
)

// syncData is the state of the workspace's CalDAV targets and iCal
// subscriptions.
type syncData struct {
	Targets       []targetRow
	Subscriptions []*calgate.Subscription
}

type targetRow struct {
	Target  *calgate.CalDAVTarget
	Name    string
	Pending int
}

func targetName(t *calgate.CalDAVTarget) string {
	if t.CalendarName != "" {
		return t.CalendarName + " (" + t.URL + ")"
	}
	return t.URL
}

// maxSubscriptions caps the subscriptions the console lists.
const maxSubscriptions = 1000

func (c *Console) subscriptions(r *http.Request, ws string) ([]*calgate.Subscription, error) {
	var out []*calgate.Subscription
	cursor := ""
	for len(out) < maxSubscriptions {
		page, next, err := c.Store.Subscriptions(r.Context(), ws, cursor, 100)
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		if next == "" || len(page) == 0 {
			break
		}
		cursor = next
	}
	return out, nil
}

func (c *Console) syncState(w http.ResponseWriter, r *http.Request, v *visit) {
	targets, err := c.Store.CalDAVTargets(r.Context(), v.workspaceID())
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	d := syncData{}
	for _, t := range targets {
		d.Targets = append(d.Targets, targetRow{Target: t, Name: targetName(t)})
	}
	if d.Subscriptions, err = c.subscriptions(r, v.workspaceID()); err != nil {
		c.fail(w, r, v, err)
		return
	}
	c.render(w, r, http.StatusOK, "sync", v, d)
}
