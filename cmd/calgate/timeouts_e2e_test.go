package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// slowConfig gives request bodies a short grace period and a minimum rate
// that the tests below stay far from on either side.
func slowConfig(cfg *Config) {
	cfg.HTTP.Body = 2 * time.Second
	cfg.HTTP.MinBodyRate = 256
}

// rawRequest opens a connection and writes the request head of a POST
// with the admin token and the given Content-Length.
func (g *testGateway) rawRequest(t *testing.T, path string, length int) net.Conn {
	t.Helper()
	u, err := url.Parse(g.URL)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n",
		path, u.Host, g.Token, length)
	return conn
}

// readResponse reads the answer on a raw connection. The deadline only
// keeps a broken gateway from hanging the test; it is not what is tested.
func readResponse(t *testing.T, conn net.Conn) (*http.Response, []byte) {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(2 * time.Minute))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, body
}

// connectionClosed reports whether the gateway closed the connection.
func connectionClosed(conn net.Conn) bool {
	_ = conn.SetReadDeadline(time.Now().Add(time.Minute))
	_, err := conn.Read(make([]byte, 1))
	return err != nil
}

func TestStalledRequestBodyIsCutOffWith408(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		g := startGateway(t, e, slowConfig)
		// Announces 100 bytes, sends 15 and waits.
		conn := g.rawRequest(t, "/v1/jobs", 100)
		io.WriteString(conn, `{"external_id":`)
		resp, body := readResponse(t, conn)
		if resp.StatusCode != http.StatusRequestTimeout || !strings.Contains(string(body), "too slow") {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
		if !connectionClosed(conn) {
			t.Fatal("the connection of a stalled body stays open")
		}
		// The gateway goes on serving.
		g.mustCall(t, http.StatusCreated, "POST", "/v1/jobs", job("after"))
	})
}

func TestTricklingRequestBodyIsCutOffBelowTheMinimumRate(t *testing.T) {
	g := startGateway(t, engines()[0], slowConfig)
	// One byte every 100 ms never pauses for the 2 s the grace allows, but
	// averages 10 bytes a second, far below 256.
	conn := g.rawRequest(t, "/v1/jobs", 10000)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 10000 {
			if _, err := conn.Write([]byte(" ")); err != nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	resp, body := readResponse(t, conn)
	conn.Close()
	<-done
	if resp.StatusCode != http.StatusRequestTimeout {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
}

func TestSlowButSteadyUploadPassesPastTheGracePeriod(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		g := startGateway(t, e, slowConfig)
		items := make([]any, 100)
		for i := range items {
			items[i] = job(fmt.Sprintf("slow-%03d", i))
		}
		body, err := json.Marshal(map[string]any{"items": items})
		if err != nil {
			t.Fatal(err)
		}
		// About 1 KB every 200 ms: twenty times the minimum rate, but the
		// whole body takes longer than the grace period.
		conn := g.rawRequest(t, "/v1/jobs/bulk", len(body))
		const chunk = 1000
		for off := 0; off < len(body); off += chunk {
			if _, err := conn.Write(body[off:min(off+chunk, len(body))]); err != nil {
				t.Fatalf("the gateway stopped reading at byte %d: %v", off, err)
			}
			time.Sleep(200 * time.Millisecond)
		}
		resp, reply := readResponse(t, conn)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d: %s", resp.StatusCode, reply)
		}
		var rep map[string]any
		if err := json.Unmarshal(reply, &rep); err != nil || num(rep, "created") != len(items) {
			t.Fatalf("report: %s", reply)
		}
	})
}

func TestHTTPTimeoutsAreSettingsWithFlagsAndVariables(t *testing.T) {
	t.Setenv("CALGATE_HTTP_BODY_TIMEOUT", "45s")
	t.Setenv("CALGATE_HTTP_MIN_BODY_RATE", "1024")
	t.Setenv("CALGATE_HTTP_WRITE_TIMEOUT", "10m")
	cfg, err := loadConfig(flag.NewFlagSet("t", flag.ContinueOnError), scopeAll, []string{"-http-idle-timeout", "30s", "-http-read-header-timeout", "5s"})
	if err != nil {
		t.Fatal(err)
	}
	want := HTTPTimeouts{ReadHeader: 5 * time.Second, Body: 45 * time.Second, MinBodyRate: 1024, Write: 10 * time.Minute, Idle: 30 * time.Second}
	if cfg.HTTP != want {
		t.Fatalf("HTTP = %+v, want %+v", cfg.HTTP, want)
	}
	t.Setenv("CALGATE_HTTP_BODY_TIMEOUT", "")
	t.Setenv("CALGATE_HTTP_MIN_BODY_RATE", "")
	t.Setenv("CALGATE_HTTP_WRITE_TIMEOUT", "")
	cfg, err = loadConfig(flag.NewFlagSet("t", flag.ContinueOnError), scopeAll, nil)
	if err != nil || cfg.HTTP != defaultHTTPTimeouts {
		t.Fatalf("defaults = %+v, %v; want %+v", cfg.HTTP, err, defaultHTTPTimeouts)
	}
	for name, value := range map[string]string{"CALGATE_HTTP_BODY_TIMEOUT": "soon", "CALGATE_HTTP_MIN_BODY_RATE": "-1", "CALGATE_HTTP_IDLE_TIMEOUT": "10ms"} {
		t.Run(name, func(t *testing.T) {
			t.Setenv(name, value)
			if _, err := loadConfig(flag.NewFlagSet("t", flag.ContinueOnError), scopeAll, nil); err == nil || !strings.Contains(err.Error(), name) {
				t.Fatalf("%s=%s: %v", name, value, err)
			}
		})
	}
}
