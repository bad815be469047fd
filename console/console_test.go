package console

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	calgate "github.com/calgate/calgate"
	"github.com/calgate/calgate/store"
)

// fixture is a console over a fresh SQLite store with one workspace.
type fixture struct {
	t      testing.TB
	db     *store.DB
	srv    *httptest.Server
	ws     *calgate.Workspace
	secret string
	token  *calgate.Token
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, "", filepath.Join(t.TempDir(), "data"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	c, err := New(Deps{Store: db})
	if err != nil {
		t.Fatal(err)
	}
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "api", http.StatusTeapot) })
	srv := httptest.NewServer(c.Mount(api))
	t.Cleanup(srv.Close)
	f := &fixture{t: t, db: db, srv: srv}
	f.ws, f.token, f.secret = f.workspace("plant", "Europe/Berlin")
	return f
}

// workspace creates a workspace with an admin token.
func (f *fixture) workspace(name, tz string) (*calgate.Workspace, *calgate.Token, string) {
	f.t.Helper()
	ws := &calgate.Workspace{Name: name, Timezone: tz}
	if err := f.db.CreateWorkspace(context.Background(), ws); err != nil {
		f.t.Fatal(err)
	}
	tok, secret := calgate.NewToken(ws.ID, "planner", "console", true)
	if err := f.db.CreateToken(context.Background(), tok, calgate.HashSecret(secret)); err != nil {
		f.t.Fatal(err)
	}
	return ws, tok, secret
}

// entry creates an entry from its wire form and returns it.
func (f *fixture) entry(ws *calgate.Workspace, kind calgate.Kind, fields map[string]any) *calgate.Entry {
	f.t.Helper()
	body, _ := json.Marshal(fields)
	e, err := calgate.ParseEntry(kind, body, ws.Timezone)
	if err != nil {
		f.t.Fatal(err)
	}
	res, err := f.db.Upsert(context.Background(), ws.ID, "planner/"+f.token.ID, []calgate.UpsertItem{{Entry: e}}, calgate.UpsertOptions{Verbose: true})
	if err != nil || res.Failed > 0 || len(res.Operations) != 1 {
		f.t.Fatalf("upsert: %v %+v", err, res)
	}
	got, err := f.db.Entry(context.Background(), ws.ID, kind, res.Operations[0].ID, false)
	if err != nil {
		f.t.Fatal(err)
	}
	return got
}

// browser is an HTTP client with a cookie jar, as a browser would be.
type browser struct {
	f      *fixture
	client *http.Client
}

func (f *fixture) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{f: f, client: &http.Client{Jar: jar}}
}

var csrfPattern = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// get fetches a page and returns its status and body.
func (b *browser) get(path string) (int, string) {
	b.f.t.Helper()
	resp, err := b.client.Get(b.f.srv.URL + path)
	if err != nil {
		b.f.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// csrf reads the CSRF token of the forms of a page.
func (b *browser) csrf(path string) string {
	b.f.t.Helper()
	_, body := b.get(path)
	m := csrfPattern.FindStringSubmatch(body)
	if m == nil {
		b.f.t.Fatalf("no CSRF token on %s: %s", path, body)
	}
	return m[1]
}

// post sends a form as a browser does (with its Origin) and returns the
// status and body of the page it ends on.
func (b *browser) post(path string, form url.Values) (int, string) {
	b.f.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, b.f.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.f.srv.URL)
	resp, err := b.client.Do(req)
	if err != nil {
		b.f.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// signIn signs in with a token through the sign-in form.
func (b *browser) signIn(secret string) (int, string) {
	b.f.t.Helper()
	return b.post("/console/signin", url.Values{"csrf": {b.csrf("/console/signin")}, "token": {secret}})
}
