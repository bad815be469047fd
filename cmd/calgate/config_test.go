package main

import (
	"flag"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

// readmeSettings reads the variables the README's configuration tables
// document (every table row under "## Configuration" up to the next
// section), with the default cell of rows that document one variable.
// "…_SUFFIX" in a row stands for the row's application prefix
// (CALGATE_XERO_CLIENT_ID, `…_SCOPES` is CALGATE_XERO_SCOPES).
func readmeSettings(t *testing.T) (names map[string]bool, defaults map[string]string) {
	t.Helper()
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	start := strings.Index(text, "\n## Configuration\n")
	if start < 0 {
		t.Fatal("README has no Configuration section")
	}
	text = text[start+1:]
	if end := strings.Index(text[3:], "\n## "); end >= 0 {
		text = text[:end+3]
	}
	full := regexp.MustCompile("`((?:CALGATE_)?[A-Z][A-Z0-9_]*_[A-Z0-9_]+|DATABASE_URL|REDIS_URL)`")
	short := regexp.MustCompile("`…(_[A-Z0-9_]+)`")
	names, defaults = map[string]bool{}, map[string]string{}
	for _, line := range strings.Split(text, "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		cells := strings.Split(line, "|")
		if len(cells) < 4 {
			t.Fatalf("README row without cells: %s", line)
		}
		first := full.FindAllStringSubmatch(cells[1], -1)
		if len(first) == 0 {
			t.Fatalf("README row names no variable: %s", line)
		}
		parts := strings.SplitN(first[0][1], "_", 3)
		prefix := parts[0] + "_" + parts[1]
		row := 0
		for _, m := range full.FindAllStringSubmatch(line, -1) {
			names[m[1]] = true
			row++
		}
		for _, m := range short.FindAllStringSubmatch(line, -1) {
			names[prefix+m[1]] = true
			row++
		}
		if row == 1 {
			defaults[first[0][1]] = strings.TrimSpace(cells[2])
		}
	}
	return names, defaults
}

// TestEverySettingHasAFlagAVariableAndAREADMELine keeps the settings, the
// flags, the variables and the README's tables from drifting apart: every
// field of Config is filled by one setting, every setting has a variable
// and a flag, the README documents exactly the settings there are, and a
// default it writes out is the default the code has.
func TestEverySettingHasAFlagAVariableAndAREADMELine(t *testing.T) {
	cfg := defaultConfig()
	list := cfg.settings()
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	for _, s := range list {
		fs.Var(s.Value, s.Flag(), s.Usage)
	}

	bound := map[any]string{}
	envs := map[string]bool{}
	for _, s := range list {
		if s.Env == "" || s.Usage == "" || s.Scope == 0 {
			t.Errorf("setting %+v lacks a variable, a meaning or a command", s)
		}
		if envs[s.Env] {
			t.Errorf("%s is listed twice", s.Env)
		}
		envs[s.Env] = true
		if fs.Lookup(s.Flag()) == nil || s.Flag() == "" {
			t.Errorf("%s has no flag", s.Env)
		}
		if other, ok := bound[s.Value.ptr]; ok {
			t.Errorf("%s and %s fill the same field", s.Env, other)
		}
		bound[s.Value.ptr] = s.Env
	}
	// Every leaf field of Config is some setting's.
	var walk func(v reflect.Value, path string)
	walk = func(v reflect.Value, path string) {
		for i := 0; i < v.NumField(); i++ {
			f, ft := v.Field(i), v.Type().Field(i)
			name := path + "." + ft.Name
			switch {
			case ft.Name == "Limits" || ft.Name == "NoLimits":
				// The applications' rate limits in tests, not settings.
			case f.Kind() == reflect.Struct:
				walk(f, name)
			default:
				if _, ok := bound[f.Addr().Interface()]; !ok {
					t.Errorf("Config%s has no setting (no flag, no variable)", name)
				}
			}
		}
	}
	walk(reflect.ValueOf(cfg).Elem(), "")

	documented, defaults := readmeSettings(t)
	for _, s := range list {
		if !documented[s.Env] {
			t.Errorf("%s (--%s) is not in the README's configuration tables", s.Env, s.Flag())
		}
	}
	for name := range documented {
		if !envs[name] {
			t.Errorf("the README documents %s, which is no setting", name)
		}
	}
	for _, s := range list {
		def, ok := defaults[s.Env]
		if !ok {
			continue
		}
		switch {
		case strings.HasPrefix(def, "empty"):
			if got := s.Value.String(); got != "" {
				t.Errorf("README: %s defaults to empty; the code's default is %q", s.Env, got)
			}
		case strings.HasPrefix(def, "`"):
			want := strings.Trim(strings.Fields(def)[0], "`")
			fresh := defaultConfig().settings()
			for _, f := range fresh {
				if f.Env != s.Env {
					continue
				}
				before := f.Value.String()
				if err := f.Value.Set(want); err != nil || f.Value.String() != before {
					t.Errorf("README: %s defaults to %s; the code's default is %s (%v)", s.Env, want, before, err)
				}
			}
		}
	}
}

// TestSettingsRefuseBadValuesNamingThem: a bad variable or flag stops the
// start with an error that names it.
func TestSettingsRefuseBadValuesNamingThem(t *testing.T) {
	for _, tc := range []struct{ env, value string }{
		{"CALGATE_WEBHOOK_TIMEOUT", "soon"},
		{"CALGATE_WEBHOOK_CONCURRENCY", "many"},
		{"CALGATE_WEBHOOK_RETRY_SCALE", "-1"},
		{"CALGATE_WEBHOOK_RETENTION", "10m"},
		{"CALGATE_CONNECTOR_PROCESSES", "0"},
		{"CALGATE_CONNECTOR_SWEEP", "1ns"},
		{"CALGATE_FEED_REFRESH", "10s"},
		{"CALGATE_ICAL_HORIZON", "1m"},
		{"CALGATE_CALDAV_RECONCILE_INTERVAL", "x"},
		{"CALGATE_SMTP_URL", "http://mail.example.com"},
		{"CALGATE_SMTP_FROM", "not an address"},
		{"CALGATE_OUTBOX_BATCH", "20000"},
		{"CALGATE_LOG_FORMAT", "xml"},
		{"CALGATE_LOG_LEVEL", "loud"},
		{"CALGATE_ADMIN_TOKEN", "short"},
		{"CALGATE_SECRET_KEY", "not-base64-of-32-bytes"},
		{"CALGATE_TIMEZONE", "Mars/Olympus"},
		{"CALGATE_PUBLIC_URL", "calgate.example.com"},
		{"CALGATE_ALLOW_PRIVATE_TARGETS", "perhaps"},
		{"CALGATE_HUBSPOT_DAILY", "-5"},
		{"CALGATE_SHUTDOWN_TIMEOUT", "10ms"},
	} {
		t.Run(tc.env, func(t *testing.T) {
			t.Setenv(tc.env, tc.value)
			_, err := loadConfig(flag.NewFlagSet("t", flag.ContinueOnError), scopeAll, nil)
			if err == nil || !strings.Contains(err.Error(), tc.env) {
				t.Fatalf("%s=%s: %v, want an error naming the variable", tc.env, tc.value, err)
			}
			os.Unsetenv(tc.env)
			flagName := setting{Env: tc.env}.Flag()
			_, err = loadConfig(flag.NewFlagSet("t", flag.ContinueOnError), scopeAll, []string{"--" + flagName + "=" + tc.value})
			if err == nil || !strings.Contains(err.Error(), flagName) {
				t.Fatalf("--%s=%s: %v, want an error naming the flag", flagName, tc.value, err)
			}
		})
	}
}

// TestCapabilitySettingsReachTheConfig: each capability's settings come
// from its variable, and a flag overrides the variable.
func TestCapabilitySettingsReachTheConfig(t *testing.T) {
	t.Setenv("CALGATE_WEBHOOK_TIMEOUT", "3s")
	t.Setenv("CALGATE_WEBHOOK_RETRY_SCALE", "0.5")
	t.Setenv("CALGATE_CONNECTOR_PROCESSES", "4")
	t.Setenv("CALGATE_XERO_SCOPES", "openid accounting.transactions")
	t.Setenv("CALGATE_SMTP_URL", "smtp://mail.example.com:587")
	t.Setenv("CALGATE_FEED_REFRESH", "")
	cfg, err := loadConfig(flag.NewFlagSet("t", flag.ContinueOnError), scopeAll,
		[]string{"--webhook-timeout", "7s", "--microsoft-tenant", "organizations", "--worker-concurrency", "3"})
	if err != nil {
		t.Fatal(err)
	}
	got := []any{cfg.Webhooks.Timeout, cfg.Webhooks.RetryScale, cfg.Connectors.Processes, cfg.Connectors.Xero.Scopes,
		cfg.Imports.SMTPURL, cfg.Feeds.Refresh, cfg.Connectors.Microsoft.Tenant, cfg.Worker.Concurrency}
	want := []any{7 * time.Second, 0.5, 4, "openid accounting.transactions",
		"smtp://mail.example.com:587", time.Hour, "organizations", 3}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("config = %v, want %v", got, want)
	}
}
