package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/internal/tokens"
)

// Scoped tokens (internal/tokens) on the TCP API. A request with a
// "pat_" bearer token may reach only the endpoints its scope lists below
// (anything else is 403), and, for a token limited to conversations, only
// those: list endpoints are filtered, the others answer 403 for any other
// conversation. The unix socket, the daemon's own token and browser
// sessions keep full access.

// tokenScopes is what each endpoint demands of a scoped token; an
// endpoint not listed is closed to scoped tokens.
var tokenScopes = map[string]tokens.Scope{
	"GET /api/v1/health":               tokens.ScopeRead,
	"GET /api/v1/id":                   tokens.ScopeRead,
	"GET /api/v1/peers":                tokens.ScopeRead,
	"GET /api/v1/messages/{id}":        tokens.ScopeRead,
	"GET /api/v1/messages/{id}/thread": tokens.ScopeRead,
	"GET /api/v1/history":              tokens.ScopeRead,
	"GET /api/v1/search":               tokens.ScopeRead,
	"GET /api/v1/conversations":        tokens.ScopeRead,
	"GET /api/v1/rooms":                tokens.ScopeRead,
	"GET /api/v1/rooms/{name}/members": tokens.ScopeRead,
	"GET /api/v1/files/{hash}":         tokens.ScopeRead,
	"GET /api/v1/files/{hash}/thumb":   tokens.ScopeRead,
	"GET /api/v1/events":               tokens.ScopeRead,
	"POST /api/v1/messages":            tokens.ScopeSend,
	"POST /api/v1/messages/{id}/reply": tokens.ScopeSend,
	"POST /api/v1/messages/{id}/react": tokens.ScopeSend,
	"POST /api/v1/files":               tokens.ScopeSend,
}

type grantKey struct{}

// grantOf is the scoped token's grant of a request, nil for full access.
func grantOf(r *http.Request) *tokens.Grant {
	g, _ := r.Context().Value(grantKey{}).(*tokens.Grant)
	return g
}

// withGrant attaches g to r, and ends r's context when g is revoked (an
// event stream closes at once).
func withGrant(r *http.Request, g *tokens.Grant) (*http.Request, func()) {
	ctx, cancel := context.WithCancel(context.WithValue(r.Context(), grantKey{}, g))
	go func() { // ends with the request: the caller cancels ctx after serving
		select {
		case <-g.Revoked:
			cancel()
		case <-ctx.Done():
		}
	}()
	return r.WithContext(ctx), cancel
}

// scopeCheck lets a scoped token through to the endpoints its scope
// allows; every other request passes untouched.
func (s *Server) scopeCheck(pattern func(*http.Request) string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g := grantOf(r)
		if g == nil {
			next.ServeHTTP(w, r)
			return
		}
		p := pattern(r)
		need, listed := tokenScopes[p]
		if p == "" {
			next.ServeHTTP(w, r) // unknown endpoint or method: 404/405 as for anyone
			return
		}
		if !listed || !g.Scope.Allows(need) {
			writeError(w, http.StatusForbidden, CodeForbidden, "token "+g.Name+" (scope "+string(g.Scope)+") may not use "+r.Method+" "+r.URL.Path)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// errConvForbidden is answered for a conversation a token does not cover.
var errConvForbidden = errors.New("this token is not allowed in that conversation")

// allowConv answers 403 and returns false when r's token does not cover conv.
func allowConv(w http.ResponseWriter, r *http.Request, conv chat.Conversation) bool {
	if g := grantOf(r); g != nil && !g.AllowsConv(string(conv)) {
		writeError(w, http.StatusForbidden, CodeForbidden, errConvForbidden.Error()+": "+conv.Display())
		return false
	}
	return true
}

// allowMessage checks the conversation of message id for r's token.
func (s *Server) allowMessage(w http.ResponseWriter, r *http.Request, id chat.MessageID) bool {
	g := grantOf(r)
	if g == nil || !g.Limited() {
		return true
	}
	m, err := s.backend.Message(id)
	if err != nil {
		writeErr(w, err)
		return false
	}
	return allowConv(w, r, m.Conversation)
}

// allowFile checks that a file was shared in a conversation r's token covers.
func (s *Server) allowFile(w http.ResponseWriter, r *http.Request, h chat.FileHash) bool {
	g := grantOf(r)
	if g == nil || !g.Limited() {
		return true
	}
	rec, err := s.backend.FileRecord(h)
	if err != nil {
		writeErr(w, err)
		return false
	}
	for _, c := range rec.Convs {
		if g.AllowsConv(string(c)) {
			return true
		}
	}
	writeError(w, http.StatusForbidden, CodeForbidden, "this token is not allowed in the conversations that file was shared in")
	return false
}

// covers reports whether r's token covers conv (true for full access).
func covers(r *http.Request, conv chat.Conversation) bool {
	g := grantOf(r)
	return g == nil || g.AllowsConv(string(conv))
}

// limited reports whether r's token is limited to some conversations.
func limited(r *http.Request) bool {
	g := grantOf(r)
	return g != nil && g.Limited()
}

// peersSeenBy is, for a token limited to conversations, the peers it may
// see: the other side of each of its direct conversations and the
// members of each of its rooms. nil: every peer.
func (s *Server) peersSeenBy(r *http.Request) map[chat.PeerID]bool {
	g := grantOf(r)
	if g == nil || !g.Limited() {
		return nil
	}
	seen := map[chat.PeerID]bool{}
	for _, c := range g.Convs() {
		conv := chat.Conversation(c)
		if p, ok := conv.Peer(); ok {
			seen[p] = true
			continue
		}
		if room, ok := conv.Room(); ok {
			members, err := s.backend.RoomMembers(room)
			if err != nil {
				continue // a room not joined has no members to show
			}
			for _, m := range members {
				seen[m.Peer] = true
			}
		}
	}
	return seen
}

// eventCovered reports whether r's token may see e: for a token limited
// to conversations, the events of those conversations; events of no
// conversation (peers, file progress) are not shown to it.
func eventCovered(r *http.Request, e chat.Event) bool {
	if !limited(r) {
		return true
	}
	switch e.Type {
	case chat.EventMessage, chat.EventStatus:
		return e.Message != nil && covers(r, e.Message.Conversation)
	case chat.EventTyping, chat.EventPresence, chat.EventRoom, chat.EventMembers:
		return covers(r, chat.RoomConversation(e.Room))
	case chat.EventRead, chat.EventReceipt:
		return covers(r, e.Conversation)
	}
	return false
}
