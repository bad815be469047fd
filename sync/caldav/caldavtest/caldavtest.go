package caldavtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Username and Password are the credentials every test server accepts.
const (
	Username = "alice"
	Password = "correct-horse"
)

// startTimeout bounds how long a server may take to answer after start.
const startTimeout = 30 * time.Second

// Server is a running CalDAV server.
type Server struct {
	// URL is the server root.
	URL string
	// CalendarURL is a calendar for events that exists at start.
	CalendarURL string
	Username    string
	Password    string

	t    testing.TB
	name string
	addr string
	dir  string
	args []string
	// backend is where the auth proxy forwards to (Xandikos only).
	backend string

	mu      sync.Mutex
	cmd     *exec.Cmd
	done    chan struct{}
	proxy   *http.Server
	logFile string
}

// StartRadicale starts Radicale with htpasswd authentication and storage in
// a temporary directory, and creates the calendar "/alice/work/" (display
// name "Work"). The server stops when the test ends.
func StartRadicale(t testing.TB) *Server {
	t.Helper()
	bin := lookPath(t, "radicale")
	dir := t.TempDir()
	addr := freeAddr(t)
	users := filepath.Join(dir, "users")
	writeFile(t, users, Username+":"+Password+"\n")
	cfg := filepath.Join(dir, "config")
	writeFile(t, cfg, fmt.Sprintf(`[server]
hosts = %s
[auth]
type = htpasswd
htpasswd_filename = %s
htpasswd_encryption = plain
delay = 0
[rights]
type = owner_only
[storage]
filesystem_folder = %s
[web]
type = none
[logging]
level = warning
`, addr, users, filepath.Join(dir, "collections")))

	s := &Server{
		URL: "http://" + addr + "/", Username: Username, Password: Password,
		t: t, name: "radicale", addr: addr, dir: dir,
		args:    []string{bin, "--config", cfg},
		logFile: filepath.Join(dir, "server.log"),
	}
	s.Start()
	t.Cleanup(s.Stop)
	cal, err := s.MakeCalendar(context.Background(), "work", "Work", "VEVENT")
	if err != nil {
		t.Fatalf("caldavtest: radicale: %v", err)
	}
	s.CalendarURL = cal
	return s
}

// StartXandikos starts Xandikos with its default calendar
// "/alice/calendars/calendar/" and storage in a temporary directory.
// Xandikos has no authentication of its own, so a reverse proxy in front
// of it answers 401 to requests without the right Basic credentials. The
// server stops when the test ends.
func StartXandikos(t testing.TB) *Server {
	t.Helper()
	bin := lookPath(t, "xandikos")
	dir := t.TempDir()
	addr := freeAddr(t)
	backend := freeAddr(t)
	host, port, _ := net.SplitHostPort(backend)
	s := &Server{
		URL: "http://" + addr + "/", Username: Username, Password: Password,
		t: t, name: "xandikos", addr: addr, dir: dir, backend: backend,
		args: []string{bin, "-d", filepath.Join(dir, "data"), "--defaults",
			"-l", host, "-p", port, "--current-user-principal", "/" + Username + "/"},
		logFile: filepath.Join(dir, "server.log"),
	}
	s.CalendarURL = s.URL + Username + "/calendars/calendar/"
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

// Start starts the server again on the same port with the same storage,
// after Stop. Starting a running server does nothing.
func (s *Server) Start() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return
	}
	logf, err := os.OpenFile(s.logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		s.t.Fatalf("caldavtest: %s: %v", s.name, err)
	}
	cmd := exec.Command(s.args[0], s.args[1:]...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Dir = s.dir
	if err := cmd.Start(); err != nil {
		logf.Close()
		s.t.Fatalf("caldavtest: start %s: %v", s.name, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		logf.Close()
		close(done)
	}()
	s.cmd, s.done = cmd, done

	target := s.addr
	if s.backend != "" {
		target = s.backend
		if err := s.startProxy(); err != nil {
			s.stopLocked()
			s.t.Fatalf("caldavtest: %s auth proxy: %v", s.name, err)
		}
	}
	if err := waitHTTP("http://"+target+"/", done); err != nil {
		s.stopLocked()
		s.t.Fatalf("caldavtest: %s did not start: %v\n%s", s.name, err, s.logTail())
	}
}

// Stop stops the server (and its proxy); its port then refuses
// connections until Start.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopLocked()
}

func (s *Server) stopLocked() {
	if s.proxy != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = s.proxy.Shutdown(ctx)
		cancel()
		s.proxy = nil
	}
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.done
	s.cmd, s.done = nil, nil
}

// startProxy listens on the public address and forwards requests with the
// right Basic credentials to the backend.
func (s *Server) startProxy() error {
	var ln net.Listener
	var err error
	// The port may linger briefly after a Stop.
	for i := 0; i < 50; i++ {
		if ln, err = net.Listen("tcp", s.addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		return err
	}
	backend := &url.URL{Scheme: "http", Host: s.backend}
	rp := httputil.NewSingleHostReverseProxy(backend)
	srv := &http.Server{
		ReadHeaderTimeout: 10 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			u, p, ok := r.BasicAuth()
			if !ok || u != s.Username || p != s.Password {
				w.Header().Set("WWW-Authenticate", `Basic realm="caldavtest"`)
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
			r.Header.Del("Authorization")
			rp.ServeHTTP(w, r)
		}),
	}
	go func() { _ = srv.Serve(ln) }()
	s.proxy = srv
	return nil
}

// NewCalendar makes a calendar (MakeCalendar) for a test, failing the
// test when the server refuses it, and returns its URL.
func (s *Server) NewCalendar(t testing.TB, name, displayName string, comps ...string) string {
	t.Helper()
	cal, err := s.MakeCalendar(context.Background(), name, displayName, comps...)
	if err != nil {
		t.Fatal(err)
	}
	return cal
}

// MakeCalendar creates a calendar under the user's home with MKCALENDAR
// and returns its URL. comps limits the components it accepts (VEVENT,
// VTODO); none means any.
func (s *Server) MakeCalendar(ctx context.Context, name, displayName string, comps ...string) (string, error) {
	home := s.URL + s.Username + "/"
	if s.backend != "" {
		home += "calendars/"
	}
	calURL := home + url.PathEscape(name) + "/"
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?><c:mkcalendar xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:set><d:prop>`)
	b.WriteString("<d:displayname>" + xmlEscape(displayName) + "</d:displayname>")
	if len(comps) > 0 {
		b.WriteString("<c:supported-calendar-component-set>")
		for _, c := range comps {
			b.WriteString(`<c:comp name="` + xmlEscape(c) + `"/>`)
		}
		b.WriteString("</c:supported-calendar-component-set>")
	}
	b.WriteString(`</d:prop></d:set></c:mkcalendar>`)
	resp, err := s.Do(ctx, "MKCALENDAR", calURL, []byte(b.String()), http.Header{"Content-Type": {"application/xml"}})
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 500))
		return "", fmt.Errorf("MKCALENDAR %s: %s: %s", calURL, resp.Status, body)
	}
	return calURL, nil
}

// Do sends a raw request with the server's credentials, bypassing any
// client under test: to change the server behind a client's back.
func (s *Server) Do(ctx context.Context, method, rawURL string, body []byte, hdr http.Header) (*http.Response, error) {
	return s.send(ctx, http.DefaultClient, method, rawURL, body, hdr)
}

// Put stores an iCalendar object at rawURL with one plain PUT through hc,
// as a client without any CalDAV library would: the baseline benchmarks
// compare with. A status other than 2xx is an error.
func (s *Server) Put(ctx context.Context, hc *http.Client, rawURL string, body []byte) error {
	resp, err := s.send(ctx, hc, http.MethodPut, rawURL, body, http.Header{"Content-Type": {"text/calendar"}})
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("caldavtest: PUT %s: %s", rawURL, resp.Status)
	}
	return nil
}

func (s *Server) send(ctx context.Context, hc *http.Client, method, rawURL string, body []byte, hdr http.Header) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, rawURL, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	req.SetBasicAuth(s.Username, s.Password)
	return hc.Do(req)
}

func (s *Server) logTail() string {
	b, _ := os.ReadFile(s.logFile)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// lookPath finds a server binary, or skips the test (fails under CI=true).
func lookPath(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	msg := fmt.Sprintf("caldavtest: %s is not installed (apt-get install %s, or run .ci/setup-caldav.sh)", name, name)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// freeAddr returns a loopback address with a port that is free now.
//
// The port is taken below the kernel's ephemeral range (32768 and up on
// Linux): a server started on it binds it only after this function let it
// go, and meanwhile any listener on port 0 in the tests running beside
// (gateways, receivers) could have been handed an ephemeral one.
func freeAddr(t testing.TB) string {
	t.Helper()
	var err error
	for range 200 {
		port := 20000 + rand.IntN(12000)
		var ln net.Listener
		if ln, err = net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port)); err == nil {
			ln.Close()
			return "127.0.0.1:" + strconv.Itoa(port)
		}
	}
	t.Fatalf("caldavtest: free port: %v", err)
	return ""
}

// waitHTTP polls until the URL answers anything over HTTP, the process
// exits, or the start timeout passes.
func waitHTTP(u string, exited <-chan struct{}) error {
	deadline := time.Now().Add(startTimeout)
	hc := &http.Client{Timeout: 2 * time.Second}
	for {
		select {
		case <-exited:
			return errors.New("process exited")
		default:
		}
		req, _ := http.NewRequest(http.MethodOptions, u, nil)
		if resp, err := hc.Do(req); err == nil {
			resp.Body.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no answer from %s within %s", u, startTimeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func writeFile(t testing.TB, name, content string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(content), 0o600); err != nil {
		t.Fatalf("caldavtest: %v", err)
	}
}

func xmlEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			b.WriteString("&amp;")
		case '"':
			b.WriteString("&quot;")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
