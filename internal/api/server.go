package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/parley-chat/parley/chat"
)

// MaxRequestBody caps request bodies.
const MaxRequestBody = 1 << 20

// Backend is what the API serves: the daemon's chat service and node.
type Backend interface {
	Identity() Identity
	Peers() []chat.Peer
	ConnCount(p chat.PeerID) int
	Connect(ctx context.Context, addr string) (chat.PeerID, error)
	ResolvePeer(ref string) (chat.PeerID, error)
	SendDM(to chat.PeerID, text string) (*chat.Message, error)
	SendRoom(room, text string) (*chat.Message, error)
	JoinRoom(room string) (bool, error)
	LeaveRoom(room string) (bool, error)
	Rooms() ([]chat.RoomInfo, error)
	RoomMembers(room string) ([]chat.RoomMember, error)
	MarkRead(conv chat.Conversation, upTo chat.Cursor) error
	Typing(room string) error
	Conversations() ([]chat.ConversationInfo, error)
	SetNick(nick string) error
	History(conv chat.Conversation, before chat.Cursor, limit int) ([]*chat.Message, error)
	Message(id chat.MessageID) (*chat.Message, error)
	Subscribe() (<-chan chat.Event, func())
}

// Server serves the API on a unix socket and a loopback TCP listener.
type Server struct {
	backend  Backend
	token    string
	log      *slog.Logger
	unix     *http.Server
	tcp      *http.Server
	tcpAddr  string
	stop     chan struct{}
	stopOnce sync.Once
	sessions *sessions
}

// NewServer returns a server for backend; token guards the TCP listener.
// ui, if not nil, is the web client, served on the TCP listener at "/".
func NewServer(backend Backend, token string, log *slog.Logger, ui http.Handler) *Server {
	s := &Server{backend: backend, token: token, log: log, stop: make(chan struct{}), sessions: newSessions()}
	mux := s.routes()
	s.unix = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	tcp := http.NewServeMux()
	tcp.Handle("/api/", s.guard(mux))
	tcp.HandleFunc("GET /login", s.handleLogin)
	if ui != nil {
		tcp.Handle("/", ui)
	}
	s.tcp = &http.Server{Handler: s.checkHost(tcp), ReadHeaderTimeout: 10 * time.Second}
	return s
}

// Serve serves on the given listeners until Shutdown. Either may be nil.
func (s *Server) Serve(unixL, tcpL net.Listener) error {
	errc := make(chan error, 2)
	n := 0
	if tcpL != nil {
		// Set before any request is served: handlers on both listeners read it.
		s.tcpAddr = tcpL.Addr().String()
	}
	if unixL != nil {
		n++
		go func() { errc <- s.unix.Serve(unixL) }()
	}
	if tcpL != nil {
		n++
		go func() { errc <- s.tcp.Serve(tcpL) }()
	}
	var first error
	for range n {
		if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) && first == nil {
			first = err
		}
	}
	return first
}

// Shutdown ends event streams and stops both servers, waiting up to ctx.
func (s *Server) Shutdown(ctx context.Context) error {
	s.stopOnce.Do(func() { close(s.stop) })
	return errors.Join(s.unix.Shutdown(ctx), s.tcp.Shutdown(ctx))
}

func (s *Server) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/health", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
	})
	mux.HandleFunc("GET /api/v1/id", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, s.backend.Identity())
	})
	mux.HandleFunc("GET /api/v1/peers", s.handlePeers)
	mux.HandleFunc("POST /api/v1/connect", s.handleConnect)
	mux.HandleFunc("POST /api/v1/messages", s.handleSend)
	mux.HandleFunc("GET /api/v1/messages/{id}", s.handleMessage)
	mux.HandleFunc("GET /api/v1/history", s.handleHistory)
	mux.HandleFunc("GET /api/v1/events", s.handleEvents)
	mux.HandleFunc("GET /api/v1/rooms", s.handleRooms)
	mux.HandleFunc("POST /api/v1/rooms", s.handleJoin)
	mux.HandleFunc("DELETE /api/v1/rooms/{name}", s.handleLeave)
	mux.HandleFunc("GET /api/v1/rooms/{name}/members", s.handleMembers)
	mux.HandleFunc("POST /api/v1/read", s.handleRead)
	mux.HandleFunc("POST /api/v1/typing", s.handleTyping)
	mux.HandleFunc("GET /api/v1/conversations", s.handleConversations)
	mux.HandleFunc("POST /api/v1/nick", s.handleNick)
	mux.HandleFunc("POST /api/v1/login-link", s.handleLoginLink)
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		// Another method on a known path is 405, not 404.
		var allow []string
		for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete} {
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
		kind, why, ok := s.authenticate(r)
		if !ok {
			status, code := http.StatusUnauthorized, CodeAuth
			if strings.HasPrefix(why, "cross-origin") || strings.HasPrefix(why, "a browser") {
				status, code = http.StatusForbidden, CodeForbidden
			}
			writeError(w, status, code, why)
			return
		}
		next.ServeHTTP(w, withAuth(r, kind))
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

func (s *Server) handlePeers(w http.ResponseWriter, _ *http.Request) {
	peers := s.backend.Peers()
	out := make([]Peer, 0, len(peers))
	for _, p := range peers {
		v := PeerOf(p)
		v.Connections = s.backend.ConnCount(p.ID)
		out = append(out, v)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleConnect(w http.ResponseWriter, r *http.Request) {
	var req ConnectRequest
	if !readJSON(w, r, &req) {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	p, err := s.backend.Connect(ctx, req.Addr)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, ConnectResponse{PeerID: p.String()})
}

// conversation resolves what a person typed: "#room", a peer ID or @nick.
func (s *Server) conversation(ref string) (conv chat.Conversation, room string, peer chat.PeerID, err error) {
	if strings.HasPrefix(ref, "#") {
		room, err = chat.ParseRoom(ref)
		if err != nil {
			return "", "", "", fmt.Errorf("%w: %w", ErrBadRequest, err)
		}
		return chat.RoomConversation(room), room, "", nil
	}
	peer, err = s.backend.ResolvePeer(ref)
	if err != nil {
		return "", "", "", err
	}
	return chat.DMConversation(peer), "", peer, nil
}

func (s *Server) handleSend(w http.ResponseWriter, r *http.Request) {
	var req SendRequest
	if !readJSON(w, r, &req) {
		return
	}
	_, room, to, err := s.conversation(req.To)
	if err != nil {
		writeErr(w, err)
		return
	}
	var m *chat.Message
	if room != "" {
		m, err = s.backend.SendRoom(room, req.Text)
	} else {
		m, err = s.backend.SendDM(to, req.Text)
	}
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, MessageOf(m))
}

func (s *Server) handleRooms(w http.ResponseWriter, _ *http.Request) {
	rooms, err := s.backend.Rooms()
	if err != nil {
		writeErr(w, err)
		return
	}
	out := make([]Room, len(rooms))
	for i, r := range rooms {
		out[i] = Room{Name: r.Name, Members: r.Members, Online: r.Online, Unread: r.Unread, JoinedAt: r.JoinedAt.UTC()}
	}
	writeJSON(w, http.StatusOK, out)
}

func roomArg(ref string) (string, error) {
	name, err := chat.ParseRoom(ref)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrBadRequest, err)
	}
	return name, nil
}

func (s *Server) handleJoin(w http.ResponseWriter, r *http.Request) {
	var req JoinRequest
	if !readJSON(w, r, &req) {
		return
	}
	name, err := roomArg(req.Name)
	if err != nil {
		writeErr(w, err)
		return
	}
	changed, err := s.backend.JoinRoom(name)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, JoinResponse{Name: name, Changed: changed})
}

func (s *Server) handleLeave(w http.ResponseWriter, r *http.Request) {
	name, err := roomArg(r.PathValue("name"))
	if err != nil {
		writeErr(w, err)
		return
	}
	changed, err := s.backend.LeaveRoom(name)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, JoinResponse{Name: name, Changed: changed})
}

func (s *Server) handleMembers(w http.ResponseWriter, r *http.Request) {
	name, err := roomArg(r.PathValue("name"))
	if err != nil {
		writeErr(w, err)
		return
	}
	members, err := s.backend.RoomMembers(name)
	if err != nil {
		writeErr(w, err)
		return
	}
	out := make([]Member, len(members))
	for i, m := range members {
		out[i] = Member{PeerID: m.Peer.String(), Nick: m.Nick, Online: m.Online}
		if !m.LastSeen.IsZero() {
			t := m.LastSeen.UTC()
			out[i].LastSeen = &t
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleRead(w http.ResponseWriter, r *http.Request) {
	var req ReadRequest
	if !readJSON(w, r, &req) {
		return
	}
	conv, _, _, err := s.conversation(req.With)
	if err != nil {
		writeErr(w, err)
		return
	}
	var upTo chat.Cursor
	if req.ID != "" {
		id, err := chat.ParseMessageID(req.ID)
		if err != nil {
			writeError(w, http.StatusBadRequest, CodeBadRequest, err.Error())
			return
		}
		m, err := s.backend.Message(id)
		if err != nil {
			writeErr(w, err)
			return
		}
		if m.Conversation != conv {
			writeError(w, http.StatusBadRequest, CodeBadRequest, "message "+req.ID+" is not in "+req.With)
			return
		}
		upTo = chat.CursorOf(m)
	}
	if err := s.backend.MarkRead(conv, upTo); err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

func (s *Server) handleTyping(w http.ResponseWriter, r *http.Request) {
	var req TypingRequest
	if !readJSON(w, r, &req) {
		return
	}
	name, err := roomArg(req.With)
	if err != nil {
		writeErr(w, err)
		return
	}
	if err := s.backend.Typing(name); err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

func (s *Server) handleMessage(w http.ResponseWriter, r *http.Request) {
	id, err := chat.ParseMessageID(r.PathValue("id"))
	if err != nil {
		writeError(w, http.StatusBadRequest, CodeBadRequest, err.Error())
		return
	}
	m, err := s.backend.Message(id)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, MessageOf(m))
}

// DefaultHistoryLimit is how many messages history returns unless asked.
const DefaultHistoryLimit = 50

// MaxHistoryLimit caps one history page.
const MaxHistoryLimit = 10000

func (s *Server) handleHistory(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	with := q.Get("with")
	if with == "" {
		writeError(w, http.StatusBadRequest, CodeBadRequest, "missing ?with=<#room, peer ID or @nick>")
		return
	}
	all := q.Get("all") == "true" || q.Get("all") == "1"
	limit := DefaultHistoryLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxHistoryLimit {
			writeError(w, http.StatusBadRequest, CodeBadRequest, fmt.Sprintf("limit %q: want a number from 1 to %d", v, MaxHistoryLimit))
			return
		}
		limit = n
	}
	conv, _, _, err := s.conversation(with)
	if err != nil {
		writeErr(w, err)
		return
	}
	var before chat.Cursor
	if v := q.Get("before"); v != "" {
		id, err := chat.ParseMessageID(v)
		if err != nil {
			writeError(w, http.StatusBadRequest, CodeBadRequest, err.Error())
			return
		}
		m, err := s.backend.Message(id)
		if err != nil {
			writeErr(w, err)
			return
		}
		before = chat.CursorOf(m)
	}
	out := make([]Message, 0, min(limit, 256))
	// Without ?all=true, join and leave lines are left out: pages are
	// fetched until limit text messages are found or history ends.
	for len(out) < limit {
		want := limit - len(out)
		ms, err := s.backend.History(conv, before, want)
		if err != nil {
			writeErr(w, err)
			return
		}
		page := make([]Message, 0, len(ms))
		for _, m := range ms {
			if all || m.Kind == chat.KindText {
				page = append(page, MessageOf(m))
			}
		}
		out = append(page, out...)
		if len(ms) < want {
			break // the beginning of history
		}
		before = chat.CursorOf(ms[0])
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		writeError(w, http.StatusInternalServerError, CodeInternal, "streaming is not supported")
		return
	}
	sse := strings.Contains(r.Header.Get("Accept"), "text/event-stream")
	events, cancel := s.backend.Subscribe()
	defer cancel()
	if sse {
		w.Header().Set("Content-Type", "text/event-stream")
	} else {
		w.Header().Set("Content-Type", "application/x-ndjson")
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	flusher.Flush()
	keepalive := time.NewTicker(15 * time.Second)
	defer keepalive.Stop()
	enc := json.NewEncoder(w)
	for {
		select {
		case e, ok := <-events:
			if !ok {
				return // fell too far behind, or shutting down: the client reconnects
			}
			if sse {
				_, _ = fmt.Fprintf(w, "event: %s\ndata: ", e.Type)
			}
			if err := enc.Encode(EventOf(e)); err != nil {
				return
			}
			if sse {
				_, _ = w.Write([]byte("\n"))
			}
			// Send what is queued in one write.
			if len(events) == 0 {
				flusher.Flush()
			}
		case <-keepalive.C:
			if sse {
				_, _ = w.Write([]byte(": keep-alive\n\n"))
			} else {
				_, _ = w.Write([]byte("\n"))
			}
			flusher.Flush()
		case <-r.Context().Done():
			return
		case <-s.stop:
			return
		}
	}
}

func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	r.Body = http.MaxBytesReader(w, r.Body, MaxRequestBody)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, CodeTooLarge, fmt.Sprintf("request body over %d bytes", MaxRequestBody))
			return false
		}
		writeError(w, http.StatusBadRequest, CodeBadRequest, "bad JSON request body: "+err.Error())
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, ErrorBody{Error: msg, Code: code})
}

// ErrBadRequest marks backend errors caused by the request's arguments.
var ErrBadRequest = errors.New("bad request")

// writeErr maps a backend error to a status and code.
func writeErr(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, chat.ErrTooLarge):
		writeError(w, http.StatusRequestEntityTooLarge, CodeTooLarge, err.Error())
	case errors.Is(err, ErrBadRequest):
		writeError(w, http.StatusBadRequest, CodeBadRequest, strings.TrimPrefix(err.Error(), ErrBadRequest.Error()+": "))
	case errors.Is(err, chat.ErrEmptyMessage), errors.Is(err, chat.ErrSelf), errors.Is(err, chat.ErrBadEnvelope), errors.Is(err, chat.ErrBadNick), errors.Is(err, chat.ErrBadRoom):
		writeError(w, http.StatusBadRequest, CodeBadRequest, err.Error())
	case errors.Is(err, chat.ErrUnknownPeer), errors.Is(err, chat.ErrNotFound), errors.Is(err, chat.ErrNotJoined):
		writeError(w, http.StatusNotFound, CodeNotFound, err.Error())
	case errors.Is(err, chat.ErrAmbiguousPeer):
		writeError(w, http.StatusConflict, CodeConflict, err.Error())
	case errors.Is(err, context.DeadlineExceeded):
		writeError(w, http.StatusGatewayTimeout, CodeTimeout, err.Error())
	case errors.Is(err, chat.ErrClosed):
		writeError(w, http.StatusServiceUnavailable, CodeUnavailable, "the node is shutting down")
	default:
		writeError(w, http.StatusInternalServerError, CodeInternal, err.Error())
	}
}

func (s *Server) handleConversations(w http.ResponseWriter, _ *http.Request) {
	convs, err := s.backend.Conversations()
	if err != nil {
		writeErr(w, err)
		return
	}
	out := make([]Conversation, len(convs))
	for i, c := range convs {
		out[i] = Conversation{Conversation: string(c.Conversation), Online: c.Online, Unread: c.Unread}
		if c.Room != "" {
			out[i].Kind, out[i].Room, out[i].Name = "room", c.Room, "#"+c.Room
		} else {
			out[i].Kind, out[i].PeerID, out[i].Name = "dm", c.Peer.String(), c.Nick
			if c.Nick == "" {
				out[i].Name = c.Peer.Short()
			}
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleNick(w http.ResponseWriter, r *http.Request) {
	var req NickRequest
	if !readJSON(w, r, &req) {
		return
	}
	if err := s.backend.SetNick(req.Nick); err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"nick": req.Nick})
}
