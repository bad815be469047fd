package webhooks

import (
	"bytes"
	"context"
	"encoding/base64"
	"os"
	"strings"
	"testing"

	"github.com/calgate/calgate/webhooks/webhookstest"
)

// runReferenceVerifier runs the standardwebhooks npm library on messages
// and returns its output lines and whether every message verified.
func runReferenceVerifier(t *testing.T, messages []webhookstest.Message) ([]string, bool) {
	t.Helper()
	if missing := webhookstest.Missing(); missing != "" {
		if os.Getenv("CI") == "true" {
			t.Fatal(missing)
		}
		t.Skip(missing)
	}
	return webhookstest.Verify(t, messages)
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

func asReference(secret string, r received) webhookstest.Message {
	return webhookstest.NewMessage(secret, r.header, r.body, HeaderID, HeaderTimestamp, HeaderSignature)
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

	var messages []webhookstest.Message
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
	var messages []webhookstest.Message
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
