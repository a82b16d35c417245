package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p"
	dht "github.com/libp2p/go-libp2p-kad-dht"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	lcrypto "github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/core/routing"
	"github.com/libp2p/go-libp2p/p2p/host/eventbus"
	"github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	"github.com/libp2p/go-libp2p/p2p/net/connmgr"
	"github.com/libp2p/go-libp2p/p2p/protocol/ping"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	tls "github.com/libp2p/go-libp2p/p2p/security/tls"
	quic "github.com/libp2p/go-libp2p/p2p/transport/quic"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/crypto"
	"github.com/parley-chat/parley/internal/lifecycle"
)

// MDNSServiceTag is the mDNS service name Parley nodes advertise.
const MDNSServiceTag = "parley"

// DHTPrefix is the protocol prefix of Parley's DHT (/parley/kad/1.0.0).
const DHTPrefix = "/parley"

// Config configures a Node.
type Config struct {
	Identity  *crypto.Identity
	Listen    []string // multiaddrs to listen on
	Bootstrap []string // DHT bootstrap peers, /p2p multiaddrs; none by default
	MDNS      bool     // discover peers on the LAN
	DHT       bool     // run the Kademlia DHT
	Agent     string   // identify agent version, e.g. "parley/0.1.0"
	Logger    *slog.Logger

	PingInterval  time.Duration // liveness ping period; 2s if 0
	PingTimeout   time.Duration // one ping's deadline; 2s if 0
	PingMisses    int           // misses in a row that close a peer; 3 if 0
	RedialFast    time.Duration // redial period right after a peer is lost; 1s if 0
	RedialFastFor time.Duration // how long to redial fast; 5m if 0
	RedialSlow    time.Duration // redial period after that; 30s if 0
	DialTimeout   time.Duration // one dial attempt; 2s if 0
	TieBreakDelay time.Duration // how long the larger ID waits before dialling an mDNS peer; 300ms if 0

	SeenMessagesTTL time.Duration // pubsub's duplicate cache; its default (2m) if 0 (entries are swept once a minute)
}

func (c *Config) setDefaults() {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	def := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.PingInterval, 2*time.Second)
	def(&c.PingTimeout, 2*time.Second)
	def(&c.RedialFast, time.Second)
	def(&c.RedialFastFor, 5*time.Minute)
	def(&c.RedialSlow, 30*time.Second)
	def(&c.DialTimeout, 2*time.Second)
	def(&c.TieBreakDelay, 300*time.Millisecond)
	if c.PingMisses == 0 {
		c.PingMisses = 3
	}
}

// Node is a libp2p host with Parley's discovery, liveness and transport.
type Node struct {
	cfg  Config
	h    host.Host
	log  *slog.Logger
	dht  *dht.IpfsDHT
	self peer.ID

	life      *lifecycle.Lifetime
	bootstrap []peer.AddrInfo
	notifiee  network.Notifiee

	closeOnce sync.Once
	closeErr  error
	ownsHost  bool

	ps        *pubsub.PubSub
	scoreMu   sync.Mutex
	penalties map[peer.ID]float64 // application penalty, decaying
	scores    map[peer.ID]float64 // latest GossipSub scores

	mu    sync.Mutex
	known map[peer.ID]*knownPeer
	subs  map[*peerSub]struct{}
	mdns  *mdnsRunner
}

type knownPeer struct {
	addrs     []ma.Multiaddr
	up        bool          // identified as a Parley peer and connected
	pinger    func()        // cancels the liveness pinger while up
	redialing bool          // a redial loop is running
	wake      chan struct{} // cuts a redial wait short
	lastErr   string        // why it was last unreachable (one line); "" while up
	lastErrAt time.Time
}

var (
	_ chat.Transport = (*Node)(nil)
	_ chat.Network   = (*Node)(nil)
)

// New builds a libp2p host (listening), its DHT and GossipSub from cfg.
// Run starts the node's own work: discovery, liveness, redial.
func New(cfg Config) (*Node, error) {
	cfg.setDefaults()
	if cfg.Identity == nil {
		return nil, errors.New("node: Identity is required")
	}
	key, err := lcrypto.UnmarshalEd25519PrivateKey(cfg.Identity.PrivateKey())
	if err != nil {
		return nil, fmt.Errorf("node: identity key: %w", err)
	}
	bootstrap, err := parseAddrInfos(cfg.Bootstrap)
	if err != nil {
		return nil, err
	}
	if len(cfg.Listen) == 0 {
		return nil, errors.New("node: no listen addresses")
	}
	for _, a := range cfg.Listen {
		if _, err := ma.NewMultiaddr(a); err != nil {
			return nil, fmt.Errorf("%w %q: %v", ErrBadAddr, a, err)
		}
	}
	rm, err := newResourceManager()
	if err != nil {
		return nil, err
	}
	cm, err := connmgr.NewConnManager(64, 256, connmgr.WithGracePeriod(time.Minute))
	if err != nil {
		return nil, err
	}
	var kad *dht.IpfsDHT
	opts := []libp2p.Option{
		libp2p.Identity(key),
		libp2p.ListenAddrStrings(cfg.Listen...),
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.Transport(quic.NewTransport),
		libp2p.Security(noise.ID, noise.New),
		libp2p.Security(tls.ID, tls.New),
		libp2p.Muxer(yamux.ID, yamux.DefaultTransport),
		libp2p.ResourceManager(rm),
		libp2p.ConnectionManager(cm),
		libp2p.Ping(false),
		libp2p.DisableRelay(),
		libp2p.DisableMetrics(),
		libp2p.UserAgent(cfg.Agent),
	}
	if cfg.DHT {
		opts = append(opts, libp2p.Routing(func(h host.Host) (routing.PeerRouting, error) {
			kad, err = dht.New(h,
				dht.ProtocolPrefix(DHTPrefix),
				dht.Mode(dht.ModeAutoServer),
				dht.BootstrapPeers(bootstrap...),
			)
			return kad, err
		}))
	}
	h, err := libp2p.New(opts...)
	if err != nil {
		_ = rm.Close()
		return nil, fmt.Errorf("start libp2p host: %w", err)
	}
	n, err := newNode(h, cfg, bootstrap)
	if err != nil {
		_ = h.Close()
		return nil, err
	}
	n.ownsHost = true
	n.dht = kad
	return n, nil
}

// NewWithHost builds a node over an existing host (for example a mocknet
// host in tests). The node does not close the host.
func NewWithHost(h host.Host, cfg Config) (*Node, error) {
	cfg.setDefaults()
	return newNode(h, cfg, nil)
}

func newNode(h host.Host, cfg Config, bootstrap []peer.AddrInfo) (*Node, error) {
	n := &Node{
		cfg:       cfg,
		h:         h,
		log:       cfg.Logger,
		self:      h.ID(),
		life:      lifecycle.New(),
		bootstrap: bootstrap,
		known:     make(map[peer.ID]*knownPeer),
		subs:      make(map[*peerSub]struct{}),
		penalties: make(map[peer.ID]float64),
	}
	ping.NewPingService(h)
	if err := n.buildPubSub(); err != nil {
		n.life.Close(nil)
		return nil, err
	}
	return n, nil
}

// Run runs discovery (mDNS, the DHT), liveness pings, redials and
// connection de-duplication until ctx is cancelled or Close is called.
func (n *Node) Run(ctx context.Context) error { return n.life.Run(ctx, n.start, n.stop) }

func (n *Node) start() error {
	sub, err := n.h.EventBus().Subscribe([]any{
		new(event.EvtPeerIdentificationCompleted),
		new(event.EvtPeerProtocolsUpdated),
		new(event.EvtPeerConnectednessChanged),
		new(event.EvtLocalAddressesUpdated),
	}, eventbus.Name("parley-node"))
	if err != nil {
		return fmt.Errorf("subscribe to host events: %w", err)
	}
	n.spawn(func() { n.eventLoop(sub) })
	n.notifiee = &network.NotifyBundle{ConnectedF: func(_ network.Network, c network.Conn) {
		n.spawn(func() { n.dedupConns(c.RemotePeer()) })
	}}
	n.h.Network().Notify(n.notifiee)
	// A peer identified before the subscription (the DHT dials its
	// bootstrap peers as the host is built) had its event sent to nobody,
	// and redial leaves a connected peer alone: mark those up here.
	// Identify records protocols before it sends the event, so each peer
	// is seen here, by the subscription, or both (peerUp is idempotent).
	ps := n.h.Peerstore()
	for _, p := range n.h.Network().Peers() {
		if protos, err := ps.SupportsProtocols(p, protocol.ID(chat.DMProtocol)); err == nil && len(protos) > 0 {
			n.peerUp(p, ps.Addrs(p))
		}
	}
	n.spawn(n.decayPenalties)
	if n.cfg.MDNS {
		n.mu.Lock()
		n.mdns = newMDNSRunner(n)
		n.mu.Unlock()
		if err := n.mdns.start(); err != nil {
			return fmt.Errorf("start mDNS: %w", err)
		}
		n.spawn(n.mdns.watch)
	}
	if n.dht != nil {
		for _, b := range n.bootstrap {
			n.addKnownAddrs(b.ID, b.Addrs)
		}
		if err := n.dht.Bootstrap(n.life.Context()); err != nil {
			return fmt.Errorf("bootstrap DHT: %w", err)
		}
	}
	return nil
}

func (n *Node) stop() {
	if n.notifiee != nil {
		n.h.Network().StopNotify(n.notifiee)
	}
	n.mu.Lock()
	m := n.mdns
	n.mdns = nil
	n.mu.Unlock()
	if m != nil {
		m.stop()
	}
	// Subscribers see their channel closed; their forwarders end.
	n.mu.Lock()
	for s := range n.subs {
		s.close()
	}
	n.mu.Unlock()
	n.life.Wait()
}

// ctx is the node's lifetime.
func (n *Node) ctx() context.Context { return n.life.Context() }

// spawn runs fn in a goroutine the node owns; once it is stopping it does
// nothing.
func (n *Node) spawn(fn func()) { n.life.Go(fn) }

// Close stops the node and every goroutine of it and, if the node built
// the host, closes the DHT and the host. It is idempotent.
func (n *Node) Close() error {
	n.closeOnce.Do(func() {
		n.life.Close(n.stop)
		var errs []error
		if n.dht != nil {
			errs = append(errs, n.dht.Close())
		}
		if n.ownsHost {
			errs = append(errs, n.h.Close())
		}
		n.closeErr = errors.Join(errs...)
	})
	return n.closeErr
}

// Host returns the libp2p host (for tests and for packages of this module
// that add protocols).
func (n *Node) Host() host.Host { return n.h }

// Self implements chat.Transport.
func (n *Node) Self() chat.PeerID { return chat.PeerID(n.self) }

// Addrs returns the node's listen addresses with its /p2p suffix.
func (n *Node) Addrs() []string {
	addrs := n.h.Addrs()
	out := make([]string, 0, len(addrs))
	suffix := "/p2p/" + n.self.String()
	for _, a := range addrs {
		out = append(out, a.String()+suffix)
	}
	slices.Sort(out)
	return out
}

// Discovery implements chat.Network.
func (n *Node) Discovery() (mdns bool, dht string) { return n.cfg.MDNS, n.DHTMode() }

// DHTMode reports "server", "client" or "off".
func (n *Node) DHTMode() string {
	if n.dht == nil {
		return "off"
	}
	// dht.Mode() reports the configured option (auto-server), not the
	// mode in force: a server is one that serves the protocol.
	if slices.Contains(n.h.Mux().Protocols(), protocol.ID(DHTPrefix+"/kad/1.0.0")) {
		return "server"
	}
	return "client"
}

// ConnCount implements chat.Network.
func (n *Node) ConnCount(p chat.PeerID) int { return len(n.h.Network().ConnsToPeer(peer.ID(p))) }

// OpenStream implements chat.Transport.
func (n *Node) OpenStream(ctx context.Context, p chat.PeerID, proto string) (chat.Stream, error) {
	pid := peer.ID(p)
	if n.h.Network().Connectedness(pid) != network.Connected {
		n.mu.Lock()
		if k, ok := n.known[pid]; ok && len(k.addrs) > 0 {
			n.h.Peerstore().AddAddrs(pid, k.addrs, time.Hour)
		}
		n.mu.Unlock()
	}
	s, err := n.h.NewStream(ctx, pid, protocol.ID(proto))
	if err != nil {
		return nil, err
	}
	return s, nil
}

// SetStreamHandler implements chat.Transport.
func (n *Node) SetStreamHandler(proto string, h chat.StreamHandler) {
	n.h.SetStreamHandler(protocol.ID(proto), func(s network.Stream) {
		h(chat.PeerID(s.Conn().RemotePeer()), s)
	})
}

// RemoveStreamHandler implements chat.Transport.
func (n *Node) RemoveStreamHandler(proto string) {
	n.h.RemoveStreamHandler(protocol.ID(proto))
}

// Connect implements chat.Network: it dials a /p2p multiaddr and waits
// until the peer is up as a Parley peer (connected and identified), or ctx
// ends.
func (n *Node) Connect(ctx context.Context, addr string) (chat.PeerID, error) {
	m, err := ma.NewMultiaddr(addr)
	if err != nil {
		return "", fmt.Errorf("%w %q: %v", ErrBadAddr, addr, err)
	}
	ai, err := peer.AddrInfoFromP2pAddr(m)
	if err != nil {
		return "", fmt.Errorf("%w %q: it must end in /p2p/<peer ID>", ErrBadAddr, addr)
	}
	if ai.ID == n.self {
		return "", fmt.Errorf("%w: %s is this node", ErrBadAddr, addr)
	}
	events, cancel := n.SubscribePeers()
	defer cancel()
	n.addKnownAddrs(ai.ID, ai.Addrs)
	dctx := network.WithForceDirectDial(ctx, "parley connect")
	if err := n.h.Connect(dctx, *ai); err != nil {
		n.recordError(ai.ID, err, false)
		return "", fmt.Errorf("connect to %s: %w", ai.ID, err)
	}
	for {
		if n.isUp(ai.ID) {
			return chat.PeerID(ai.ID), nil
		}
		select {
		case <-events:
		case <-ctx.Done():
			if n.h.Network().Connectedness(ai.ID) == network.Connected {
				return "", fmt.Errorf("%w: %s is connected but does not speak %s", ErrNotParley, ai.ID, chat.DMProtocol)
			}
			return "", fmt.Errorf("connect to %s: %w", ai.ID, ctx.Err())
		case <-n.ctx().Done():
			return "", chat.ErrClosed
		}
	}
}

func (n *Node) isUp(p peer.ID) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	k, ok := n.known[p]
	return ok && k.up
}

// AddPeerAddrs implements chat.Transport: p becomes a known peer that is
// redialled while it is down.
func (n *Node) AddPeerAddrs(p chat.PeerID, addrs []string) {
	var mas []ma.Multiaddr
	for _, a := range addrs {
		m, err := ma.NewMultiaddr(a)
		if err != nil {
			n.log.Debug("ignoring a bad stored address", "peer", p, "addr", a)
			continue
		}
		mas = append(mas, m)
	}
	n.addKnownAddrs(peer.ID(p), mas)
}

// ErrBadAddr is returned for an address that is not a valid multiaddr
// ending in /p2p/<peer ID>.
var ErrBadAddr = chat.ErrBadAddr

// ErrNotParley is returned by Connect for a peer that does not speak Parley.
var ErrNotParley = errors.New("not a Parley peer")

func parseAddrInfos(addrs []string) ([]peer.AddrInfo, error) {
	var out []peer.AddrInfo
	for _, a := range addrs {
		m, err := ma.NewMultiaddr(a)
		if err != nil {
			return nil, fmt.Errorf("%w %q: %v", ErrBadAddr, a, err)
		}
		ai, err := peer.AddrInfoFromP2pAddr(m)
		if err != nil {
			return nil, fmt.Errorf("%w %q: it must end in /p2p/<peer ID>", ErrBadAddr, a)
		}
		out = append(out, *ai)
	}
	return out, nil
}
