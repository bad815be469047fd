// Package vault encrypts the credentials calgate stores for its users
// (CalDAV passwords, pull-import headers, connector tokens) with AES-256-GCM
// under the deployment's secret key.
package vault

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// KeySize is the length of a secret key in bytes.
const KeySize = 32

const sealedPrefix = "v1:"

// Vault seals and opens small secrets.
type Vault struct{ aead cipher.AEAD }

// New returns a vault for a 32-byte key.
func New(key []byte) (*Vault, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("vault: key must be %d bytes, got %d", KeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("vault: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("vault: %w", err)
	}
	return &Vault{aead: aead}, nil
}

// ParseKey reads a key given as base64 (standard or URL alphabet) or hex.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == KeySize {
			return b, nil
		}
	}
	return nil, fmt.Errorf("vault: CALGATE_SECRET_KEY must be %d bytes in base64", KeySize)
}

// LoadOrCreateKey reads the key file in dir, creating it with a new random
// key (mode 0600) on first use.
func LoadOrCreateKey(dir string) ([]byte, error) {
	path := filepath.Join(dir, "secret.key")
	if data, err := os.ReadFile(path); err == nil {
		return ParseKey(string(data))
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("vault: read key: %w", err)
	}
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("vault: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("vault: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return LoadOrCreateKey(dir) // another process won the race
	}
	if err != nil {
		return nil, fmt.Errorf("vault: create key: %w", err)
	}
	defer f.Close()
	if _, err := f.WriteString(base64.StdEncoding.EncodeToString(key) + "\n"); err != nil {
		return nil, fmt.Errorf("vault: write key: %w", err)
	}
	return key, nil
}

// Seal encrypts plaintext; the result is text safe to store.
func (v *Vault) Seal(plaintext []byte) string {
	nonce := make([]byte, v.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		panic("vault: no randomness: " + err.Error())
	}
	out := v.aead.Seal(nonce, nonce, plaintext, nil)
	return sealedPrefix + base64.RawStdEncoding.EncodeToString(out)
}

// Open decrypts what Seal produced.
func (v *Vault) Open(sealed string) ([]byte, error) {
	raw, ok := strings.CutPrefix(sealed, sealedPrefix)
	if !ok {
		return nil, errors.New("vault: not a sealed value")
	}
	data, err := base64.RawStdEncoding.DecodeString(raw)
	if err != nil || len(data) < v.aead.NonceSize() {
		return nil, errors.New("vault: corrupt sealed value")
	}
	n := v.aead.NonceSize()
	plain, err := v.aead.Open(nil, data[:n], data[n:], nil)
	if err != nil {
		return nil, errors.New("vault: cannot decrypt (wrong CALGATE_SECRET_KEY?)")
	}
	return plain, nil
}
