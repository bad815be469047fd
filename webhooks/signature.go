package webhooks

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Standard Webhooks header names.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// SecretPrefix starts every secret NewSecret returns.
const SecretPrefix = "whsec_"

// secretBytes is the size of a new secret's key: 256 bits, the size of
// the HMAC-SHA256 output, within the 24 to 64 bytes the specification asks.
const secretBytes = 32

// Verification errors; Verify wraps them with details.
var (
	ErrMissingHeaders   = errors.New("webhooks: missing webhook-id, webhook-timestamp or webhook-signature header")
	ErrTimestamp        = errors.New("webhooks: timestamp outside the tolerance")
	ErrNoValidSignature = errors.New("webhooks: no matching signature")
)

// NewSecret returns a new signing secret: "whsec_" followed by the
// standard base64 of 32 random bytes.
func NewSecret() string {
	key := make([]byte, secretBytes)
	// crypto/rand.Read never fails (it aborts the program instead).
	_, _ = rand.Read(key)
	return SecretPrefix + base64.StdEncoding.EncodeToString(key)
}

// DecodeSecret returns the key of a secret written with or without the
// "whsec_" prefix. It fails on bad base64 and on an empty key.
func DecodeSecret(s string) ([]byte, error) {
	enc := strings.TrimPrefix(strings.TrimSpace(s), SecretPrefix)
	key, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		// Accept the unpadded form too.
		var rawErr error
		if key, rawErr = base64.RawStdEncoding.DecodeString(enc); rawErr != nil {
			return nil, fmt.Errorf("webhooks: decode secret: %w", err)
		}
	}
	if len(key) == 0 {
		return nil, errors.New("webhooks: decode secret: empty key")
	}
	return key, nil
}

// Sign returns the webhook-signature header value for a message: one
// "v1,<base64 HMAC-SHA256 of id.timestamp.body>" per secret, separated by
// spaces, so that during a rotation receivers holding either the old or
// the new secret accept it. ts is sent in whole seconds.
func Sign(secrets [][]byte, msgID string, ts time.Time, body []byte) string {
	var sb strings.Builder
	for i, key := range secrets {
		if i > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString("v1,")
		sb.WriteString(base64.StdEncoding.EncodeToString(signature(key, msgID, ts.Unix(), body)))
	}
	return sb.String()
}

// signature is the raw HMAC-SHA256 of "id.timestamp.body".
func signature(key []byte, msgID string, unix int64, body []byte) []byte {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(msgID))
	mac.Write([]byte{'.'})
	mac.Write(strconv.AppendInt(nil, unix, 10))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return mac.Sum(nil)
}

// Verify checks a received message the way a receiver should: the three
// headers are present, the timestamp is within tolerance of now (either
// side), and one of the v1 signatures matches the body under secret.
// Errors wrap ErrMissingHeaders, ErrTimestamp or ErrNoValidSignature.
func Verify(secret []byte, headers http.Header, body []byte, tolerance time.Duration, now time.Time) error {
	id := headers.Get(HeaderID)
	tsHeader := headers.Get(HeaderTimestamp)
	sigHeader := headers.Get(HeaderSignature)
	if id == "" || tsHeader == "" || sigHeader == "" {
		return ErrMissingHeaders
	}
	unix, err := strconv.ParseInt(tsHeader, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: %q is not a unix time", ErrTimestamp, tsHeader)
	}
	if skew := math.Abs(float64(now.Unix()) - float64(unix)); skew > tolerance.Seconds() {
		return fmt.Errorf("%w: %s is %.0f s away from now", ErrTimestamp, tsHeader, skew)
	}
	want := signature(secret, id, unix, body)
	for _, versioned := range strings.Fields(sigHeader) {
		version, sig, ok := strings.Cut(versioned, ",")
		if !ok || version != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(sig)
		if err != nil {
			continue
		}
		if hmac.Equal(got, want) {
			return nil
		}
	}
	return fmt.Errorf("%w for message %s", ErrNoValidSignature, id)
}
