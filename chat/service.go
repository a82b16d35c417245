package chat

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/parley-chat/parley/crypto"
	"github.com/parley-chat/parley/internal/lifecycle"
)

// Protocol IDs spoken on streams.
const (
	DMProtocol      = "/parley/dm/1.0.0"
	ProfileProtocol = "/parley/profile/1.0.0"
)

// Config configures a Service. Identity, Transport and Store are required.
type Config struct {
	Identity  *crypto.Identity
	Nick      string
	Agent     string // software version sent in profiles, e.g. "parley/0.1.0"
	Transport Transport
	Network   Network // node facts and dialling by address; optional
	Store     Store
	Logger    *slog.Logger
	Now       func() time.Time // wall clock; time.Now if nil
	// SaveNick, if set, persists a nickname changed with SetNick (the
	// daemon writes it to config.toml).
	SaveNick func(nick string) error

	MaxFrame          int           // cap on one DM frame; DefaultMaxFrame if 0
	MaxClockSkew      time.Duration // how far ahead of our clock a message may be; 1h if 0
	StreamIdleTimeout time.Duration // an idle outbound DM stream is closed after this; 2m if 0
	FirstFrameTimeout time.Duration // an inbound stream must send its first frame within this; 10s if 0
	AckTimeout        time.Duration // unacknowledged frames this old reset the stream; 20s if 0
	RetryMin          time.Duration // first redelivery backoff; 250ms if 0
	RetryMax          time.Duration // longest redelivery backoff; 30s if 0
	Window            int           // most unacknowledged messages per peer; 1024 if 0

	// Rooms. PubSub nil: no rooms.
	PubSub      PubSub
	AutoJoin    []string      // rooms joined on the very first start
	RoomRate    float64       // messages per second one author may send into a room; 500 if 0
	RoomBurst   int           // and in a burst; 5000 if 0
	AntiEntropy time.Duration // a room syncs with a random member this often; 30s if 0
	SyncSettle  time.Duration // and this long after live traffic; 2s if 0
	// Retention is how long room history is kept by default (a room's own
	// setting overrides it): older messages are deleted and not synced.
	// 0 keeps everything.
	Retention time.Duration
	// PruneEvery is how often history past its retention is deleted; 1h if 0.
	PruneEvery time.Duration

	// Files keeps shared files; nil: no file sharing.
	Files FileStore
	// AutoDownload is the largest file fetched when its message arrives
	// (larger ones on demand; negative: none); MaxFileSize the largest
	// shared or fetched at all; FileCache the room for others' files,
	// least recently used dropped first (never a file this node shared
	// or saved). 16 MiB, 4 GiB and 10 GiB if 0.
	AutoDownload int64
	MaxFileSize  int64
	FileCache    int64
	// DownloadDir is where fetched files are saved when no directory is
	// asked for.
	DownloadDir string

	// Search is the full-text index Search answers from, kept current by
	// the Service (search.go); nil: search is off.
	Search SearchIndex

	// NoReadReceipts keeps this node's read positions to itself: it then
	// sends no read receipts (it still shows others').
	NoReadReceipts bool
}

func (c *Config) setDefaults() {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	setDefault(&c.MaxFrame, DefaultMaxFrame)
	setDefault(&c.MaxClockSkew, time.Hour)
	setDefault(&c.StreamIdleTimeout, 2*time.Minute)
	setDefault(&c.FirstFrameTimeout, 10*time.Second)
	setDefault(&c.AckTimeout, 20*time.Second)
	setDefault(&c.RetryMin, 250*time.Millisecond)
	setDefault(&c.RetryMax, 30*time.Second)
	setDefault(&c.Window, 1024)
	setDefault(&c.RoomRate, 500)
	setDefault(&c.RoomBurst, 5000)
	setDefault(&c.AntiEntropy, 30*time.Second)
	setDefault(&c.SyncSettle, 2*time.Second)
	setDefault(&c.PruneEvery, time.Hour)
	setDefault(&c.AutoDownload, 16<<20)
	setDefault(&c.MaxFileSize, 4<<30)
	setDefault(&c.FileCache, 10<<30)
}

func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// Service is the messenger of one node. It is a facade over parts that
// each keep their own state under their own lock: the peer book (peers.go),
// the direct-message links (dm.go), the rooms (rooms.go) and history sync
// (sync.go), and the read markers (read.go).
type Service struct {
	cfg    Config
	self   PeerID
	log    *slog.Logger
	clock  *Clock
	events *eventBus
	life   *lifecycle.Lifetime

	peers   *peerBook
	dms     *dmLinks
	rooms   *roomSet
	syncs   *syncServer
	markers *markers
	relMu   sync.Mutex // orders relationsArrived
	inbound *streamSet
	fetches fetches
	indexer *searchIndexer
	stats   counters // what Stats reports (stats.go)
}

// New builds a Service; Run starts it.
func New(cfg Config) (*Service, error) {
	if cfg.Identity == nil || cfg.Transport == nil || cfg.Store == nil {
		return nil, errors.New("chat: Identity, Transport and Store are required")
	}
	cfg.setDefaults()
	if cfg.Nick != "" {
		if err := ValidateNick(cfg.Nick); err != nil {
			return nil, err
		}
	}
	s := &Service{
		cfg:     cfg,
		self:    cfg.Identity.PeerID(),
		log:     cfg.Logger,
		clock:   NewClock(cfg.Now),
		events:  newEventBus(),
		life:    lifecycle.New(),
		inbound: newStreamSet(),
		syncs:   newSyncServer(),
		markers: &markers{},
		indexer: newSearchIndexer(),
	}
	peers, err := newPeerBook(s)
	if err != nil {
		return nil, err
	}
	s.peers = peers
	s.dms = newDMLinks(s)
	s.rooms = newRoomSet(s)
	return s, nil
}

// Run serves the messenger until ctx is cancelled or Close is called, then
// stops everything it started and returns nil.
func (s *Service) Run(ctx context.Context) error {
	return s.life.Run(ctx, s.start, s.stop)
}

// Started is closed once Run has opened the joined rooms and queued the
// outbox: from then on the service answers for every room it has joined.
func (s *Service) Started() <-chan struct{} { return s.life.Started() }

// Close stops the service and waits for its goroutines. It is idempotent.
func (s *Service) Close() error {
	s.life.Close(s.stop)
	return nil
}

func (s *Service) start() error {
	events, unsubscribe := s.cfg.Transport.SubscribePeers()
	if !s.life.Go(func() {
		defer unsubscribe()
		s.peers.follow(events)
	}) {
		unsubscribe()
		return nil
	}
	tr := s.cfg.Transport
	tr.SetStreamHandler(DMProtocol, s.dms.handle)
	tr.SetStreamHandler(ProfileProtocol, s.peers.handleProfile)
	if s.cfg.Files != nil {
		tr.SetStreamHandler(FileProtocol, s.handleFile)
	}
	if s.cfg.PubSub != nil {
		tr.SetStreamHandler(SyncProtocol, s.syncs.handle(s))
		tr.SetStreamHandler(InviteProtocol, s.handleInvite)
	}
	if err := s.rooms.start(); err != nil {
		return fmt.Errorf("open rooms: %w", err)
	}
	if err := s.dms.start(); err != nil {
		return fmt.Errorf("load outbox: %w", err)
	}
	s.resumeFetches()
	s.startSearch()
	return nil
}

func (s *Service) stop() {
	tr := s.cfg.Transport
	tr.RemoveStreamHandler(DMProtocol)
	tr.RemoveStreamHandler(ProfileProtocol)
	tr.RemoveStreamHandler(SyncProtocol)
	tr.RemoveStreamHandler(InviteProtocol)
	tr.RemoveStreamHandler(FileProtocol)
	s.rooms.stop()
	s.inbound.resetAll()
	s.life.Wait()
	s.events.close()
}

// ctx is the service's lifetime.
func (s *Service) ctx() context.Context { return s.life.Context() }

// goTracked runs f in a goroutine the service waits for when it stops,
// unless it is stopping; it reports whether f was started.
func (s *Service) goTracked(f func()) bool { return s.life.Go(f) }

// Self returns this node's peer ID.
func (s *Service) Self() PeerID { return s.self }

// Subscribe returns a channel of events until cancel is called. If the
// subscriber falls subscriberBuffer events behind, the channel is closed.
func (s *Service) Subscribe() (<-chan Event, func()) { return s.events.subscribe() }

func (s *Service) publish(e Event) {
	e.Time = s.cfg.Now()
	if e.Type == EventMessage && e.Message != nil {
		s.stats.message(s.self, e.Message)
	}
	if e.Peer != nil {
		p := *e.Peer
		s.peers.decorate(&p)
		e.Peer = &p
	}
	s.events.publish(e)
}

// NodeInfo is who this node is and how it is reachable.
type NodeInfo struct {
	PeerID      PeerID
	Nick        string
	Fingerprint string   // of the identity key, for reading aloud
	Addrs       []string // listen addresses ending in /p2p/<peer ID>
	MDNS        bool
	DHT         string // "server", "client" or "off"
	MaxFileSize int64  // the largest file shared or fetched; 0: file sharing is off
}

// maxFileSize is NodeInfo.MaxFileSize.
func (s *Service) maxFileSize() int64 {
	if s.cfg.Files == nil {
		return 0
	}
	return s.cfg.MaxFileSize
}

// Info describes this node.
func (s *Service) Info() NodeInfo {
	info := NodeInfo{
		PeerID:      s.self,
		Nick:        s.Nick(),
		Fingerprint: crypto.Fingerprint(s.cfg.Identity.PublicKey()),
		DHT:         "off",
		MaxFileSize: s.maxFileSize(),
		Addrs:       []string{},
	}
	if n := s.cfg.Network; n != nil {
		info.Addrs = n.Addrs()
		info.MDNS, info.DHT = n.Discovery()
	}
	return info
}

// Connect dials a multiaddr ending in /p2p/<peer ID> and returns once the
// peer is up.
func (s *Service) Connect(ctx context.Context, addr string) (PeerID, error) {
	if s.cfg.Network == nil {
		return "", errors.New("this node cannot dial addresses")
	}
	return s.cfg.Network.Connect(ctx, addr)
}
