package api

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	calgate "github.com/calgate/calgate"
)

// tokenFromRequest reads a token from "Authorization: Bearer …", from a
// bare "Authorization: …" without a scheme (as PlanningPME clients send
// it) or from "X-AUTH-TOKEN: …" (the header PlanningNow clients send).
func tokenFromRequest(r *http.Request) string {
	if h := strings.TrimSpace(r.Header.Get("Authorization")); h != "" {
		scheme, tok, ok := strings.Cut(h, " ")
		switch {
		case ok && strings.EqualFold(scheme, "Bearer"):
			return strings.TrimSpace(tok)
		case !ok:
			return h
		}
	}
	return strings.TrimSpace(r.Header.Get("X-AUTH-TOKEN"))
}

func (s *Server) authenticate(c *gin.Context) {
	secret := tokenFromRequest(c.Request)
	if secret == "" {
		c.Header("WWW-Authenticate", `Bearer realm="calgate"`)
		s.fail(c, calgate.ErrUnauthorized)
		return
	}
	p, err := s.Store.TokenByHash(c.Request.Context(), calgate.HashSecret(secret))
	if errors.Is(err, calgate.ErrNotFound) {
		c.Header("WWW-Authenticate", `Bearer realm="calgate", error="invalid_token"`)
		s.fail(c, calgate.ErrUnauthorized)
		return
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	c.Set(ctxPrincipal, p)
	s.touch(c, p.Token.ID)
	c.Next()
}

// touch records a token's last use, at most once a minute per token, so that
// reads do not turn into writes.
func (s *Server) touch(c *gin.Context, tokenID string) {
	now := time.Now()
	s.touchMu.Lock()
	last, ok := s.touched[tokenID]
	if ok && now.Sub(last) < time.Minute {
		s.touchMu.Unlock()
		return
	}
	s.touched[tokenID] = now
	s.touchMu.Unlock()
	if err := s.Store.TouchToken(c.Request.Context(), tokenID, now); err != nil {
		s.logger.Warn("token touch failed", "token", tokenID, "err", err)
	}
}
