package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	calgate "github.com/calgate/calgate"
)

// IdempotencyStore keeps, per workspace and Idempotency-Key, the first
// answer (status, content type, body) with the fingerprint of its request.
type IdempotencyStore interface {
	IdempotentResponse(ctx context.Context, workspaceID, key string) (fingerprint string, status int, contentType string, body []byte, err error)
	SaveIdempotentResponse(ctx context.Context, workspaceID, key, fingerprint string, status int, contentType string, body []byte) error
}

// MaxIdempotencyKeyLength bounds the Idempotency-Key header.
const MaxIdempotencyKeyLength = 255

// idempotency replays the first answer to a POST that carries an
// Idempotency-Key the workspace used before, so a retried request writes
// nothing twice. A key reused with another body is refused.
func (s *Server) idempotency(c *gin.Context) {
	key := c.GetHeader("Idempotency-Key")
	// Files (CSV, Excel, multipart) are streamed, never held in memory, so
	// keys apply to JSON requests only.
	ct := c.ContentType()
	isJSON := ct == "" || ct == "application/json" || strings.HasSuffix(ct, "+json")
	if c.Request.Method != http.MethodPost || key == "" || !isJSON {
		c.Next()
		return
	}
	if len(key) > MaxIdempotencyKeyLength {
		s.fail(c, badParam("Idempotency-Key", "must be at most %d characters", MaxIdempotencyKeyLength))
		return
	}
	body, err := readBody(c, MaxBulkBodyBytes)
	if err != nil {
		s.fail(c, err)
		return
	}
	sum := sha256.Sum256(append([]byte(c.Request.Method+" "+c.Request.URL.RequestURI()+"\n"), body...))
	fingerprint := hex.EncodeToString(sum[:])
	ws := principal(c).Workspace.ID
	prevFingerprint, prevStatus, prevType, prevBody, err := s.Store.IdempotentResponse(c.Request.Context(), ws, key)
	switch {
	case err == nil:
		if prevFingerprint != fingerprint {
			s.fail(c, &StatusError{Status: http.StatusUnprocessableEntity, Detail: "this Idempotency-Key was used for a different request",
				Fields: []calgate.FieldError{{Field: "Idempotency-Key", Message: "already used with another method, path or body"}}})
			return
		}
		c.Header("Idempotent-Replayed", "true")
		c.Data(prevStatus, prevType, prevBody)
		c.Abort()
		return
	case !errors.Is(err, calgate.ErrNotFound):
		s.fail(c, err)
		return
	}
	rec := &recorder{ResponseWriter: c.Writer}
	c.Writer = rec
	c.Next()
	status := rec.Status()
	if status >= 500 || status == http.StatusRequestEntityTooLarge {
		return
	}
	if err := s.Store.SaveIdempotentResponse(c.Request.Context(), ws, key, fingerprint, status, rec.Header().Get("Content-Type"), rec.body.Bytes()); err != nil {
		s.logger.Warn("idempotency key not saved", "request_id", c.GetString(ctxRequestID), "err", err)
	}
}

// recorder keeps a copy of what a handler writes.
type recorder struct {
	gin.ResponseWriter
	body bytes.Buffer
}

func (r *recorder) Write(b []byte) (int, error) {
	r.body.Write(b)
	return r.ResponseWriter.Write(b)
}

func (r *recorder) WriteString(s string) (int, error) {
	r.body.WriteString(s)
	return r.ResponseWriter.WriteString(s)
}
