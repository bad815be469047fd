package outbound

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// countingServer is a local server that counts the requests it gets.
func countingServer(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

// withHost returns srv's URL with its host replaced by host (port kept).
func withHost(t *testing.T, srv *httptest.Server, host string) string {
	t.Helper()
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = net.JoinHostPort(host, u.Port())
	return u.String() + "/hook"
}

func TestClientRefusesInternalAddressesAtConnect(t *testing.T) {
	srv, hits := countingServer(t, func(w http.ResponseWriter, r *http.Request) {})
	client := NewClient(Options{Resolver: fakeResolver(t, testNames())})
	tests := []struct {
		name  string
		host  string
		class string
	}{
		{"loopback literal", "127.0.0.1", ClassLoopback},
		{"localhost", "localhost", ClassLoopback},
		{"name resolving to loopback", "internal.example", ClassLoopback},
		{"decimal form", "2130706433", ClassLoopback},
		{"short form", "127.1", ClassLoopback},
		{"mapped", "::ffff:127.0.0.1", ClassLoopback},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := client.Get(withHost(t, srv, tt.host))
			if err == nil {
				resp.Body.Close()
				t.Fatalf("GET %s succeeded with %d, want a refusal", tt.host, resp.StatusCode)
			}
			var ae *AddressError
			if !errors.As(err, &ae) || ae.Class != tt.class {
				t.Fatalf("GET %s: %v, want an *AddressError of class %q", tt.host, err, tt.class)
			}
		})
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the server got %d requests, want none", n)
	}
}

func TestClientAllowPrivateReachesLocalServer(t *testing.T) {
	srv, hits := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	})
	client := NewClient(Options{AllowPrivate: true, Resolver: fakeResolver(t, testNames())})
	for _, host := range []string{"127.0.0.1", "localhost", "internal.example"} {
		t.Run(host, func(t *testing.T) {
			resp, err := client.Get(withHost(t, srv, host))
			if err != nil {
				t.Fatalf("GET %s: %v", host, err)
			}
			defer resp.Body.Close()
			body, _, err := LimitBody(resp.Body, 100)
			if err != nil || resp.StatusCode != http.StatusOK || string(body) != "ok" {
				t.Errorf("GET %s = %d %q %v, want 200 ok", host, resp.StatusCode, body, err)
			}
		})
	}
	if n := hits.Load(); n != 3 {
		t.Errorf("the server got %d requests, want 3", n)
	}
}

func TestControlRefusesInternalSockets(t *testing.T) {
	tests := []struct {
		address string
		refused bool
	}{
		{"127.0.0.1:80", true},
		{"[::1]:443", true},
		{"[::ffff:169.254.169.254]:80", true},
		{"10.0.0.1:8080", true},
		{"93.184.215.14:443", false},
		{"[2606:4700::1111]:443", false},
	}
	for _, tt := range tests {
		t.Run(tt.address, func(t *testing.T) {
			err := controlAddress(context.Background(), "tcp", tt.address, nil)
			if (err != nil) != tt.refused {
				t.Errorf("controlAddress(%s) = %v, want refused=%v", tt.address, err, tt.refused)
			}
		})
	}
}

func TestClientDoesNotFollowRedirects(t *testing.T) {
	srv, hits := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/start" {
			http.Redirect(w, r, "http://169.254.169.254/latest/meta-data/", http.StatusFound)
			return
		}
		http.Redirect(w, r, "/elsewhere", http.StatusMovedPermanently)
	})
	client := NewClient(Options{AllowPrivate: true})
	for _, path := range []string{"/start", "/other"} {
		resp, err := client.Get(srv.URL + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 3 || resp.Header.Get("Location") == "" {
			t.Errorf("GET %s = %d (Location %q), want the 3xx itself", path, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	if n := hits.Load(); n != 2 {
		t.Errorf("the server got %d requests, want 2 (no redirect followed)", n)
	}
}

func TestClientCapsResponseBody(t *testing.T) {
	srv, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		n := map[string]int{"/big": 100_000, "/exact": 1000, "/small": 10}[r.URL.Path]
		io.WriteString(w, strings.Repeat("x", n))
	})
	client := NewClient(Options{AllowPrivate: true, MaxResponseBytes: 1000})
	get := func(path string) *http.Response {
		t.Helper()
		resp, err := client.Get(srv.URL + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}

	body, err := io.ReadAll(get("/big").Body)
	if !errors.Is(err, ErrResponseTooLarge) || len(body) != 1000 {
		t.Errorf("reading a 100 kB body: %d bytes, %v; want 1000 bytes and ErrResponseTooLarge", len(body), err)
	}
	body, err = io.ReadAll(get("/exact").Body)
	if err != nil || len(body) != 1000 {
		t.Errorf("reading a body of exactly the cap: %d bytes, %v; want 1000 bytes", len(body), err)
	}

	tests := []struct {
		path          string
		n             int64
		wantLen       int
		wantTruncated bool
	}{
		{"/big", 500, 500, true},
		{"/big", 5000, 1000, true}, // the client's cap is lower
		{"/exact", 1000, 1000, false},
		{"/small", 500, 10, false},
		{"/small", 10, 10, false},
		{"/small", 9, 9, true},
	}
	for _, tt := range tests {
		body, truncated, err := LimitBody(get(tt.path).Body, tt.n)
		if err != nil || len(body) != tt.wantLen || truncated != tt.wantTruncated {
			t.Errorf("LimitBody(%s, %d) = %d bytes, truncated=%v, %v; want %d, %v",
				tt.path, tt.n, len(body), truncated, err, tt.wantLen, tt.wantTruncated)
		}
	}
}

func TestClientSetsDefaultUserAgent(t *testing.T) {
	var got atomic.Value
	srv, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		got.Store(r.UserAgent())
	})
	tests := []struct {
		option, request, want string
	}{
		{"", "", DefaultUserAgent},
		{"calgate-caldav/1", "", "calgate-caldav/1"},
		{"calgate-caldav/1", "calgate-webhooks/1", "calgate-webhooks/1"},
	}
	for _, tt := range tests {
		client := NewClient(Options{AllowPrivate: true, UserAgent: tt.option})
		req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, srv.URL, nil)
		if err != nil {
			t.Fatal(err)
		}
		if tt.request != "" {
			req.Header.Set("User-Agent", tt.request)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got.Load() != tt.want {
			t.Errorf("User-Agent = %q, want %q", got.Load(), tt.want)
		}
	}
}

func TestClientIgnoresProxyFromEnvironment(t *testing.T) {
	client := NewClient(Options{})
	tr := client.Transport.(*limitedTransport).next.(*http.Transport)
	if tr.Proxy != nil {
		t.Error("the transport uses a proxy function; environment proxies must be ignored")
	}
}

func TestClientGivesUpOnASlowServer(t *testing.T) {
	release := make(chan struct{})
	srv, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	t.Cleanup(func() { close(release) })
	client := NewClient(Options{AllowPrivate: true, Timeout: 100 * time.Millisecond})
	resp, err := client.Get(srv.URL)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("GET of a server that never answers returned %d, want a timeout", resp.StatusCode)
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("GET = %v, want a timeout error", err)
	}
}
