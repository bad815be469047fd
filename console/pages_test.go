package console

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	calgate "github.com/calgate/calgate"
)

func TestSignInExchangesTheTokenForASessionCookie(t *testing.T) {
	f := newFixture(t)
	b := f.browser()
	status, body := b.get("/console/schedule")
	if status != http.StatusOK || !strings.Contains(body, `action="/console/signin"`) {
		t.Fatalf("without a session: %d, want the sign-in form: %s", status, body)
	}
	// The sign-in answer itself: a cookie, a redirect, no token anywhere
	// but in the form body that was sent.
	for _, tc := range []struct {
		name   string
		header string
		secure bool
	}{{"behind a TLS proxy", "https", true}, {"plain http", "", false}} {
		t.Run(tc.name, func(t *testing.T) {
			b := f.browser()
			noFollow := &http.Client{Jar: b.client.Jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			form := url.Values{"csrf": {b.csrf("/console/signin")}, "token": {f.secret}}
			req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/console/signin", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tc.header != "" {
				req.Header.Set("X-Forwarded-Proto", tc.header)
			}
			resp, err := noFollow.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/schedule" {
				t.Fatalf("sign-in: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
			}
			var session *http.Cookie
			for _, ck := range resp.Cookies() {
				if ck.Name == sessionCookie && ck.Value != "" {
					session = ck
				}
			}
			if session == nil {
				t.Fatalf("no session cookie in %v", resp.Header["Set-Cookie"])
			}
			if session.MaxAge != int(DefaultSessionTTL.Seconds()) {
				t.Fatalf("session cookie lasts %ds, want %v", session.MaxAge, DefaultSessionTTL)
			}
			if !session.HttpOnly || session.SameSite != http.SameSiteStrictMode || session.Path != Prefix || session.Secure != tc.secure {
				t.Fatalf("cookie %+v: want HttpOnly, SameSite=Strict, Path=%s, Secure=%v", session, Prefix, tc.secure)
			}
			if strings.Contains(session.Value, f.secret) || strings.Contains(resp.Header.Get("Location"), f.secret) {
				t.Fatal("the token leaked into the cookie or a URL")
			}
		})
	}
	b.signIn(f.secret)
	status, body = b.get("/console/schedule")
	if status != http.StatusOK || !strings.Contains(body, "Schedule") || !strings.Contains(body, "planner · plant") {
		t.Fatalf("signed in: %d %s", status, body)
	}
}

func TestSignInWithABadTokenIsRefused(t *testing.T) {
	f := newFixture(t)
	b := f.browser()
	status, body := b.signIn("cgt_not_a_token")
	if status != http.StatusUnauthorized || !strings.Contains(body, "not valid") {
		t.Fatalf("bad token: %d %s", status, body)
	}
	if status, body = b.get("/console/tokens"); !strings.Contains(body, `action="/console/signin"`) {
		t.Fatalf("after a refused sign-in: %d, want the sign-in form", status)
	}
}

func TestAFormWithoutItsCSRFTokenIsRefused(t *testing.T) {
	f := newFixture(t)
	b := f.browser()
	b.signIn(f.secret)
	csrf := b.csrf("/console/tokens")
	before, _ := f.db.Tokens(context.Background(), f.ws.ID)
	for _, tc := range []struct {
		name   string
		form   url.Values
		origin string
	}{
		{"no token", url.Values{"name": {"sneaky"}}, ""},
		{"wrong token", url.Values{"name": {"sneaky"}, "csrf": {"x" + csrf}}, ""},
		{"right token from another site", url.Values{"name": {"sneaky"}, "csrf": {csrf}}, "https://evil.example"},
	} {
		req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/console/tokens", strings.NewReader(tc.form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if tc.origin != "" {
			req.Header.Set("Origin", tc.origin)
		}
		resp, err := b.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("%s: status %d, want 403", tc.name, resp.StatusCode)
		}
	}
	if after, _ := f.db.Tokens(context.Background(), f.ws.ID); len(after) != len(before) {
		t.Fatalf("a refused form created a token: %d tokens, had %d", len(after), len(before))
	}
	// The sign-in form is protected too (double-submit cookie).
	fresh := f.browser()
	if status, _ := fresh.post("/console/signin", url.Values{"token": {f.secret}}); status != http.StatusForbidden {
		t.Fatalf("sign-in without its CSRF token: %d, want 403", status)
	}
	// With its token, the same form goes through.
	if status, body := b.post("/console/tokens", url.Values{"name": {"kept"}, "csrf": {csrf}}); status != http.StatusOK || !strings.Contains(body, "shown only this once") {
		t.Fatalf("form with its token: %d %s", status, body)
	}
}

func TestForeignWorkspaceIDsGive404(t *testing.T) {
	f := newFixture(t)
	other, otherTok, _ := f.workspace("other", "UTC")
	foreign := f.entry(other, calgate.KindJob, map[string]any{"external_id": "F-1", "workstage": "Saw", "start": "2026-12-07T08:00:00Z", "end": "2026-12-07T10:00:00Z", "title": "theirs"})
	mine := f.entry(f.ws, calgate.KindJob, map[string]any{"external_id": "M-1", "workstage": "Saw", "start": "2026-12-07T08:00:00Z", "end": "2026-12-07T10:00:00Z", "title": "ours"})
	b := f.browser()
	b.signIn(f.secret)
	if status, body := b.get("/console/entries/job/" + mine.ID); status != http.StatusOK || !strings.Contains(body, "ours") {
		t.Fatalf("own entry: %d", status)
	}
	if status, body := b.get("/console/entries/job/" + foreign.ID); status != http.StatusNotFound || strings.Contains(body, "theirs") {
		t.Fatalf("foreign entry: %d, want 404 without its content", status)
	}
	if status, _ := b.get("/console/entries/nokind/" + mine.ID); status != http.StatusNotFound {
		t.Fatalf("unknown kind: %d, want 404", status)
	}
	if status, _ := b.post("/console/tokens/"+otherTok.ID+"/revoke", url.Values{"csrf": {b.csrf("/console/tokens")}}); status != http.StatusNotFound {
		t.Fatalf("revoking a foreign token: %d, want 404", status)
	}
	if live, _ := f.db.Tokens(context.Background(), other.ID); len(live) != 1 {
		t.Fatal("the foreign token was revoked")
	}
	if status, body := b.get("/console/tokens"); status != http.StatusOK || strings.Contains(body, otherTok.ID) {
		t.Fatalf("the token list shows another workspace's token")
	}
}

func TestAnEntryTitleWithMarkupIsShownEscaped(t *testing.T) {
	f := newFixture(t)
	title := `<script>alert("x")</script><img src=x onerror=alert(1)>`
	e := f.entry(f.ws, calgate.KindReservation, map[string]any{"external_id": "R-1", "resource": `Room <b>1</b>`,
		"start": "2026-12-08T09:00:00+01:00", "end": "2026-12-08T11:00:00+01:00", "title": title})
	b := f.browser()
	b.signIn(f.secret)
	for _, path := range []string{"/console/schedule?view=week&date=2026-12-08", "/console/entries/reservation/" + e.ID} {
		status, body := b.get(path)
		if status != http.StatusOK {
			t.Fatalf("%s: %d", path, status)
		}
		if strings.Contains(body, "<script>alert") || strings.Contains(body, "<img src=x") || strings.Contains(body, "<b>1</b>") {
			t.Fatalf("%s shows markup unescaped:\n%s", path, body)
		}
		if !strings.Contains(body, "&lt;script&gt;alert(") {
			t.Fatalf("%s does not show the title as text:\n%s", path, body)
		}
	}
}

// inlineCode finds what a strict Content-Security-Policy would block: an
// inline script, an event handler attribute or a style attribute.
var inlineCode = regexp.MustCompile(`<script>|<script [^>]*>[^<]|\son[a-z]+=|\sstyle=`)

func TestEveryPageHasAStrictContentSecurityPolicyAndNoInlineCode(t *testing.T) {
	f := newFixture(t)
	e := f.entry(f.ws, calgate.KindJob, map[string]any{"external_id": "J-1", "workstage": "Press", "start": "2026-12-07T08:00:00Z", "end": "2026-12-07T10:00:00Z", "title": "press"})
	b := f.browser()
	check := func(path string) {
		resp, err := b.client.Get(f.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		csp := resp.Header.Get("Content-Security-Policy")
		if csp != ContentSecurityPolicy || strings.Contains(csp, "unsafe") {
			t.Fatalf("%s: Content-Security-Policy %q", path, csp)
		}
		buf := new(strings.Builder)
		_, _ = io.Copy(buf, resp.Body)
		if m := inlineCode.FindString(buf.String()); m != "" {
			t.Fatalf("%s has inline code %q that the policy blocks", path, m)
		}
	}
	check("/console/signin")
	b.signIn(f.secret)
	for _, p := range []string{"/console/schedule", "/console/schedule?view=day&date=2026-12-07", "/console/schedule?view=month&date=2026-12-07",
		"/console/entries/job/" + e.ID, "/console/health", "/console/tokens", "/console/sync", "/console/nowhere"} {
		check(p)
	}
}

func TestRevokingTheTokenEndsItsSessions(t *testing.T) {
	f := newFixture(t)
	b := f.browser()
	b.signIn(f.secret)
	if _, body := b.get("/console/tokens"); !strings.Contains(body, "(this session)") {
		t.Fatal("the token page does not mark the session's token")
	}
	// Revoked elsewhere (the API): the session ends at its next request.
	if err := f.db.RevokeToken(context.Background(), f.ws.ID, f.token.ID); err != nil {
		t.Fatal(err)
	}
	if _, body := b.get("/console/schedule"); !strings.Contains(body, `action="/console/signin"`) {
		t.Fatal("the session outlived its revoked token")
	}
	// Revoked in the console: the visitor is signed out.
	_, tok2, secret2 := f.workspace("second", "UTC")
	b2 := f.browser()
	b2.signIn(secret2)
	status, body := b2.post("/console/tokens/"+tok2.ID+"/revoke", url.Values{"csrf": {b2.csrf("/console/tokens")}})
	if status != http.StatusOK || !strings.Contains(body, `action="/console/signin"`) {
		t.Fatalf("after revoking its own token: %d, want the sign-in form: %s", status, body)
	}
}

func TestSignOutEndsTheSession(t *testing.T) {
	f := newFixture(t)
	b := f.browser()
	b.signIn(f.secret)
	if status, body := b.post("/console/signout", url.Values{"csrf": {b.csrf("/console/schedule")}}); status != http.StatusOK || !strings.Contains(body, `action="/console/signin"`) {
		t.Fatalf("sign-out: %d", status)
	}
	if _, body := b.get("/console/schedule"); !strings.Contains(body, `action="/console/signin"`) {
		t.Fatal("still signed in after signing out")
	}
}

func TestTheEntryPageShowsItsHistoryAsADiff(t *testing.T) {
	f := newFixture(t)
	fields := map[string]any{"external_id": "J-7", "workstage": "Weld", "start": "2026-12-07T08:00:00Z", "end": "2026-12-07T10:00:00Z", "title": "frame A"}
	e := f.entry(f.ws, calgate.KindJob, fields)
	fields["title"], fields["end"] = "frame B", "2026-12-07T12:00:00Z"
	f.entry(f.ws, calgate.KindJob, fields)
	b := f.browser()
	b.signIn(f.secret)
	status, body := b.get("/console/entries/job/" + e.ID)
	if status != http.StatusOK {
		t.Fatalf("entry: %d", status)
	}
	for _, want := range []string{"Version 2 · entry.rescheduled", "Version 1 · entry.created", "<del>frame A</del>", "<ins>frame B</ins>", "CET · by planner"} { // times in the workspace's zone
		if !strings.Contains(body, want) {
			t.Fatalf("entry page lacks %q:\n%s", want, body)
		}
	}
	if strings.Index(body, "Version 2") > strings.Index(body, "Version 1") {
		t.Fatal("history is not newest first")
	}
}

func TestTheAPIIsServedBesideTheConsole(t *testing.T) {
	f := newFixture(t)
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	// Every path outside /console/ reaches the API as it was sent, even one
	// a ServeMux would clean and redirect.
	for _, path := range []string{"/v1/jobs", "/v1//jobs", "/consoles", "/v1/../console/x"} {
		req, _ := http.NewRequest(http.MethodGet, f.srv.URL+path, nil)
		req.URL.Opaque = path
		resp, err := noFollow.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusTeapot || resp.Header.Get("Content-Security-Policy") != "" {
			t.Errorf("%s: %d, want the API's answer without the console's headers", path, resp.StatusCode)
		}
	}
	resp, err := noFollow.Get(f.srv.URL + "/console")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != Prefix {
		t.Errorf("/console: %d to %q, want a redirect to %s", resp.StatusCode, resp.Header.Get("Location"), Prefix)
	}
}

func TestTheScheduleFilterRefusesBadValuesByName(t *testing.T) {
	f := newFixture(t)
	b := f.browser()
	b.signIn(f.secret)
	status, body := b.get("/console/schedule?view=year&date=tomorrow&kind=meeting")
	if status != http.StatusBadRequest {
		t.Fatalf("status %d", status)
	}
	for _, want := range []string{"view must be day, week or month", "date must be a date", "kind &#34;meeting&#34;"} {
		if !strings.Contains(body, want) {
			t.Fatalf("page lacks %q", want)
		}
	}
}

func TestControlCharactersInTheAddressAreRefused(t *testing.T) {
	f := newFixture(t)
	b := f.browser()
	b.signIn(f.secret)
	if status, _ := b.get("/console/entries/job/x%00y"); status != http.StatusNotFound {
		t.Errorf("a NUL in the path: %d, want 404", status)
	}
	if status, body := b.get("/console/schedule?resource=a%00b"); status != http.StatusBadRequest || !strings.Contains(body, "resource") {
		t.Errorf("a NUL in a query parameter: %d, want 400 naming it", status)
	}
}
