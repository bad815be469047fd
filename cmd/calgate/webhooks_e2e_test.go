package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/calgate/calgate/webhooks"
	"github.com/calgate/calgate/webhooks/webhookstest"
)

// hookRequest is one call a test receiver got.
type hookRequest struct {
	header http.Header
	body   []byte
}

func (r hookRequest) id() string { return r.header.Get(webhooks.HeaderID) }

func (r hookRequest) payload(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("receiver got a body that is not JSON: %s", r.body)
	}
	return m
}

// hookReceiver is a local webhook endpoint: answer decides the reply to the
// n-th call (0-based); every call is kept.
type hookReceiver struct {
	mu     sync.Mutex
	got    []hookRequest
	answer func(n int, w http.ResponseWriter, r *http.Request)
	srv    *httptest.Server
}

// newFailingReceiver starts a receiver that answers 502 Bad Gateway until
// heal is called, and 200 from then on.
func newFailingReceiver(t *testing.T) (rcv *hookReceiver, heal func()) {
	var mu sync.Mutex
	healthy := false
	rcv = newHookReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if !healthy {
			w.WriteHeader(http.StatusBadGateway)
		}
	})
	return rcv, func() {
		mu.Lock()
		healthy = true
		mu.Unlock()
	}
}

func newHookReceiver(t *testing.T, answer func(n int, w http.ResponseWriter, r *http.Request)) *hookReceiver {
	t.Helper()
	h := &hookReceiver{answer: answer}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		n := len(h.got)
		h.got = append(h.got, hookRequest{header: r.Header.Clone(), body: body})
		h.mu.Unlock()
		if h.answer != nil {
			h.answer(n, w, r)
		}
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hookReceiver) requests() []hookRequest {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]hookRequest(nil), h.got...)
}

func (h *hookReceiver) count() int { return len(h.requests()) }

// fastRetries makes the retry schedule short enough for a test and the
// sweep of overdue deliveries frequent.
func fastRetries(t *testing.T) {
	t.Setenv("CALGATE_WEBHOOK_RETRY_SCALE", "0.00001")
	t.Setenv("CALGATE_WEBHOOK_SWEEP", "200ms")
}

// createWebhook registers url for events and returns the endpoint's id and
// secret.
func createWebhook(t *testing.T, g *testGateway, url string, events ...string) (string, string) {
	t.Helper()
	m := decode(t, g.mustCall(t, http.StatusCreated, "POST", "/v1/webhooks", map[string]any{"url": url, "events": events}))
	secret, _ := m["secret"].(string)
	if !strings.HasPrefix(secret, "whsec_") {
		t.Fatalf("creation reply has secret %q, want whsec_…", secret)
	}
	return m["id"].(string), secret
}

func postJob(t *testing.T, g *testGateway, externalID string) map[string]any {
	t.Helper()
	return decode(t, g.mustCall(t, http.StatusCreated, "POST", "/v1/jobs", map[string]any{"external_id": externalID,
		"workstage": "Welding", "order": "PROJ-1", "product": "ART-1", "start": "2026-12-01 08:00:00", "end": "2026-12-01 12:00:00"}))
}

// verifySignatures checks every request with webhooks.Verify under each
// secret it must carry, and with the reference standardwebhooks library.
func verifySignatures(t *testing.T, reqs []hookRequest, secrets ...string) {
	t.Helper()
	var ref []webhookstest.Message
	for i, r := range reqs {
		for _, s := range secrets {
			key, err := webhooks.DecodeSecret(s)
			if err != nil {
				t.Fatal(err)
			}
			if err := webhooks.Verify(key, r.header, r.body, 5*time.Minute, time.Now()); err != nil {
				t.Errorf("request %d does not verify under %s…: %v", i, s[:10], err)
			}
			ref = append(ref, webhookstest.NewMessage(s, r.header, r.body, webhooks.HeaderID, webhooks.HeaderTimestamp, webhooks.HeaderSignature))
		}
	}
	runReferenceVerifier(t, ref)
}

// runReferenceVerifier runs the npm standardwebhooks library on messages
// and fails the test unless every one verifies.
func runReferenceVerifier(t *testing.T, messages []webhookstest.Message) {
	t.Helper()
	if missing := webhookstest.Missing(); missing != "" {
		if os.Getenv("CI") == "true" {
			t.Fatal(missing)
		}
		t.Logf("signatures not checked with the reference library: %s", missing)
		return
	}
	if lines, ok := webhookstest.Verify(t, messages); !ok {
		t.Fatalf("the reference verifier refused some signatures:\n%s", strings.Join(lines, "\n"))
	}
}

// deliveries lists an endpoint's deliveries.
func deliveries(t *testing.T, g *testGateway, id, query string) []map[string]any {
	t.Helper()
	items := decode(t, g.mustCall(t, http.StatusOK, "GET", "/v1/webhooks/"+id+"/deliveries"+query, nil))["items"].([]any)
	out := make([]map[string]any, len(items))
	for i, it := range items {
		out[i] = it.(map[string]any)
	}
	return out
}

func TestWebhookFailingThreeTimesArrivesOnTheFourthWithTheSameID(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		fastRetries(t)
		g := startGateway(t, e)
		rcv := newHookReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) {
			if n < 3 {
				w.WriteHeader(http.StatusInternalServerError)
				io.WriteString(w, "not yet")
				return
			}
			w.WriteHeader(http.StatusNoContent)
		})
		id, secret := createWebhook(t, g, rcv.srv.URL+"/hooks", "entry.*")
		job := postJob(t, g, "J-1")
		eventually(t, "four calls", func() bool { return rcv.count() >= 4 })
		reqs := rcv.requests()
		for i, r := range reqs {
			if r.id() != reqs[0].id() || !strings.HasPrefix(r.id(), "msg_") {
				t.Errorf("call %d has webhook-id %q, want %q on every call", i, r.id(), reqs[0].id())
			}
			if !bytes.Equal(r.body, reqs[0].body) {
				t.Errorf("call %d has another body than the first", i)
			}
		}
		body := reqs[3].payload(t)
		data := body["data"].(map[string]any)
		entry := data["entry"].(map[string]any)
		if body["type"] != "entry.created" || entry["id"] != job["id"] || entry["version"] != float64(1) || data["diff"] == nil {
			t.Errorf("body = %s", reqs[3].body)
		}
		verifySignatures(t, reqs, secret)
		eventually(t, "the delivery to be succeeded", func() bool {
			list := deliveries(t, g, id, "?status=succeeded")
			return len(list) == 1 && len(list[0]["attempt_log"].([]any)) == 4
		})
		d := deliveries(t, g, id, "")[0]
		log := d["attempt_log"].([]any)
		if d["id"] != reqs[0].id() || log[0].(map[string]any)["status_code"] != float64(500) || log[0].(map[string]any)["response"] != "not yet" {
			t.Errorf("delivery = %v", d)
		}
		if n := len(deliveries(t, g, id, "?status=failed")); n != 0 {
			t.Errorf("%d failed deliveries, want 0", n)
		}
	})
}

func TestWebhookGoneDisablesTheEndpointAndTellsTheOthers(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		fastRetries(t)
		g := startGateway(t, e)
		gone := newHookReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusGone) })
		watcher := newHookReceiver(t, nil)
		goneID, _ := createWebhook(t, g, gone.srv.URL, "entry.created")
		createWebhook(t, g, watcher.srv.URL, "webhook.disabled")
		hook := decode(t, g.mustCall(t, http.StatusCreated, "POST", "/v1/hooks", map[string]any{"target_url": gone.srv.URL + "/zap", "event": "entry.created"}))
		postJob(t, g, "J-1")
		for _, id := range []string{goneID, hook["id"].(string)} {
			eventually(t, "the endpoint to be disabled", func() bool {
				return decode(t, g.mustCall(t, http.StatusOK, "GET", "/v1/webhooks/"+id, nil))["disabled"] == true
			})
		}
		eventually(t, "webhook.disabled events", func() bool { return watcher.count() >= 2 })
		for _, r := range watcher.requests() {
			if p := r.payload(t); p["type"] != "webhook.disabled" {
				t.Errorf("watcher got %s", r.body)
			}
		}
		if n := gone.count(); n != 2 {
			t.Errorf("the 410 receiver got %d calls, want 2 (one per endpoint, no retry)", n)
		}
		postJob(t, g, "J-2")
		time.Sleep(300 * time.Millisecond)
		if n := gone.count(); n != 2 {
			t.Errorf("a disabled endpoint was called again (%d calls)", n)
		}
		w := decode(t, g.mustCall(t, http.StatusOK, "PATCH", "/v1/webhooks/"+goneID, map[string]any{"disabled": false}))
		if w["disabled"] != false || w["failing_since"] != nil {
			t.Errorf("re-enabled endpoint = %v", w)
		}
	})
}

func TestWebhookHonoursRetryAfter(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		fastRetries(t)
		g := startGateway(t, e)
		rcv := newHookReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) {
			if n == 0 {
				w.Header().Set("Retry-After", "1")
				w.WriteHeader(http.StatusTooManyRequests)
			}
		})
		id, _ := createWebhook(t, g, rcv.srv.URL, "entry.*")
		postJob(t, g, "J-1")
		eventually(t, "a second call", func() bool { return rcv.count() >= 2 })
		var log []any
		eventually(t, "the delivery to be succeeded", func() bool {
			list := deliveries(t, g, id, "?status=succeeded")
			if len(list) == 1 {
				log = list[0]["attempt_log"].([]any)
			}
			return len(log) == 2
		})
		first, second := log[0].(map[string]any), log[1].(map[string]any)
		if first["status_code"] != float64(429) || first["retry_in_ms"].(float64) < 1000 {
			t.Errorf("first attempt = %v, want 429 with a wait of at least 1000 ms", first)
		}
		t1, _ := time.Parse(time.RFC3339Nano, first["at"].(string))
		t2, _ := time.Parse(time.RFC3339Nano, second["at"].(string))
		if t2.Sub(t1) < time.Second {
			t.Errorf("second attempt at %v, %v after the first; Retry-After asked for 1 s", t2, t2.Sub(t1))
		}
	})
}

func TestWebhookRotationSignsWithBothSecrets(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		g := startGateway(t, e)
		rcv := newHookReceiver(t, nil)
		id, old := createWebhook(t, g, rcv.srv.URL, "entry.created")
		shown := decode(t, g.mustCall(t, http.StatusOK, "GET", "/v1/webhooks/"+id+"/secret", nil))
		if shown["secret"] != old {
			t.Fatalf("GET secret = %v, want the creation secret", shown)
		}
		if _, ok := decode(t, g.mustCall(t, http.StatusOK, "GET", "/v1/webhooks/"+id, nil))["secret"]; ok {
			t.Error("GET /v1/webhooks/{id} shows the secret")
		}
		rotated := decode(t, g.mustCall(t, http.StatusOK, "POST", "/v1/webhooks/"+id+"/rotate-secret", nil))
		fresh := rotated["secret"].(string)
		if fresh == old || len(rotated["secrets"].([]any)) != 2 {
			t.Fatalf("rotation reply = %v", rotated)
		}
		postJob(t, g, "J-1")
		eventually(t, "a call", func() bool { return rcv.count() >= 1 })
		r := rcv.requests()[0]
		if sigs := strings.Fields(r.header.Get(webhooks.HeaderSignature)); len(sigs) != 2 {
			t.Fatalf("webhook-signature = %q, want two signatures", r.header.Get(webhooks.HeaderSignature))
		}
		verifySignatures(t, rcv.requests(), old, fresh)
	})
}

func TestWebhookStoppedWorkerRedeliversWithTheSameID(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		fastRetries(t)
		cfg := testConfig(t)
		e.configure(t, cfg)
		release := make(chan struct{})
		rcv := newHookReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) {
			if n == 0 {
				select { // hold the first call until the worker is gone
				case <-release:
				case <-r.Context().Done():
				}
			}
		})
		defer close(release)
		g := startWithConfig(t, cfg, roleAPI|roleWorker)
		id, secret := createWebhook(t, g, rcv.srv.URL, "entry.created")
		postJob(t, g, "J-1")
		eventually(t, "the first call", func() bool { return rcv.count() >= 1 })
		g.Stop()
		g2 := startWithConfig(t, cfg, roleAPI|roleWorker)
		eventually(t, "the call to be made again", func() bool { return rcv.count() >= 2 })
		reqs := rcv.requests()
		if reqs[1].id() != reqs[0].id() {
			t.Errorf("the repeat has webhook-id %q, the first call had %q", reqs[1].id(), reqs[0].id())
		}
		verifySignatures(t, reqs[1:], secret)
		eventually(t, "the delivery to be succeeded", func() bool {
			return len(deliveries(t, g2, id, "?status=succeeded")) == 1
		})
	})
}

var refusedTargets = []string{
	"http://127.0.0.1/hook", "http://[::1]/hook", "http://10.0.0.1/hook", "http://169.254.169.254/latest/meta-data",
	"http://[::ffff:127.0.0.1]/hook", "http://2130706433/hook", "http://localhost/hook",
}

func TestWebhookRefusesInternalAddressesAtRegistration(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		g := startGateway(t, e, func(c *Config) { c.AllowPrivateTargets = false })
		for _, target := range refusedTargets {
			status, body, _ := g.call(t, "POST", "/v1/webhooks", map[string]any{"url": target, "events": []string{"entry.*"}})
			if status != http.StatusUnprocessableEntity || !strings.Contains(string(body), `"field":"url"`) {
				t.Errorf("POST /v1/webhooks %s: %d %s, want 422 naming url", target, status, body)
			}
			status, body, _ = g.call(t, "POST", "/v1/hooks", map[string]any{"target_url": target, "event": "entry.created"})
			if status != http.StatusUnprocessableEntity || !strings.Contains(string(body), `"field":"target_url"`) {
				t.Errorf("POST /v1/hooks %s: %d %s, want 422 naming target_url", target, status, body)
			}
		}
		for _, bad := range []string{"ftp://example.com/x", "https://user:pw@example.com/x", "/relative"} {
			if status, body, _ := g.call(t, "POST", "/v1/webhooks", map[string]any{"url": bad, "events": []string{"entry.*"}}); status != http.StatusUnprocessableEntity {
				t.Errorf("POST /v1/webhooks %s: %d %s, want 422", bad, status, body)
			}
		}
	})
}

func TestWebhookRefusesInternalAddressesAtDelivery(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		fastRetries(t)
		cfg := testConfig(t)
		e.configure(t, cfg)
		rcv := newHookReceiver(t, nil)
		g := startWithConfig(t, cfg, roleAPI|roleWorker)
		id, _ := createWebhook(t, g, rcv.srv.URL, "entry.created")
		g.Stop()
		// The deployment turns private targets off: the registered loopback
		// endpoint may no longer be reached.
		strict := *cfg
		strict.AllowPrivateTargets = false
		g2 := startWithConfig(t, &strict, roleAPI|roleWorker)
		postJob(t, g2, "J-1")
		eventually(t, "a refused attempt", func() bool {
			list := deliveries(t, g2, id, "")
			return len(list) == 1 && len(list[0]["attempt_log"].([]any)) > 0
		})
		a := deliveries(t, g2, id, "")[0]["attempt_log"].([]any)[0].(map[string]any)
		if msg, _ := a["error"].(string); !strings.Contains(msg, "loopback") {
			t.Errorf("attempt error = %q, want the refusal of a loopback address", msg)
		}
		if n := rcv.count(); n != 0 {
			t.Errorf("the receiver got %d calls, want none", n)
		}
	})
}

func TestWebhookWorkspacesNeverSeeEachOthersEndpoints(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		fastRetries(t)
		g := startGateway(t, e)
		rcv := newHookReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) })
		id, _ := createWebhook(t, g, rcv.srv.URL, "entry.created")
		postJob(t, g, "J-1")
		var deliveryID string
		eventually(t, "a delivery", func() bool {
			list := deliveries(t, g, id, "")
			if len(list) > 0 {
				deliveryID = list[0]["id"].(string)
			}
			return deliveryID != ""
		})
		other := g.newWorkspaceToken(t, "other")
		routes := []struct{ method, path string }{
			{"GET", "/v1/webhooks/" + id}, {"PATCH", "/v1/webhooks/" + id}, {"DELETE", "/v1/webhooks/" + id},
			{"GET", "/v1/webhooks/" + id + "/secret"}, {"POST", "/v1/webhooks/" + id + "/rotate-secret"},
			{"POST", "/v1/webhooks/" + id + "/test"}, {"GET", "/v1/webhooks/" + id + "/deliveries"},
			{"POST", "/v1/webhooks/" + id + "/deliveries/" + deliveryID + "/retry"},
			{"POST", "/v1/webhooks/" + id + "/replay?since=2020-01-01T00:00:00Z"}, {"DELETE", "/v1/hooks/" + id},
		}
		for _, r := range routes {
			var body any
			if r.method == "PATCH" {
				body = map[string]any{"description": "mine now"}
			}
			if status, data, _ := g.callAs(t, other, r.method, r.path, body); status != http.StatusNotFound {
				t.Errorf("%s %s from another workspace: %d %s, want 404", r.method, r.path, status, data)
			}
		}
		status, data, _ := g.callAs(t, other, "GET", "/v1/webhooks", nil)
		if status != http.StatusOK || len(decode(t, data)["items"].([]any)) != 0 {
			t.Errorf("GET /v1/webhooks from another workspace: %d %s, want an empty list", status, data)
		}
		if decode(t, g.mustCall(t, http.StatusOK, "GET", "/v1/webhooks/"+id, nil))["description"] != "" {
			t.Error("another workspace changed the endpoint")
		}
	})
}

func TestWebhookTestSendsNowAndReturnsTheAnswer(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		g := startGateway(t, e)
		rcv := newHookReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusAccepted)
			io.WriteString(w, "got it")
		})
		id, secret := createWebhook(t, g, rcv.srv.URL, "entry.created")
		res := decode(t, g.mustCall(t, http.StatusOK, "POST", "/v1/webhooks/"+id+"/test", nil))
		if res["succeeded"] != true || res["status_code"] != float64(202) || res["response"] != "got it" {
			t.Errorf("test reply = %v", res)
		}
		reqs := rcv.requests()
		if len(reqs) != 1 || reqs[0].payload(t)["type"] != "webhook.test" || reqs[0].id() != res["message_id"] {
			t.Fatalf("receiver got %v", reqs)
		}
		verifySignatures(t, reqs, secret)
	})
}

func TestWebhookFailedDeliveriesAreReplayedByHand(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		fastRetries(t)
		g := startGateway(t, e)
		rcv, heal := newFailingReceiver(t)
		since := time.Now().UTC().Add(-time.Minute).Format(time.RFC3339)
		id, _ := createWebhook(t, g, rcv.srv.URL, "entry.created")
		postJob(t, g, "J-1")
		postJob(t, g, "J-2")
		eventually(t, "both deliveries to fail", func() bool { return len(deliveries(t, g, id, "?status=failed")) == 2 })
		if n := rcv.count(); n != 2*webhooks.MaxAttempts {
			t.Errorf("receiver got %d calls, want %d", n, 2*webhooks.MaxAttempts)
		}
		heal()
		failed := deliveries(t, g, id, "?status=failed")
		g.mustCall(t, http.StatusAccepted, "POST", "/v1/webhooks/"+id+"/deliveries/"+failed[0]["id"].(string)+"/retry", nil)
		eventually(t, "one delivery to succeed", func() bool { return len(deliveries(t, g, id, "?status=succeeded")) == 1 })
		res := decode(t, g.mustCall(t, http.StatusAccepted, "POST", "/v1/webhooks/"+id+"/replay?since="+since, nil))
		if res["replayed"] != float64(1) {
			t.Errorf("replay = %v, want 1", res)
		}
		eventually(t, "both deliveries to succeed", func() bool { return len(deliveries(t, g, id, "?status=succeeded")) == 2 })
		if status, _, _ := g.call(t, "GET", "/v1/webhooks/"+id+"/deliveries?status=lost", nil); status != http.StatusBadRequest {
			t.Errorf("status=lost: %d, want 400", status)
		}
	})
}

func TestHooksSubscribeUnsubscribeAndSamples(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		g := startGateway(t, e)
		rcv := newHookReceiver(t, nil)
		hook := decode(t, g.mustCall(t, http.StatusCreated, "POST", "/v1/hooks", map[string]any{"target_url": rcv.srv.URL, "event": "entry.created"}))
		id := hook["id"].(string)
		if len(hook) != 1 {
			t.Errorf("subscribe reply = %v, want only the id", hook)
		}
		secrets := decode(t, g.mustCall(t, http.StatusOK, "GET", "/v1/webhooks/"+id+"/secret", nil))
		postJob(t, g, "J-1")
		eventually(t, "a call", func() bool { return rcv.count() >= 1 })
		verifySignatures(t, rcv.requests(), secrets["secret"].(string))
		g.mustCall(t, http.StatusNoContent, "DELETE", "/v1/hooks/"+id, nil)
		g.mustCall(t, http.StatusNotFound, "GET", "/v1/webhooks/"+id, nil)
		if status, body, _ := g.call(t, "POST", "/v1/hooks", map[string]any{"target_url": rcv.srv.URL, "event": "entry.exploded"}); status != http.StatusUnprocessableEntity || !strings.Contains(string(body), `"field":"event"`) {
			t.Errorf("unknown event: %d %s", status, body)
		}
		for _, typ := range []string{"entry.created", "entry.updated", "entry.rescheduled", "entry.cancelled", "entry.archived", "entry.restored", "webhook.test", "webhook.disabled", "import.failed"} {
			sample := decode(t, g.mustCall(t, http.StatusOK, "GET", "/v1/hooks/samples/"+typ, nil))
			data, _ := sample["data"].(map[string]any)
			if sample["type"] != typ || data == nil {
				t.Errorf("sample of %s = %v", typ, sample)
			}
			if strings.HasPrefix(typ, "entry.") {
				entry, _ := data["entry"].(map[string]any)
				if entry == nil || entry["version"] == nil || data["diff"] == nil {
					t.Errorf("sample of %s has no entry with version and diff: %v", typ, sample)
				}
			}
		}
		g.mustCall(t, http.StatusUnprocessableEntity, "GET", "/v1/hooks/samples/nope", nil)
	})
}

func TestWebhookValidatesEventsAndSecret(t *testing.T) {
	g := startGateway(t, engines()[0])
	tests := []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"url": "https://example.com/h"}, "events"},
		{map[string]any{"url": "https://example.com/h", "events": []string{"entry.exploded"}}, "events[0]"},
		{map[string]any{"url": "https://example.com/h", "events": []string{"nothing.*"}}, "events[0]"},
		{map[string]any{"url": "https://example.com/h", "events": []string{"entry.*"}, "secret": "whsec_short"}, "secret"},
		{map[string]any{"url": "https://example.com/h", "events": []string{"entry.*"}, "filter": map[string]any{"kinds": []string{"meeting"}}}, "filter.kinds[0]"},
		{map[string]any{"events": []string{"entry.*"}}, "url"},
	}
	for _, tt := range tests {
		status, body, _ := g.call(t, "POST", "/v1/webhooks", tt.body)
		if status != http.StatusUnprocessableEntity || !strings.Contains(string(body), fmt.Sprintf(`"field":%q`, tt.field)) {
			t.Errorf("POST %v: %d %s, want 422 naming %s", tt.body, status, body, tt.field)
		}
	}
	secret := webhooks.NewSecret()
	m := decode(t, g.mustCall(t, http.StatusCreated, "POST", "/v1/webhooks", map[string]any{"url": "https://example.com/h", "events": []string{"*"}, "secret": secret}))
	if m["secret"] != secret {
		t.Errorf("given secret came back as %v", m["secret"])
	}
}
