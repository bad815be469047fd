package graphtest

import (
	"net/http"
	"strings"
	"testing"

	"github.com/calgate/calgate/connectors/connectorstest"
)

func call(t *testing.T, s *Server, token, method, path, body string) (int, string) {
	t.Helper()
	u := path
	if !strings.HasPrefix(u, "http") {
		u = s.URL + "/v1.0" + path
	}
	req, _ := http.NewRequest(method, u, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return connectorstest.Call(t, req)
}

// TestRefusesWhatGraphRefuses checks the fake's strictness, which the
// connector's tests rely on.
func TestRefusesWhatGraphRefuses(t *testing.T) {
	s := Start(t, Options{NoLimit: true})
	tok := s.IssueAccessToken()
	events := "/me/calendars/" + s.DefaultCalendar() + "/events"
	ok := `{"subject":"A","start":{"dateTime":"2026-05-04T09:00:00","timeZone":"W. Europe Standard Time"},"end":{"dateTime":"2026-05-04T10:00:00","timeZone":"Europe/Berlin"},"transactionId":"t1"}`
	cases := []struct {
		name, token, method, path, body string
		status                          int
		text                            string
	}{
		{"no token", "", "GET", "/me", "", 401, "InvalidAuthenticationToken"},
		{"create", tok, "POST", events, ok, 201, `"changeKey"`},
		{"the same create again", tok, "POST", events, ok, 201, `"changeKey"`},
		{"the key for another event", tok, "POST", events, strings.Replace(ok, `"A"`, `"B"`, 1), 400, "ErrorDuplicateTransactionId"},
		{"a bad time zone", tok, "POST", events, strings.Replace(strings.Replace(ok, "t1", "t2", 1), "W. Europe Standard Time", "Mars/Olympus", 1), 400, "TimeZoneNotSupportedException"},
		{"all-day not at midnight", tok, "POST", events, `{"subject":"D","isAllDay":true,"start":{"dateTime":"2026-05-04T09:00:00","timeZone":"UTC"},"end":{"dateTime":"2026-05-05T00:00:00","timeZone":"UTC"}}`, 400, "ErrorPropertyValidationFailure"},
		{"a bad extended property id", tok, "POST", events, `{"subject":"E","start":{"dateTime":"2026-05-04T09:00:00","timeZone":"UTC"},"end":{"dateTime":"2026-05-04T10:00:00","timeZone":"UTC"},"singleValueExtendedProperties":[{"id":"calgate","value":"x"}]}`, 400, "ErrorInvalidProperty"},
		{"an unknown field", tok, "POST", events, `{"subjekt":"F"}`, 400, "RequestBodyRead"},
		{"a stale delta token", tok, "GET", "/me/calendars/" + s.DefaultCalendar() + "/calendarView/delta?$deltatoken=nope", "", 410, "SyncStateNotFound"},
		{"a delta without a window", tok, "GET", "/me/calendars/" + s.DefaultCalendar() + "/calendarView/delta", "", 400, "startDateTime"},
		{"an unknown event", tok, "PATCH", "/me/events/AAMknope", `{"subject":"G"}`, 404, "ErrorItemNotFound"},
		{"a second calendar of the same name", tok, "POST", "/me/calendars", `{"name":"Calendar"}`, 409, "ErrorFolderExists"},
	}
	for _, c := range cases {
		status, body := call(t, s, c.token, c.method, c.path, c.body)
		if status != c.status || !strings.Contains(body, c.text) {
			t.Errorf("%s: %d %s, want %d with %q", c.name, status, body, c.status, c.text)
		}
	}
	if n := len(s.Events(s.DefaultCalendar())); n != 1 || s.Count("replay") != 1 {
		t.Errorf("%d events, %d replays", n, s.Count("replay"))
	}
	s.ExpireAccessTokens()
	if status, body := call(t, s, tok, "GET", "/me", ""); status != 401 || !strings.Contains(body, "expired") {
		t.Errorf("an expired token: %d %s", status, body)
	}
	s.Throttle(1)
	tok = s.IssueAccessToken()
	req, _ := http.NewRequest("GET", s.URL+"/v1.0/me", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "1" {
		t.Errorf("throttled: %d %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}
