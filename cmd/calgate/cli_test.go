package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strings"
	"testing"
)

// runCLI runs calgate with args and returns what it printed and its error.
func runCLI(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = run(context.Background(), args, &out, &errOut)
	return out.String(), errOut.String(), err
}

func TestHelpListsTheCommandsAndSucceeds(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}} {
		out, _, err := runCLI(t, args...)
		if err != nil {
			t.Fatalf("calgate %s: %v", args[0], err)
		}
		for _, c := range commands {
			if !strings.Contains(out, "\n  "+c.name+" ") {
				t.Errorf("calgate %s does not list %s:\n%s", args[0], c.name, out)
			}
		}
		if strings.Contains(out, "-webhook-timeout") {
			t.Errorf("calgate %s prints serve's flags:\n%s", args[0], out)
		}
	}
	_, errOut, err := runCLI(t, "frobnicate")
	if err == nil || !strings.Contains(err.Error(), "frobnicate") || !strings.Contains(errOut, "commands:") {
		t.Fatalf("unknown command: %v\n%s", err, errOut)
	}
}

// TestEachCommandsHelpShowsOnlyItsOwnFlags: --help of a command succeeds
// and lists the flags it takes, not the server's others.
func TestEachCommandsHelpShowsOnlyItsOwnFlags(t *testing.T) {
	for _, tc := range []struct {
		args         []string
		want, absent []string
	}{
		{[]string{"serve", "--help"}, []string{"usage: calgate serve", "-webhook-timeout", "-database-url", "-addr", "-worker-concurrency", "CALGATE_WEBHOOK_TIMEOUT"}, []string{"-template", "-user"}},
		{[]string{"api", "-h"}, []string{"usage: calgate api", "REDIS_URL", "-redis-url"}, []string{"-template"}},
		{[]string{"worker", "--help"}, []string{"usage: calgate worker", "-worker-addr"}, []string{"-template"}},
		{[]string{"migrate", "--help"}, []string{"usage: calgate migrate", "-database-url", "-data-dir"}, []string{"-addr", "-webhook-timeout", "-redis-url", "-secret-key"}},
		{[]string{"health", "--help"}, []string{"usage: calgate health", "-addr"}, []string{"-database-url", "-webhook-timeout"}},
		{[]string{"import", "--help"}, []string{"usage: calgate import", "-template", "-token", "-sheet", "-database-url", "-timezone"}, []string{"-webhook-timeout", "-addr", "-redis-url"}},
		{[]string{"tokens", "create", "--help"}, []string{"usage: calgate tokens create", "-user", "-workspace", "-admin"}, []string{"-webhook-timeout", "-addr"}},
		{[]string{"version", "--help"}, []string{"usage: calgate version"}, []string{"-addr", "-database-url"}},
		{[]string{"help", "migrate"}, []string{"usage: calgate migrate"}, []string{"-addr"}},
	} {
		name := strings.Join(tc.args, " ")
		out, _, err := runCLI(t, tc.args...)
		if err != nil {
			t.Errorf("calgate %s: %v", name, err)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("calgate %s does not show %q:\n%s", name, w, out)
			}
		}
		for _, a := range tc.absent {
			if strings.Contains(out, a+" ") || strings.Contains(out, a+"\n") {
				t.Errorf("calgate %s shows %q, which it does not take:\n%s", name, a, out)
			}
		}
	}
}

// TestTokensHelpSaysHowToCreateAToken: calgate tokens alone or with --help
// explains the create command, its flags and how tokens are used.
func TestTokensHelpSaysHowToCreateAToken(t *testing.T) {
	for _, args := range [][]string{{"tokens", "--help"}, {"tokens", "-h"}, {"tokens", "help"}} {
		out, _, err := runCLI(t, args...)
		if err != nil {
			t.Fatalf("calgate %s: %v", strings.Join(args, " "), err)
		}
		for _, w := range []string{"tokens create --user U", "create ", "-user", "-workspace", "-name", "-admin", "printed once", "Authorization: Bearer", "example:"} {
			if !strings.Contains(out, w) {
				t.Errorf("calgate %s does not say %q:\n%s", strings.Join(args, " "), w, out)
			}
		}
	}
	_, _, err := runCLI(t, "tokens")
	if err == nil || !strings.Contains(err.Error(), "tokens create --user") || !strings.Contains(err.Error(), "--help") {
		t.Fatalf("calgate tokens: %v, want the usage", err)
	}
	_, _, err = runCLI(t, "tokens", "create", "--frobnicate")
	if err == nil || !strings.Contains(err.Error(), "frobnicate") {
		t.Fatalf("calgate tokens create --frobnicate: %v", err)
	}
}

func TestVersionNamesTheVersionAndTheCommit(t *testing.T) {
	info := &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "v1.3.0"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123abcd"}, {Key: "vcs.modified", Value: "true"}}}
	for _, tc := range []struct {
		name             string
		version, commit  string
		info             *debug.BuildInfo
		wantVer, wantRev string
	}{
		{"from the build information", "", "", info, "v1.3.0", "0123abcd+modified"},
		{"-ldflags override", "v2.0.0", "feedface", info, "v2.0.0", "feedface"},
		{"a development build without VCS", "", "", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "devel", "unknown"},
		{"no build information", "", "", nil, "devel", "unknown"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func(v, c string) { version, commit = v, c }(version, commit)
			version, commit = tc.version, tc.commit
			ver, rev := buildVersion(tc.info)
			if ver != tc.wantVer || rev != tc.wantRev {
				t.Fatalf("buildVersion = %s, %s; want %s, %s", ver, rev, tc.wantVer, tc.wantRev)
			}
		})
	}
	defer func(v, c string) { version, commit = v, c }(version, commit)
	version, commit = "v9.9.9", "cafe1234"
	out, _, err := runCLI(t, "version")
	if err != nil || !strings.HasPrefix(out, "calgate v9.9.9 (commit cafe1234, go") {
		t.Fatalf("calgate version = %q, %v", out, err)
	}
	if out2, _, err := runCLI(t, "--version"); err != nil || out2 != out {
		t.Fatalf("calgate --version = %q, %v; want %q", out2, err, out)
	}
}

// TestBuiltBinaryHelpExitsZeroAndVersionNamesItsCommit runs the binary as
// an operator does: --help exits 0, a bad flag exits 1, and version names
// the version and the commit a release build sets with -ldflags (the
// commit Go records from a checkout is TestVersionNamesTheVersionAndTheCommit's).
func TestBuiltBinaryHelpExitsZeroAndVersionNamesItsCommit(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "calgate")
	// The image is built with the Dockerfile's -ldflags and its build
	// arguments: build with exactly those, so that an image passing
	// VERSION and COMMIT is known to print them.
	docker, err := os.ReadFile(filepath.Join("..", "..", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`-ldflags="([^"]*)"`).FindSubmatch(docker)
	if m == nil || !strings.Contains(string(m[1]), "${VERSION}") || !strings.Contains(string(m[1]), "${COMMIT}") {
		t.Fatalf("the Dockerfile's go build passes no -ldflags with ${VERSION} and ${COMMIT}")
	}
	flags := strings.NewReplacer("${VERSION}", "v0.0.0-test", "${COMMIT}", "0123abc").Replace(string(m[1]))
	if out, err := exec.Command("go", "build", "-ldflags", flags, "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	if out, err := exec.Command(bin, "--help").Output(); err != nil || !strings.Contains(string(out), "commands:") {
		t.Fatalf("calgate --help: %v\n%s", err, out)
	}
	if out, err := exec.Command(bin, "migrate", "--help").Output(); err != nil || !strings.Contains(string(out), "-database-url") {
		t.Fatalf("calgate migrate --help: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "health", "--no-such-flag")
	cmd.Stdout = io.Discard
	var errOut bytes.Buffer
	cmd.Stderr = &errOut
	var exit *exec.ExitError
	if err := cmd.Run(); !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(errOut.String(), "no-such-flag") {
		t.Fatalf("calgate health --no-such-flag: %v\n%s", err, errOut.String())
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatalf("calgate version: %v", err)
	}
	if !strings.HasPrefix(string(out), "calgate v0.0.0-test (commit 0123abc, go") {
		t.Fatalf("calgate version = %q, want v0.0.0-test and commit 0123abc", out)
	}
}
