package calgate

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/binary"
	"encoding/hex"
	"strings"
	"time"
)

var idEncoding = base32.NewEncoding("0123456789abcdefghjkmnpqrstvwxyz").WithPadding(base32.NoPadding)

// NewID returns a new identifier with the given prefix ("ent", "wh", …):
// 48 bits of milliseconds followed by 80 random bits, so that ids sort by
// creation time and cannot be guessed.
func NewID(prefix string) string {
	b := idAt(time.Now())
	if _, err := rand.Read(b[6:]); err != nil {
		panic("calgate: no randomness: " + err.Error())
	}
	return prefix + "_" + idEncoding.EncodeToString(b[:])
}

// idAt is an id's 16 bytes with t's milliseconds in the first 48 bits and
// zeros after them.
func idAt(t time.Time) [16]byte {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(t.UnixMilli())<<16)
	return b
}

// DeliveryID is the id of an event's delivery to an endpoint: NewID's
// shape, with the event's time for the milliseconds and a hash of the
// endpoint and the event for the rest. Every run of the event's batch
// gives the same id, so a message sent again after a crash carries the
// webhook-id its receiver saw the first time.
func DeliveryID(webhookID string, eventID int64, at time.Time) string {
	b := idAt(at)
	h := sha256.Sum256(binary.BigEndian.AppendUint64([]byte(webhookID+"\x00"), uint64(eventID)))
	copy(b[6:], h[:10])
	return "msg_" + idEncoding.EncodeToString(b[:])
}

// FirstIDAt is the smallest id with prefix that NewID or DeliveryID can
// give for the time t: every id given for an earlier millisecond sorts
// below it, every one for t or later at or above it.
func FirstIDAt(prefix string, t time.Time) string {
	b := idAt(t)
	return prefix + "_" + idEncoding.EncodeToString(b[:])
}

// NewSecret returns n random bytes encoded for use in URLs and headers.
func NewSecret(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("calgate: no randomness: " + err.Error())
	}
	return strings.ToLower(idEncoding.EncodeToString(b))
}

// HashSecret returns the hex SHA-256 of a high-entropy secret (a token or a
// feed key). Secrets are stored only in this form.
func HashSecret(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}
