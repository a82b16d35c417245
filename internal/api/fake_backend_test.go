package api

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/crypto"
	"github.com/parley-chat/parley/internal/wire"
)

// waitTimeout bounds every wait for something to happen. Things normally
// happen within milliseconds; the bound only decides how long a broken test
// takes to fail.
const waitTimeout = 10 * time.Second

// testToken is the bearer token of the TCP listener in these tests.
const testToken = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// historyCall is one call of fakeBackend.History.
type historyCall struct {
	conv   chat.Conversation
	before chat.Cursor
	limit  int
}

// sendCall is one call of fakeBackend.SendDM.
type sendCall struct {
	to   chat.PeerID
	text string
}

// connectCall is one call of fakeBackend.Connect.
type connectCall struct {
	addr        string
	hasDeadline bool
}

// subscription is one fakeBackend.Subscribe call: the test feeds events
// into ch (and closes it to end the stream); cancelled is closed when the
// server calls the cancel function.
type subscription struct {
	ch        chan chat.Event
	cancelled chan struct{}
}

// fakeBackend is a Backend with canned answers that records its calls.
type fakeBackend struct {
	identity Identity
	peers    []chat.Peer
	conns    map[chat.PeerID]int
	resolve  map[string]chat.PeerID // ref -> peer; refs not here are ErrUnknownPeer
	messages map[chat.MessageID]*chat.Message
	history  []*chat.Message

	connectPeer chat.PeerID
	connectErr  error
	resolveErr  error // overrides resolve when set
	sendErr     error
	sendReply   *chat.Message
	historyErr  error

	subscribed chan *subscription // one entry per Subscribe call

	mu           sync.Mutex
	rooms        map[string]bool
	marked       map[chat.Conversation]chat.Cursor
	roomSends    []sendCall
	sends        []sendCall
	histories    []historyCall
	connects     []connectCall
	resolveCalls []string
}

func newFakeBackend() *fakeBackend {
	return &fakeBackend{
		identity: Identity{
			PeerID:      "12D3KooWFake",
			Nick:        "alice",
			Fingerprint: "ABCD-EFGH-IJKL-MNOP",
			Addrs:       []string{"/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWFake"},
			MDNS:        false,
			DHT:         "off",
			Version:     "0.0.0-test",
		},
		conns:      map[chat.PeerID]int{},
		resolve:    map[string]chat.PeerID{},
		messages:   map[chat.MessageID]*chat.Message{},
		subscribed: make(chan *subscription, 16),
	}
}

func (f *fakeBackend) Identity() Identity { return f.identity }

func (f *fakeBackend) Peers() []chat.Peer { return f.peers }

func (f *fakeBackend) ConnCount(p chat.PeerID) int { return f.conns[p] }

func (f *fakeBackend) Connect(ctx context.Context, addr string) (chat.PeerID, error) {
	_, hasDeadline := ctx.Deadline()
	f.mu.Lock()
	f.connects = append(f.connects, connectCall{addr: addr, hasDeadline: hasDeadline})
	f.mu.Unlock()
	if f.connectErr != nil {
		return "", f.connectErr
	}
	return f.connectPeer, nil
}

func (f *fakeBackend) ResolvePeer(ref string) (chat.PeerID, error) {
	f.mu.Lock()
	f.resolveCalls = append(f.resolveCalls, ref)
	f.mu.Unlock()
	if f.resolveErr != nil {
		return "", f.resolveErr
	}
	p, ok := f.resolve[ref]
	if !ok {
		return "", fmt.Errorf("%w %q", chat.ErrUnknownPeer, ref)
	}
	return p, nil
}

func (f *fakeBackend) SendDM(to chat.PeerID, text string) (*chat.Message, error) {
	f.mu.Lock()
	f.sends = append(f.sends, sendCall{to: to, text: text})
	f.mu.Unlock()
	if f.sendErr != nil {
		return nil, f.sendErr
	}
	return f.sendReply, nil
}

func (f *fakeBackend) History(conv chat.Conversation, before chat.Cursor, limit int) ([]*chat.Message, error) {
	f.mu.Lock()
	f.histories = append(f.histories, historyCall{conv: conv, before: before, limit: limit})
	f.mu.Unlock()
	if f.historyErr != nil {
		return nil, f.historyErr
	}
	return f.history, nil
}

func (f *fakeBackend) Message(id chat.MessageID) (*chat.Message, error) {
	m, ok := f.messages[id]
	if !ok {
		return nil, fmt.Errorf("message %s: %w", id, chat.ErrNotFound)
	}
	return m, nil
}

func (f *fakeBackend) Subscribe() (<-chan chat.Event, func()) {
	sub := &subscription{ch: make(chan chat.Event, 16), cancelled: make(chan struct{})}
	f.subscribed <- sub
	var once sync.Once
	return sub.ch, func() { once.Do(func() { close(sub.cancelled) }) }
}

func (f *fakeBackend) sendCalls() []sendCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]sendCall(nil), f.sends...)
}

func (f *fakeBackend) historyCalls() []historyCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]historyCall(nil), f.histories...)
}

func (f *fakeBackend) connectCalls() []connectCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]connectCall(nil), f.connects...)
}

// waitSubscription returns the next subscription the server makes.
func (f *fakeBackend) waitSubscription(t *testing.T) *subscription {
	t.Helper()
	select {
	case sub := <-f.subscribed:
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

// testServer is a Server over a fakeBackend on a real unix socket and a
// real loopback TCP port.
type testServer struct {
	backend *fakeBackend
	srv     *Server
	socket  string
	tcpAddr string // 127.0.0.1:port
	port    string
	client  *Client      // over the unix socket
	http    *http.Client // plain net/http, for the TCP listener
	served  chan error   // receives Serve's result
}

// startServer serves b until the test ends.
func startServer(t *testing.T, b *fakeBackend) *testServer {
	t.Helper()
	// t.TempDir can be too long for a unix socket path (108 bytes).
	dir, err := os.MkdirTemp("", "api")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	socket := filepath.Join(dir, "s.sock")
	unixL, err := net.Listen("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	tcpL, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = unixL.Close()
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	ts := &testServer{
		backend: b,
		srv:     NewServer(b, testToken, log, nil),
		socket:  socket,
		tcpAddr: tcpL.Addr().String(),
		client:  NewClient(socket),
		served:  make(chan error, 1),
	}
	_, ts.port, _ = net.SplitHostPort(ts.tcpAddr)
	tr := &http.Transport{}
	ts.http = &http.Client{Transport: tr}
	go func() { ts.served <- ts.srv.Serve(unixL, tcpL) }()
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		ts.client.http.CloseIdleConnections()
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		if err := ts.srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: got %v, want nil", err)
		}
		select {
		case err := <-ts.served:
			if err != nil {
				t.Errorf("Serve: got %v, want nil", err)
			}
		case <-time.After(waitTimeout):
			t.Errorf("Serve did not return within %v of Shutdown", waitTimeout)
		}
	})
	return ts
}

// unixDo sends a raw request over the unix socket and returns the status,
// the response headers and the body.
func (ts *testServer) unixDo(t *testing.T, method, path string, body io.Reader, header http.Header) (int, http.Header, []byte) {
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

// newPeerID returns a fresh random peer ID.
func newPeerID(t *testing.T) chat.PeerID {
	t.Helper()
	id, err := crypto.NewIdentity(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return id.PeerID()
}

// directMessage builds a direct message from author to to the way a node
// would receive it: an encoded wire.Envelope opened by chat.OpenEnvelope.
func directMessage(t *testing.T, self, author, to chat.PeerID, body string, sentAt time.Time, status chat.Status) *chat.Message {
	t.Helper()
	env := &wire.Envelope{
		Version: 1,
		Author:  []byte(author),
		ToPeer:  []byte(to),
		Hlc:     uint64(chat.HLCFromTime(sentAt)),
		Kind:    wire.Kind_KIND_TEXT,
		Body:    body,
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	m, err := chat.OpenEnvelope(b, nil, self)
	if err != nil {
		t.Fatalf("OpenEnvelope: %v", err)
	}
	m.Status = status
	return m
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
