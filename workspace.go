package calgate

import "time"

// Workspace isolates everything: entries, tokens, feeds, webhooks and
// targets belong to exactly one.
type Workspace struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Timezone  string    `json:"timezone"`
	CreatedAt time.Time `json:"created_at"`
}

// Token is an API token of one user in one workspace. Only a hash of the
// secret is stored; the secret is shown once, on creation.
type Token struct {
	ID          string     `json:"id"`
	WorkspaceID string     `json:"workspace_id"`
	User        string     `json:"user"`
	Name        string     `json:"name"`
	Prefix      string     `json:"prefix" doc:"the first characters of the secret"`
	Admin       bool       `json:"admin"`
	CreatedAt   time.Time  `json:"created_at"`
	LastUsedAt  *time.Time `json:"last_used_at"`
}

// Principal is who makes a request: a token in its workspace.
type Principal struct {
	Token     Token
	Workspace Workspace
}

// TokenPrefix starts every API token, so that secret scanners can spot them.
const TokenPrefix = "cgt_"

// NewToken makes a token for a user of a workspace and returns it with its
// secret. Store only HashSecret(secret); show the secret once.
func NewToken(workspaceID, user, name string, admin bool) (*Token, string) {
	secret := TokenPrefix + NewSecret(32)
	return &Token{
		ID:          NewID("tok"),
		WorkspaceID: workspaceID,
		User:        user,
		Name:        name,
		Prefix:      secret[:len(TokenPrefix)+8],
		Admin:       admin,
		CreatedAt:   time.Now().UTC().Truncate(time.Microsecond),
	}, secret
}
