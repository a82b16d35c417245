package api

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/internal/tokens"
)

// The token endpoints: full access only (the unix socket, the daemon's
// own token, a browser session); a scoped token is refused by scopeCheck.

// TokenRequest is POST /api/v1/tokens's body.
type TokenRequest struct {
	Name  string   `json:"name"`
	Scope string   `json:"scope"`           // "read" or "send"
	Convs []string `json:"convs,omitempty"` // #room, peer ID, @nick or a conversation ID; none: all
}

// TokenInfo describes a token (never the token itself).
type TokenInfo struct {
	Name     string     `json:"name"`
	Scope    string     `json:"scope"`
	Convs    []string   `json:"convs"` // conversation IDs (room:NAME, dm:PEER); empty: every conversation
	Created  time.Time  `json:"created"`
	LastUsed *time.Time `json:"last_used"` // null: never used
}

// TokenCreated is POST /api/v1/tokens's answer: the token, shown once.
type TokenCreated struct {
	TokenInfo
	Token string `json:"token"`
}

// TokenInfoOf converts a token's description for the API.
func TokenInfoOf(t tokens.Token) TokenInfo {
	out := TokenInfo{Name: t.Name, Scope: string(t.Scope), Convs: t.Convs, Created: t.Created}
	if out.Convs == nil {
		out.Convs = []string{}
	}
	if !t.LastUsed.IsZero() {
		lu := t.LastUsed
		out.LastUsed = &lu
	}
	return out
}

func (s *Server) tokenStore(w http.ResponseWriter) (*tokens.Store, bool) {
	if s.cfg.Tokens == nil {
		writeError(w, http.StatusServiceUnavailable, CodeUnavailable, "this daemon keeps no API tokens")
		return nil, false
	}
	return s.cfg.Tokens, true
}

func (s *Server) handleTokens(w http.ResponseWriter, _ *http.Request) {
	ts, ok := s.tokenStore(w)
	if !ok {
		return
	}
	list := ts.List()
	out := make([]TokenInfo, len(list))
	for i, t := range list {
		out[i] = TokenInfoOf(t)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleCreateToken(w http.ResponseWriter, r *http.Request) {
	ts, ok := s.tokenStore(w)
	if !ok {
		return
	}
	var req TokenRequest
	if !readJSON(w, r, &req) {
		return
	}
	scope, err := tokens.ParseScope(req.Scope)
	if err != nil {
		writeError(w, http.StatusBadRequest, CodeBadRequest, err.Error())
		return
	}
	convs := make([]string, 0, len(req.Convs))
	for _, ref := range req.Convs {
		// A conversation ID is taken by the name it stands for.
		if room, ok := chat.Conversation(ref).Room(); ok {
			ref = "#" + room
		} else if p, ok := strings.CutPrefix(ref, "dm:"); ok {
			ref = p
		}
		conv, err := s.backend.Resolve(ref)
		if err != nil {
			writeErr(w, err)
			return
		}
		convs = append(convs, string(conv))
	}
	secret, t, err := ts.Create(req.Name, scope, convs)
	switch {
	case errors.Is(err, tokens.ErrInvalid):
		writeError(w, http.StatusBadRequest, CodeBadRequest, err.Error())
		return
	case errors.Is(err, tokens.ErrExists):
		writeError(w, http.StatusConflict, CodeConflict, err.Error())
		return
	case err != nil:
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, TokenCreated{TokenInfo: TokenInfoOf(t), Token: secret})
}

func (s *Server) handleRevokeToken(w http.ResponseWriter, r *http.Request) {
	ts, ok := s.tokenStore(w)
	if !ok {
		return
	}
	name := r.PathValue("name")
	if err := ts.Revoke(name); err != nil {
		if errors.Is(err, tokens.ErrNotFound) {
			writeError(w, http.StatusNotFound, CodeNotFound, err.Error())
			return
		}
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"name": name, "revoked": true})
}
