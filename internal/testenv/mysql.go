package testenv

import (
	"context"
	"database/sql"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// MySQLEnv names the MySQL/MariaDB server the tests use, as
// mysql://user:password@host:port/ (root with an empty password on the
// development and CI machines).
const MySQLEnv = "CALGATE_TEST_MYSQL_URL"

// MySQL returns the URL (mysql://…/name) of a fresh database on the test
// MySQL/MariaDB server that is dropped when the test ends.
func MySQL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(MySQLEnv)
	if base == "" {
		Missing(t, "%s is not set (e.g. mysql://root@127.0.0.1:3306/)", MySQLEnv)
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("testenv: %s: %v", MySQLEnv, err)
	}
	cfg := mysql.NewConfig()
	cfg.User = u.User.Username()
	cfg.Passwd, _ = u.User.Password()
	cfg.Net, cfg.Addr = "tcp", u.Host
	if !strings.Contains(cfg.Addr, ":") {
		cfg.Addr += ":3306"
	}
	admin, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatalf("testenv: open %s: %v", MySQLEnv, err)
	}
	defer admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := admin.PingContext(ctx); err != nil {
		Missing(t, "MySQL/MariaDB at %s does not answer: %v", u.Host, err)
	}
	name := "calgate_test_" + randomHex(6)
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("testenv: create database: %v", err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("mysql", cfg.FormatDSN())
		if err != nil {
			return
		}
		defer db.Close()
		_, _ = db.Exec("DROP DATABASE IF EXISTS " + name)
	})
	u.Path = "/" + name
	return u.String()
}
