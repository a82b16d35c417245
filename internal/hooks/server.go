package hooks

import (
	"context"
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/internal/lifecycle"
)

// Poster posts an app message; *chat.Service implements it.
type Poster interface {
	PostApp(ctx context.Context, conv chat.Conversation, post chat.AppPost) (*chat.Message, error)
}

var _ Poster = (*chat.Service)(nil)

// Defaults of ServerConfig.
const (
	DefaultRate    = 10      // messages per second one hook posts, sustained
	DefaultBurst   = 100     // and at once
	DefaultQueue   = 100     // POSTs of one hook waiting for their turn, beyond which it answers 429
	DefaultMaxBody = 1 << 20 // bytes of one POST
)

// ServerConfig configures a Server. Registry, Poster and Listener are
// required.
type ServerConfig struct {
	Registry *Registry
	Poster   Poster
	// Listener is the bound hooks listener (hooks_listen).
	Listener net.Listener
	// TLSCert and TLSKey, both set, serve HTTPS with that certificate.
	TLSCert, TLSKey string
	// Rate and Burst are each hook's token bucket (messages per second, and
	// at once); Queue how many POSTs of one hook wait for a token before it
	// answers 429; MaxBody the largest body. Defaults above if 0.
	Rate    float64
	Burst   int
	Queue   int
	MaxBody int64
	// Commands, if set, serves the slash commands' response URLs:
	// POST /commands/response/<token> (SlashCommands.ServeHTTP).
	Commands http.Handler
	Logger   *slog.Logger
}

// Server serves the hook URLs on their own listener, apart from the
// local API: POST /hooks/<token>. A POST is decoded and rendered at once
// (a bad one is answered and posts nothing), then waits in its hook's
// queue for a token of the hook's bucket and is answered "ok" once the
// message is stored, so an answered POST is never lost; a POST that finds
// the queue full is answered 429 with Retry-After and posts nothing.
type Server struct {
	cfg  ServerConfig
	log  *slog.Logger
	srv  *http.Server
	base string // scheme://host:port of hook URLs
	life *lifecycle.Lifetime

	mu     sync.Mutex
	queues map[string]*hookQueue // by hook token
}

// job is one accepted POST waiting for its turn.
type job struct {
	ctx  context.Context // the request's: a caller that gave up is skipped
	hook Hook
	msg  Message
	done chan error
}

// hookQueue orders one hook's POSTs and spaces them by its bucket.
type hookQueue struct {
	jobs    chan job
	limiter *rate.Limiter
	// pending counts the POSTs accepted and not yet answered (waiting in
	// jobs, or for a token): at most Queue.
	pending atomic.Int64
}

// NewServer builds the hooks server; Run serves it.
func NewServer(cfg ServerConfig) (*Server, error) {
	if cfg.Registry == nil || cfg.Poster == nil || cfg.Listener == nil {
		return nil, errors.New("hooks: Registry, Poster and Listener are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Rate <= 0 {
		cfg.Rate = DefaultRate
	}
	if cfg.Burst <= 0 {
		cfg.Burst = DefaultBurst
	}
	if cfg.Queue <= 0 {
		cfg.Queue = DefaultQueue
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if (cfg.TLSCert == "") != (cfg.TLSKey == "") {
		return nil, errors.New("hooks TLS: give both hooks_tls_cert and hooks_tls_key, or neither")
	}
	s := &Server{cfg: cfg, log: cfg.Logger, life: lifecycle.New(), queues: map[string]*hookQueue{}}
	scheme := "http"
	if cfg.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("hooks TLS: %w", err)
		}
		cfg.Listener = tls.NewListener(cfg.Listener, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
		s.cfg.Listener = cfg.Listener
		scheme = "https"
	}
	s.base = scheme + "://" + advertise(cfg.Listener.Addr())
	mux := http.NewServeMux()
	mux.HandleFunc("POST /hooks/{token}", s.handle)
	if cfg.Commands != nil {
		mux.Handle("POST "+CommandResponsePath+"{token}", cfg.Commands)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		answer(w, http.StatusNotFound, "no_service")
	})
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute, IdleTimeout: 2 * time.Minute}
	return s, nil
}

// advertise is the host:port a hook URL names: the bound address, or for
// a wildcard bind this machine's first LAN address (the hostname when
// there is none).
func advertise(addr net.Addr) string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok || !tcp.IP.IsUnspecified() {
		return addr.String()
	}
	port := strconv.Itoa(tcp.Port)
	if ifaces, err := net.InterfaceAddrs(); err == nil {
		for _, a := range ifaces {
			if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil && !ipn.IP.IsLoopback() && !ipn.IP.IsLinkLocalUnicast() {
				return net.JoinHostPort(ipn.IP.String(), port)
			}
		}
	}
	if host, err := os.Hostname(); err == nil && host != "" {
		return net.JoinHostPort(host, port)
	}
	return net.JoinHostPort("localhost", port)
}

// Addr is the address the listener is bound to.
func (s *Server) Addr() net.Addr { return s.cfg.Listener.Addr() }

// Base is scheme://host:port of the hook URLs.
func (s *Server) Base() string { return s.base }

// URL is the full URL to POST to for an incoming hook.
func (s *Server) URL(h Hook) string { return s.base + "/hooks/" + h.Token }

// CommandResponsePath is where the response URLs of slash commands are
// served on the hooks listener, followed by the URL's token.
const CommandResponsePath = "/commands/response/"

// ResponseURL is the full URL of a slash command's response token.
func (s *Server) ResponseURL(token string) string { return s.base + CommandResponsePath + token }

// Run serves until ctx is cancelled or Close is called.
func (s *Server) Run(ctx context.Context) error {
	errc := make(chan error, 1)
	err := s.life.Run(ctx, func() error {
		s.life.Go(func() {
			if err := s.srv.Serve(s.cfg.Listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- err
				s.life.Cancel()
			}
		})
		return nil
	}, s.stop)
	if err != nil {
		return err
	}
	select {
	case err := <-errc:
		return fmt.Errorf("hooks listener: %w", err)
	default:
		return nil
	}
}

func (s *Server) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = s.srv.Shutdown(ctx)
	_ = s.cfg.Listener.Close()
}

// Close stops the server and waits for it. It is idempotent.
func (s *Server) Close() error {
	s.life.Close(s.stop)
	return nil
}

// answer writes Slack's plain-text answer.
func answer(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

func (s *Server) handle(w http.ResponseWriter, r *http.Request) {
	hook, ok := s.cfg.Registry.ByToken(r.PathValue("token"))
	if !ok {
		answer(w, http.StatusNotFound, "no_service")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			answer(w, http.StatusRequestEntityTooLarge, "request_too_large")
			return
		}
		answer(w, http.StatusBadRequest, "invalid_payload")
		return
	}
	var p Payload
	if hook.Kind == KindSlack {
		p, err = Decode(r.Header.Get("Content-Type"), body)
	} else {
		recv := ReceiverFor(hook.Kind)
		if recv == nil {
			answer(w, http.StatusNotFound, "no_service")
			s.log.Warn("webhook of a kind this build does not receive", "hook", hook.Name, "kind", hook.Kind)
			return
		}
		if err := recv.Verify(r.Header, body, hook.Secret); err != nil {
			answer(w, http.StatusUnauthorized, "invalid_signature")
			s.log.Info("webhook POST with a bad signature", "hook", hook.Name, "remote", r.RemoteAddr)
			return
		}
		p, err = recv.Payload(r.Header, body)
	}
	if err != nil {
		answer(w, http.StatusBadRequest, "invalid_payload")
		return
	}
	msg, err := Render(p, chat.MaxRichLen)
	if err != nil {
		answer(w, http.StatusBadRequest, "no_text")
		return
	}
	done := make(chan error, 1)
	q := s.queue(hook)
	if n := q.pending.Add(1); n > int64(s.cfg.Queue) {
		q.pending.Add(-1)
		wait := math.Ceil(float64(n) / s.cfg.Rate)
		w.Header().Set("Retry-After", strconv.Itoa(int(min(max(1, wait), 3600))))
		answer(w, http.StatusTooManyRequests, "rate_limited")
		return
	}
	q.jobs <- job{ctx: r.Context(), hook: hook, msg: msg, done: done} // never blocks: pending bounds it
	select {
	case err = <-done:
	case <-r.Context().Done():
		return // the caller gave up; its job is skipped
	}
	switch {
	case err == nil:
		answer(w, http.StatusOK, "ok")
	case errors.Is(err, chat.ErrNotJoined), errors.Is(err, chat.ErrNotMember):
		answer(w, http.StatusNotFound, "channel_not_found")
	case errors.Is(err, chat.ErrClosed), errors.Is(err, context.Canceled):
		answer(w, http.StatusServiceUnavailable, "service_unavailable")
	default:
		s.log.Warn("webhook message not posted", "hook", hook.Name, "err", err)
		answer(w, http.StatusInternalServerError, "internal_error")
	}
}

// queue returns the hook's queue, starting its poster on first use.
func (s *Server) queue(h Hook) *hookQueue {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, ok := s.queues[h.Token]
	if ok {
		return q
	}
	q = &hookQueue{jobs: make(chan job, s.cfg.Queue), limiter: rate.NewLimiter(rate.Limit(s.cfg.Rate), s.cfg.Burst)}
	s.queues[h.Token] = q
	s.life.Go(func() { s.post(q) })
	return q
}

// post posts a hook's jobs in order, each once its bucket has a token,
// until the server stops (jobs left then are answered with ErrClosed).
func (s *Server) post(q *hookQueue) {
	ctx := s.life.Context()
	for {
		select {
		case <-ctx.Done():
			for {
				select {
				case j := <-q.jobs:
					q.finish(j, chat.ErrClosed)
				default:
					return
				}
			}
		case j := <-q.jobs:
			q.finish(j, s.postJob(ctx, q, j))
		}
	}
}

// postJob waits for a token and posts j, unless its caller gave up.
func (s *Server) postJob(ctx context.Context, q *hookQueue, j job) error {
	if err := j.ctx.Err(); err != nil {
		return err
	}
	if err := q.limiter.Wait(ctx); err != nil {
		return chat.ErrClosed
	}
	if err := j.ctx.Err(); err != nil {
		return err
	}
	_, err := s.cfg.Poster.PostApp(ctx, chat.Conversation(j.hook.Conversation), chat.AppPost{App: j.hook.Name, Icon: j.msg.Icon, Text: j.msg.Text, Rich: j.msg.Rich})
	return err
}

// finish answers j and frees its place.
func (q *hookQueue) finish(j job, err error) {
	j.done <- err
	q.pending.Add(-1)
}

// subtleEqual compares secrets in constant time.
func subtleEqual(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
