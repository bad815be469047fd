// Package webhookstest checks deliveries with the reference Standard
// Webhooks library (the standardwebhooks npm package, run by node through
// testdata/validators/verify_webhooks.mjs), so that the webhooks tests and
// the gateway's end-to-end tests hold calgate's signatures to the same
// verifier.
package webhookstest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// NodePathEnv names the node_modules directory that holds the
// standardwebhooks package.
const NodePathEnv = "CALGATE_TEST_NODE_PATH"

// Message is one delivery as verify_webhooks.mjs reads it.
type Message struct {
	Secret     string            `json:"secret"`
	Headers    map[string]string `json:"headers"`
	BodyBase64 string            `json:"body_base64"`
}

// NewMessage returns a delivery received with header and body, to be
// verified under secret; names are the headers the verifier is given.
func NewMessage(secret string, header http.Header, body []byte, names ...string) Message {
	h := map[string]string{}
	for _, name := range names {
		h[name] = header.Get(name)
	}
	return Message{Secret: secret, Headers: h, BodyBase64: base64.StdEncoding.EncodeToString(body)}
}

// Missing says what the reference verifier lacks on this machine (node,
// NodePathEnv, or the package), or "" when it can run.
func Missing() string {
	if _, err := exec.LookPath("node"); err != nil {
		return "node is not installed (apt-get install nodejs npm)"
	}
	modules := os.Getenv(NodePathEnv)
	if modules == "" {
		return NodePathEnv + " is not set (source .ci/setup-webhooks.sh)"
	}
	if _, err := os.Stat(filepath.Join(modules, "standardwebhooks", "package.json")); err != nil {
		return "the standardwebhooks npm package is not installed in " + NodePathEnv + " (source .ci/setup-webhooks.sh)"
	}
	return ""
}

// Verify runs the reference verifier on messages and returns its output,
// one line a message ("0: ok" or the library's error), and whether every
// message verified. It fails t when the verifier cannot run: call Missing
// first.
func Verify(t testing.TB, messages []Message) ([]string, bool) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal(err)
	}
	input, err := json.Marshal(messages)
	if err != nil {
		t.Fatal(err)
	}
	_, self, _, _ := runtime.Caller(0)
	script := filepath.Join(filepath.Dir(self), "..", "..", "testdata", "validators", "verify_webhooks.mjs")
	cmd := exec.CommandContext(t.Context(), node, script)
	cmd.Stdin = bytes.NewReader(input)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var exitErr *exec.ExitError
	if err != nil && (!errors.As(err, &exitErr) || exitErr.ExitCode() != 1) {
		t.Fatalf("node verify_webhooks.mjs: %v\n%s", err, stderr.String())
	}
	return strings.Split(strings.TrimSpace(string(out)), "\n"), err == nil
}
