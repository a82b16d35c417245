package chattest

import (
	"crypto/rand"
	"path/filepath"
	"testing"
	"time"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/crypto"
	"github.com/parley-chat/parley/store"
)

// FastConfig returns timeouts small enough for tests to retry and give up
// quickly, yet far above what an in-memory round trip takes.
func FastConfig() chat.Config {
	return chat.Config{
		StreamIdleTimeout: 500 * time.Millisecond,
		FirstFrameTimeout: 2 * time.Second,
		AckTimeout:        time.Second,
		RetryMin:          5 * time.Millisecond,
		RetryMax:          50 * time.Millisecond,
	}
}

// Node is a running chat.Service on a Net, with a real store (in memory,
// or in a directory so that it survives Restart) and an EventLog.
type Node struct {
	T        testing.TB
	Net      *Net
	Identity *crypto.Identity
	ID       chat.PeerID
	Tr       *Transport
	PS       *PubSub // nil unless WithRooms
	Dir      string  // store directory; "" for an in-memory store
	Config   chat.Config
	Store    *store.Store
	Svc      *chat.Service
	Events   *EventLog

	wrap      func(chat.Store) chat.Store
	files     bool
	wrapFiles func(chat.FileStore) chat.FileStore
	stopped   chan struct{} // closed when Run returned
}

// Option changes a Node before it starts.
type Option func(*Node)

// WithNick sets the node's nickname.
func WithNick(nick string) Option { return func(n *Node) { n.Config.Nick = nick } }

// WithConfig changes the node's chat.Config.
func WithConfig(f func(*chat.Config)) Option { return func(n *Node) { f(&n.Config) } }

// WithRooms gives the node a PubSub on the Net, so it can join rooms.
func WithRooms() Option { return func(n *Node) { n.PS = n.Tr.PubSub(n.Identity) } }

// WithStore wraps the node's store (to watch or break what chat asks of it).
func WithStore(wrap func(chat.Store) chat.Store) Option { return func(n *Node) { n.wrap = wrap } }

// WithFiles gives the node file sharing over its store (on disk: chunks
// are files), saving into <dir>/downloads; wrap, if not nil, stands
// between the service and the store's file methods.
func WithFiles(wrap func(chat.FileStore) chat.FileStore) Option {
	return func(n *Node) {
		n.Dir = n.T.TempDir()
		n.files = true
		n.wrapFiles = wrap
	}
}

// OnDisk keeps the node's store in a directory, so it survives a restart.
func OnDisk() Option { return func(n *Node) { n.Dir = n.T.TempDir() } }

// WithIdentity gives the node a chosen identity.
func WithIdentity(id *crypto.Identity) Option {
	return func(n *Node) { n.Identity, n.ID = id, id.PeerID() }
}

// NewIdentity returns a fresh identity.
func NewIdentity(t testing.TB) *crypto.Identity {
	t.Helper()
	id, err := crypto.NewIdentity(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// NewNode adds a node to net and starts its service; everything is
// stopped when the test ends.
func NewNode(t testing.TB, net *Net, opts ...Option) *Node {
	t.Helper()
	id := NewIdentity(t)
	n := &Node{T: t, Net: net, Identity: id, ID: id.PeerID(), Config: FastConfig()}
	n.Tr = net.AddNode(n.ID)
	for _, o := range opts {
		o(n)
	}
	if n.Tr.self != n.ID { // WithIdentity
		n.Tr = net.AddNode(n.ID)
		if n.PS != nil {
			n.PS = n.Tr.PubSub(n.Identity)
		}
	}
	n.Start()
	t.Cleanup(n.Stop)
	return n
}

// Start opens the store and runs a fresh service over it.
func (n *Node) Start() {
	n.T.Helper()
	st, err := store.Open(n.Dir, store.Options{InMemory: n.Dir == ""})
	if err != nil {
		n.T.Fatalf("open store: %v", err)
	}
	cfg := n.Config
	cfg.Identity = n.Identity
	cfg.Transport = n.Tr
	cfg.Store = st
	if n.wrap != nil {
		cfg.Store = n.wrap(st)
	}
	if n.PS != nil {
		cfg.PubSub = n.PS
	}
	if n.files {
		cfg.Files = st
		if n.wrapFiles != nil {
			cfg.Files = n.wrapFiles(st)
		}
		cfg.DownloadDir = filepath.Join(n.Dir, "downloads")
	}
	svc, err := chat.New(cfg)
	if err != nil {
		_ = st.Close()
		n.T.Fatalf("new service: %v", err)
	}
	n.Store, n.Svc = st, svc
	n.Events = NewEventLog(svc) // before Run, so no event is missed
	n.stopped = make(chan struct{})
	go func() {
		defer close(n.stopped)
		if err := svc.Run(n.T.Context()); err != nil {
			n.T.Errorf("run: %v", err)
		}
	}()
	protocols := []string{chat.DMProtocol, chat.ProfileProtocol}
	if n.PS != nil {
		protocols = append(protocols, chat.SyncProtocol)
	}
	if n.files {
		protocols = append(protocols, chat.FileProtocol)
	}
	n.Tr.WaitServing(n.T, protocols...)
}

// Stop closes the service and its store; it may be called more than once.
func (n *Node) Stop() {
	if n.Svc == nil {
		return
	}
	n.T.Helper()
	closed := make(chan error, 1)
	go func() { closed <- n.Svc.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			n.T.Errorf("close service: %v", err)
		}
	case <-time.After(Timeout):
		n.T.Fatalf("service Close did not return within %v", Timeout)
	}
	<-n.stopped
	n.Events.Wait()
	if err := n.Store.Close(); err != nil {
		n.T.Errorf("close store: %v", err)
	}
	n.Svc, n.Store = nil, nil
}

// Restart stops the node and starts it again over the same store
// directory, identity and transport.
func (n *Node) Restart() {
	n.T.Helper()
	if n.Dir == "" {
		n.T.Fatal("restart of a node with an in-memory store")
	}
	n.Stop()
	n.Start()
}

// History returns the node's whole conversation (up to 10,000 messages,
// join and leave lines included).
func (n *Node) History(conv chat.Conversation) []*chat.Message {
	n.T.Helper()
	ms, err := n.Svc.History(conv, chat.HistoryQuery{Limit: chat.MaxHistoryLimit, All: true})
	if err != nil {
		n.T.Fatalf("history: %v", err)
	}
	return ms
}
