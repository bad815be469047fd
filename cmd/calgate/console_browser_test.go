package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/calgate/calgate/internal/testenv"
)

// ChromiumEnv names the Chromium binary the browser tests drive
// (.ci/setup-browser.sh installs Debian's chromium and sets it).
const ChromiumEnv = "CALGATE_TEST_CHROMIUM"

// ArtifactsEnv names the directory the browser tests keep their
// screenshots in (default: a new temporary directory, named in the log).
const ArtifactsEnv = "CALGATE_TEST_ARTIFACTS"

// chromiumPath finds Chromium; a missing browser skips the test, or fails
// it under CI=true.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv(ChromiumEnv); p != "" {
		if _, err := os.Stat(p); err != nil {
			testenv.Missing(t, "%s=%s: %v", ChromiumEnv, p, err)
		}
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	testenv.Missing(t, "%s is not set and no chromium is on PATH (.ci/setup-browser.sh installs it)", ChromiumEnv)
	return ""
}

// page is a headless Chromium tab that keeps screenshots of what it shows.
type page struct {
	t   *testing.T
	ctx context.Context
	dir string
	n   int
}

func newPage(t *testing.T) *page {
	t.Helper()
	exe := chromiumPath(t)
	dir := os.Getenv(ArtifactsEnv)
	if dir != "" {
		dir = filepath.Join(dir, strings.ReplaceAll(t.Name(), "/", "_"))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	} else {
		var err error
		if dir, err = os.MkdirTemp("", "calgate-console-"); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("screenshots are kept in %s", dir)
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox,
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900), chromedp.DisableGPU)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium %s: %v", exe, err)
	}
	return &page{t: t, ctx: ctx, dir: dir}
}

// do runs steps, failing the test with what was being done.
func (p *page) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, steps...); err != nil {
		p.shot("failed-" + strings.ReplaceAll(what, " ", "-"))
		p.t.Fatalf("%s: %v", what, err)
	}
}

// text returns the visible text of the first element matching sel.
func (p *page) text(sel string) string {
	p.t.Helper()
	s, err := chromedp.Run(p.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		p.t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

// eval runs JavaScript and decodes its value.
func eval[T any](p *page, js string) T {
	p.t.Helper()
	v, err := chromedp.Run(p.ctx, chromedp.Evaluate[T](js))
	if err != nil {
		p.t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// shot saves a screenshot of the whole page as NN-name.png.
func (p *page) shot(name string) {
	p.t.Helper()
	buf, err := chromedp.Run(p.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		p.t.Logf("screenshot %s: %v", name, err)
		return
	}
	p.n++
	path := filepath.Join(p.dir, fmt.Sprintf("%02d-%s.png", p.n, name))
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		p.t.Fatal(err)
	}
}

// signIn signs in through the form and waits for the schedule.
func (p *page) signIn(base, token string) {
	p.t.Helper()
	p.do("open the sign-in page", chromedp.Navigate(base+"/console/signin"), chromedp.WaitVisible(chromedp.ID("token")))
	p.do("sign in", chromedp.SendKeys(chromedp.ID("token"), token), chromedp.Submit(chromedp.ID("token")),
		chromedp.WaitVisible(chromedp.ID("timeline")))
}

// checkLabels fails the test when a control of the page has no label, or
// when the page is wider than the window (wide content must scroll
// within its own box).
func (p *page) checkLabels() {
	p.t.Helper()
	if overflow := eval[float64](p, "document.documentElement.scrollWidth - window.innerWidth"); overflow > 1 {
		wide := eval[[]string](p, `[...document.querySelectorAll("body *")].filter(e => e.getBoundingClientRect().right > window.innerWidth + 1).slice(0, 5).map(e => e.tagName + "." + e.className + "#" + e.id)`)
		p.t.Errorf("%s is %.0f px wider than the window: %v", eval[string](p, "location.pathname"), overflow, wide)
	}
	unlabelled := eval[[]string](p, `[...document.querySelectorAll("input:not([type=hidden]), select, textarea")]
		.filter(e => !(e.labels && e.labels.length) && !e.getAttribute("aria-label")).map(e => e.outerHTML)`)
	if len(unlabelled) > 0 {
		p.t.Errorf("controls without a label on %s: %v", eval[string](p, "location.pathname"), unlabelled)
	}
}

// box is an element's place on the page.
type box struct {
	Left   float64 `json:"left"`
	Right  float64 `json:"right"`
	Top    float64 `json:"top"`
	Bottom float64 `json:"bottom"`
}

func boxJS(sel string) string {
	return fmt.Sprintf(`(() => { const e = document.querySelector(%q); if (!e) return null;
		const r = e.getBoundingClientRect(); return {left: r.left, right: r.right, top: r.top, bottom: r.bottom}; })()`, sel)
}

// TestConsoleInABrowser drives the console in headless Chromium the way a
// planner and an administrator use it.
func TestConsoleInABrowser(t *testing.T) {
	fastRetries(t)
	g := startGateway(t, engines()[0])
	p := newPage(t)

	// A seeded week: this week, in the workspace's zone (Europe/Berlin).
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().In(berlin)
	monday := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, berlin).AddDate(0, 0, -(int(now.Weekday())+6)%7)
	at := func(day, hour int) string {
		return monday.AddDate(0, 0, day).Add(time.Duration(hour) * time.Hour).Format(time.RFC3339)
	}
	job := func(id, stage, title string, day, from, to int) map[string]any {
		return map[string]any{"external_id": id, "workstage": stage, "title": title, "start": at(day, from), "end": at(day, to)}
	}
	cut := decode(t, g.mustCall(t, http.StatusCreated, "POST", "/v1/jobs", job("J-1", "CNC-1", "Cut frames", 1, 8, 12)))
	weld := decode(t, g.mustCall(t, http.StatusCreated, "POST", "/v1/jobs", job("J-2", "CNC-2", "Weld frames", 3, 13, 17)))
	room := decode(t, g.mustCall(t, http.StatusCreated, "POST", "/v1/reservations", map[string]any{"external_id": "R-1", "resource": "Room 1",
		"title": "Customer visit", "status": "tentative", "start": at(0, 9), "end": at(0, 11)}))
	if status, body, _ := g.call(t, "POST", "/v1/jobs", job("J-1", "CNC-1", "Cut frames, second cut", 1, 8, 12)); status != http.StatusOK {
		t.Fatalf("update J-1: %d %s", status, body)
	}
	// Around them, a working week of other rows.
	extra := []map[string]any{
		job("J-3", "CNC-1", "Drill plates", 2, 7, 15), job("J-4", "CNC-2", "Weld brackets", 1, 9, 16),
		job("J-5", "Paint", "Prime frames", 2, 13, 18), job("J-6", "Paint", "Top coat", 3, 8, 12),
		job("J-7", "Assembly", "Assemble line 1", 4, 7, 16), job("J-8", "Assembly", "Assemble line 2", 0, 12, 17),
	}
	extra[1]["status"] = "tentative"
	extra[3]["status"] = "cancelled"
	for _, body := range extra {
		g.mustCall(t, http.StatusCreated, "POST", "/v1/jobs", body)
	}
	g.mustCall(t, http.StatusCreated, "POST", "/v1/production-windows", map[string]any{"external_id": "P-1", "cost_centre": "Hall A",
		"title": "Maintenance window", "start": at(4, 6), "end": at(4, 14)})
	g.mustCall(t, http.StatusCreated, "POST", "/v1/reservations", map[string]any{"external_id": "R-2", "resource": "Room 2",
		"title": "Supplier audit", "start": at(2, 10), "end": at(2, 15)})
	const seeded = 11
	week := g.URL + "/console/schedule?view=week&date=" + monday.AddDate(0, 0, 2).Format(time.DateOnly)

	t.Run("sign in and see the week with bars where the entries are", func(t *testing.T) {
		p.t = t
		p.signIn(g.URL, g.Token)
		p.do("open the week", chromedp.Navigate(week), chromedp.WaitVisible(chromedp.ID("timeline")))
		if got := p.text("#count"); !strings.HasPrefix(got, fmt.Sprintf("%d entries", seeded)) {
			t.Fatalf("count %q, want %d entries", got, seeded)
		}
		if n := eval[int](p, `document.querySelectorAll("svg.bar").length`); n != seeded {
			t.Fatalf("%d bars, want %d", n, seeded)
		}
		for _, tc := range []struct {
			id, row      string
			day          int // 0 = Monday
			from, to     float64
			title, state string
		}{
			{cut["id"].(string), "CNC-1", 1, 8, 12, "Cut frames, second cut", "confirmed"},
			{weld["id"].(string), "CNC-2", 3, 13, 17, "Weld frames", "confirmed"},
			{room["id"].(string), "Room 1", 0, 9, 11, "Customer visit", "tentative"},
		} {
			bar := eval[*box](p, boxJS(`svg.bar[data-entry="`+tc.id+`"] > rect`))
			row := eval[*box](p, boxJS(`.tl-row[data-resource="`+tc.row+`"] svg.tl-bars`))
			col := eval[*box](p, boxJS(fmt.Sprintf(`.tl-grid > svg:nth-of-type(%d)`, tc.day+1)))
			if bar == nil || row == nil || col == nil {
				t.Fatalf("%s: bar %v, row %v, column %v", tc.title, bar, row, col)
			}
			if bar.Top < row.Top || bar.Bottom > row.Bottom {
				t.Errorf("%s: bar %+v is not on row %s %+v", tc.title, bar, tc.row, row)
			}
			hour := (col.Right - col.Left) / 24
			if d := bar.Left - (col.Left + tc.from*hour); d < -2 || d > 2 {
				t.Errorf("%s: bar starts at %.1f, want %.1f (day %d, %v:00)", tc.title, bar.Left, col.Left+tc.from*hour, tc.day, tc.from)
			}
			if d := bar.Right - (col.Left + tc.to*hour); d < -2 || d > 2 {
				t.Errorf("%s: bar ends at %.1f, want %.1f", tc.title, bar.Right, col.Left+tc.to*hour)
			}
			cls := eval[string](p, fmt.Sprintf(`document.querySelector('svg.bar[data-entry="%s"]').getAttribute("class")`, tc.id))
			if !strings.Contains(cls, "s-"+tc.state) {
				t.Errorf("%s: class %q lacks its status", tc.title, cls)
			}
			label := eval[string](p, fmt.Sprintf(`document.querySelector('svg.bar[data-entry="%s"]').parentElement.getAttribute("aria-label")`, tc.id))
			if !strings.HasPrefix(label, tc.title) {
				t.Errorf("bar label %q, want it to start with %q", label, tc.title)
			}
		}
		if eval[int](p, `document.querySelector("a.bar-link").tabIndex`) < 0 {
			t.Error("the bars are not reachable with the keyboard")
		}
		if first := eval[string](p, `document.querySelector("a").textContent`); first != "Skip to content" {
			t.Errorf("the first link is %q, want the skip link", first)
		}
		// Colours by kind, paler when tentative, grey when cancelled.
		fill := func(ext string) string {
			return eval[string](p, fmt.Sprintf(`(() => { const id = [...document.querySelectorAll("a.bar-link")].find(a => a.getAttribute("aria-label").startsWith(%q)).querySelector("svg.bar").dataset.entry;
				const s = getComputedStyle(document.querySelector('svg.bar[data-entry="' + id + '"] > rect')); return s.fill + " " + s.fillOpacity; })()`, ext))
		}
		for title, want := range map[string]string{"Weld frames": "rgb(46, 155, 95) 1", "Customer visit": "rgb(47, 125, 209) 0.55",
			"Maintenance window": "rgb(182, 106, 18) 1", "Top coat": "rgb(201, 204, 211) 1"} {
			if got := fill(title); got != want {
				t.Errorf("%s is drawn %q, want %q", title, got, want)
			}
		}
		p.checkLabels()
		p.shot("schedule-week")
	})

	t.Run("on a phone the page fits and the timeline scrolls", func(t *testing.T) {
		p.t = t
		p.do("narrow the screen", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2)), chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("timeline")))
		p.checkLabels()
		if !eval[bool](p, `(() => { const e = document.getElementById("timeline"); return e.scrollWidth > e.clientWidth; })()`) {
			t.Error("the timeline does not scroll sideways within the page")
		}
		p.shot("schedule-phone")
		for _, path := range []string{"/console/health", "/console/feeds", "/console/webhooks", "/console/sync", "/console/imports", "/console/connectors", "/console/tokens"} {
			p.do("open "+path+" on a phone", chromedp.Navigate(g.URL+path), chromedp.WaitVisible(chromedp.ID("main")))
			p.checkLabels()
		}
		p.do("widen the screen", chromedp.EmulateViewport(1280, 900), chromedp.Navigate(week), chromedp.WaitVisible(chromedp.ID("timeline")))
	})

	t.Run("open an entry with its history", func(t *testing.T) {
		p.t = t
		p.do("click the bar", chromedp.Click(chromedp.CSS(`svg.bar[data-entry="`+cut["id"].(string)+`"] > rect`)), chromedp.WaitVisible(chromedp.ID("history")))
		if got := p.text("#entry-title"); got != "Cut frames, second cut" {
			t.Fatalf("entry title %q", got)
		}
		hist := p.text("#history")
		for _, want := range []string{"Version 2 · entry.updated", "Version 1 · entry.created", "Cut frames", "Cut frames, second cut"} {
			if !strings.Contains(hist, want) {
				t.Fatalf("history lacks %q:\n%s", want, hist)
			}
		}
		if del := p.text("#history table.diff del"); del != "Cut frames" {
			t.Fatalf("the first diff strikes %q, want the old title", del)
		}
		p.checkLabels()
		p.shot("entry-history")
	})

	t.Run("create a feed and fetch its URL", func(t *testing.T) {
		p.t = t
		p.do("open feeds", chromedp.Navigate(g.URL+"/console/feeds"), chromedp.WaitVisible(chromedp.ID("feed-form")))
		p.do("fill the form", chromedp.SendKeys(chromedp.ID("feed-name"), "Shop floor"),
			chromedp.Click(chromedp.CSS(`input[name="kinds"][value="job"]`)),
			chromedp.Click(chromedp.CSS(`#feed-form button[type="submit"]`)), chromedp.WaitVisible(chromedp.CSS("tr.new input.feed-url")))
		feedURL, err := chromedp.Run(p.ctx, chromedp.Value(chromedp.CSS("tr.new input.feed-url")))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(feedURL, g.app.cfg.PublicURL+"/feeds/") {
			t.Fatalf("feed URL %q", feedURL)
		}
		p.do("copy the URL", chromedp.Click(chromedp.CSS("tr.new button.copy")))
		eventually(t, "the copy button to say it copied", func() bool { return p.text("tr.new button.copy") == "Copied" })
		p.checkLabels()
		p.shot("feed-created")
		resp, err := http.Get(g.URL + strings.TrimPrefix(feedURL, g.app.cfg.PublicURL))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "BEGIN:VCALENDAR") ||
			!strings.Contains(string(body), "Weld frames") || strings.Contains(string(body), "Customer visit") {
			t.Fatalf("feed: %d\n%s", resp.StatusCode, body)
		}
	})

	t.Run("a failing endpoint's delivery is retried after the receiver is fixed", func(t *testing.T) {
		p.t = t
		var mu sync.Mutex
		fixed := false
		rcv := newHookReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			defer mu.Unlock()
			if !fixed {
				w.WriteHeader(http.StatusInternalServerError)
				io.WriteString(w, "receiver is down")
			}
		})
		id, _ := createWebhook(t, g, rcv.srv.URL+"/hooks", "entry.created")
		postJob(t, g, "J-9")
		eventually(t, "the delivery to fail", func() bool { return len(deliveries(t, g, id, "?status=failed")) == 1 })
		p.do("open health", chromedp.Navigate(g.URL+"/console/health"), chromedp.WaitVisible(chromedp.ID("failing")))
		if rate := p.text("#success-rate"); rate != "0.0%" {
			t.Errorf("delivery success %q, want 0.0%%", rate)
		}
		if depth := p.text("#queue-depth"); strings.Trim(depth, "0123456789") != "" || depth == "" {
			t.Errorf("queue depth %q is not a number", depth)
		}
		if failing := p.text("#failing"); !strings.Contains(failing, rcv.srv.URL) || !strings.Contains(failing, "500") {
			t.Errorf("the failing endpoint is not listed with its error: %q", failing)
		}
		p.checkLabels()
		p.shot("health-failing")
		p.do("open the endpoint", chromedp.Navigate(g.URL+"/console/webhooks/"+id), chromedp.WaitVisible(chromedp.ID("deliveries")))
		if st := p.text("tr.delivery .status"); st != "failed" {
			t.Fatalf("delivery status %q, want failed", st)
		}
		if attempts := p.text("tr.delivery .attempts"); !strings.Contains(attempts, "500") || !strings.Contains(attempts, "receiver is down") {
			t.Fatalf("attempts do not show the answer: %q", attempts)
		}
		p.checkLabels()
		p.shot("webhook-failed")
		mu.Lock()
		fixed = true
		mu.Unlock()
		before := rcv.count()
		p.do("retry", chromedp.Click(chromedp.CSS("tr.delivery button")), chromedp.WaitVisible(chromedp.ID("notice")))
		eventually(t, "the retried delivery to succeed", func() bool {
			if err := chromedp.Do(p.ctx, chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("deliveries"))); err != nil {
				t.Fatal(err)
			}
			return p.text("tr.delivery .status") == "succeeded"
		})
		if rcv.count() != before+1 {
			t.Fatalf("the receiver got %d calls after the retry, want 1", rcv.count()-before)
		}
		p.shot("webhook-retried")
	})

	t.Run("upload a CSV with one bad row and see that row's error", func(t *testing.T) {
		p.t = t
		g.mustCall(t, http.StatusCreated, "POST", "/v1/templates", []byte(csvTemplate))
		file := filepath.Join(t.TempDir(), "bookings.csv")
		csv := "Booking;Room;Guest;Start;End;Note\n" +
			"b1;Room 1;Guest 1;08.12.2026 09:00;08.12.2026 10:00;n1\n" +
			"b2;Room 2;Guest 2;not a date;08.12.2026 10:00;n2\n" +
			"b3;Room 3;Guest 3;09.12.2026 09:00;09.12.2026 10:00;n3\n"
		if err := os.WriteFile(file, []byte(csv), 0o644); err != nil {
			t.Fatal(err)
		}
		p.do("upload", chromedp.Navigate(g.URL+"/console/imports"), chromedp.WaitVisible(chromedp.ID("import-form")),
			chromedp.SetValue(chromedp.ID("template"), "shop-bookings"), chromedp.SetUploadFiles(chromedp.ID("file"), []string{file}),
			chromedp.Click(chromedp.CSS(`#import-form button[type="submit"]`)), chromedp.WaitVisible(chromedp.ID("report-counts")))
		if got := p.text("#report-counts"); !strings.Contains(got, "2 created") || !strings.Contains(got, "1 failed") {
			t.Fatalf("report %q", got)
		}
		rows := eval[[]string](p, `[...document.querySelectorAll("#row-errors tbody tr")].map(r => r.innerText)`)
		if len(rows) == 0 {
			t.Fatal("no row errors shown")
		}
		for _, r := range rows {
			// The header is line 1: b2 is on line 3.
			if !strings.HasPrefix(r, "line 3") || !strings.Contains(r, `column "Start"`) || !strings.Contains(r, `"not a date"`) {
				t.Fatalf("row error %q is not line 3's start", r)
			}
		}
		p.checkLabels()
		p.shot("import-row-error")
	})

	t.Run("revoke a token and be signed out", func(t *testing.T) {
		p.t = t
		p.do("create a token", chromedp.Navigate(g.URL+"/console/tokens"), chromedp.WaitVisible(chromedp.ID("token-name")),
			chromedp.SendKeys(chromedp.ID("token-name"), "temporary"), chromedp.Submit(chromedp.ID("token-name")),
			chromedp.WaitVisible(chromedp.ID("token-created")))
		secret, err := chromedp.Run(p.ctx, chromedp.Value(chromedp.ID("new-token")))
		if err != nil || !strings.HasPrefix(secret, "cgt_") {
			t.Fatalf("new token %q: %v", secret, err)
		}
		p.checkLabels()
		p.shot("token-created")
		p.do("sign out", chromedp.Click(chromedp.CSS(".signout button")), chromedp.WaitVisible(chromedp.ID("token")))
		p.signIn(g.URL, secret)
		p.do("open tokens", chromedp.Navigate(g.URL+"/console/tokens"), chromedp.WaitVisible(chromedp.ID("tokens")))
		mine := eval[string](p, `[...document.querySelectorAll("#tokens tr[data-token]")].find(r => r.innerText.includes("(this session)")).dataset.token`)
		p.do("revoke it", chromedp.Click(chromedp.CSS(`tr[data-token="`+mine+`"] button`)), chromedp.WaitVisible(chromedp.ID("token")))
		p.do("try the schedule", chromedp.Navigate(g.URL+"/console/schedule"), chromedp.WaitVisible(chromedp.ID("token")))
		if status, _, _ := g.callAs(t, secret, "GET", "/v1/auth/test", nil); status != http.StatusUnauthorized {
			t.Fatalf("revoked token: %d, want 401", status)
		}
		p.shot("signed-out")
	})
}
