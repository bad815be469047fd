package main

import (
	"bufio"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// smtpRecorder is a tiny SMTP server that records the messages it gets.
type smtpRecorder struct {
	addr string
	mu   sync.Mutex
	msgs []string
}

func startSMTP(t *testing.T) *smtpRecorder {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	s := &smtpRecorder{addr: ln.Addr().String()}
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(conn)
		}
	}()
	return s
}

func (s *smtpRecorder) serve(conn net.Conn) {
	defer conn.Close()
	r := bufio.NewReader(conn)
	reply := func(line string) { conn.Write([]byte(line + "\r\n")) }
	reply("220 test ESMTP")
	var msg strings.Builder
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.ToUpper(strings.TrimSpace(line))
		switch {
		case strings.HasPrefix(cmd, "EHLO"), strings.HasPrefix(cmd, "HELO"):
			reply("250 test")
		case strings.HasPrefix(cmd, "MAIL"), strings.HasPrefix(cmd, "RCPT"):
			msg.WriteString(strings.TrimSpace(line) + "\n")
			reply("250 ok")
		case cmd == "DATA":
			reply("354 go on")
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				msg.WriteString(l)
			}
			s.mu.Lock()
			s.msgs = append(s.msgs, msg.String())
			s.mu.Unlock()
			msg.Reset()
			reply("250 queued")
		case cmd == "QUIT":
			reply("221 bye")
			return
		default:
			reply("250 ok")
		}
	}
}

func (s *smtpRecorder) messages() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.msgs...)
}

func TestImportsScheduledPullIncrementalAndFailure(t *testing.T) {
	mail := startSMTP(t)
	t.Setenv("CALGATE_SMTP_URL", "smtp://"+mail.addr)
	t.Setenv("CALGATE_SMTP_FROM", "calgate@example.com")
	var calls []string
	var mu sync.Mutex
	var failing atomic.Bool
	order := func(end string, tasks ...string) string {
		var ts []string
		for _, id := range tasks {
			ts = append(ts, `{"id": `+id+`, "cost_centre_name": "Paint", "activity_name": "Coat", "production_start": "2025-09-20 08:00:00", "production_end": "`+end+`"}`)
		}
		return `{"id": 7, "project_no": "P-7", "positions": [{"id": 1, "pos_no": 1, "tasks": [` + strings.Join(ts, ",") + `]}]}`
	}
	src := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls = append(calls, r.URL.RawQuery+"|"+r.Header.Get("X-Auth-Token"))
		mu.Unlock()
		if failing.Load() {
			http.Error(w, "down", http.StatusBadGateway)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Query().Get("since") == "" {
			w.Write([]byte(order("2025-09-20 12:00:00", "1", "2")))
			return
		}
		w.Write([]byte(order("2025-09-20 13:00:00", "2")))
	}))
	defer src.Close()

	g := startGateway(t, engines()[0])
	webhookless := decode(t, g.mustCall(t, http.StatusCreated, http.MethodPost, "/v1/pull-imports", map[string]any{
		"url": src.URL + "/orders", "headers": map[string]string{"X-AUTH-TOKEN": "pn-secret"},
		"query":       map[string]any{"status": "open", "fields": []string{"id", "tasks"}, "page": map[string]any{"size": 100}},
		"since_param": "since", "since_format": "rfc3339", "template": "planningnow-order", "schedule": "@every 1h",
		"notify_emails": []string{"ops@example.com"},
	}))
	id := webhookless["id"].(string)
	if strings.Contains(string(g.mustCall(t, http.StatusOK, http.MethodGet, "/v1/pull-imports/"+id, nil)), "pn-secret") {
		t.Fatal("the header value is shown")
	}
	first := decode(t, g.mustCall(t, http.StatusOK, http.MethodPost, "/v1/pull-imports/"+id+"/run", nil))
	if first["status"] != "ok" {
		t.Fatalf("first run: %v", first)
	}
	second := decode(t, g.mustCall(t, http.StatusOK, http.MethodPost, "/v1/pull-imports/"+id+"/run", nil))
	rep := second["report"].(map[string]any)
	if second["status"] != "ok" || num(rep, "updated") != 1 || num(rep, "created") != 0 {
		t.Fatalf("second run: %v", second)
	}
	mu.Lock()
	got := append([]string(nil), calls...)
	mu.Unlock()
	started, _ := time.Parse(time.RFC3339Nano, first["started_at"].(string))
	wantSince := "since=" + strings.ReplaceAll(started.UTC().Format(time.RFC3339), ":", "%3A")
	if len(got) != 2 || strings.Contains(got[0], "since=") || !strings.Contains(got[1], wantSince) ||
		!strings.Contains(got[0], "status=open") || !strings.Contains(got[0], "fields=id&fields=tasks") ||
		!strings.Contains(got[0], "page%5Bsize%5D=100") || !strings.HasSuffix(got[0], "|pn-secret") {
		t.Fatalf("calls = %q, want the second with %s", got, wantSince)
	}

	failing.Store(true)
	third := decode(t, g.mustCall(t, http.StatusOK, http.MethodPost, "/v1/pull-imports/"+id+"/run", nil))
	if third["status"] != "failed" || !strings.Contains(third["error"].(string), "502") {
		t.Fatalf("third run: %v", third)
	}
	runs := decode(t, g.mustCall(t, http.StatusOK, http.MethodGet, "/v1/pull-imports/"+id+"/runs", nil))
	if n := len(runs["items"].([]any)); n != 3 {
		t.Fatalf("%d runs listed", n)
	}
	events := string(g.mustCall(t, http.StatusOK, http.MethodGet, "/v1/events?types=import.failed", nil))
	if !strings.Contains(events, id) {
		t.Fatalf("no import.failed event: %s", events)
	}
	msgs := mail.messages()
	if len(msgs) != 1 || !strings.Contains(msgs[0], "ops@example.com") || !strings.Contains(msgs[0], "failed") {
		t.Fatalf("mails = %q", msgs)
	}
	g.mustCall(t, http.StatusNoContent, http.MethodDelete, "/v1/pull-imports/"+id, nil)
	g.mustCall(t, http.StatusNotFound, http.MethodGet, "/v1/pull-imports/"+id, nil)
}

// A pull of an Excel workbook reads the sheet it names, on both databases.
func TestImportsPullReadsANamedSheet(t *testing.T) {
	book := readTestdata(t, "bookings-two-sheets.xlsx")
	src := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
		w.Write(book)
	}))
	defer src.Close()
	forEachEngine(t, func(t *testing.T, e engine) {
		g := startGateway(t, e)
		g.mustCall(t, http.StatusCreated, http.MethodPost, "/v1/templates", json.RawMessage(csvTemplate))
		pull := decode(t, g.mustCall(t, http.StatusCreated, http.MethodPost, "/v1/pull-imports", map[string]any{
			"url": src.URL + "/report.xlsx", "template": "shop-bookings", "sheet": "Bookings", "schedule": "@every 1h"}))
		id := pull["id"].(string)
		if pull["sheet"] != "Bookings" {
			t.Fatalf("created: %v", pull)
		}
		run := decode(t, g.mustCall(t, http.StatusOK, http.MethodPost, "/v1/pull-imports/"+id+"/run", nil))
		if rep, _ := run["report"].(map[string]any); run["status"] != "ok" || num(rep, "created") != 2 {
			t.Fatalf("run: %v", run)
		}

		// A sheet the workbook lacks fails the run, and names the sheets it has.
		g.mustCall(t, http.StatusOK, http.MethodPatch, "/v1/pull-imports/"+id, map[string]any{"sheet": "Invoices"})
		run = decode(t, g.mustCall(t, http.StatusOK, http.MethodPost, "/v1/pull-imports/"+id+"/run", nil))
		if msg, _ := run["error"].(string); run["status"] != "failed" || !strings.Contains(msg, `"Bookings"`) {
			t.Fatalf("run with a missing sheet: %v", run)
		}

		for name, body := range map[string]map[string]any{
			"JSON template": {"url": src.URL, "template": "planningnow-order", "sheet": "Bookings", "schedule": "@every 1h"},
			"long name":     {"url": src.URL, "template": "shop-bookings", "sheet": strings.Repeat("x", 32), "schedule": "@every 1h"},
		} {
			status, resp, _ := g.call(t, http.MethodPost, "/v1/pull-imports", body)
			if status != http.StatusUnprocessableEntity || !slices.Contains(problemFields(t, resp), "sheet") {
				t.Errorf("%s: %d %s", name, status, resp)
			}
		}
		// Moving the pull to a JSON template while it names a sheet is refused too.
		status, resp, _ := g.call(t, http.MethodPatch, "/v1/pull-imports/"+id, map[string]any{"template": "planningnow-order"})
		if status != http.StatusUnprocessableEntity || !slices.Contains(problemFields(t, resp), "sheet") {
			t.Errorf("JSON template with a sheet: %d %s", status, resp)
		}
	})
}
