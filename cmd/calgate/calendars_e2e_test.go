package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/calgate/calgate/connectors/google"
	"github.com/calgate/calgate/connectors/google/gcaltest"
	"github.com/calgate/calgate/connectors/microsoft/graphtest"
)

// startGoogle starts a fake Google account and points the gateway's
// Google settings at it.
func startGoogle(t *testing.T, o gcaltest.Options) *gcaltest.Server {
	t.Helper()
	o.RedirectURI = redirectURI
	g := gcaltest.Start(t, o)
	appEnv(t, "GOOGLE", g.Options().App, g.AuthURL(), g.TokenURL(), g.APIURL())
	calendarSettings(t)
	return g
}

// startMicrosoft starts a fake Microsoft 365 mailbox and points the
// gateway's Microsoft settings at it.
func startMicrosoft(t *testing.T, o graphtest.Options) *graphtest.Server {
	t.Helper()
	o.RedirectURI = redirectURI
	m := graphtest.Start(t, o)
	appEnv(t, "MICROSOFT", m.Options().App, m.AuthURL("organizations"), m.TokenURL("organizations"), m.APIURL())
	t.Setenv("CALGATE_MICROSOFT_TENANT", "organizations")
	calendarSettings(t)
	return m
}

func calendarSettings(t *testing.T) {
	t.Setenv("CALGATE_CONNECTOR_SWEEP", "200ms")
	t.Setenv("CALGATE_CONNECTOR_RETRY_SCALE", "0.001")
	t.Setenv("CALGATE_CONNECTOR_LEASE", "3s")
	t.Setenv("CALGATE_CONNECTOR_RECONCILE_INTERVAL", "500ms")
}

// connectCalendar creates a calendar connector, consents through the
// fake and the real callback, and returns its id and calendar.
func connectCalendar(t *testing.T, g *testGateway, typ string) (string, string) {
	t.Helper()
	created := decode(t, g.mustCall(t, http.StatusCreated, http.MethodPost, "/v1/connectors", map[string]any{
		"type": typ, "name": "Foreman", "filter": map[string]any{"kinds": []string{"reservation"}, "resources": []string{"Room 1"}},
		"mapping": map[string]any{"calendar_name": "Room 1 bookings", "title_templates": map[string]string{"reservation": "{resource}: {title}"}},
	}))
	id := created["id"].(string)
	if status, _, _ := g.call(t, http.MethodGet, "/v1/connectors/"+id+"/choices", nil); status != http.StatusConflict {
		t.Fatalf("choices before consent: %d", status)
	}
	consent(t, g, created["authorize_url"].(string))
	c := connectorState(t, g, id)
	if c["state"] != "connected" {
		t.Fatalf("after consent: %v", c)
	}
	var mapping struct {
		CalendarID string `json:"calendar_id"`
	}
	raw, _ := json.Marshal(c["mapping"])
	if err := json.Unmarshal(raw, &mapping); err != nil || mapping.CalendarID == "" {
		t.Fatalf("mapping after consent: %v", c["mapping"])
	}
	choices := decode(t, g.mustCall(t, http.StatusOK, http.MethodGet, "/v1/connectors/"+id+"/choices", nil))
	found := false
	for _, it := range choices["items"].([]any) {
		ch := it.(map[string]any)
		if ch["id"] == mapping.CalendarID {
			found = ch["selected"] == true && ch["name"] == "Room 1 bookings" && ch["writable"] == true && ch["field"] == "mapping.calendar_id"
		}
	}
	if !found {
		t.Fatalf("the chosen calendar is not among the choices: %v", choices)
	}
	return id, mapping.CalendarID
}

// soon is a booking next week (inside every calendar view), at the hour
// given in UTC.
func soon(ext, title, status string, hour int) map[string]any {
	day := time.Now().UTC().AddDate(0, 0, 7).Format("2006-01-02")
	r := reservation(ext, title, status)
	r["start"] = day + "T" + two(hour) + ":00:00Z"
	r["end"] = day + "T" + two(hour+1) + ":30:00Z"
	r["timezone"], r["resource"] = "Europe/Berlin", "Room 1"
	return r
}

func two(n int) string { return string(rune('0'+n/10)) + string(rune('0'+n%10)) }

func reconcileState(t *testing.T, g *testGateway, id string) map[string]any {
	t.Helper()
	return decode(t, g.mustCall(t, http.StatusOK, http.MethodGet, "/v1/connectors/"+id+"/reconcile", nil))
}

func TestGoogleCalendarEndToEnd(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		gc := startGoogle(t, gcaltest.Options{})
		g := startGateway(t, e)
		id, calID := connectCalendar(t, g, google.Type)

		entry := decode(t, g.mustCall(t, http.StatusCreated, http.MethodPost, "/v1/reservations", soon("g1", "Kick-off", "confirmed", 7)))
		eventID := google.EventID(id, entry["id"].(string))
		event := func() gcaltest.Event {
			for _, ev := range gc.Events(calID) {
				if ev.ID == eventID {
					return ev
				}
			}
			return gcaltest.Event{}
		}
		eventually(t, "the event in Google Calendar", func() bool { return event().Summary == "Room 1: Kick-off" })
		if ev := event(); ev.Status != "confirmed" || ev.Start.TimeZone != "Europe/Berlin" {
			t.Fatalf("created: %+v %+v", ev, ev.Start)
		}
		g.mustCall(t, http.StatusOK, http.MethodPost, "/v1/reservations", soon("g1", "Kick-off", "confirmed", 12))
		eventually(t, "the event moved", func() bool {
			at, err := time.Parse(time.RFC3339, event().Start.DateTime)
			return err == nil && at.UTC().Hour() == 12
		})
		// A person deletes calgate's event: the next reconciliation
		// restores it and records the conflict.
		eventually(t, "a first reconciliation", func() bool { return reconcileState(t, g, id)["last_run_at"] != nil })
		gc.Delete(calID, eventID)
		eventually(t, "the deleted event restored", func() bool { return event().Status == "confirmed" })
		eventually(t, "the conflict counted", func() bool { return reconcileState(t, g, id)["conflicts"] == float64(1) })
		log := string(g.mustCall(t, http.StatusOK, http.MethodGet, "/v1/connectors/"+id+"/log?entry_id="+entry["id"].(string), nil))
		if !strings.Contains(log, `"operation":"conflict"`) || !strings.Contains(log, "deleted in Google Calendar") {
			t.Fatalf("the log has no conflict: %s", log)
		}

		g.mustCall(t, http.StatusOK, http.MethodPost, "/v1/reservations", soon("g1", "Kick-off", "cancelled", 12))
		eventually(t, "the event cancelled", func() bool { return event().Status == "cancelled" })
		eventually(t, "nothing owed", func() bool { return connectorState(t, g, id)["pending"] == float64(0) })
		if n := len(gc.Events(calID)); n != 1 {
			t.Fatalf("%d events, want 1", n)
		}
		for op, want := range map[string]int{"insert event": 1, "delete event": 1} {
			if got := gc.Count(op); got != want {
				t.Errorf("%s: %d, want %d", op, got, want)
			}
		}
		// Another resource is not selected: no event.
		g.mustCall(t, http.StatusCreated, http.MethodPost, "/v1/reservations", map[string]any{"external_id": "g2", "resource": "Room 2",
			"start": "2026-05-04T09:00:00+02:00", "end": "2026-05-04T10:00:00+02:00"})
		g.mustCall(t, http.StatusAccepted, http.MethodPost, "/v1/connectors/"+id+"/reconcile", nil)
		if n := len(gc.Events(calID)); n != 1 {
			t.Fatalf("%d events after an unselected booking", n)
		}
		metrics := string(g.mustCall(t, http.StatusOK, http.MethodGet, "/metrics", nil))
		if !strings.Contains(metrics, `calgate_connector_conflicts_total{type="google_calendar"} 1`) {
			t.Errorf("/metrics has no conflict count")
		}
		other := g.newWorkspaceToken(t, "other")
		for _, path := range []string{"/v1/connectors/" + id + "/choices", "/v1/connectors/" + id + "/reconcile"} {
			if status, _, _ := g.callAs(t, other, http.MethodGet, path, nil); status != http.StatusNotFound {
				t.Errorf("another workspace: GET %s = %d", path, status)
			}
		}
	})
}

func TestMicrosoftCalendarEndToEnd(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		ms := startMicrosoft(t, graphtest.Options{})
		g := startGateway(t, e)
		id, calID := connectCalendar(t, g, "microsoft_calendar")

		entry := decode(t, g.mustCall(t, http.StatusCreated, http.MethodPost, "/v1/reservations", soon("m1", "Kick-off", "confirmed", 7)))
		entryID := entry["id"].(string)
		events := func() []graphtest.Event { return ms.Events(calID) }
		eventually(t, "the event in Outlook", func() bool { e := events(); return len(e) == 1 && e[0].Subject == "Room 1: Kick-off" })
		first := events()[0]
		if stored, _ := ms.Event(first.ID); stored.OriginalStartTimeZone != "W. Europe Standard Time" || !strings.HasPrefix(first.Start.DateTime, soon("", "", "", 7)["start"].(string)[:13]) {
			t.Fatalf("created: %+v %+v", stored, first.Start)
		}
		g.mustCall(t, http.StatusOK, http.MethodPost, "/v1/reservations", soon("m1", "Kick-off", "tentative", 12))
		eventually(t, "the event moved", func() bool {
			e := events()
			return len(e) == 1 && e[0].ID == first.ID && e[0].ShowAs == "tentative" && strings.Contains(e[0].Start.DateTime, "T12:00:00")
		})
		eventually(t, "a first reconciliation", func() bool { return reconcileState(t, g, id)["last_run_at"] != nil })
		ms.Edit(first.ID, func(ev *graphtest.Event) { ev.Subject = "Renamed by hand" }, time.Hour)
		eventually(t, "the changed event restored", func() bool {
			e := events()
			return len(e) == 1 && e[0].Subject == "Room 1: Kick-off" && strings.Contains(e[0].Start.DateTime, "T12:00:00")
		})
		eventually(t, "the conflict counted", func() bool { return reconcileState(t, g, id)["conflicts"] == float64(1) })
		log := string(g.mustCall(t, http.StatusOK, http.MethodGet, "/v1/connectors/"+id+"/log?entry_id="+entryID, nil))
		if !strings.Contains(log, "changed in Outlook") {
			t.Fatalf("the log has no conflict: %s", log)
		}

		g.mustCall(t, http.StatusOK, http.MethodPost, "/v1/reservations", soon("m1", "Kick-off", "cancelled", 12))
		eventually(t, "the event deleted", func() bool { return len(events()) == 0 })
		eventually(t, "nothing owed", func() bool { return connectorState(t, g, id)["pending"] == float64(0) })
		for op, want := range map[string]int{"create event": 1, "delete event": 1, "replay": 0} {
			if got := ms.Count(op); got != want {
				t.Errorf("%s: %d, want %d", op, got, want)
			}
		}
		if ms.Violations() != 0 {
			t.Errorf("%d calls beyond the mailbox's limits", ms.Violations())
		}
		// Archiving deletes too.
		e2 := decode(t, g.mustCall(t, http.StatusCreated, http.MethodPost, "/v1/reservations", soon("m2", "Second", "confirmed", 9)))
		eventually(t, "the second event", func() bool { return len(events()) == 1 })
		g.mustCall(t, http.StatusOK, http.MethodDelete, "/v1/reservations/"+e2["id"].(string), nil)
		eventually(t, "the archived entry's event deleted", func() bool { return len(events()) == 0 })
	})
}
