package api

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/parley-chat/parley/internal/tokens"
)

// Browser sessions. `parley open` asks the daemon (over its socket) for a
// one-time login link; opening it sets an HttpOnly, SameSite=Strict session
// cookie and redirects to the web client. The API token never reaches the
// browser. Sessions live in memory: a restarted daemon needs a new link.
const (
	loginLinkTTL  = 5 * time.Minute
	sessionTTL    = 30 * 24 * time.Hour
	sessionCookie = "parley_session"
)

type sessions struct {
	mu     sync.Mutex
	logins map[string]time.Time // one-time login token -> expiry
	live   map[string]time.Time // session ID -> expiry
}

func newSessions() *sessions {
	return &sessions{logins: map[string]time.Time{}, live: map[string]time.Time{}}
}

func randomToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (s *sessions) newLogin() string {
	t := randomToken()
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	for k, exp := range s.logins {
		if now.After(exp) {
			delete(s.logins, k)
		}
	}
	s.logins[t] = now.Add(loginLinkTTL)
	return t
}

// redeem turns a login token into a session ID, once.
func (s *sessions) redeem(token string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, ok := s.logins[token]
	if !ok {
		return "", false
	}
	delete(s.logins, token)
	if time.Now().After(exp) {
		return "", false
	}
	id := randomToken()
	s.live[id] = time.Now().Add(sessionTTL)
	return id, true
}

func (s *sessions) valid(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, ok := s.live[id]
	if ok && time.Now().After(exp) {
		delete(s.live, id)
		return false
	}
	return ok
}

// authKind says how a TCP request was authenticated.
type authKind int

const (
	authSocket authKind = iota // the unix socket: file permissions
	authToken                  // the bearer token
	authCookie                 // a browser session
	authScoped                 // a scoped token (see scopes.go)
)

type authKey struct{}

func authOf(r *http.Request) authKind {
	if k, ok := r.Context().Value(authKey{}).(authKind); ok {
		return k
	}
	return authSocket
}

// authenticate accepts the bearer token, or a session cookie from a
// same-origin request. For a cookie, a request that changes anything must
// carry an Origin naming this server (browsers send it): together with
// SameSite=Strict this refuses cross-site requests.
func (s *Server) authenticate(r *http.Request) (authKind, *tokens.Grant, string, bool) {
	if scheme, auth, ok := strings.Cut(r.Header.Get("Authorization"), " "); ok && strings.EqualFold(scheme, "Bearer") {
		auth = strings.TrimSpace(auth)
		if strings.HasPrefix(auth, tokens.Prefix) {
			if s.cfg.Tokens != nil {
				if g, ok := s.cfg.Tokens.Check(auth); ok {
					return authScoped, g, "", true
				}
			}
			return 0, nil, "unknown or revoked token: make one with 'parley token create'", false
		}
		if subtle.ConstantTimeCompare([]byte(auth), []byte(s.cfg.Token)) == 1 {
			return authToken, nil, "", true
		}
		return 0, nil, "wrong API token", false
	}
	c, err := r.Cookie(sessionCookie)
	if err != nil || !s.sessions.valid(c.Value) {
		return 0, nil, "missing or wrong API token: send 'Authorization: Bearer <token from api.token>', or log in with the link 'parley open' prints", false
	}
	origin := r.Header.Get("Origin")
	if origin != "" && origin != "http://"+r.Host {
		return 0, nil, "cross-origin request refused", false
	}
	if origin == "" && r.Method != http.MethodGet && r.Method != http.MethodHead {
		return 0, nil, "a browser request that changes something must carry its Origin", false
	}
	return authCookie, nil, "", true
}

func withAuth(r *http.Request, k authKind) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), authKey{}, k))
}

// LoginLink is POST /api/v1/login-link's answer.
type LoginLink struct {
	URL string `json:"url"`
}

func (s *Server) handleLoginLink(w http.ResponseWriter, r *http.Request) {
	if authOf(r) == authCookie {
		writeError(w, http.StatusForbidden, CodeForbidden, "a browser session cannot make login links")
		return
	}
	if s.tcpAddr == "" {
		writeError(w, http.StatusServiceUnavailable, CodeUnavailable, "the web client needs the loopback API: start the daemon without --api-listen off")
		return
	}
	writeJSON(w, http.StatusOK, LoginLink{URL: "http://" + s.tcpAddr + "/login?t=" + s.sessions.newLogin()})
}

func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	id, ok := s.sessions.redeem(r.URL.Query().Get("t"))
	if !ok {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte("This login link was used already or has expired. Run 'parley open' for a new one.\n"))
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: id, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, MaxAge: int(sessionTTL / time.Second),
	})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}
