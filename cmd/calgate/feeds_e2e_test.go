package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// feedPath turns a feed URL handed out by the API into a path on the test
// gateway.
func feedPath(t *testing.T, url string) string {
	t.Helper()
	path, ok := strings.CutPrefix(url, "http://calgate.test")
	if !ok || !strings.HasPrefix(path, "/feeds/") || !strings.HasSuffix(path, ".ics") {
		t.Fatalf("feed URL %q is not <public URL>/feeds/<token>.ics", url)
	}
	return path
}

// createFeed creates a feed and returns its id and the path of its URL.
func createFeed(t *testing.T, g *testGateway, token string, body map[string]any) (string, string) {
	t.Helper()
	status, data, _ := g.callAs(t, token, "POST", "/v1/feeds", body)
	if status != http.StatusCreated {
		t.Fatalf("create feed: status %d: %s", status, data)
	}
	f := decode(t, data)
	return f["id"].(string), feedPath(t, f["url"].(string))
}

// fetchFeed GETs a feed as a subscriber (no token, no compression).
func fetchFeed(t *testing.T, g *testGateway, path string, headers ...string) (int, []byte, http.Header) {
	t.Helper()
	return g.callAs(t, "", "GET", path, nil, append([]string{"Accept-Encoding", "identity"}, headers...)...)
}

// mustFetchFeed GETs a feed and fails unless it is served.
func mustFetchFeed(t *testing.T, g *testGateway, path string) []byte {
	t.Helper()
	status, body, h := fetchFeed(t, g, path)
	if status != http.StatusOK {
		t.Fatalf("GET %s: status %d: %s", path, status, body)
	}
	if ct := h.Get("Content-Type"); ct != "text/calendar; charset=utf-8" {
		t.Fatalf("GET %s: Content-Type %q", path, ct)
	}
	return body
}

// waitForFeed polls a feed until it holds exactly the given entry ids.
func waitForFeed(t *testing.T, g *testGateway, path string, ids ...string) []byte {
	t.Helper()
	return waitForFeedWithin(t, 20*time.Second, g, path, ids...)
}

func waitForFeedWithin(t *testing.T, limit time.Duration, g *testGateway, path string, ids ...string) []byte {
	t.Helper()
	var body []byte
	eventuallyWithin(t, limit, fmt.Sprintf("feed %s to hold %d entries", path, len(ids)), func() bool {
		body = mustFetchFeed(t, g, path)
		return sameEntries(body, ids)
	})
	return body
}

// sameEntries reports whether a feed holds exactly the given entry ids.
func sameEntries(body []byte, ids []string) bool {
	if bytes.Count(body, []byte("BEGIN:VEVENT")) != len(ids) {
		return false
	}
	for _, id := range ids {
		if !bytes.Contains(body, []byte("UID:"+id+"@calgate")) {
			return false
		}
	}
	return true
}

// postEntry creates an entry of a kind and returns its id.
func postEntry(t *testing.T, g *testGateway, token, route string, fields map[string]any) string {
	t.Helper()
	status, data, _ := g.callAs(t, token, "POST", "/v1/"+route, fields)
	if status != http.StatusCreated && status != http.StatusOK {
		t.Fatalf("POST /v1/%s: status %d: %s", route, status, data)
	}
	return decode(t, data)["id"].(string)
}

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func wall(t *testing.T, zone, s string) time.Time {
	t.Helper()
	v, err := time.ParseInLocation(time.DateTime, s, mustZone(t, zone))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestFeedParsedByEveryClient(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		g := startGateway(t, e)
		feedID, path := createFeed(t, g, g.Token, map[string]any{"name": "Plant – alle Maschinen"})
		if _, emptyPath := createFeed(t, g, g.Token, map[string]any{"name": "Nothing", "resources": []string{"no-such-resource"}}); true {
			body := mustFetchFeed(t, g, emptyPath)
			checkClients(t, body, map[string]wantEvent{})
		}
		longTitle := "Größenprüfung der Schweißnähte – Überstunden für Jörg, Zoë und Ærøskøbing 🚀 an der Fräsmaschine"
		want := map[string]wantEvent{}
		add := func(route string, fields map[string]any, w wantEvent) string {
			id := postEntry(t, g, g.Token, route, fields)
			want[id] = w
			return id
		}
		add("reservations", map[string]any{"external_id": "allday", "resource": "room-1", "title": "Inventory day",
			"start": "2027-06-01", "end": "2027-06-02"},
			wantEvent{Summary: "Inventory day", Status: "CONFIRMED", StartDate: "2027-06-01", EndDate: "2027-06-02"})
		add("reservations", map[string]any{"external_id": "multiday", "resource": "room-1", "title": "Trade fair",
			"start": "2027-06-10", "end": "2027-06-13"},
			wantEvent{Summary: "Trade fair", Status: "CONFIRMED", StartDate: "2027-06-10", EndDate: "2027-06-13"})
		add("jobs", map[string]any{"external_id": "berlin-autumn", "workstage": "Welding", "order": "PROJ-2025-Q4", "product": "ART-001",
			"start": "2027-10-30 22:00:00", "end": "2027-10-31 06:00:00"},
			wantEvent{Summary: "Welding: PROJ-2025-Q4 / ART-001", Status: "CONFIRMED",
				Start: wall(t, "Europe/Berlin", "2027-10-30 22:00:00"), End: wall(t, "Europe/Berlin", "2027-10-31 06:00:00")})
		add("jobs", map[string]any{"external_id": "berlin-spring", "workstage": "Welding", "order": "PROJ-2027", "product": "ART-002",
			"start": "2027-03-28 01:00:00", "end": "2027-03-28 04:00:00"},
			wantEvent{Summary: "Welding: PROJ-2027 / ART-002", Status: "CONFIRMED",
				Start: wall(t, "Europe/Berlin", "2027-03-28 01:00:00"), End: wall(t, "Europe/Berlin", "2027-03-28 04:00:00")})
		add("reservations", map[string]any{"external_id": "ny-autumn", "resource": "press", "title": "Night shift NY",
			"timezone": "America/New_York", "start": "2027-11-07 00:30:00", "end": "2027-11-07 03:30:00"},
			wantEvent{Summary: "Night shift NY", Status: "CONFIRMED",
				Start: wall(t, "America/New_York", "2027-11-07 00:30:00"), End: wall(t, "America/New_York", "2027-11-07 03:30:00")})
		add("reservations", map[string]any{"external_id": "ny-spring", "resource": "press", "title": "Early shift NY",
			"timezone": "America/New_York", "start": "2027-03-14 01:00:00", "end": "2027-03-14 04:00:00"},
			wantEvent{Summary: "Early shift NY", Status: "TENTATIVE",
				Start: wall(t, "America/New_York", "2027-03-14 01:00:00"), End: wall(t, "America/New_York", "2027-03-14 04:00:00")})
		add("production-windows", map[string]any{"external_id": "utc", "cost_centre": "CC-100", "activity": "Maintenance",
			"timezone": "UTC", "start": "2027-01-05T10:00:00Z", "end": "2027-01-05T11:00:00Z"},
			wantEvent{Summary: "CC-100: Maintenance", Status: "CONFIRMED",
				Start: time.Date(2027, 1, 5, 10, 0, 0, 0, time.UTC), End: time.Date(2027, 1, 5, 11, 0, 0, 0, time.UTC)})
		add("reservations", map[string]any{"external_id": "long", "resource": "room-2", "title": longTitle,
			"start": "2027-02-01 09:00:00", "end": "2027-02-01 10:00:00"},
			wantEvent{Summary: longTitle, Status: "CONFIRMED",
				Start: wall(t, "Europe/Berlin", "2027-02-01 09:00:00"), End: wall(t, "Europe/Berlin", "2027-02-01 10:00:00")})
		add("reservations", map[string]any{"external_id": "punct", "resource": "room-2", "title": `Review; rooms A, B \ C`,
			"description": "Line 1, with comma;\nLine 2", "location": "Hall 3, Gate 2; North",
			"start": "2027-02-02 09:00:00", "end": "2027-02-02 10:00:00"},
			wantEvent{Summary: `Review; rooms A, B \ C`, Status: "CONFIRMED",
				Start: wall(t, "Europe/Berlin", "2027-02-02 09:00:00"), End: wall(t, "Europe/Berlin", "2027-02-02 10:00:00")})
		add("reservations", map[string]any{"external_id": "cancelled", "resource": "room-2", "title": "Called off", "status": "cancelled",
			"start": "2027-02-03 09:00:00", "end": "2027-02-03 10:00:00"},
			wantEvent{Summary: "Called off", Status: "CANCELLED",
				Start: wall(t, "Europe/Berlin", "2027-02-03 09:00:00"), End: wall(t, "Europe/Berlin", "2027-02-03 10:00:00")})
		// The tentative one is set through a patch, so the feed also has
		// to follow an update.
		nySpring := ""
		for id, w := range want {
			if w.Summary == "Early shift NY" {
				nySpring = id
			}
		}
		g.mustCall(t, http.StatusOK, "PATCH", "/v1/reservations/"+nySpring, map[string]any{"status": "tentative"})
		archived := postEntry(t, g, g.Token, "reservations", map[string]any{"external_id": "archived", "resource": "room-2", "title": "Gone",
			"start": "2027-02-04 09:00:00", "end": "2027-02-04 10:00:00"})
		g.mustCall(t, http.StatusOK, "DELETE", "/v1/reservations/"+archived, nil)

		ids := make([]string, 0, len(want))
		for id := range want {
			ids = append(ids, id)
		}
		var body []byte
		eventually(t, "the feed to show every change", func() bool {
			body = mustFetchFeed(t, g, path)
			return sameEntries(body, ids) && bytes.Contains(body, []byte("STATUS:TENTATIVE"))
		})
		checkClients(t, body, want)
		for _, line := range strings.Split(strings.TrimSuffix(string(body), "\r\n"), "\r\n") {
			if len(line) > 75 {
				t.Fatalf("line of %d octets: %q", len(line), line)
			}
		}
		for _, s := range []string{"X-WR-CALNAME:Plant – alle Maschinen", "X-WR-TIMEZONE:Europe/Berlin", "REFRESH-INTERVAL;VALUE=DURATION:PT1H",
			"X-PUBLISHED-TTL:PT1H", "TZID:Europe/Berlin", "TZID:America/New_York"} {
			if !bytes.Contains(body, []byte(s+"\r\n")) {
				t.Errorf("feed lacks %q", s)
			}
		}
		_ = feedID
	})
}

func TestFeedAnswersConditionalHeadAndGzip(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		g := startGateway(t, e)
		_, path := createFeed(t, g, g.Token, map[string]any{"name": "Rooms"})
		id := postEntry(t, g, g.Token, "reservations", map[string]any{"external_id": "r1", "resource": "room-1", "title": "Meeting",
			"start": "2027-05-01 09:00:00", "end": "2027-05-01 10:00:00"})
		body := waitForFeed(t, g, path, id)

		status, again, h := fetchFeed(t, g, path)
		etag, lastMod := h.Get("ETag"), h.Get("Last-Modified")
		if status != http.StatusOK || !bytes.Equal(again, body) || !strings.HasPrefix(etag, `"`) || lastMod == "" {
			t.Fatalf("second GET: %d ETag %q Last-Modified %q", status, etag, lastMod)
		}
		if cc := h.Get("Cache-Control"); cc != "private, max-age=3600" {
			t.Errorf("Cache-Control %q", cc)
		}
		if cl := h.Get("Content-Length"); cl != strconv.Itoa(len(body)) {
			t.Errorf("Content-Length %q, body %d", cl, len(body))
		}
		for _, c := range []struct {
			name    string
			headers []string
			want    int
		}{
			{"matching If-None-Match", []string{"If-None-Match", etag}, http.StatusNotModified},
			{"one of several If-None-Match", []string{"If-None-Match", `"other", ` + etag}, http.StatusNotModified},
			{"other If-None-Match", []string{"If-None-Match", `"other"`}, http.StatusOK},
			{"If-Modified-Since at Last-Modified", []string{"If-Modified-Since", lastMod}, http.StatusNotModified},
			{"If-Modified-Since before", []string{"If-Modified-Since", "Sat, 01 Jan 2000 00:00:00 GMT"}, http.StatusOK},
			{"If-None-Match wins over If-Modified-Since", []string{"If-None-Match", `"other"`, "If-Modified-Since", lastMod}, http.StatusOK},
		} {
			status, data, rh := fetchFeed(t, g, path, c.headers...)
			if status != c.want {
				t.Errorf("%s: status %d, want %d", c.name, status, c.want)
			}
			if status == http.StatusNotModified && (len(data) != 0 || rh.Get("ETag") != etag) {
				t.Errorf("%s: 304 with %d bytes, ETag %q", c.name, len(data), rh.Get("ETag"))
			}
		}

		status, data, hh := g.callAs(t, "", "HEAD", path, nil, "Accept-Encoding", "identity")
		if status != http.StatusOK || len(data) != 0 || hh.Get("ETag") != etag || hh.Get("Content-Length") != strconv.Itoa(len(body)) {
			t.Errorf("HEAD: %d, %d bytes, ETag %q, Content-Length %q", status, len(data), hh.Get("ETag"), hh.Get("Content-Length"))
		}

		status, data, gh := g.callAs(t, "", "GET", path, nil, "Accept-Encoding", "gzip, deflate")
		if status != http.StatusOK || gh.Get("Content-Encoding") != "gzip" || !strings.Contains(gh.Get("Vary"), "Accept-Encoding") {
			t.Fatalf("gzip GET: %d, Content-Encoding %q", status, gh.Get("Content-Encoding"))
		}
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		plain, err := io.ReadAll(zr)
		if err != nil || !bytes.Equal(plain, body) {
			t.Fatalf("gunzipped body differs (%v)", err)
		}
		if gh.Get("ETag") == etag {
			t.Errorf("the gzip form has the ETag of the plain bytes")
		}
		if status, _, _ := g.callAs(t, "", "GET", path, nil, "Accept-Encoding", "gzip", "If-None-Match", gh.Get("ETag")); status != http.StatusNotModified {
			t.Errorf("If-None-Match with the gzip ETag: %d", status)
		}
		if _, _, h := g.callAs(t, "", "GET", path, nil, "Accept-Encoding", "gzip;q=0, identity"); h.Get("Content-Encoding") != "" {
			t.Errorf("gzip;q=0 got Content-Encoding %q", h.Get("Content-Encoding"))
		}

		// A change gives new bytes, a new ETag and a later or equal
		// Last-Modified; the old ETag no longer matches.
		g.mustCall(t, http.StatusOK, "PATCH", "/v1/reservations/"+id, map[string]any{"title": "Meeting moved"})
		eventually(t, "the change to reach the feed", func() bool {
			return bytes.Contains(mustFetchFeed(t, g, path), []byte("SUMMARY:Meeting moved"))
		})
		if status, _, _ := fetchFeed(t, g, path, "If-None-Match", etag); status != http.StatusOK {
			t.Errorf("old ETag after a change: %d, want 200", status)
		}
	})
}

func TestFeedRotationAndDeletionEndOldURLs(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		g := startGateway(t, e)
		id, path := createFeed(t, g, g.Token, map[string]any{"name": "Rooms"})
		mustFetchFeed(t, g, path)
		shown := decode(t, g.mustCall(t, http.StatusOK, "GET", "/v1/feeds/"+id, nil))
		if feedPath(t, shown["url"].(string)) != path || !strings.HasPrefix(shown["webcal_url"].(string), "webcal://calgate.test/feeds/") {
			t.Fatalf("GET shows %v", shown)
		}
		rotated := decode(t, g.mustCall(t, http.StatusOK, "POST", "/v1/feeds/"+id+"/rotate", nil))
		newPath := feedPath(t, rotated["url"].(string))
		if newPath == path {
			t.Fatal("rotation kept the URL")
		}
		token := strings.TrimSuffix(strings.TrimPrefix(newPath, "/feeds/"), ".ics")
		if len(token) < 26 { // 128 bits in base32
			t.Fatalf("token %q is shorter than 128 bits", token)
		}
		status, body, h := fetchFeed(t, g, path)
		if status != http.StatusNotFound || h.Get("Content-Type") != "application/problem+json" || bytes.Contains(body, []byte(id)) {
			t.Fatalf("old URL after rotation: %d %s", status, body)
		}
		mustFetchFeed(t, g, newPath)
		for _, p := range []string{"/feeds/" + strings.Repeat("a", 32) + ".ics", "/feeds/x.ics", newPath[:len(newPath)-4], "/feeds/" + strings.Repeat("b", 500) + ".ics"} {
			if status, _, _ := fetchFeed(t, g, p); status != http.StatusNotFound {
				t.Errorf("GET %s: %d, want 404", p, status)
			}
		}
		g.mustCall(t, http.StatusNoContent, "DELETE", "/v1/feeds/"+id, nil)
		if status, _, _ := fetchFeed(t, g, newPath); status != http.StatusNotFound {
			t.Errorf("deleted feed's URL: %d", status)
		}
		g.mustCall(t, http.StatusNotFound, "GET", "/v1/feeds/"+id, nil)
	})
}

func TestFeedRefusesBadSettings(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		g := startGateway(t, e)
		for _, c := range []struct {
			body  map[string]any
			field string
		}{
			{map[string]any{"name": "x", "title_templates": map[string]any{"job": "{workstage"}}, "title_templates.job"},
			{map[string]any{"name": "x", "description_templates": map[string]any{"job": "{nonsense}"}}, "description_templates.job"},
			{map[string]any{"name": "x", "title_templates": map[string]any{"meeting": "{title}"}}, "title_templates.meeting"},
			{map[string]any{"name": ""}, "name"},
			{map[string]any{"name": "x", "timezone": "Mars/Olympus"}, "timezone"},
			{map[string]any{"name": "x", "kinds": []string{"job", "meeting"}}, "kinds[1]"},
			{map[string]any{"name": "x", "statuses": []string{"done"}}, "statuses[0]"},
			{map[string]any{"name": "x", "past_days": -1}, "past_days"},
		} {
			status, data, _ := g.call(t, "POST", "/v1/feeds", c.body)
			if status != http.StatusUnprocessableEntity || !strings.Contains(string(data), `"field":"`+c.field+`"`) {
				t.Errorf("%v: %d %s, want 422 naming %s", c.body, status, data, c.field)
			}
		}
		if status, _, _ := g.call(t, "POST", "/v1/feeds", map[string]any{"name": "x", "colour": "red"}); status != http.StatusBadRequest {
			t.Errorf("unknown field: %d, want 400", status)
		}
		id, _ := createFeed(t, g, g.Token, map[string]any{"name": "ok"})
		status, data, _ := g.call(t, "PATCH", "/v1/feeds/"+id, map[string]any{"title_templates": map[string]any{"job": "{order"}})
		if status != http.StatusUnprocessableEntity || !strings.Contains(string(data), "title_templates.job") {
			t.Errorf("bad template in a patch: %d %s", status, data)
		}
	})
}

func TestFeedFilters(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		g := startGateway(t, e)
		type feed struct{ id, path string }
		feeds := map[string]feed{}
		for name, body := range map[string]map[string]any{
			"all":          {},
			"jobs":         {"kinds": []string{"job"}},
			"room-1":       {"resources": []string{"room-1"}},
			"welding":      {"resources": []string{"Welding"}},
			"tentative":    {"statuses": []string{"tentative"}},
			"erp":          {"sources": []string{"erp"}},
			"no-cancelled": {"include_cancelled": false},
			"last-week":    {"past_days": 7},
			"templated":    {"kinds": []string{"job"}, "title_templates": map[string]any{"job": "{order} at {workstage}"}, "timezone": "America/New_York"},
		} {
			body["name"] = name
			id, path := createFeed(t, g, g.Token, body)
			feeds[name] = feed{id, path}
		}
		now := time.Now().In(mustZone(t, "Europe/Berlin"))
		at := func(days int) string { return now.AddDate(0, 0, days).Format(time.DateTime) }
		room := postEntry(t, g, g.Token, "reservations", map[string]any{"external_id": "room", "resource": "room-1", "title": "Room",
			"source": "erp", "start": at(1), "end": at(2)})
		job := postEntry(t, g, g.Token, "jobs", map[string]any{"external_id": "job", "workstage": "Welding", "order": "O-1",
			"status": "tentative", "start": at(3), "end": at(4)})
		cancelled := postEntry(t, g, g.Token, "reservations", map[string]any{"external_id": "cancelled", "resource": "room-2",
			"status": "cancelled", "start": at(5), "end": at(6)})
		old := postEntry(t, g, g.Token, "production-windows", map[string]any{"external_id": "old", "cost_centre": "CC-1",
			"start": at(-30), "end": at(-29)})
		ancient := postEntry(t, g, g.Token, "production-windows", map[string]any{"external_id": "ancient", "cost_centre": "CC-1",
			"start": at(-200), "end": at(-199)})
		_ = ancient // beyond the default 90 days: in no feed
		want := map[string][]string{
			"all":          {room, job, cancelled, old},
			"jobs":         {job},
			"room-1":       {room},
			"welding":      {job},
			"tentative":    {job},
			"erp":          {room},
			"no-cancelled": {room, job, old},
			"last-week":    {room, job, cancelled},
			"templated":    {job},
		}
		for name, ids := range want {
			waitForFeed(t, g, feeds[name].path, ids...)
		}
		body := mustFetchFeed(t, g, feeds["templated"].path)
		if !bytes.Contains(body, []byte("SUMMARY:O-1 at Welding\r\n")) || !bytes.Contains(body, []byte("X-WR-TIMEZONE:America/New_York\r\n")) {
			t.Errorf("templated feed:\n%s", body)
		}
		// Changing a filter renders the feed again.
		g.mustCall(t, http.StatusOK, "PATCH", "/v1/feeds/"+feeds["jobs"].id, map[string]any{"kinds": []string{"reservation"}})
		waitForFeed(t, g, feeds["jobs"].path, room, cancelled)
	})
}

func TestFeedIsolationBetweenWorkspaces(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		g := startGateway(t, e)
		other := g.newWorkspaceToken(t, "other")
		mine, minePath := createFeed(t, g, g.Token, map[string]any{"name": "Mine"})
		_, theirPath := createFeed(t, g, other, map[string]any{"name": "Theirs"})
		a := postEntry(t, g, g.Token, "reservations", map[string]any{"external_id": "same", "resource": "room-1", "title": "Ours",
			"start": "2027-05-01 09:00:00", "end": "2027-05-01 10:00:00"})
		b := postEntry(t, g, other, "reservations", map[string]any{"external_id": "same", "resource": "room-1", "title": "Theirs",
			"start": "2027-05-01 09:00:00", "end": "2027-05-01 10:00:00"})
		waitForFeed(t, g, minePath, a)
		waitForFeed(t, g, theirPath, b)
		for _, c := range []struct{ method, path string }{
			{"GET", "/v1/feeds/" + mine}, {"PATCH", "/v1/feeds/" + mine}, {"DELETE", "/v1/feeds/" + mine}, {"POST", "/v1/feeds/" + mine + "/rotate"},
			{"GET", "/v1/reservations/" + a + ".ics"},
		} {
			var body any
			if c.method == "PATCH" {
				body = map[string]any{"name": "stolen"}
			}
			if status, data, _ := g.callAs(t, other, c.method, c.path, body); status != http.StatusNotFound {
				t.Errorf("%s %s with another workspace's token: %d %s", c.method, c.path, status, data)
			}
		}
		list := decode(t, g.mustCall(t, http.StatusOK, "GET", "/v1/feeds", nil))["items"].([]any)
		if len(list) != 1 || list[0].(map[string]any)["id"] != mine {
			t.Errorf("list shows %v", list)
		}
		waitForFeed(t, g, minePath, a)
	})
}

func TestFeedChangeReachesOnlyMatchingReadyCopies(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		g := startGateway(t, e)
		ctx := context.Background()
		rdb := g.app.redis
		idA, pathA := createFeed(t, g, g.Token, map[string]any{"name": "A", "resources": []string{"machine-a"}})
		idB, pathB := createFeed(t, g, g.Token, map[string]any{"name": "B", "resources": []string{"machine-b"}})
		idC, pathC := createFeed(t, g, g.Token, map[string]any{"name": "C", "resources": []string{"machine-c"}})
		idAll, pathAll := createFeed(t, g, g.Token, map[string]any{"name": "All"})
		gen := func(id string) int64 {
			n, _ := rdb.Get(ctx, "calgate:feeds:gen:"+id).Int64()
			return n
		}
		head := func(id string) string { return rdb.Get(ctx, "calgate:feeds:head:"+id).Val() }
		// A new feed is rendered at once.
		eventually(t, "ready copies of the new feeds", func() bool {
			return head(idA) != "" && head(idB) != "" && head(idC) != "" && head(idAll) != ""
		})
		genB0, genC0 := gen(idB), gen(idC)

		entry := postEntry(t, g, g.Token, "jobs", map[string]any{"external_id": "j", "workstage": "machine-a", "order": "O",
			"start": "2027-05-01 09:00:00", "end": "2027-05-01 10:00:00"})
		waitForFeed(t, g, pathA, entry)
		waitForFeed(t, g, pathAll, entry)
		waitForFeed(t, g, pathB)
		waitForFeed(t, g, pathC)
		if gen(idB) != genB0 || gen(idC) != genC0 {
			t.Fatalf("an entry of machine-a counted as a change of B (%d → %d) or C (%d → %d)", genB0, gen(idB), genC0, gen(idC))
		}
		genA, headC := gen(idA), head(idC)

		// Moving the entry from A to B must reach A (it leaves), B (it
		// arrives) and All, and leave C alone.
		g.mustCall(t, http.StatusOK, "PATCH", "/v1/jobs/"+entry, map[string]any{"workstage": "machine-b"})
		waitForFeed(t, g, pathA)
		waitForFeed(t, g, pathB, entry)
		eventually(t, "All to show the move", func() bool {
			return bytes.Contains(mustFetchFeed(t, g, pathAll), []byte("CATEGORIES:job,machine-b"))
		})
		if gen(idA) <= genA || gen(idB) <= genB0 {
			t.Errorf("the move did not reach A (%d → %d) or B (%d → %d)", genA, gen(idA), genB0, gen(idB))
		}
		if gen(idC) != genC0 || head(idC) != headC {
			t.Errorf("the move reached C: change count %d → %d, ready copy %q → %q", genC0, gen(idC), headC, head(idC))
		}
		// A burst of changes to one entry coalesces into few renders.
		before := feedRenders(t, g)
		for i := range 50 {
			g.mustCall(t, http.StatusOK, "PATCH", "/v1/jobs/"+entry, map[string]any{"order": "O-" + strconv.Itoa(i)})
		}
		eventually(t, "the last change to reach B", func() bool {
			return bytes.Contains(mustFetchFeed(t, g, pathB), []byte("machine-b: O-49"))
		})
		eventually(t, "the last change to reach All", func() bool {
			return bytes.Contains(mustFetchFeed(t, g, pathAll), []byte("machine-b: O-49"))
		})
		renders := feedRenders(t, g) - before
		t.Logf("50 changes to one entry in two feeds: %d renders", renders)
		if renders >= 100 {
			t.Errorf("50 changes in two feeds caused %d renders: bursts are not coalesced", renders)
		}
	})
}

// feedRenders reads the render counter from /metrics.
func feedRenders(t *testing.T, g *testGateway) int {
	t.Helper()
	data := g.mustCall(t, http.StatusOK, "GET", "/metrics", nil)
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "calgate_feed_renders_total "); ok {
			n, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return int(n)
		}
	}
	t.Fatal("no calgate_feed_renders_total in /metrics")
	return 0
}

func TestEntryICSDownload(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		g := startGateway(t, e)
		id := postEntry(t, g, g.Token, "jobs", map[string]any{"external_id": "j", "workstage": "Welding", "order": "PROJ-2025-Q4", "product": "ART-001",
			"start": "2027-10-30 22:00:00", "end": "2027-10-31 06:00:00"})
		status, body, h := g.call(t, "GET", "/v1/jobs/"+id+".ics", nil)
		if status != http.StatusOK || h.Get("Content-Type") != "text/calendar; charset=utf-8" ||
			h.Get("Content-Disposition") != `attachment; filename="job-`+id+`.ics"` {
			t.Fatalf("GET .ics: %d %v", status, h)
		}
		checkClients(t, body, map[string]wantEvent{id: {Summary: "Welding: PROJ-2025-Q4 / ART-001", Status: "CONFIRMED",
			Start: wall(t, "Europe/Berlin", "2027-10-30 22:00:00"), End: wall(t, "Europe/Berlin", "2027-10-31 06:00:00")}})
		g.mustCall(t, http.StatusNotFound, "GET", "/v1/reservations/"+id+".ics", nil)
		if status, _, _ := g.callAs(t, "", "GET", "/v1/jobs/"+id+".ics", nil); status != http.StatusUnauthorized {
			t.Errorf("without a token: %d", status)
		}
	})
}

func TestFeedOfTenThousandEntries(t *testing.T) {
	if testing.Short() {
		t.Skip("renders and parses a 10,000-entry feed")
	}
	forEachEngine(t, func(t *testing.T, e engine) {
		g := startGateway(t, e)
		_, path := createFeed(t, g, g.Token, map[string]any{"name": "Everything"})
		start := time.Date(2027, 1, 1, 6, 0, 0, 0, mustZone(t, "Europe/Berlin"))
		items := make([]map[string]any, 10000)
		for i := range items {
			s := start.Add(time.Duration(i) * 3 * time.Hour)
			items[i] = map[string]any{"external_id": "bulk-" + strconv.Itoa(i), "resource": "room-" + strconv.Itoa(i%7),
				"title": "Booking " + strconv.Itoa(i) + ", Åbo; hall", "start": s.Format(time.RFC3339), "end": s.Add(90 * time.Minute).Format(time.RFC3339)}
		}
		res := decode(t, g.mustCall(t, http.StatusOK, "POST", "/v1/reservations/bulk", map[string]any{"items": items, "verbose": true}))
		if res["created"] != float64(10000) {
			t.Fatalf("bulk upsert: %v", res["created"])
		}
		want := make(map[string]wantEvent, len(items))
		ids := make([]string, 0, len(items))
		for _, op := range res["operations"].([]any) {
			o := op.(map[string]any)
			i := int(o["index"].(float64))
			s := start.Add(time.Duration(i) * 3 * time.Hour)
			want[o["id"].(string)] = wantEvent{Summary: items[i]["title"].(string), Status: "CONFIRMED", Start: s, End: s.Add(90 * time.Minute)}
			ids = append(ids, o["id"].(string))
		}
		// 10,000 events through the embedded Redis and a full render
		// under the race detector: allow for a busy machine.
		body := waitForFeedWithin(t, 90*time.Second, g, path, ids...)
		checkClients(t, body, want)
	})
}
