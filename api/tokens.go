package api

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	calgate "github.com/calgate/calgate"
)

// MaxTokenNameLength bounds a token's name and user, in bytes.
const MaxTokenNameLength = 200

type tokenRequest struct {
	Name  string `json:"name" doc:"required"`
	User  string `json:"user" doc:"default: the caller's user"`
	Admin bool   `json:"admin"`
}

// tokenCreated is the only answer that ever shows a token's secret.
type tokenCreated struct {
	calgate.Token
	Secret string `json:"token" doc:"the secret, shown only in this answer"`
}

func (s *Server) createToken(c *gin.Context) {
	p := principal(c)
	var req tokenRequest
	if err := bindJSON(c, MaxBodyBytes, &req); err != nil {
		s.fail(c, err)
		return
	}
	req.Name, req.User = strings.TrimSpace(req.Name), strings.TrimSpace(req.User)
	v := &calgate.ValidationError{}
	if req.Name == "" {
		v.Add("name", "is required")
	} else {
		v.Line("name", req.Name, MaxTokenNameLength)
	}
	if req.User == "" {
		req.User = p.Token.User
	}
	v.Line("user", req.User, MaxTokenNameLength)
	if !p.Token.Admin && (req.User != p.Token.User || req.Admin) {
		v.Add("user", "only an admin token can create tokens for other users or admin tokens")
		s.fail(c, &StatusError{Status: http.StatusForbidden, Detail: v.Error(), Fields: v.Errors})
		return
	}
	if err := v.Err(); err != nil {
		s.fail(c, err)
		return
	}
	tok, secret := calgate.NewToken(p.Workspace.ID, req.User, req.Name, req.Admin)
	if err := s.Store.CreateToken(c.Request.Context(), tok, calgate.HashSecret(secret)); err != nil {
		s.fail(c, err)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusCreated, tokenCreated{Token: *tok, Secret: secret})
}

func (s *Server) listTokens(c *gin.Context) {
	p := principal(c)
	all, err := s.Store.Tokens(c.Request.Context(), p.Workspace.ID)
	if err != nil {
		s.fail(c, err)
		return
	}
	items := []*calgate.Token{}
	for _, t := range all {
		if p.Token.Admin || t.User == p.Token.User {
			items = append(items, t)
		}
	}
	c.JSON(http.StatusOK, listReply[*calgate.Token]{Items: items})
}

func (s *Server) revokeToken(c *gin.Context) {
	p := principal(c)
	id := c.Param("id")
	if !p.Token.Admin {
		all, err := s.Store.Tokens(c.Request.Context(), p.Workspace.ID)
		if err != nil {
			s.fail(c, err)
			return
		}
		mine := false
		for _, t := range all {
			mine = mine || (t.ID == id && t.User == p.Token.User)
		}
		if !mine {
			s.fail(c, calgate.ErrNotFound)
			return
		}
	}
	if err := s.Store.RevokeToken(c.Request.Context(), p.Workspace.ID, id); err != nil {
		s.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

type authTestReply struct {
	OK        bool              `json:"ok"`
	Workspace calgate.Workspace `json:"workspace"`
	User      string            `json:"user"`
	TokenID   string            `json:"token_id"`
	Admin     bool              `json:"admin"`
}

func (s *Server) authTest(c *gin.Context) {
	p := principal(c)
	c.JSON(http.StatusOK, authTestReply{OK: true, Workspace: p.Workspace, User: p.Token.User, TokenID: p.Token.ID, Admin: p.Token.Admin})
}

func (s *Server) getWorkspace(c *gin.Context) {
	c.JSON(http.StatusOK, principal(c).Workspace)
}
