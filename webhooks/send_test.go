package webhooks

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/calgate/calgate/outbound"
)

// received is one request as the test receiver got it.
type received struct {
	header http.Header
	body   []byte
}

// receiver is a local endpoint answering with handler and keeping every
// request it got.
type receiver struct {
	mu  sync.Mutex
	got []received
	srv *httptest.Server
}

func newReceiver(t *testing.T, handler http.HandlerFunc) *receiver {
	t.Helper()
	r := &receiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, received{header: req.Header.Clone(), body: body})
		r.mu.Unlock()
		if handler != nil {
			handler(w, req)
		}
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) requests() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

func testClient() *http.Client {
	return outbound.NewClient(outbound.Options{AllowPrivate: true, Timeout: 5 * time.Second})
}

func testMessage(t *testing.T) Message {
	t.Helper()
	m, err := NewMessage("msg_2yq0000000000000000000000", "entry.updated",
		time.Date(2026, 11, 27, 9, 30, 0, 0, time.UTC), map[string]string{"id": "ent_1", "title": "Kran 3 – Wartung"})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestSendDeliversASignedStandardWebhook(t *testing.T) {
	rcv := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	key := mustSecret(t, NewSecret())
	m := testMessage(t)
	a := Send(context.Background(), testClient(), rcv.srv.URL+"/hooks", [][]byte{key}, m)
	if a.Outcome != Succeeded || a.StatusCode != http.StatusNoContent || a.Error != "" {
		t.Fatalf("attempt = %+v, want succeeded with 204", a)
	}
	if a.At.IsZero() || a.Latency <= 0 {
		t.Errorf("attempt has At %v and latency %v, want both set", a.At, a.Latency)
	}
	reqs := rcv.requests()
	if len(reqs) != 1 {
		t.Fatalf("receiver got %d requests, want 1", len(reqs))
	}
	got := reqs[0]
	for name, want := range map[string]string{
		"Content-Type": "application/json",
		"User-Agent":   "calgate-webhooks/1",
		"Webhook-Id":   m.ID,
	} {
		if v := got.header.Get(name); v != want {
			t.Errorf("header %s = %q, want %q", name, v, want)
		}
	}
	if string(got.body) != `{"type":"entry.updated","timestamp":"2026-11-27T09:30:00Z","data":{"id":"ent_1","title":"Kran 3 – Wartung"}}` {
		t.Errorf("body = %s", got.body)
	}
	if err := Verify(key, got.header, got.body, 5*time.Minute, time.Now()); err != nil {
		t.Errorf("the receiver cannot verify the delivery: %v", err)
	}
}

func TestSendOutcomes(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		header     map[string]string
		body       string
		outcome    Outcome
		retryAfter time.Duration
		errPart    string
	}{
		{"ok", 200, nil, "thanks", Succeeded, 0, ""},
		{"accepted", 202, nil, "", Succeeded, 0, ""},
		{"gone", 410, nil, "bye", Gone, 0, "410"},
		{"server error", 500, nil, "boom", Retry, 0, "endpoint answered 500"},
		{"not found", 404, nil, "", Retry, 0, "404"},
		{"unauthorized", 401, nil, "", Retry, 0, "401"},
		{"redirect", 301, map[string]string{"Location": "https://elsewhere.example/"}, "", Retry, 0, "redirects are not followed"},
		{"see other", 303, map[string]string{"Location": "/x"}, "", Retry, 0, "redirect"},
		{"too many requests", 429, map[string]string{"Retry-After": "120"}, "", Retry, 2 * time.Minute, "429"},
		{"unavailable", 503, map[string]string{"Retry-After": "30"}, "", Retry, 30 * time.Second, "503"},
		{"unavailable capped", 503, map[string]string{"Retry-After": "999999"}, "", Retry, 24 * time.Hour, "503"},
		{"retry-after ignored on 500", 500, map[string]string{"Retry-After": "120"}, "", Retry, 0, "500"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rcv := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tt.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			})
			a := Send(context.Background(), testClient(), rcv.srv.URL, [][]byte{[]byte("key")}, testMessage(t))
			if a.Outcome != tt.outcome || a.StatusCode != tt.status || a.RetryAfter != tt.retryAfter || a.ResponseBody != tt.body {
				t.Errorf("attempt = %+v, want %s, status %d, retry after %v, body %q", a, tt.outcome, tt.status, tt.retryAfter, tt.body)
			}
			if !strings.Contains(a.Error, tt.errPart) || (tt.errPart == "") != (a.Error == "") {
				t.Errorf("error = %q, want one mentioning %q", a.Error, tt.errPart)
			}
			if n := len(rcv.requests()); n != 1 {
				t.Errorf("receiver got %d requests, want 1", n)
			}
		})
	}
}

func TestSendKeepsTheStartOfTheAnswer(t *testing.T) {
	rcv := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(500)
		// A two-byte character straddles the 4 KB cut.
		io.WriteString(w, strings.Repeat("a", MaxResponseBody-1)+"é"+strings.Repeat("b", 50_000))
	})
	a := Send(context.Background(), testClient(), rcv.srv.URL, [][]byte{[]byte("key")}, testMessage(t))
	if len(a.ResponseBody) > MaxResponseBody+2 || !strings.HasPrefix(a.ResponseBody, strings.Repeat("a", MaxResponseBody-1)) {
		t.Errorf("response body kept %d bytes, want the first %d", len(a.ResponseBody), MaxResponseBody)
	}
	if !strings.HasSuffix(a.ResponseBody, "\uFFFD") {
		t.Errorf("response body ends %q, want the cut character replaced", a.ResponseBody[len(a.ResponseBody)-4:])
	}
	if a.Outcome != Retry || a.StatusCode != 500 {
		t.Errorf("attempt = %s %d, want retry 500", a.Outcome, a.StatusCode)
	}
}

// An answer with NUL or bytes that are not UTF-8 is kept so that both
// databases can store it (PostgreSQL refuses NUL in text).
func TestSendKeepsAnAnswerBothDatabasesCanStore(t *testing.T) {
	rcv := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(400)
		io.WriteString(w, "no\x00pe \xff")
	})
	a := Send(context.Background(), testClient(), rcv.srv.URL, [][]byte{[]byte("key")}, testMessage(t))
	if a.ResponseBody != "no\uFFFDpe \uFFFD" {
		t.Errorf("response body %q", a.ResponseBody)
	}
}

func TestSendRetriesWhenTheEndpointCannotBeReached(t *testing.T) {
	rcv := newReceiver(t, nil)
	closedURL := rcv.srv.URL
	rcv.srv.Close()

	guarded := newReceiver(t, nil)
	release := make(chan struct{})
	slow := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	t.Cleanup(func() { close(release) })
	impatient := outbound.NewClient(outbound.Options{AllowPrivate: true, Timeout: 100 * time.Millisecond})
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name    string
		ctx     context.Context
		client  *http.Client
		url     string
		secrets [][]byte
		errPart string
	}{
		{"connection refused", context.Background(), testClient(), closedURL, [][]byte{[]byte("k")}, "refused"},
		{"internal address without AllowPrivate", context.Background(), outbound.NewClient(outbound.Options{}), guarded.srv.URL, [][]byte{[]byte("k")}, "loopback"},
		{"timeout", context.Background(), impatient, slow.srv.URL, [][]byte{[]byte("k")}, "timed out"},
		{"canceled", canceled, testClient(), guarded.srv.URL, [][]byte{[]byte("k")}, "canceled"},
		{"bad URL", context.Background(), testClient(), "http://[::1", [][]byte{[]byte("k")}, "build request"},
		{"no secret", context.Background(), testClient(), guarded.srv.URL, nil, "no signing secret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := Send(tt.ctx, tt.client, tt.url, tt.secrets, testMessage(t))
			if a.Outcome != Retry || a.StatusCode != 0 || !strings.Contains(a.Error, tt.errPart) {
				t.Errorf("attempt = %+v, want retry with an error mentioning %q", a, tt.errPart)
			}
		})
	}
	if n := len(guarded.requests()); n != 0 {
		t.Errorf("the guarded receiver got %d requests, want none", n)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"-5", 0},
		{"90", 90 * time.Second},
		{" 3600 ", time.Hour},
		{"86400", 24 * time.Hour},
		{"86401", 24 * time.Hour},
		{"99999999999999999999", 0},
		{"9223372036854775807", 24 * time.Hour},
		{"Fri, 27 Nov 2026 12:10:00 GMT", 10 * time.Minute},
		{"Friday, 27-Nov-26 12:00:30 GMT", 30 * time.Second},
		{"Fri Nov 27 13:00:00 2026", time.Hour},
		{"Fri, 27 Nov 2026 11:00:00 GMT", 0},
		{"Sun, 27 Dec 2026 12:00:00 GMT", 24 * time.Hour},
		{"soon", 0},
		{"1.5", 0},
	}
	for _, tt := range tests {
		if got := parseRetryAfter(tt.in, now); got != tt.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestNewMessageRefusesDataThatIsNotJSON(t *testing.T) {
	_, err := NewMessage("msg_1", "entry.created", time.Now(), map[string]any{"f": func() {}})
	var ute *json.UnsupportedTypeError
	if !errors.As(err, &ute) {
		t.Errorf("NewMessage = %v, want a JSON encoding error", err)
	}
}
