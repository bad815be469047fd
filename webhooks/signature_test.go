package webhooks

import (
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The test vector published with the Standard Webhooks reference
// libraries.
const (
	vectorSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vectorID        = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vectorTimestamp = 1614265330
	vectorBody      = `{"test": 2432232314}`
	vectorSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func mustSecret(t testing.TB, s string) []byte {
	t.Helper()
	key, err := DecodeSecret(s)
	if err != nil {
		t.Fatalf("DecodeSecret(%q): %v", s, err)
	}
	return key
}

func TestSignReproducesTheSpecificationVector(t *testing.T) {
	key := mustSecret(t, vectorSecret)
	got := Sign([][]byte{key}, vectorID, time.Unix(vectorTimestamp, 0), []byte(vectorBody))
	if got != vectorSignature {
		t.Errorf("Sign = %q, want %q", got, vectorSignature)
	}
	// Sub-second precision is not part of the signed timestamp.
	got = Sign([][]byte{key}, vectorID, time.Unix(vectorTimestamp, 999_000_000), []byte(vectorBody))
	if got != vectorSignature {
		t.Errorf("Sign with fractional seconds = %q, want %q", got, vectorSignature)
	}
}

func TestSignWithSeveralSecretsSignsWithEach(t *testing.T) {
	old, next := mustSecret(t, vectorSecret), mustSecret(t, NewSecret())
	ts := time.Unix(vectorTimestamp, 0)
	got := Sign([][]byte{old, next}, vectorID, ts, []byte(vectorBody))
	parts := strings.Split(got, " ")
	if len(parts) != 2 || parts[0] != vectorSignature || parts[1] != Sign([][]byte{next}, vectorID, ts, []byte(vectorBody)) {
		t.Errorf("Sign with two secrets = %q, want the two signatures space-separated", got)
	}
	if Sign(nil, vectorID, ts, []byte(vectorBody)) != "" {
		t.Error("Sign with no secret is not empty")
	}
}

func TestNewSecretIsAStandardWebhooksSecret(t *testing.T) {
	a, b := NewSecret(), NewSecret()
	if a == b {
		t.Fatal("two secrets are equal")
	}
	for _, s := range []string{a, b} {
		if !strings.HasPrefix(s, "whsec_") {
			t.Errorf("secret %q lacks the whsec_ prefix", s)
		}
		key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, "whsec_"))
		if err != nil || len(key) < 24 || len(key) > 64 {
			t.Errorf("secret %q: %d bytes, %v; want 24 to 64 bytes of standard base64", s, len(key), err)
		}
	}
}

func TestDecodeSecret(t *testing.T) {
	tests := []struct {
		in      string
		wantLen int // 0: an error
	}{
		{vectorSecret, 24},
		{strings.TrimPrefix(vectorSecret, "whsec_"), 24},
		{"whsec_" + base64.StdEncoding.EncodeToString([]byte("0123456789abcdefghijklmnopqrstuvwxyz")), 36},
		{"whsec_" + base64.RawStdEncoding.EncodeToString([]byte("0123456789abcdefghijklmnopqrstuvwxy")), 35},
		{"whsec_not*base64!", 0},
		{"whsec_", 0},
		{"", 0},
		{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaL", 0}, // 29 characters: no base64
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			key, err := DecodeSecret(tt.in)
			if tt.wantLen == 0 {
				if err == nil {
					t.Errorf("DecodeSecret(%q) = %d bytes, want an error", tt.in, len(key))
				}
				return
			}
			if err != nil || len(key) != tt.wantLen {
				t.Errorf("DecodeSecret(%q) = %d bytes, %v; want %d bytes", tt.in, len(key), err, tt.wantLen)
			}
		})
	}
}

func TestVerify(t *testing.T) {
	key := mustSecret(t, vectorSecret)
	other := mustSecret(t, NewSecret())
	now := time.Unix(vectorTimestamp, 0)
	headers := func(id, ts, sig string) http.Header {
		h := http.Header{}
		for k, v := range map[string]string{HeaderID: id, HeaderTimestamp: ts, HeaderSignature: sig} {
			if v != "" {
				h.Set(k, v)
			}
		}
		return h
	}
	ts := strconv.Itoa(vectorTimestamp)
	tests := []struct {
		name    string
		headers http.Header
		body    string
		now     time.Time
		want    error
	}{
		{"the vector", headers(vectorID, ts, vectorSignature), vectorBody, now, nil},
		{"among others", headers(vectorID, ts, "v1a,abc v2,xyz v1,bm9wZQ== "+vectorSignature), vectorBody, now, nil},
		{"rotation", headers(vectorID, ts, Sign([][]byte{other, key}, vectorID, now, []byte(vectorBody))), vectorBody, now, nil},
		{"within tolerance late", headers(vectorID, ts, vectorSignature), vectorBody, now.Add(5 * time.Minute), nil},
		{"within tolerance early", headers(vectorID, ts, vectorSignature), vectorBody, now.Add(-5 * time.Minute), nil},
		{"too old", headers(vectorID, ts, vectorSignature), vectorBody, now.Add(6 * time.Minute), ErrTimestamp},
		{"too new", headers(vectorID, ts, vectorSignature), vectorBody, now.Add(-6 * time.Minute), ErrTimestamp},
		{"bad timestamp", headers(vectorID, "yesterday", vectorSignature), vectorBody, now, ErrTimestamp},
		{"huge timestamp", headers(vectorID, "-9223372036854775808", vectorSignature), vectorBody, now, ErrTimestamp},
		{"tampered body", headers(vectorID, ts, vectorSignature), `{"test": 2432232315}`, now, ErrNoValidSignature},
		{"other id", headers("msg_other", ts, vectorSignature), vectorBody, now, ErrNoValidSignature},
		{"other secret", headers(vectorID, ts, Sign([][]byte{other}, vectorID, now, []byte(vectorBody))), vectorBody, now, ErrNoValidSignature},
		{"wrong version", headers(vectorID, ts, "v2,"+strings.TrimPrefix(vectorSignature, "v1,")), vectorBody, now, ErrNoValidSignature},
		{"no signature", headers(vectorID, ts, ""), vectorBody, now, ErrMissingHeaders},
		{"no id", headers("", ts, vectorSignature), vectorBody, now, ErrMissingHeaders},
		{"no timestamp", headers(vectorID, "", vectorSignature), vectorBody, now, ErrMissingHeaders},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Verify(key, tt.headers, []byte(tt.body), 5*time.Minute, tt.now)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Errorf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
}

func BenchmarkSign(b *testing.B) {
	key := mustSecret(b, vectorSecret)
	body := []byte(strings.Repeat(`{"type":"entry.updated","data":{"id":"ent_01","title":"Kran 3"}}`, 16))
	ts := time.Unix(vectorTimestamp, 0)
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		Sign([][]byte{key}, vectorID, ts, body)
	}
}
