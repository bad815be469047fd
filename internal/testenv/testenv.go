// Package testenv finds the real services integration tests talk to
// (PostgreSQL, Redis, external programs). Outside CI a missing service
// skips the test with a message naming the variable to set; under CI=true
// it fails the test instead.
package testenv

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
	"github.com/redis/go-redis/v9"
)

// Environment variables the tests read.
const (
	DatabaseEnv = "CALGATE_TEST_DATABASE_URL"
	RedisEnv    = "CALGATE_TEST_REDIS_URL"
)

// Missing skips t, or fails it under CI=true, because something it needs is
// not there.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("CI") == "true" {
		t.Fatalf("required for this test under CI=true: %s", msg)
	}
	t.Skipf("skipped: %s", msg)
}

// Postgres returns the URL of a fresh PostgreSQL database that is dropped
// when the test ends.
func Postgres(t testing.TB) string {
	t.Helper()
	base := os.Getenv(DatabaseEnv)
	if base == "" {
		Missing(t, "%s is not set (e.g. postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable)", DatabaseEnv)
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("testenv: open %s: %v", DatabaseEnv, err)
	}
	defer admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	name := "calgate_test_" + randomHex(6)
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("testenv: create database: %v", err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer db.Close()
		_, _ = db.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("testenv: %s: %v", DatabaseEnv, err)
	}
	u.Path = "/" + name
	return u.String()
}

// Redis returns the URL of a real Redis database of its own (one of the
// numbered databases, flushed first).
func Redis(t testing.TB) string {
	t.Helper()
	base := os.Getenv(RedisEnv)
	if base == "" {
		Missing(t, "%s is not set (e.g. redis://127.0.0.1:6379/0)", RedisEnv)
	}
	opt, err := redis.ParseURL(base)
	if err != nil {
		t.Fatalf("testenv: %s: %v", RedisEnv, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := redis.NewClient(opt)
	defer c.Close()
	n, err := c.Incr(ctx, "calgate:testenv:next-db").Result()
	if err != nil {
		t.Fatalf("testenv: redis at %s: %v", base, err)
	}
	db := 1 + int(n%15)
	opt.DB = db
	dbc := redis.NewClient(opt)
	defer dbc.Close()
	if err := dbc.FlushDB(ctx).Err(); err != nil {
		t.Fatalf("testenv: flush redis db %d: %v", db, err)
	}
	u, _ := url.Parse(base)
	u.Path = "/" + strconv.Itoa(db)
	return u.String()
}

// RedisServer is a redis-server process of a test's own, which the test
// may stop and start again (to show what happens while Redis is down).
type RedisServer struct {
	URL  string
	port int
	dir  string
	cmd  *exec.Cmd
	t    testing.TB
}

// StartRedisServer starts a redis-server on a free loopback port.
func StartRedisServer(t testing.TB) *RedisServer {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		Missing(t, "redis-server is not on PATH (Debian package redis-server)")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	s := &RedisServer{URL: fmt.Sprintf("redis://127.0.0.1:%d/0", port), port: port, dir: t.TempDir(), t: t}
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

// Start starts (or restarts) the server on its port and waits until it
// answers.
func (s *RedisServer) Start() {
	s.t.Helper()
	s.cmd = exec.Command("redis-server", "--port", strconv.Itoa(s.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", s.dir)
	if err := s.cmd.Start(); err != nil {
		s.t.Fatalf("testenv: start redis-server: %v", err)
	}
	opt, _ := redis.ParseURL(s.URL)
	c := redis.NewClient(opt)
	defer c.Close()
	for i := 0; i < 200; i++ {
		if c.Ping(context.Background()).Err() == nil {
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	s.t.Fatalf("testenv: redis-server on port %d did not answer", s.port)
}

// Stop kills the server; everything it held is lost.
func (s *RedisServer) Stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
		s.cmd = nil
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
