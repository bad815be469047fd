package caldav_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/calgate/calgate"
	"github.com/calgate/calgate/sync/caldav"
	"github.com/calgate/calgate/sync/caldav/caldavtest"
)

// servers are the real CalDAV servers every test runs against.
var servers = []struct {
	name  string
	start func(testing.TB) *caldavtest.Server
}{
	{"radicale", caldavtest.StartRadicale},
	{"xandikos", caldavtest.StartXandikos},
}

func forEachServer(t *testing.T, fn func(t *testing.T, s *caldavtest.Server)) {
	for _, sv := range servers {
		t.Run(sv.name, func(t *testing.T) { fn(t, sv.start(t)) })
	}
}

func testClient() *http.Client { return &http.Client{Timeout: 20 * time.Second} }

func creds(s *caldavtest.Server) caldav.Credentials {
	return caldav.Credentials{Username: s.Username, Password: s.Password}
}

// fixture reads a testdata calendar with its UID set.
func fixture(t testing.TB, file, uid string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	return bytes.ReplaceAll(b, []byte("UID-PLACEHOLDER"), []byte(uid))
}

func connect(t *testing.T, s *caldavtest.Server) *caldav.Client {
	t.Helper()
	cl, _, err := caldav.Connect(t.Context(), testClient(), s.CalendarURL, creds(s), "")
	if err != nil {
		t.Fatalf("Connect(%s): %v", s.CalendarURL, err)
	}
	return cl
}

func TestConnectDiscoversCalendarFromServerRoot(t *testing.T) {
	forEachServer(t, func(t *testing.T, s *caldavtest.Server) {
		ctx := t.Context()
		tasks := s.NewCalendar(t, "tasks", "Tasks", "VTODO")
		team := s.NewCalendar(t, "team", "Team Rota", "VEVENT")
		tests := []struct {
			name, url, hint string
			want            string
		}{
			{"no hint picks a calendar for events", s.URL, "", ""},
			{"hint by display name", s.URL, "team rota", team},
			{"hint by path", s.URL, pathOf(t, team), team},
			{"hint by last segment", s.URL, "team", team},
			{"hint by full URL", s.URL, team, team},
			{"calendar URL without hint is that calendar", team, "", team},
			{"principal URL with hint", s.URL + s.Username + "/", "Team Rota", team},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				cl, cals, err := caldav.Connect(ctx, testClient(), tc.url, creds(s), tc.hint)
				if err != nil {
					t.Fatalf("Connect: %v", err)
				}
				if tc.want != "" && cl.CalendarURL() != tc.want {
					t.Errorf("CalendarURL = %s, want %s", cl.CalendarURL(), tc.want)
				}
				if !cl.Calendar().SupportsEvents {
					t.Errorf("chose %+v, which does not take events", cl.Calendar())
				}
				if cl.CalendarURL() == tasks {
					t.Errorf("chose the VTODO-only calendar")
				}
				var paths []string
				for _, c := range cals {
					paths = append(paths, c.Path)
				}
				for _, want := range []string{pathOf(t, team), pathOf(t, tasks), pathOf(t, s.CalendarURL)} {
					if !slices.Contains(paths, want) {
						t.Errorf("calendars %v lack %s", paths, want)
					}
				}
			})
		}
	})
}

func TestConnectUnmatchedHintListsCalendars(t *testing.T) {
	forEachServer(t, func(t *testing.T, s *caldavtest.Server) {
		_, cals, err := caldav.Connect(t.Context(), testClient(), s.URL, creds(s), "Holidays")
		if !errors.Is(err, caldav.ErrNoCalendar) {
			t.Fatalf("err = %v, want ErrNoCalendar", err)
		}
		if len(cals) == 0 || !strings.Contains(err.Error(), cals[0].Path) {
			t.Errorf("error %q does not list the calendars %v", err, cals)
		}
	})
}

func TestConnectWrongPasswordIsUnauthorized(t *testing.T) {
	forEachServer(t, func(t *testing.T, s *caldavtest.Server) {
		for _, u := range []string{s.URL, s.CalendarURL} {
			_, _, err := caldav.Connect(t.Context(), testClient(), u,
				caldav.Credentials{Username: s.Username, Password: "wrong"}, "")
			if !errors.Is(err, caldav.ErrUnauthorized) {
				t.Errorf("Connect(%s) err = %v, want ErrUnauthorized", u, err)
			}
			if caldav.IsRetryable(err) {
				t.Errorf("wrong credentials reported as retryable: %v", err)
			}
		}
	})
}

func TestConnectNonCalDAVURL(t *testing.T) {
	page, err := os.ReadFile(filepath.Join("testdata", "not-caldav.html"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		handler http.HandlerFunc
	}{
		{"HTML page", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			_, _ = w.Write(page)
		}},
		{"404 everywhere", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }},
		{"405 for PROPFIND", func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		}},
		{"WebDAV without calendars", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusMultiStatus)
			_, _ = io.WriteString(w, `<?xml version="1.0"?><d:multistatus xmlns:d="DAV:"><d:response><d:href>/</d:href>`+
				`<d:propstat><d:prop><d:resourcetype><d:collection/></d:resourcetype></d:prop>`+
				`<d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response></d:multistatus>`)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			defer srv.Close()
			_, _, err := caldav.Connect(t.Context(), testClient(), srv.URL, caldav.Credentials{Username: "a", Password: "b"}, "")
			if !errors.Is(err, caldav.ErrNotCalDAV) {
				t.Fatalf("err = %v, want ErrNotCalDAV", err)
			}
			if caldav.IsRetryable(err) {
				t.Errorf("reported as retryable: %v", err)
			}
		})
	}
}

func TestPutCreateTwiceFailsPrecondition(t *testing.T) {
	forEachServer(t, func(t *testing.T, s *caldavtest.Server) {
		cl := connect(t, s)
		ctx := t.Context()
		body := fixture(t, "event.ics", "create-twice@calgate.test")
		etag, err := cl.Put(ctx, "create-twice.ics", body, "")
		if err != nil {
			t.Fatalf("create: %v", err)
		}
		if etag == "" {
			t.Fatal("create returned no etag")
		}
		_, err = cl.Put(ctx, "create-twice.ics", body, "")
		if !errors.Is(err, caldav.ErrPreconditionFailed) {
			t.Fatalf("second create err = %v, want ErrPreconditionFailed", err)
		}
		got, gotTag, err := cl.Get(ctx, "create-twice.ics")
		if err != nil {
			t.Fatal(err)
		}
		if gotTag != etag || !bytes.Contains(got, []byte("UID:create-twice@calgate.test")) {
			t.Errorf("Get = %q, %s; want the created object with etag %s", got, gotTag, etag)
		}
	})
}

func TestPutWithCurrentETagUpdates(t *testing.T) {
	forEachServer(t, func(t *testing.T, s *caldavtest.Server) {
		cl := connect(t, s)
		ctx := t.Context()
		uid := "update@calgate.test"
		etag, err := cl.Put(ctx, "update.ics", fixture(t, "event.ics", uid), "")
		if err != nil {
			t.Fatal(err)
		}
		newTag, err := cl.Put(ctx, "update.ics", fixture(t, "event-updated.ics", uid), etag)
		if err != nil {
			t.Fatalf("update: %v", err)
		}
		if newTag == "" || newTag == etag {
			t.Errorf("update etag = %q, want a new one (old %q)", newTag, etag)
		}
		got, gotTag, err := cl.Get(ctx, "update.ics")
		if err != nil {
			t.Fatal(err)
		}
		if gotTag != newTag || !bytes.Contains(got, []byte("(extended)")) {
			t.Errorf("Get = %q, %s; want the update with etag %s", got, gotTag, newTag)
		}
	})
}

func TestPutWithStaleETagAfterServerEdit(t *testing.T) {
	forEachServer(t, func(t *testing.T, s *caldavtest.Server) {
		cl := connect(t, s)
		ctx := t.Context()
		uid := "stale@calgate.test"
		etag, err := cl.Put(ctx, "stale.ics", fixture(t, "event.ics", uid), "")
		if err != nil {
			t.Fatal(err)
		}
		rawPut(t, s, cl.CalendarURL()+"stale.ics", fixture(t, "event-server-edit.ics", uid))

		_, err = cl.Put(ctx, "stale.ics", fixture(t, "event-updated.ics", uid), etag)
		if !errors.Is(err, caldav.ErrPreconditionFailed) {
			t.Fatalf("stale update err = %v, want ErrPreconditionFailed", err)
		}
		got, fresh, err := cl.Get(ctx, "stale.ics")
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(got, []byte("Moved on the phone")) {
			t.Fatalf("Get = %q, want the server's edit", got)
		}
		if _, err := cl.Put(ctx, "stale.ics", fixture(t, "event-updated.ics", uid), fresh); err != nil {
			t.Fatalf("update with fresh etag: %v", err)
		}
	})
}

func TestDelete(t *testing.T) {
	forEachServer(t, func(t *testing.T, s *caldavtest.Server) {
		cl := connect(t, s)
		ctx := t.Context()
		uid := "delete@calgate.test"
		etag, err := cl.Put(ctx, "delete.ics", fixture(t, "event.ics", uid), "")
		if err != nil {
			t.Fatal(err)
		}
		rawPut(t, s, cl.CalendarURL()+"delete.ics", fixture(t, "event-server-edit.ics", uid))
		if err := cl.Delete(ctx, "delete.ics", etag); !errors.Is(err, caldav.ErrPreconditionFailed) {
			t.Fatalf("delete with stale etag err = %v, want ErrPreconditionFailed", err)
		}
		_, fresh, err := cl.Get(ctx, "delete.ics")
		if err != nil {
			t.Fatal(err)
		}
		if err := cl.Delete(ctx, "delete.ics", fresh); err != nil {
			t.Fatalf("delete: %v", err)
		}
		if _, _, err := cl.Get(ctx, "delete.ics"); !errors.Is(err, calgate.ErrNotFound) {
			t.Errorf("Get after delete err = %v, want calgate.ErrNotFound", err)
		}
		if err := cl.Delete(ctx, "delete.ics", ""); err != nil {
			t.Errorf("deleting a missing object: %v, want success", err)
		}
	})
}

func TestListAfterServerSideDeletes(t *testing.T) {
	forEachServer(t, func(t *testing.T, s *caldavtest.Server) {
		cl := connect(t, s)
		ctx := t.Context()
		want := map[string]string{}
		for _, n := range []string{"a", "b", "c", "d"} {
			etag, err := cl.Put(ctx, n+".ics", fixture(t, "event.ics", n+"@calgate.test"), "")
			if err != nil {
				t.Fatal(err)
			}
			want[n+".ics"] = etag
		}
		for _, n := range []string{"b.ics", "d.ics"} {
			resp, err := s.Do(ctx, http.MethodDelete, cl.CalendarURL()+n, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			delete(want, n)
		}
		objs, err := cl.List(ctx)
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		got := map[string]string{}
		for _, o := range objs {
			got[o.Name] = o.ETag
		}
		if len(got) != len(want) {
			t.Errorf("List = %v, want %v", got, want)
		}
		for n, etag := range want {
			if got[n] != etag {
				t.Errorf("List[%s] etag = %q, want %q (all: %v)", n, got[n], etag, got)
			}
		}
	})
}

func TestChangesReportsEditsAndDeletes(t *testing.T) {
	forEachServer(t, func(t *testing.T, s *caldavtest.Server) {
		cl := connect(t, s)
		ctx := t.Context()
		if !cl.Calendar().SyncToken {
			t.Fatalf("calendar %+v does not advertise sync-collection", cl.Calendar())
		}
		for _, n := range []string{"keep", "edit", "gone"} {
			if _, err := cl.Put(ctx, n+".ics", fixture(t, "event.ics", n+"@calgate.test"), ""); err != nil {
				t.Fatal(err)
			}
		}
		all, _, token, err := cl.Changes(ctx, "")
		if err != nil {
			t.Fatalf("initial Changes: %v", err)
		}
		if len(all) != 3 || token == "" {
			t.Fatalf("initial Changes = %v, token %q; want 3 objects and a token", all, token)
		}
		rawPut(t, s, cl.CalendarURL()+"edit.ics", fixture(t, "event-server-edit.ics", "edit@calgate.test"))
		resp, err := s.Do(ctx, http.MethodDelete, cl.CalendarURL()+"gone.ics", nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()

		changed, deleted, next, err := cl.Changes(ctx, token)
		if err != nil {
			t.Fatalf("Changes: %v", err)
		}
		if len(changed) != 1 || changed[0].Name != "edit.ics" || changed[0].ETag == "" {
			t.Errorf("changed = %v, want edit.ics with an etag", changed)
		}
		if !slices.Equal(deleted, []string{"gone.ics"}) {
			t.Errorf("deleted = %v, want [gone.ics]", deleted)
		}
		if next == "" || next == token {
			t.Errorf("new token %q, want a new one (old %q)", next, token)
		}
		_, _, _, err = cl.Changes(ctx, next+"-forgotten")
		switch {
		case strings.HasSuffix(t.Name(), "/xandikos"):
			// Xandikos answers an unknown token with a 500.
			if err == nil {
				t.Errorf("Changes with an unknown token succeeded")
			}
		case !errors.Is(err, caldav.ErrSyncTokenInvalid) || errors.Is(err, caldav.ErrUnauthorized):
			t.Errorf("Changes with an unknown token err = %v, want ErrSyncTokenInvalid", err)
		}
	})
}

func TestServerDownIsRetryableThenRecovers(t *testing.T) {
	forEachServer(t, func(t *testing.T, s *caldavtest.Server) {
		cl := connect(t, s)
		ctx := t.Context()
		body := fixture(t, "event.ics", "down@calgate.test")
		s.Stop()
		_, err := cl.Put(ctx, "down.ics", body, "")
		if err == nil || !caldav.IsRetryable(err) {
			t.Fatalf("Put to a stopped server err = %v, want a retryable error", err)
		}
		if _, _, err := caldav.Connect(ctx, testClient(), s.URL, creds(s), ""); !caldav.IsRetryable(err) {
			t.Errorf("Connect to a stopped server err = %v, want a retryable error", err)
		}
		s.Start()
		if _, err := cl.Put(ctx, "down.ics", body, ""); err != nil {
			t.Fatalf("Put after restart: %v", err)
		}
	})
}

func TestNewUsesStoredCalendarURL(t *testing.T) {
	forEachServer(t, func(t *testing.T, s *caldavtest.Server) {
		cl, err := caldav.New(testClient(), s.CalendarURL, creds(s))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cl.Put(t.Context(), "stored.ics", fixture(t, "event.ics", "stored@calgate.test"), ""); err != nil {
			t.Fatalf("Put: %v", err)
		}
		bad, err := caldav.New(testClient(), s.CalendarURL, caldav.Credentials{Username: s.Username, Password: "nope"})
		if err != nil {
			t.Fatal(err)
		}
		_, err = bad.Put(t.Context(), "stored2.ics", fixture(t, "event.ics", "stored2@calgate.test"), "")
		if !errors.Is(err, caldav.ErrUnauthorized) {
			t.Errorf("Put with wrong password err = %v, want ErrUnauthorized", err)
		}
	})
}

// rawPut changes an object directly on the server, as another client would.
func rawPut(t *testing.T, s *caldavtest.Server, u string, body []byte) {
	t.Helper()
	resp, err := s.Do(t.Context(), http.MethodPut, u, body, http.Header{"Content-Type": {"text/calendar"}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("raw PUT %s: %s: %s", u, resp.Status, b)
	}
}

func pathOf(t *testing.T, raw string) string {
	t.Helper()
	i := strings.Index(strings.TrimPrefix(raw, "http://"), "/")
	if i < 0 {
		t.Fatalf("no path in %s", raw)
	}
	return strings.TrimPrefix(raw, "http://")[i:]
}
