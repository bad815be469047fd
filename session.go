package calgate

import (
	"context"
	"time"
)

// Session is a signed-in browser of the console. The browser holds a
// random secret in a cookie; only its hash is stored. A session acts as
// the token it was opened with and ends when that token is revoked.
type Session struct {
	ID          string
	WorkspaceID string
	TokenID     string
	// CSRF is the token every form of the session carries.
	CSRF      string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// SessionStore keeps console sessions.
type SessionStore interface {
	// CreateSession stores a session with the hash of its cookie secret.
	CreateSession(ctx context.Context, s *Session, secretHash string) error
	// SessionByHash returns a session that has not expired at now, with
	// the principal of its token; ErrNotFound when there is none, it has
	// expired or its token is revoked.
	SessionByHash(ctx context.Context, secretHash string, now time.Time) (*Session, *Principal, error)
	// DeleteSession ends a session (signing out); no error when it is gone.
	DeleteSession(ctx context.Context, secretHash string) error
	// PurgeSessions removes sessions that expired before a time.
	PurgeSessions(ctx context.Context, before time.Time) (int, error)
}
