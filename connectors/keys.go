package connectors

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
)

// Key derives an idempotency key (32 hex characters, within QuickBooks'
// 50-character requestid and Xero's 128-character Idempotency-Key) from a
// connector, an entry, its version, an operation and more parts.
func Key(connectorID, entryID string, version int64, op string, parts ...string) string {
	h := sha256.New()
	for _, s := range append([]string{connectorID, entryID, strconv.FormatInt(version, 10), op}, parts...) {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}
