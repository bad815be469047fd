package gcaltest

import (
	"net/http"
	"strings"
	"testing"

	"github.com/calgate/calgate/connectors/connectorstest"
)

func call(t *testing.T, s *Server, token, method, path, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, s.URL+"/calendar/v3/"+path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return connectorstest.Call(t, req)
}

func token(s *Server) string { return s.IssueAccessToken() }

// TestRefusesWhatGoogleRefuses checks the fake's strictness, which the
// connector's tests rely on.
func TestRefusesWhatGoogleRefuses(t *testing.T) {
	s := Start(t, Options{NoLimit: true})
	tok := token(s)
	cal := "calendars/primary/events"
	ok := `{"id":"abcdefgh0123","start":{"dateTime":"2026-05-04T09:00:00+02:00","timeZone":"Europe/Berlin"},"end":{"dateTime":"2026-05-04T10:00:00+02:00","timeZone":"Europe/Berlin"}}`
	cases := []struct {
		name, token, method, path, body string
		status                          int
		text                            string
	}{
		{"no token", "", "GET", cal, "", 401, "authError"},
		{"unknown token", "ya29.nope", "GET", cal, "", 401, "Invalid Credentials"},
		{"insert", tok, "POST", cal, ok, 200, `"etag"`},
		{"the same id again", tok, "POST", cal, ok, 409, "duplicate"},
		{"an id that is not base32hex", tok, "POST", cal, strings.Replace(ok, "abcdefgh0123", "ABC-xyz-123", 1), 400, "Invalid resource id value"},
		{"an id too short", tok, "POST", cal, strings.Replace(ok, "abcdefgh0123", "abcd", 1), 400, "Invalid resource id value"},
		{"a Windows time zone", tok, "POST", cal, strings.Replace(strings.Replace(ok, "abcdefgh0123", "abcdefgh0124", 1), `"timeZone":"Europe/Berlin"},"end"`, `"timeZone":"W. Europe Standard Time"},"end"`, 1), 400, "Invalid time zone definition for start time"},
		{"an end before the start", tok, "POST", cal, strings.Replace(strings.Replace(ok, "abcdefgh0123", "abcdefgh0125", 1), "10:00:00", "08:00:00", 1), 400, "timeRangeEmpty"},
		{"an unknown field", tok, "POST", cal, strings.Replace(ok, `"id"`, `"colour":"red","id"`, 1), 400, "Parse Error"},
		{"a stale sync token", tok, "GET", cal + "?syncToken=CPjstale", "", 410, "fullSyncRequired"},
		{"a sync token with timeMin", tok, "GET", cal + "?syncToken=x&timeMin=2026-01-01T00:00:00Z", "", 400, "cannot be used with syncToken"},
		{"delete", tok, "DELETE", cal + "/abcdefgh0123", "", 204, ""},
		{"delete again", tok, "DELETE", cal + "/abcdefgh0123", "", 410, "deleted"},
		{"insert over a deleted one", tok, "POST", cal, ok, 409, "duplicate"},
		{"update restores it", tok, "PUT", cal + "/abcdefgh0123", ok, 200, `"status":"confirmed"`},
		{"an unknown calendar", tok, "GET", "calendars/nope/events", "", 404, "notFound"},
	}
	for _, c := range cases {
		status, body := call(t, s, c.token, c.method, c.path, c.body)
		if status != c.status || !strings.Contains(body, c.text) {
			t.Errorf("%s: %d %s, want %d with %q", c.name, status, body, c.status, c.text)
		}
	}
	s.Throttle(1, 403)
	if status, body := call(t, s, tok, "GET", cal, ""); status != 403 || !strings.Contains(body, "userRateLimitExceeded") {
		t.Errorf("throttled: %d %s", status, body)
	}
	limited := Start(t, Options{PerMinute: 2})
	lt := token(limited)
	for i, want := range []int{200, 200, 403} {
		if status, body := call(t, limited, lt, "GET", cal, ""); status != want {
			t.Errorf("call %d: %d %s", i, status, body)
		}
	}
	if limited.Violations() != 1 {
		t.Errorf("violations %d", limited.Violations())
	}
}
