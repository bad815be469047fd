package webhooks

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// referenceMessage is one delivery as testdata/validators/verify_webhooks.mjs reads it.
type referenceMessage struct {
	Secret     string            `json:"secret"`
	Headers    map[string]string `json:"headers"`
	BodyBase64 string            `json:"body_base64"`
}

// runReferenceVerifier runs the standardwebhooks npm library on messages
// and returns its output lines and whether every message verified.
func runReferenceVerifier(t *testing.T, messages []referenceMessage) ([]string, bool) {
	t.Helper()
	modules := os.Getenv("CALGATE_TEST_NODE_PATH")
	node, err := exec.LookPath("node")
	missing := ""
	switch {
	case err != nil:
		missing = "node is not installed (apt-get install nodejs npm)"
	case modules == "":
		missing = "CALGATE_TEST_NODE_PATH is not set (source .ci/setup-webhooks.sh)"
	default:
		if _, err := os.Stat(filepath.Join(modules, "standardwebhooks", "package.json")); err != nil {
			missing = "the standardwebhooks npm package is not installed in CALGATE_TEST_NODE_PATH (source .ci/setup-webhooks.sh)"
		}
	}
	if missing != "" {
		if os.Getenv("CI") == "true" {
			t.Fatal(missing)
		}
		t.Skip(missing)
	}
	input, err := json.Marshal(messages)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), node, filepath.Join("..", "testdata", "validators", "verify_webhooks.mjs"))
	cmd.Stdin = bytes.NewReader(input)
	cmd.Env = append(os.Environ(), "CALGATE_TEST_NODE_PATH="+modules)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var exitErr *exec.ExitError
	if err != nil && (!errors.As(err, &exitErr) || exitErr.ExitCode() != 1) {
		t.Fatalf("node verify_webhooks.mjs: %v\n%s", err, stderr.String())
	}
	return strings.Split(strings.TrimSpace(string(out)), "\n"), err == nil
}

// deliver sends one message to a local receiver and returns it as received.
func deliver(t *testing.T, secrets [][]byte, m Message) received {
	t.Helper()
	rcv := newReceiver(t, nil)
	if a := Send(context.Background(), testClient(), rcv.srv.URL, secrets, m); a.Outcome != Succeeded {
		t.Fatalf("delivery failed: %+v", a)
	}
	return rcv.requests()[0]
}

func asReference(secret string, r received) referenceMessage {
	h := map[string]string{}
	for _, name := range []string{HeaderID, HeaderTimestamp, HeaderSignature} {
		h[name] = r.header.Get(name)
	}
	return referenceMessage{Secret: secret, Headers: h, BodyBase64: base64.StdEncoding.EncodeToString(r.body)}
}

func TestReferenceVerifierAcceptsOurDeliveries(t *testing.T) {
	oldSecret, newSecret := NewSecret(), NewSecret()
	oldKey, newKey := mustSecret(t, oldSecret), mustSecret(t, newSecret)
	unprefixed := strings.TrimPrefix(newSecret, SecretPrefix)

	plain := testMessage(t)
	nonASCII, err := NewMessage("msg_2yq0000000000000000000001", "entry.created", plain.Timestamp,
		map[string]string{"title": "Größe: 3 m² — 日本語 ✓ 🚜", "note": "line\nbreak \"quoted\" \\ </script>"})
	if err != nil {
		t.Fatal(err)
	}
	raw := Message{ID: "msg_raw", Type: "entry.deleted", Body: []byte(`{"test": 2432232314}`)}
	empty := Message{ID: "msg_empty", Type: "ping", Body: []byte(`{}`)}

	var messages []referenceMessage
	var names []string
	add := func(name, secret string, r received) {
		names = append(names, name)
		messages = append(messages, asReference(secret, r))
	}
	add("plain", newSecret, deliver(t, [][]byte{newKey}, plain))
	add("non-ASCII", newSecret, deliver(t, [][]byte{newKey}, nonASCII))
	add("raw body", newSecret, deliver(t, [][]byte{newKey}, raw))
	add("empty object", newSecret, deliver(t, [][]byte{newKey}, empty))
	add("secret without prefix", unprefixed, deliver(t, [][]byte{newKey}, plain))
	rotated := deliver(t, [][]byte{oldKey, newKey}, nonASCII)
	add("rotation, old secret", oldSecret, rotated)
	add("rotation, new secret", newSecret, rotated)

	lines, ok := runReferenceVerifier(t, messages)
	if !ok || len(lines) != len(messages) {
		t.Fatalf("reference verifier output:\n%s", strings.Join(lines, "\n"))
	}
	for i, line := range lines {
		if !strings.HasSuffix(line, ": ok") {
			t.Errorf("%s: reference verifier says %q", names[i], line)
		}
	}
}

func TestReferenceVerifierRejectsForgeries(t *testing.T) {
	key := mustSecret(t, NewSecret())
	got := deliver(t, [][]byte{key}, testMessage(t))

	tampered := got
	tampered.body = bytes.Replace(got.body, []byte("Kran 3"), []byte("Kran 4"), 1)
	otherID := received{header: got.header.Clone(), body: got.body}
	otherID.header.Set(HeaderID, "msg_other")

	cases := []struct {
		name   string
		secret string
		r      received
	}{
		{"wrong secret", NewSecret(), got},
		{"tampered body", SecretPrefix + base64.StdEncoding.EncodeToString(key), tampered},
		{"other message id", SecretPrefix + base64.StdEncoding.EncodeToString(key), otherID},
	}
	var messages []referenceMessage
	for _, c := range cases {
		messages = append(messages, asReference(c.secret, c.r))
	}
	lines, ok := runReferenceVerifier(t, messages)
	if ok || len(lines) != len(cases) {
		t.Fatalf("reference verifier accepted forgeries:\n%s", strings.Join(lines, "\n"))
	}
	for i, line := range lines {
		if strings.HasSuffix(line, ": ok") {
			t.Errorf("%s: reference verifier accepted it", cases[i].name)
		}
	}
}
