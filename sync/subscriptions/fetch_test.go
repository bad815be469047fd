package subscriptions

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/calgate/calgate"
	"github.com/calgate/calgate/outbound"
)

func TestLastModifiedIsSentBackAsIfModifiedSince(t *testing.T) {
	f := newFixture(t, "Europe/Lisbon", true)
	const stamp = "Thu, 01 Oct 2026 10:00:00 GMT"
	body := readFixture(t, "airbnb.ics")
	var sent []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sent = append(sent, r.Header.Get("If-Modified-Since"))
		if r.Header.Get("If-Modified-Since") == stamp {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("Last-Modified", stamp)
		_, _ = w.Write([]byte(body))
	}))
	defer srv.Close()
	sub := f.create(t, srv.URL)
	got, err := f.svc.PollNow(context.Background(), f.ws.ID, sub.ID, "test/tok")
	if err != nil {
		t.Fatal(err)
	}
	if len(sent) != 2 || sent[0] != "" || sent[1] != stamp || !got.LastResult.NotModified || got.LastModified != stamp {
		t.Fatalf("If-Modified-Since sent %q; subscription %+v", sent, got)
	}
}

func TestRedirectsAreFollowedUnderTheAddressRules(t *testing.T) {
	body := readFixture(t, "airbnb.ics")
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(body))
	}))
	defer target.Close()
	redirect := func(to string) *httptest.Server {
		return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, to, http.StatusFound)
		}))
	}
	t.Run("followed", func(t *testing.T) {
		f := newFixture(t, "Europe/Lisbon", true)
		r := redirect(target.URL + "/cal.ics")
		defer r.Close()
		if sub := f.create(t, r.URL); sub.State != calgate.SubscriptionOK || sub.LastResult.Created != 3 {
			t.Fatalf("after redirect: %+v", sub)
		}
	})
	t.Run("loop", func(t *testing.T) {
		f := newFixture(t, "Europe/Lisbon", true)
		var loop *httptest.Server
		loop = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, loop.URL+"/again", http.StatusFound)
		}))
		defer loop.Close()
		if sub := f.create(t, loop.URL); sub.State != calgate.SubscriptionError || !strings.Contains(sub.LastError, "redirects") {
			t.Fatalf("redirect loop: %+v", sub)
		}
	})
	t.Run("to a private address refused", func(t *testing.T) {
		// The subscription URL is public; its redirect points at loopback.
		f := newFixture(t, "Europe/Lisbon", false)
		sub := &calgate.Subscription{ID: "sub_x", WorkspaceID: f.ws.ID, URL: "https://calendar.example/cal.ics"}
		svc := New(Deps{Store: f.db, Client: &http.Client{
			Transport: redirectTransport{to: target.URL + "/cal.ics"},
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			}}}, Options{AllowPrivate: false})
		_, err := svc.fetch(context.Background(), sub)
		if err == nil || !strings.Contains(err.Error(), "refused") || !strings.Contains(err.Error(), "loopback") {
			t.Fatalf("err = %v, want the loopback redirect refused", err)
		}
	})
}

// redirectTransport answers every request with a redirect to one URL.
type redirectTransport struct{ to string }

func (rt redirectTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	http.Redirect(rec, r, rt.to, http.StatusFound)
	return rec.Result(), nil
}

func TestServerThatNeverAnswersTimesOut(t *testing.T) {
	f := newFixture(t, "UTC", true)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	defer srv.Close()
	f.svc.d.Client = outbound.NewClient(outbound.Options{AllowPrivate: true, MaxResponseBytes: MaxFeedBytes, Timeout: 200 * time.Millisecond})
	sub := f.create(t, srv.URL)
	if sub.State != calgate.SubscriptionError || !strings.Contains(sub.LastError, "did not answer in time") {
		t.Fatalf("state %s, last error %q", sub.State, sub.LastError)
	}
}

func TestNewKindArchivesTheOldKindsEntries(t *testing.T) {
	f := newFixture(t, "Europe/Lisbon", true)
	srv := newFeedServer(t, readFixture(t, "airbnb.ics"))
	sub := f.create(t, srv.URL)
	job := calgate.KindJob
	got, err := f.svc.Update(context.Background(), f.ws.ID, sub.ID, "test/tok", Input{Kind: &job})
	if err != nil {
		t.Fatal(err)
	}
	if got.LastResult.Created != 3 || got.LastResult.NotModified {
		t.Fatalf("after the kind changed: %+v (a full fetch must run)", got.LastResult)
	}
	all := f.entries(t, got)
	kinds := map[calgate.Kind]int{}
	for _, e := range all {
		kinds[e.Kind]++
	}
	if kinds[calgate.KindJob] != 3 || kinds[calgate.KindReservation] != 0 {
		t.Fatalf("live entries by kind: %v", kinds)
	}
}
