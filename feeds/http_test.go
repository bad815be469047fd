package feeds

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func testNow() time.Time { return time.Date(2027, 1, 10, 12, 0, 0, 0, time.UTC) }

func testReady() *Ready {
	body := []byte("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")
	return &Ready{Body: body, ETag: etagOf(body), LastModified: testNow()}
}

func TestServeAnswersConditionalRequests(t *testing.T) {
	rc := testReady()
	lastMod := rc.LastModified.Format(http.TimeFormat)
	tests := []struct {
		name    string
		method  string
		headers map[string]string
		status  int
		body    bool
	}{
		{"plain GET", "GET", nil, 200, true},
		{"HEAD", "HEAD", nil, 200, false},
		{"matching ETag", "GET", map[string]string{"If-None-Match": rc.ETag}, 304, false},
		{"weak form of the ETag", "GET", map[string]string{"If-None-Match": "W/" + rc.ETag}, 304, false},
		{"star", "GET", map[string]string{"If-None-Match": "*"}, 304, false},
		{"other ETag", "GET", map[string]string{"If-None-Match": `"abc"`}, 200, true},
		{"not modified since", "GET", map[string]string{"If-Modified-Since": lastMod}, 304, false},
		{"modified since", "GET", map[string]string{"If-Modified-Since": rc.LastModified.Add(-time.Hour).Format(http.TimeFormat)}, 200, true},
		{"bad date", "GET", map[string]string{"If-Modified-Since": "yesterday"}, 200, true},
		{"ETag decides over the date", "GET", map[string]string{"If-None-Match": `"abc"`, "If-Modified-Since": lastMod}, 200, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, "/feeds/x.ics", nil)
			for k, v := range tc.headers {
				r.Header.Set(k, v)
			}
			w := httptest.NewRecorder()
			Serve(w, r, rc, time.Hour)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d", w.Code, tc.status)
			}
			if got := w.Body.Len() > 0; got != tc.body {
				t.Fatalf("body of %d bytes", w.Body.Len())
			}
			if w.Header().Get("ETag") != rc.ETag || w.Header().Get("Cache-Control") != "private, max-age=3600" {
				t.Fatalf("headers %v", w.Header())
			}
		})
	}
}

func TestServeCompressesForClientsThatAcceptGzip(t *testing.T) {
	rc := testReady()
	r := httptest.NewRequest("GET", "/feeds/x.ics", nil)
	r.Header.Set("Accept-Encoding", "br, gzip;q=0.8")
	w := httptest.NewRecorder()
	Serve(w, r, rc, time.Hour)
	if w.Header().Get("Content-Encoding") != "gzip" || w.Header().Get("ETag") == rc.ETag {
		t.Fatalf("headers %v", w.Header())
	}
	zr, err := gzip.NewReader(w.Body)
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := io.ReadAll(zr)
	if !bytes.Equal(plain, rc.Body) {
		t.Fatalf("gunzipped %q", plain)
	}
}

func TestAcceptsGzip(t *testing.T) {
	for ae, want := range map[string]bool{
		"": false, "identity": false, "gzip": true, "GZIP": true, "deflate, gzip": true, "gzip;q=0": false,
		"gzip; q=0.5": true, "*": true, "*;q=0": false, "x-gzip": true, "br": false,
	} {
		if got := acceptsGzip(ae); got != want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", ae, got, want)
		}
	}
}
