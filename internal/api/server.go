package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/internal/lifecycle"
	"github.com/parley-chat/parley/internal/tokens"
)

// Backend is what the API serves. *chat.Service implements it: the API
// adds HTTP and JSON, nothing else.
type Backend interface {
	Info() chat.NodeInfo
	Peers() []chat.Peer
	Peer(id chat.PeerID) (chat.Peer, bool)
	ResolvePeer(ref string) (chat.PeerID, error)
	DisplayName(p chat.PeerID) string
	SafetyNumber(p chat.PeerID) (string, error)
	Verify(p chat.PeerID) error
	Connect(ctx context.Context, addr string) (chat.PeerID, error)
	SetNick(nick string) error
	Resolve(ref string) (chat.Conversation, error)
	Conversations() ([]chat.ConversationInfo, error)
	SendDM(ctx context.Context, to chat.PeerID, text string) (*chat.Message, error)
	SendRoom(ctx context.Context, room, text string) (*chat.Message, error)
	History(conv chat.Conversation, q chat.HistoryQuery) ([]*chat.Message, error)
	Message(id chat.MessageID) (*chat.Message, error)
	Reply(ctx context.Context, parent chat.MessageID, text string, thread, alsoRoom bool) (*chat.Message, error)
	Edit(ctx context.Context, id chat.MessageID, text string) (*chat.Message, error)
	Delete(ctx context.Context, id chat.MessageID) (*chat.Message, error)
	React(ctx context.Context, id chat.MessageID, emoji string) (*chat.Message, bool, error)
	Thread(root chat.MessageID) ([]*chat.Message, error)
	ThreadPage(root chat.MessageID, q chat.HistoryQuery) ([]*chat.Message, error)
	MarkRead(conv chat.Conversation, upTo chat.MessageID) error
	JoinRoom(ctx context.Context, room string) (bool, error)
	CreatePrivateRoom(ctx context.Context, room string) error
	CreateInvite(ctx context.Context, room string, uses int, expires time.Duration) (string, *chat.Invite, error)
	RevokeInvite(ctx context.Context, ref string) (string, error)
	JoinInvite(ctx context.Context, link string) (string, bool, error)
	RemoveMember(ctx context.Context, room string, peer chat.PeerID) error
	PromoteMember(ctx context.Context, room string, peer chat.PeerID) error
	SetPrivateSettings(ctx context.Context, room, history, invite string) error
	PrivateSettings(room string) (history, invite string, err error)
	LeaveRoom(ctx context.Context, room string) (bool, error)
	Rooms() ([]chat.RoomInfo, error)
	SetRoomRetention(room string, keep time.Duration) error
	RoomMembers(room string) ([]chat.RoomMember, error)
	Typing(ctx context.Context, room string) error
	Subscribe() (<-chan chat.Event, func())
	ShareFiles(ctx context.Context, conv chat.Conversation, files iter.Seq2[chat.SharedFile, error], caption string) (*chat.Message, error)
	FetchFileTo(ctx context.Context, id chat.MessageID, h chat.FileHash, dir string) (string, error)
	FileRecord(h chat.FileHash) (chat.FileRecord, error)
	OpenFile(h chat.FileHash) (io.ReadSeeker, chat.FileRecord, error)
	Search(q chat.SearchQuery) ([]chat.SearchHit, error)
}

var _ Backend = (*chat.Service)(nil)

// Config configures a Server.
type Config struct {
	Backend Backend
	Notify  Notifications // notification rules and alerts; nil: none (the notify endpoints answer 503)
	Hooks   Webhooks      // webhooks and slash commands; nil: none (their endpoints answer 503)
	// Commands runs the slash commands a sent text names; nil: none (every
	// text is sent as it is).
	Commands Commands
	// Outgoing lists outgoing webhooks' deliveries; nil: none (503).
	Outgoing Deliveries
	// Diagnose answers GET /api/v1/doctor: what only the daemon knows of
	// its own health (parley doctor); nil: the endpoint answers 503.
	Diagnose func(ctx context.Context) Diagnosis
	Token    string       // guards the TCP listener
	Version  string       // Parley's version, in GET /id
	UI       http.Handler // the web client, served on the TCP listener at "/"; nil for none
	Logger   *slog.Logger
	Unix     net.Listener // the unix socket; nil for none
	TCP      net.Listener // the loopback TCP listener; nil for none

	// Tokens are the scoped API tokens accepted on the TCP listener (see
	// scopes.go); nil: none (the token endpoints answer 503).
	Tokens *tokens.Store
	// Metrics serves GET /metrics on the unix socket and, authenticated,
	// on the TCP listener; nil: no metrics.
	Metrics http.Handler
	// MetricsListener, if set, serves Metrics without authentication and
	// nothing else (metrics_listen, for scrapers).
	MetricsListener net.Listener
}

// Server serves the API on a unix socket and a loopback TCP listener.
type Server struct {
	cfg      Config
	backend  Backend
	log      *slog.Logger
	unix     *http.Server
	tcp      *http.Server
	metrics  *http.Server
	tcpAddr  string
	sessions *sessions
	life     *lifecycle.Lifetime
	errc     chan error
}

// shutdownWait bounds how long stopping waits for requests in flight.
const shutdownWait = 2 * time.Second

// New builds a server on cfg's listeners; Run serves them.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, backend: cfg.Backend, log: cfg.Logger, sessions: newSessions(), life: lifecycle.New(), errc: make(chan error, 3)}
	if cfg.TCP != nil {
		// Known before any request is served: handlers on both listeners read it.
		s.tcpAddr = cfg.TCP.Addr().String()
	}
	mux := s.routes()
	// The unix socket (whose file permission is its authentication) also
	// serves Go's profiler, for looking into a running daemon.
	unix := http.NewServeMux()
	unix.Handle("/", mux)
	unix.HandleFunc("/debug/pprof/", pprof.Index)
	unix.HandleFunc("/debug/pprof/profile", pprof.Profile)
	unix.HandleFunc("/debug/pprof/trace", pprof.Trace)
	unix.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	if cfg.Metrics != nil {
		unix.Handle("GET /metrics", cfg.Metrics)
	}
	s.unix = &http.Server{Handler: unix, ReadHeaderTimeout: 10 * time.Second}
	tcp := http.NewServeMux()
	tcp.Handle("/api/", s.guard(s.scopeCheck(func(r *http.Request) string {
		if _, p := mux.Handler(r); p != "/api/" {
			return p
		}
		return ""
	}, mux)))
	if cfg.Metrics != nil {
		tcp.Handle("GET /metrics", s.guard(cfg.Metrics)) // a token of any scope may read them
	}
	tcp.HandleFunc("GET /login", s.handleLogin)
	if cfg.UI != nil {
		tcp.Handle("/", cfg.UI)
	}
	s.tcp = &http.Server{Handler: s.checkHost(tcp), ReadHeaderTimeout: 10 * time.Second}
	metrics := http.NewServeMux()
	if cfg.Metrics != nil {
		metrics.Handle("GET /metrics", cfg.Metrics)
	}
	s.metrics = &http.Server{Handler: metrics, ReadHeaderTimeout: 10 * time.Second}
	return s
}

// Run serves until ctx is cancelled or Close is called, then ends event
// streams, waits briefly for requests in flight and returns nil. A
// listener that fails stops the server with its error.
func (s *Server) Run(ctx context.Context) error {
	var failed error
	err := s.life.Run(ctx, func() error {
		for _, p := range []struct {
			srv *http.Server
			l   net.Listener
		}{{s.unix, s.cfg.Unix}, {s.tcp, s.cfg.TCP}, {s.metrics, s.cfg.MetricsListener}} {
			if p.l == nil {
				continue
			}
			s.life.Go(func() {
				if err := p.srv.Serve(p.l); err != nil && !errors.Is(err, http.ErrServerClosed) {
					s.errc <- err
				}
			})
		}
		s.life.Go(func() {
			select {
			case failed = <-s.errc:
				s.life.Cancel()
			case <-s.life.Context().Done():
			}
		})
		return nil
	}, s.stop)
	if err != nil {
		return err
	}
	return failed
}

func (s *Server) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownWait)
	defer cancel()
	_ = s.unix.Shutdown(ctx)
	_ = s.tcp.Shutdown(ctx)
	_ = s.metrics.Shutdown(ctx)
	// Shutdown closes the listeners it served; a server closed before it
	// ran must not leave them accepting connections nobody answers.
	for _, l := range []net.Listener{s.cfg.Unix, s.cfg.TCP, s.cfg.MetricsListener} {
		if l != nil {
			_ = l.Close()
		}
	}
}

// Close stops the server. It is idempotent.
func (s *Server) Close() error {
	s.life.Close(s.stop)
	return nil
}

func (s *Server) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/health", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
	})
	mux.HandleFunc("GET /api/v1/id", s.handleID)
	mux.HandleFunc("GET /api/v1/peers", s.handlePeers)
	mux.HandleFunc("GET /api/v1/peers/{peer}/safety", s.handleSafety)
	mux.HandleFunc("GET /api/v1/peers/{peer}/safety.png", s.handleSafetyQR)
	mux.HandleFunc("POST /api/v1/peers/{peer}/verify", s.handleVerify)
	mux.HandleFunc("POST /api/v1/connect", s.handleConnect)
	mux.HandleFunc("POST /api/v1/nick", s.handleNick)
	mux.HandleFunc("POST /api/v1/messages", s.handleSend)
	mux.HandleFunc("GET /api/v1/messages/{id}", s.handleMessage)
	mux.HandleFunc("DELETE /api/v1/messages/{id}", s.handleDelete)
	mux.HandleFunc("POST /api/v1/messages/{id}/reply", s.handleReply)
	mux.HandleFunc("POST /api/v1/messages/{id}/edit", s.handleEdit)
	mux.HandleFunc("POST /api/v1/messages/{id}/react", s.handleReact)
	mux.HandleFunc("GET /api/v1/messages/{id}/thread", s.handleThread)
	mux.HandleFunc("GET /api/v1/history", s.handleHistory)
	mux.HandleFunc("GET /api/v1/search", s.handleSearch)
	mux.HandleFunc("POST /api/v1/read", s.handleRead)
	mux.HandleFunc("GET /api/v1/conversations", s.handleConversations)
	mux.HandleFunc("GET /api/v1/rooms", s.handleRooms)
	mux.HandleFunc("POST /api/v1/rooms", s.handleJoin)
	mux.HandleFunc("PATCH /api/v1/rooms/{name}", s.handleRoomSettings)
	mux.HandleFunc("DELETE /api/v1/rooms/{name}", s.handleLeave)
	mux.HandleFunc("GET /api/v1/rooms/{name}/members", s.handleMembers)
	mux.HandleFunc("DELETE /api/v1/rooms/{name}/members/{peer}", s.handleRemoveMember)
	mux.HandleFunc("POST /api/v1/rooms/{name}/members/{peer}/promote", s.handlePromoteMember)
	mux.HandleFunc("POST /api/v1/rooms/{name}/invites", s.handleInvite)
	mux.HandleFunc("POST /api/v1/invites/revoke", s.handleRevokeInvite)
	mux.HandleFunc("POST /api/v1/invites/accept", s.handleAcceptInvite)
	mux.HandleFunc("GET /api/v1/qr", s.handleQR)
	mux.HandleFunc("POST /api/v1/typing", s.handleTyping)
	mux.HandleFunc("POST /api/v1/files", s.handleShare)
	mux.HandleFunc("GET /api/v1/files/{hash}", s.handleFileContent)
	mux.HandleFunc("GET /api/v1/files/{hash}/thumb", s.handleFileThumb)
	mux.HandleFunc("POST /api/v1/messages/{id}/fetch", s.handleFetch)
	mux.HandleFunc("GET /api/v1/events", s.handleEvents)
	mux.HandleFunc("GET /api/v1/notify", s.handleNotifySettings)
	mux.HandleFunc("PUT /api/v1/notify/{conv}", s.handleNotifyLevel)
	mux.HandleFunc("PUT /api/v1/dnd", s.handleDND)
	mux.HandleFunc("POST /api/v1/login-link", s.handleLoginLink)
	mux.HandleFunc("GET /api/v1/webhooks", s.handleWebhooks)
	mux.HandleFunc("POST /api/v1/webhooks", s.handleCreateWebhook)
	mux.HandleFunc("DELETE /api/v1/webhooks/{name}", s.handleDeleteWebhook)
	mux.HandleFunc("GET /api/v1/webhooks/{name}/deliveries", s.handleDeliveries)
	mux.HandleFunc("GET /api/v1/commands", s.handleCommands)
	mux.HandleFunc("POST /api/v1/commands", s.handleCreateCommand)
	mux.HandleFunc("DELETE /api/v1/commands/{name}", s.handleDeleteCommand)
	mux.HandleFunc("GET /api/v1/tokens", s.handleTokens)
	mux.HandleFunc("POST /api/v1/tokens", s.handleCreateToken)
	mux.HandleFunc("DELETE /api/v1/tokens/{name}", s.handleRevokeToken)
	mux.HandleFunc("GET /api/v1/doctor", s.handleDoctor)
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		// Another method on a known path is 405, not 404.
		var allow []string
		for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
			probe := r.Clone(r.Context())
			probe.Method = m
			if _, pattern := mux.Handler(probe); pattern != "" && pattern != "/api/" {
				allow = append(allow, m)
			}
		}
		if len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			writeError(w, http.StatusMethodNotAllowed, CodeBadRequest, fmt.Sprintf("%s %s is not allowed: use %s", r.Method, r.URL.Path, strings.Join(allow, " or ")))
			return
		}
		writeError(w, http.StatusNotFound, CodeNotFound, fmt.Sprintf("no API endpoint %s %s", r.Method, r.URL.Path))
	})
	return mux
}

// checkHost refuses TCP requests whose Host header is not this loopback
// address (DNS rebinding).
func (s *Server) checkHost(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.allowedHost(r.Host) {
			writeError(w, http.StatusForbidden, CodeForbidden, "forbidden host "+strconv.Quote(r.Host)+": use "+s.tcpAddr)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// guard authenticates TCP API requests: the bearer token, or a browser
// session (see sessions.go).
func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		kind, grant, why, ok := s.authenticate(r)
		if !ok {
			status, code := http.StatusUnauthorized, CodeAuth
			if strings.HasPrefix(why, "cross-origin") || strings.HasPrefix(why, "a browser") {
				status, code = http.StatusForbidden, CodeForbidden
			}
			writeError(w, status, code, why)
			return
		}
		r = withAuth(r, kind)
		if grant != nil {
			var done func()
			r, done = withGrant(r, grant)
			defer done()
		}
		next.ServeHTTP(w, r)
	})
}

// allowedHost accepts only loopback names with the port we listen on.
func (s *Server) allowedHost(host string) bool {
	_, port, err := net.SplitHostPort(s.tcpAddr)
	if err != nil {
		return false
	}
	for _, name := range []string{"127.0.0.1", "localhost", "[::1]"} {
		if host == name+":"+port {
			return true
		}
	}
	return false
}
