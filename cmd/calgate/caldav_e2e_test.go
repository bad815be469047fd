package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	goical "github.com/emersion/go-ical"

	"github.com/calgate/calgate/sync/caldav/caldavtest"
)

// caldavServers are the real CalDAV servers the end-to-end tests push to.
var caldavServers = []struct {
	name  string
	start func(testing.TB) *caldavtest.Server
}{
	{"radicale", caldavtest.StartRadicale},
	{"xandikos", caldavtest.StartXandikos},
}

// serverEvent fetches an object with a raw GET and parses it: nil when the
// server has none.
func serverEvent(t *testing.T, srv *caldavtest.Server, name string) *goical.Event {
	t.Helper()
	resp, err := srv.Do(context.Background(), http.MethodGet, srv.CalendarURL+name, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil
	}
	cal, err := goical.NewDecoder(resp.Body).Decode()
	if err != nil {
		t.Fatalf("parse %s: %v", name, err)
	}
	if evs := cal.Events(); len(evs) == 1 {
		return &evs[0]
	}
	t.Fatalf("%s does not hold one event", name)
	return nil
}

func summaryOf(ev *goical.Event, prop string) string {
	if ev == nil {
		return ""
	}
	if p := ev.Props.Get(prop); p != nil {
		return p.Value
	}
	return ""
}

func rawCalDAV(t *testing.T, srv *caldavtest.Server, method, name, body string) {
	t.Helper()
	resp, err := srv.Do(context.Background(), method, srv.CalendarURL+name, []byte(body), http.Header{"Content-Type": {"text/calendar"}})
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

func reservation(ext, title, status string) map[string]any {
	return map[string]any{"external_id": ext, "title": title, "status": status, "resource": "room-1",
		"start": "2026-05-04T09:00:00+02:00", "end": "2026-05-04T10:30:00+02:00"}
}

func TestCalDAVTargetPushesEveryChangeToRealServers(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		for _, cs := range caldavServers {
			t.Run(cs.name, func(t *testing.T) {
				srv := cs.start(t)
				g := startGateway(t, e)

				status, body, _ := g.call(t, "POST", "/v1/caldav-targets", map[string]any{"url": srv.URL, "username": srv.Username, "password": "wrong"})
				if status != http.StatusUnprocessableEntity || !strings.Contains(string(body), `"password"`) {
					t.Fatalf("wrong password: %d %s", status, body)
				}

				body = g.mustCall(t, http.StatusCreated, "POST", "/v1/caldav-targets", map[string]any{
					"url": srv.URL, "username": srv.Username, "password": srv.Password, "calendar": srv.CalendarURL,
					"kinds": []string{"reservation"},
				})
				if strings.Contains(string(body), srv.Password) || strings.Contains(string(body), "sealed") {
					t.Fatalf("the reply shows the password: %s", body)
				}
				target := decode(t, body)
				id := target["id"].(string)
				if cals, _ := target["calendars"].([]any); len(cals) == 0 {
					t.Fatalf("no calendars listed: %s", body)
				}
				path := "/v1/caldav-targets/" + id

				entry := decode(t, g.mustCall(t, http.StatusCreated, "POST", "/v1/reservations", reservation("r1", "Kick-off", "confirmed")))
				name := entry["id"].(string) + ".ics"
				eventually(t, "the created entry on the server", func() bool {
					return summaryOf(serverEvent(t, srv, name), "SUMMARY") == "Kick-off"
				})

				g.mustCall(t, http.StatusOK, "POST", "/v1/reservations", reservation("r1", "Kick-off (moved)", "confirmed"))
				eventually(t, "the update on the server", func() bool {
					return summaryOf(serverEvent(t, srv, name), "SUMMARY") == "Kick-off (moved)"
				})

				g.mustCall(t, http.StatusOK, "POST", "/v1/reservations", reservation("r1", "Kick-off (moved)", "cancelled"))
				eventually(t, "the cancellation on the server", func() bool {
					return summaryOf(serverEvent(t, srv, name), "STATUS") == "CANCELLED"
				})

				// Someone edits the event in their calendar app; the gateway wins.
				rawCalDAV(t, srv, http.MethodPut, name, "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//EN\r\nBEGIN:VEVENT\r\nUID:"+
					entry["id"].(string)+"@calgate\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260504T080000Z\r\nSUMMARY:Edited by hand\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
				g.mustCall(t, http.StatusOK, "POST", "/v1/reservations", reservation("r1", "Kick-off (final)", "confirmed"))
				eventually(t, "the gateway's version over the server edit", func() bool {
					return summaryOf(serverEvent(t, srv, name), "SUMMARY") == "Kick-off (final)"
				})
				var state map[string]any
				eventually(t, "the conflict counted", func() bool {
					state = decode(t, g.mustCall(t, http.StatusOK, "GET", path, nil))
					return state["pending"] == float64(0) && state["conflicts"] != float64(0)
				})
				if state["conflicts"] != float64(1) || state["state"] != "ok" || state["last_success_at"] == nil {
					t.Errorf("target after a conflict: %v", state)
				}

				g.mustCall(t, http.StatusOK, "DELETE", "/v1/reservations/"+entry["id"].(string), nil)
				eventually(t, "the archived entry gone from the server", func() bool {
					return serverEvent(t, srv, name) == nil
				})

				// The server goes down; the change waits and arrives after it is back.
				srv.Stop()
				later := decode(t, g.mustCall(t, http.StatusCreated, "POST", "/v1/reservations", reservation("r2", "While down", "confirmed")))
				eventually(t, "a pending change while the server is down", func() bool {
					s := decode(t, g.mustCall(t, http.StatusOK, "GET", path, nil))
					return s["pending"] == float64(1) && s["last_error"] != ""
				})
				srv.Start()
				eventually(t, "the pending change after the server is back", func() bool {
					return summaryOf(serverEvent(t, srv, later["id"].(string)+".ics"), "SUMMARY") == "While down"
				})
				eventually(t, "an empty backlog", func() bool {
					return decode(t, g.mustCall(t, http.StatusOK, "GET", path, nil))["pending"] == float64(0)
				})

				// Deleted behind calgate's back, and a foreign object: resync
				// restores the first and leaves the second alone.
				rawCalDAV(t, srv, http.MethodDelete, later["id"].(string)+".ics", "")
				rawCalDAV(t, srv, http.MethodPut, "foreign.ics", "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//EN\r\nBEGIN:VEVENT\r\nUID:foreign@example.com\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260504T080000Z\r\nSUMMARY:Not ours\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
				res := decode(t, g.mustCall(t, http.StatusOK, "POST", path+"/resync", nil))
				if res["created"] != float64(1) || res["deleted"] != float64(0) || res["unchanged"] != float64(0) {
					t.Errorf("resync = %v", res)
				}
				if serverEvent(t, srv, later["id"].(string)+".ics") == nil || summaryOf(serverEvent(t, srv, "foreign.ics"), "SUMMARY") != "Not ours" {
					t.Error("resync did not restore calgate's object or touched a foreign one")
				}

				other := g.newWorkspaceToken(t, "other")
				if st, _, _ := g.callAs(t, other, "GET", path, nil); st != http.StatusNotFound {
					t.Errorf("another workspace sees the target: %d", st)
				}
				list := decode(t, g.mustCall(t, http.StatusOK, "GET", "/v1/caldav-targets", nil))
				if items := list["items"].([]any); len(items) != 1 {
					t.Errorf("list: %v", list)
				}
				g.mustCall(t, http.StatusNoContent, "DELETE", path, nil)
				g.mustCall(t, http.StatusNotFound, "GET", path, nil)
			})
		}
	})
}

func TestCalDAVTargetRefusesBadConnections(t *testing.T) {
	srv := caldavtest.StartRadicale(t)
	g := startGateway(t, engines()[0])
	cases := []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"no url", map[string]any{"password": "x"}, "url"},
		{"not caldav", map[string]any{"url": g.URL + "/healthz", "username": "a", "password": "b"}, "url"},
		{"no such calendar", map[string]any{"url": srv.URL, "username": srv.Username, "password": srv.Password, "calendar": "Holidays"}, "calendar"},
		{"bad on_archive", map[string]any{"url": srv.URL, "password": "x", "on_archive": "keep"}, "on_archive"},
	}
	for _, tc := range cases {
		status, body, _ := g.call(t, "POST", "/v1/caldav-targets", tc.body)
		if status != http.StatusUnprocessableEntity || !strings.Contains(string(body), fmt.Sprintf(`"field":%q`, tc.field)) {
			t.Errorf("%s: %d %s", tc.name, status, body)
		}
	}
}
