package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/chat/chattest"
	"github.com/parley-chat/parley/crypto"
)

// waitTimeout bounds every wait for something to happen. Things normally
// happen within milliseconds; the bound only decides how long a broken test
// takes to fail.
const waitTimeout = chattest.Timeout

// testToken is the bearer token of the TCP listener in these tests.
const testToken = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// testVersion is the version the test servers report.
const testVersion = "0.0.0-test"

// cluster is an in-memory network of real messengers (chat.Service over
// chattest's Net) that can also dial each other by address, as the node
// under a daemon does: each gets a memNetwork.
type cluster struct {
	t   testing.TB
	net *chattest.Net

	mu    sync.Mutex
	nodes map[chat.PeerID]*chattest.Node
	links map[[2]chat.PeerID]bool
}

func newCluster(t testing.TB) *cluster {
	return &cluster{t: t, net: chattest.NewNet(t), nodes: map[chat.PeerID]*chattest.Node{}, links: map[[2]chat.PeerID]bool{}}
}

// node starts a messenger with rooms, nickname nick and a memNetwork; it
// stops when the test ends.
func (c *cluster) node(nick string, opts ...chattest.Option) *chattest.Node {
	c.t.Helper()
	id := chattest.NewIdentity(c.t)
	nw := &memNetwork{c: c, self: id.PeerID()}
	all := append([]chattest.Option{
		chattest.WithIdentity(id),
		chattest.WithRooms(),
		chattest.WithNick(nick),
		chattest.WithConfig(func(cfg *chat.Config) { cfg.Network = nw }),
	}, opts...)
	n := chattest.NewNode(c.t, c.net, all...)
	c.mu.Lock()
	c.nodes[n.ID] = n
	c.mu.Unlock()
	return n
}

func linkOf(a, b chat.PeerID) [2]chat.PeerID {
	if b < a {
		a, b = b, a
	}
	return [2]chat.PeerID{a, b}
}

// link connects a and b.
func (c *cluster) link(a, b chat.PeerID) {
	c.mu.Lock()
	c.links[linkOf(a, b)] = true
	c.mu.Unlock()
	c.net.Connect(a, b)
}

// connect links a and b and waits until each has the other as a
// connected peer with its nickname.
func (c *cluster) connect(a, b *chattest.Node) {
	c.t.Helper()
	c.link(a.ID, b.ID)
	for _, pair := range [][2]*chattest.Node{{a, b}, {b, a}} {
		self, other := pair[0], pair[1]
		chattest.WaitFor(c.t, 0, self.Config.Nick+" sees "+other.Config.Nick, func() bool {
			p, ok := self.Svc.Peer(other.ID)
			return ok && p.Connected && p.Nick == other.Config.Nick
		})
	}
}

// memNetwork is the chat.Network of a node in a cluster: its address is
// chattest.Addr(self), and Connect dials another node of the cluster by
// that address, as node.Node does over libp2p.
type memNetwork struct {
	c    *cluster
	self chat.PeerID

	mu        sync.Mutex
	deadlines []bool // per Connect call: whether its context had a deadline
}

var _ chat.Network = (*memNetwork)(nil)

func (nw *memNetwork) Addrs() []string { return []string{chattest.Addr(nw.self)} }

func (nw *memNetwork) Discovery() (bool, string) { return false, "off" }

func (nw *memNetwork) ConnCount(p chat.PeerID) int {
	nw.c.mu.Lock()
	defer nw.c.mu.Unlock()
	if nw.c.links[linkOf(nw.self, p)] {
		return 1
	}
	return 0
}

// LastError says "no link" for a peer without a link to this node.
func (nw *memNetwork) LastError(p chat.PeerID) (string, time.Time) {
	if nw.ConnCount(p) > 0 {
		return "", time.Time{}
	}
	return "no link", time.Unix(1700000000, 0)
}

func (nw *memNetwork) Connect(ctx context.Context, addr string) (chat.PeerID, error) {
	_, hasDeadline := ctx.Deadline()
	nw.mu.Lock()
	nw.deadlines = append(nw.deadlines, hasDeadline)
	nw.mu.Unlock()
	rest, ok := strings.CutPrefix(addr, "/memory/")
	if !ok {
		return "", fmt.Errorf("%w %q: want /memory/<peer ID>", chat.ErrBadAddr, addr)
	}
	p, err := crypto.ParsePeerID(rest)
	if err != nil {
		return "", fmt.Errorf("%w %q: %v", chat.ErrBadAddr, addr, err)
	}
	if p == nw.self {
		return "", fmt.Errorf("%w: %s is this node", chat.ErrBadAddr, addr)
	}
	nw.c.mu.Lock()
	self, other := nw.c.nodes[nw.self], nw.c.nodes[p]
	nw.c.mu.Unlock()
	if other == nil {
		return "", fmt.Errorf("connect to %s: no such node", p)
	}
	nw.c.link(nw.self, p)
	// Return once p is up as a peer, as node.Node.Connect does.
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for {
		if peer, ok := self.Svc.Peer(p); ok && peer.Connected {
			return p, nil
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
}

// connectDeadlines reports, per Connect call so far, whether its context
// had a deadline.
func (nw *memNetwork) connectDeadlines() []bool {
	nw.mu.Lock()
	defer nw.mu.Unlock()
	return append([]bool(nil), nw.deadlines...)
}

// watchedStore is a node's real store that counts what the API makes the
// messenger ask of it, and can be broken (a failing disk).
type watchedStore struct {
	chat.Store

	mu       sync.Mutex
	broken   error
	messages map[chat.Conversation]int // Messages and Lines calls
	enqueued int                       // Enqueue calls
}

// withWatchedStore wraps a node's store in s.
func withWatchedStore(s *watchedStore) chattest.Option {
	return chattest.WithStore(func(st chat.Store) chat.Store {
		s.Store = st
		s.messages = map[chat.Conversation]int{}
		return s
	})
}

// errDisk is the failure of a broken watchedStore.
var errDisk = errors.New("disk on fire")

// breakStore makes Messages, Lines, Enqueue and PutRoom fail with errDisk.
func (s *watchedStore) breakStore() {
	s.mu.Lock()
	s.broken = errDisk
	s.mu.Unlock()
}

func (s *watchedStore) Messages(conv chat.Conversation, before chat.Cursor, limit int) ([]*chat.Message, error) {
	s.mu.Lock()
	s.messages[conv]++
	broken := s.broken
	s.mu.Unlock()
	if broken != nil {
		return nil, broken
	}
	return s.Store.Messages(conv, before, limit)
}

// Lines is what a history page reads (the lines of a conversation).
func (s *watchedStore) Lines(conv chat.Conversation, before chat.Cursor, limit int) ([]*chat.Message, error) {
	s.mu.Lock()
	s.messages[conv]++
	broken := s.broken
	s.mu.Unlock()
	if broken != nil {
		return nil, broken
	}
	return s.Store.Lines(conv, before, limit)
}

func (s *watchedStore) Enqueue(m *chat.Message) error {
	s.mu.Lock()
	s.enqueued++
	broken := s.broken
	s.mu.Unlock()
	if broken != nil {
		return broken
	}
	return s.Store.Enqueue(m)
}

func (s *watchedStore) PutRoom(r chat.Room) error {
	s.mu.Lock()
	broken := s.broken
	s.mu.Unlock()
	if broken != nil {
		return broken
	}
	return s.Store.PutRoom(r)
}

func (s *watchedStore) messagesCalls(conv chat.Conversation) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.messages[conv]
}

func (s *watchedStore) enqueueCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.enqueued
}

// watchedBackend is a real messenger whose event subscriptions the test
// can see: when the server subscribes, and when it cancels.
type watchedBackend struct {
	*chat.Service
	subscribed chan *subscription
}

// subscription is one Subscribe call of the server; cancelled is closed
// when the server cancels it.
type subscription struct {
	cancelled chan struct{}
}

func (w *watchedBackend) Subscribe() (<-chan chat.Event, func()) {
	ch, cancel := w.Service.Subscribe()
	sub := &subscription{cancelled: make(chan struct{})}
	w.subscribed <- sub
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			cancel()
			close(sub.cancelled)
		})
	}
}

// waitSubscription returns the next subscription the server makes.
func (w *watchedBackend) waitSubscription(t *testing.T) *subscription {
	t.Helper()
	select {
	case sub := <-w.subscribed:
		return sub
	case <-time.After(waitTimeout):
		t.Fatalf("timed out after %v waiting for the server to subscribe", waitTimeout)
		return nil
	}
}

// waitClosed fails the test unless ch is closed within waitTimeout.
func waitClosed(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(waitTimeout):
		t.Fatalf("timed out after %v waiting for %s", waitTimeout, what)
	}
}

// testServer is a Server over a node's messenger on a real unix socket
// and a real loopback TCP port.
type testServer struct {
	node    *chattest.Node
	backend *watchedBackend
	srv     *Server
	socket  string
	tcpAddr string // 127.0.0.1:port
	port    string
	client  *Client      // over the unix socket
	http    *http.Client // plain net/http, for the TCP listener
	ran     chan error   // receives Run's result
}

// listeners opens a unix socket in a short directory and a loopback TCP
// listener, both closed when the test ends.
func listeners(t testing.TB) (socket string, unixL, tcpL net.Listener) {
	t.Helper()
	socket = filepath.Join(shortDir(t), "s.sock")
	unixL, err := net.Listen("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = unixL.Close() })
	tcpL, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tcpL.Close() })
	return socket, unixL, tcpL
}

// startServer serves n's messenger until the test ends; then it checks
// that Close makes Run return nil.
func startServer(t testing.TB, n *chattest.Node) *testServer {
	t.Helper()
	socket, unixL, tcpL := listeners(t)
	ts := &testServer{
		node:    n,
		backend: &watchedBackend{Service: n.Svc, subscribed: make(chan *subscription, 64)},
		socket:  socket,
		tcpAddr: tcpL.Addr().String(),
		client:  NewClient(socket),
		ran:     make(chan error, 1),
	}
	ts.srv = New(Config{Backend: ts.backend, Token: testToken, Version: testVersion, Unix: unixL, TCP: tcpL})
	_, ts.port, _ = net.SplitHostPort(ts.tcpAddr)
	tr := &http.Transport{}
	ts.http = &http.Client{Transport: tr}
	go func() { ts.ran <- ts.srv.Run(context.Background()) }()
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		ts.client.http.CloseIdleConnections()
		if err := ts.srv.Close(); err != nil {
			t.Errorf("Close: got %v, want nil", err)
		}
		select {
		case err := <-ts.ran:
			if err != nil {
				t.Errorf("Run: got %v, want nil", err)
			}
		case <-time.After(waitTimeout):
			t.Errorf("Run did not return within %v of Close", waitTimeout)
		}
	})
	return ts
}

// serve starts a lone node (nickname alice) in a fresh cluster and serves it.
func serve(t testing.TB, opts ...chattest.Option) *testServer {
	t.Helper()
	return startServer(t, newCluster(t).node("alice", opts...))
}

// unixDo sends a raw request over the unix socket and returns the status,
// the response headers and the body.
func (ts *testServer) unixDo(t testing.TB, method, path string, body io.Reader, header http.Header) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, "http://parley"+path, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := ts.client.http.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return resp.StatusCode, resp.Header, b
}

// identity is what GET /id should say of n.
func identity(n *chattest.Node) Identity {
	return Identity{
		PeerID:      n.ID.String(),
		Nick:        n.Config.Nick,
		Fingerprint: crypto.Fingerprint(n.Identity.PublicKey()),
		Addrs:       []string{chattest.Addr(n.ID)},
		MDNS:        false,
		DHT:         "off",
		Version:     testVersion,
	}
}

// newPeerID returns a fresh random peer ID: a peer that is never online.
func newPeerID(t *testing.T) chat.PeerID {
	t.Helper()
	return chattest.NewIdentity(t).PeerID()
}

// shortDir returns a directory short enough for unix socket paths (108
// bytes; t.TempDir can be longer).
func shortDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "api")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

// apiError asserts that err is an *Error with the given status and code,
// and returns a copy of it.
func apiError(t *testing.T, err error, wantStatus int, wantCode string) Error {
	t.Helper()
	var ae *Error
	if !errors.As(err, &ae) {
		t.Fatalf("error: got %v (%T), want *api.Error", err, err)
	}
	if ae.Status != wantStatus || ae.Code != wantCode {
		t.Fatalf("error: got status %d code %q (%q), want status %d code %q", ae.Status, ae.Code, ae.Message, wantStatus, wantCode)
	}
	if strings.TrimSpace(ae.Message) == "" {
		t.Errorf("error message: got empty, want text a person can act on")
	}
	return *ae
}
