package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The calgate binary, built once for the tests that run it as operators
// do: several processes, killed and restarted.
var (
	binOnce sync.Once
	binDir  string
	binPath string
	binErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// calgateBinary builds ./cmd/calgate (without the race detector: the
// processes are the system under test, not the test) and returns its path.
func calgateBinary(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		if binDir, binErr = os.MkdirTemp("", "calgate-bin-"); binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "calgate")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// proc is one calgate process of a test.
type proc struct {
	t    testing.TB
	role string
	// addr is where it serves HTTP: the API, or a worker's health and
	// metrics.
	addr string
	env  []string
	cmd  *exec.Cmd
	done chan struct{}
	logs *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// procEnv is the environment every process of one deployment shares.
func procEnv(t testing.TB, dataDir string, extra ...string) []string {
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	env := append(os.Environ(),
		"CALGATE_DATA_DIR="+dataDir,
		"CALGATE_SECRET_KEY="+base64.StdEncoding.EncodeToString(key),
		"CALGATE_ADMIN_TOKEN="+testConfig(t).AdminToken,
		"CALGATE_ALLOW_PRIVATE_TARGETS=true",
		"CALGATE_PUBLIC_URL=http://calgate.test",
		"CALGATE_LOG_LEVEL=warn",
		// Lost work goes out again within seconds, not half a minute.
		"CALGATE_OUTBOX_LEASE=2s",
		"CALGATE_OUTBOX_SWEEP=250ms",
		"CALGATE_WEBHOOK_SWEEP=500ms",
		"CALGATE_WEBHOOK_RETRY_SCALE=0.001",
	)
	return append(env, extra...)
}

// startProc runs `calgate role` with env on a port of its own and waits
// until it is ready.
func startProc(t testing.TB, role string, env []string) *proc {
	t.Helper()
	p := &proc{t: t, role: role, env: env, logs: &syncBuffer{}, addr: "127.0.0.1:0"}
	p.start()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("%s %s logs:\n%s", role, p.addr, tail(p.logs.String(), 4000))
			if dir := os.Getenv("CALGATE_TEST_PROC_LOGS"); dir != "" {
				_ = os.WriteFile(filepath.Join(dir, role+"-"+strings.ReplaceAll(p.addr, ":", "_")+".log"), []byte(p.logs.String()), 0o644)
			}
		}
	})
	return p
}

// start (re)starts the process and waits for /readyz. The first start
// listens on a port the system picks (read back from the "listening" log
// line); a restart takes the same one again.
func (p *proc) start() {
	p.t.Helper()
	env := append(append([]string(nil), p.env...), "CALGATE_ADDR="+p.addr, "CALGATE_WORKER_ADDR="+p.addr, "CALGATE_LOG_LEVEL=info")
	p.cmd = exec.Command(calgateBinary(p.t), p.role)
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	if err := p.cmd.Start(); err != nil {
		p.t.Fatalf("start calgate %s: %v", p.role, err)
	}
	p.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) {
		_ = cmd.Wait()
		close(done)
	}(p.cmd, p.done)
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			p.t.Fatalf("calgate %s exited at start:\n%s", p.role, tail(p.logs.String(), 4000))
		default:
		}
		if strings.HasSuffix(p.addr, ":0") {
			if m := listeningRE.FindStringSubmatch(p.logs.String()); m != nil {
				p.addr = m[1]
			}
			time.Sleep(20 * time.Millisecond)
			continue
		}
		resp, err := http.Get("http://" + p.addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.t.Fatalf("calgate %s on %s not ready:\n%s", p.role, p.addr, tail(p.logs.String(), 4000))
}

// kill ends the process with SIGKILL: nothing it held in memory survives.
func (p *proc) kill() {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
	p.cmd = nil
}

// client calls the process's API with the deployment's admin token.
func (p *proc) client() *testGateway {
	return &testGateway{URL: "http://" + p.addr, Token: testConfig(p.t).AdminToken}
}

// get fetches a path of the process and returns the body.
func (p *proc) get(t *testing.T, path string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+p.addr+path, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b.String())
	}
	return b.String()
}

// listeningRE finds the address in calgate's "listening" log line.
var listeningRE = regexp.MustCompile(`msg=listening addr=(\S+)`)

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := strings.IndexByte(s[len(s)-n:], '\n')
	return s[len(s)-n+i+1:]
}
