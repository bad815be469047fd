package vault

import (
	"bytes"
	"testing"
)

func TestSealOpenRoundTrip(t *testing.T) {
	key, err := LoadOrCreateKey(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	v, err := New(key)
	if err != nil {
		t.Fatal(err)
	}
	for _, plain := range [][]byte{nil, []byte("app-password"), bytes.Repeat([]byte("x"), 4096)} {
		sealed := v.Seal(plain)
		if bytes.Contains([]byte(sealed), []byte("app-password")) {
			t.Fatalf("sealed value shows the secret: %s", sealed)
		}
		got, err := v.Open(sealed)
		if err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("Open(Seal(%q)) = %q, %v", plain, got, err)
		}
	}
}

func TestOpenRefusesOtherKeyAndGarbage(t *testing.T) {
	a, _ := New(bytes.Repeat([]byte{1}, KeySize))
	b, _ := New(bytes.Repeat([]byte{2}, KeySize))
	sealed := a.Seal([]byte("secret"))
	for name, in := range map[string]string{"other key": sealed, "garbage": "v1:!!!", "no prefix": "secret", "short": "v1:AAAA"} {
		if _, err := b.Open(in); err == nil {
			t.Errorf("%s: Open succeeded", name)
		}
	}
}

func TestLoadOrCreateKeyIsStable(t *testing.T) {
	dir := t.TempDir()
	k1, err := LoadOrCreateKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := LoadOrCreateKey(dir)
	if err != nil || !bytes.Equal(k1, k2) {
		t.Fatalf("second load gave another key: %v", err)
	}
}
