package nodetest

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	lcrypto "github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	mocknet "github.com/libp2p/go-libp2p/p2p/net/mock"
	ma "github.com/multiformats/go-multiaddr"
	"google.golang.org/protobuf/proto"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/crypto"
	"github.com/parley-chat/parley/node"
	"github.com/parley-chat/parley/store"
)

// Cluster is a set of Parley members over one mocknet.
type Cluster struct {
	t       testing.TB
	MN      mocknet.Mocknet
	Members []*Member
}

// Member is one node of a Cluster: a mocknet host with a real node, store
// and chat service.
type Member struct {
	t        testing.TB
	Index    int
	Identity *crypto.Identity
	Host     host.Host
	Dir      string
	Node     *node.Node
	Store    *store.Store
	Chat     *chat.Service

	stop func()
	mu   sync.Mutex
	opts Options
}

// Options tune a cluster.
type Options struct {
	// Chat is applied to every member's chat config (Identity, Transport,
	// Store and Nick are filled in).
	Chat chat.Config
	// Node is applied to every member's node config.
	Node node.Config
	// PerMember, if set, adjusts member i's configs last (a skewed clock,
	// a wrapped store, ...), before its node is built.
	PerMember func(i int, c *chat.Config, n *node.Config)
	// Wrap, if set, adjusts member i's chat config once its Transport,
	// Network and PubSub are the member's node (to watch or change what
	// the service does with them).
	Wrap func(i int, c *chat.Config)
	// InMemory keeps every member's store in memory (large clusters).
	InMemory bool
}

// NewCluster starts n members with nicks "n0".."n{n-1}" and links them all;
// nothing is connected yet.
func NewCluster(t testing.TB, n int, opts Options) *Cluster {
	t.Helper()
	mn := mocknet.New()
	c := &Cluster{t: t, MN: mn}
	base := t.TempDir() // before the Cleanup below, so it is removed after it
	t.Cleanup(func() {
		for _, m := range c.Members {
			m.Stop()
		}
		_ = mn.Close()
	})
	for i := range n {
		id, err := crypto.NewIdentity(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		key, err := lcrypto.UnmarshalEd25519PrivateKey(id.PrivateKey())
		if err != nil {
			t.Fatal(err)
		}
		addr := ma.StringCast(fmt.Sprintf("/ip4/100.64.%d.%d/tcp/4001", i/250, i%250+1))
		h, err := mn.AddPeer(key, addr)
		if err != nil {
			t.Fatal(err)
		}
		m := &Member{t: t, Index: i, Identity: id, Host: h, Dir: filepath.Join(base, fmt.Sprintf("n%d", i))}
		c.Members = append(c.Members, m)
		m.Start(opts)
	}
	if err := mn.LinkAll(); err != nil {
		t.Fatal(err)
	}
	return c
}

// Logger returns a logger for tests: quiet unless PARLEY_TEST_LOG is set.
func Logger(name string) *slog.Logger {
	if os.Getenv("PARLEY_TEST_LOG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("node", name)
}

// Options returns the options the member was last started with.
func (m *Member) Options() Options { return m.opts }

// Start (re)opens the member's store, node and chat service, runs them as
// the daemon does, and returns once the service has started.
func (m *Member) Start(opts Options) {
	m.t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.opts = opts
	log := Logger(fmt.Sprintf("n%d", m.Index))
	st, err := store.Open(m.Dir, store.Options{Logger: log, InMemory: opts.InMemory})
	if err != nil {
		m.t.Fatal(err)
	}
	ncfg := opts.Node
	ncfg.Identity = m.Identity
	ncfg.Logger = log
	if ncfg.PingInterval == 0 {
		ncfg.PingInterval = 500 * time.Millisecond
		ncfg.PingTimeout = 500 * time.Millisecond
	}
	if ncfg.RedialFast == 0 {
		ncfg.RedialFast = 100 * time.Millisecond
	}
	ccfg := opts.Chat
	ccfg.Identity = m.Identity
	ccfg.Store = st
	ccfg.Logger = log
	if ccfg.Nick == "" {
		ccfg.Nick = fmt.Sprintf("n%d", m.Index)
	}
	if ccfg.RetryMax == 0 {
		ccfg.RetryMin = 20 * time.Millisecond
		ccfg.RetryMax = 200 * time.Millisecond
	}
	if opts.PerMember != nil {
		opts.PerMember(m.Index, &ccfg, &ncfg)
	}
	nd, err := node.NewWithHost(m.Host, ncfg)
	if err != nil {
		m.t.Fatal(err)
	}
	ccfg.Transport, ccfg.Network, ccfg.PubSub = nd, nd, nd
	if opts.Wrap != nil {
		opts.Wrap(m.Index, &ccfg)
	}
	svc, err := chat.New(ccfg)
	if err != nil {
		m.t.Fatal(err)
	}
	stop := RunParts(m.t, fmt.Sprintf("n%d", m.Index), map[string]func(context.Context) error{"store": st.Run, "node": nd.Run, "chat": svc.Run})
	m.Node, m.Store, m.Chat, m.stop = nd, st, svc, stop
	WaitStarted(m.t, svc)
}

// Stop closes the member's chat service, node and store (the mocknet host
// stays, as a machine's network stays when a program restarts).
func (m *Member) Stop() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Chat == nil {
		return
	}
	m.stop()
	_ = m.Chat.Close()
	_ = m.Node.Close()
	_ = m.Store.Close()
	m.Chat, m.Node, m.Store = nil, nil, nil
}

// ID returns the member's peer ID.
func (m *Member) ID() chat.PeerID { return m.Identity.PeerID() }

// Connect connects members i and j.
func (c *Cluster) Connect(i, j int) {
	c.t.Helper()
	a, b := c.Members[i], c.Members[j]
	if _, err := c.MN.LinkPeers(a.Host.ID(), b.Host.ID()); err != nil && len(c.MN.LinksBetweenPeers(a.Host.ID(), b.Host.ID())) == 0 {
		c.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.Host.Connect(ctx, peer.AddrInfo{ID: b.Host.ID(), Addrs: b.Host.Addrs()}); err != nil {
		c.t.Fatalf("connect n%d to n%d: %v", i, j, err)
	}
}

// Cut removes the link between members i and j and closes their
// connections: a pulled cable.
func (c *Cluster) Cut(i, j int) {
	c.t.Helper()
	a, b := c.Members[i].Host.ID(), c.Members[j].Host.ID()
	if err := c.MN.UnlinkPeers(a, b); err != nil {
		c.t.Fatal(err)
	}
	_ = c.MN.DisconnectPeers(a, b)
}

// Heal links members i and j again; their nodes' redial reconnects them.
func (c *Cluster) Heal(i, j int) {
	c.t.Helper()
	if _, err := c.MN.LinkPeers(c.Members[i].Host.ID(), c.Members[j].Host.ID()); err != nil {
		c.t.Fatal(err)
	}
}

// WaitFor polls cond until it holds or the deadline passes.
func WaitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// RunParts runs the Run method of each of a program's parts (store, node,
// chat service) in a goroutine of its own, as the daemon does, until stop
// is called; stop cancels them and waits until every Run has returned. A
// Run that fails fails the test. The caller closes the parts after stop.
func RunParts(t testing.TB, name string, parts map[string]func(context.Context) error) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for part, run := range parts {
		wg.Go(func() {
			if err := run(ctx); err != nil {
				t.Errorf("%s: %s.Run: %v", name, part, err)
			}
		})
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			cancel()
			wg.Wait()
		})
	}
}

// WaitStarted waits until svc has started: it serves its protocols and has
// opened the rooms it had joined.
func WaitStarted(t testing.TB, svc *chat.Service) {
	t.Helper()
	select {
	case <-svc.Started():
	case <-time.After(10 * time.Second):
		t.Fatal("the chat service did not start within 10s")
	}
}

// SignProof returns the proof GossipSub attaches to data when author
// publishes it on topic with seqno: author's libp2p key's signature over
// "libp2p-pubsub:" and the pubsub message {from: author, data, seqno (8
// bytes, big endian), topic}. It is for writing room history with valid
// proofs straight into stores. It panics only if the identity's key is
// malformed, which crypto.Identity never is.
func SignProof(author *crypto.Identity, topic string, data []byte, seqno uint64) chat.Proof {
	key, err := lcrypto.UnmarshalEd25519PrivateKey(author.PrivateKey())
	if err != nil {
		panic(fmt.Sprintf("nodetest: identity key: %v", err))
	}
	seq := binary.BigEndian.AppendUint64(nil, seqno)
	signed, err := proto.Marshal(&pb.Message{From: []byte(author.PeerID()), Data: data, Seqno: seq, Topic: &topic})
	if err != nil {
		panic(fmt.Sprintf("nodetest: encode the pubsub message: %v", err))
	}
	sig, err := key.Sign(append([]byte(pubsub.SignPrefix), signed...))
	if err != nil {
		panic(fmt.Sprintf("nodetest: sign: %v", err))
	}
	return chat.Proof{Seqno: seq, Signature: sig}
}
