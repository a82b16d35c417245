package chat

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/parley-chat/parley/crypto"
)

// Protocol IDs spoken on streams.
const (
	DMProtocol      = "/parley/dm/1.0.0"
	ProfileProtocol = "/parley/profile/1.0.0"
)

// MaxNickLen is the longest nickname, in characters.
const MaxNickLen = 32

// Config configures a Service. Identity, Transport and Store are required.
type Config struct {
	Identity  *crypto.Identity
	Nick      string
	Agent     string // software version sent in profiles, e.g. "parley/0.1.0"
	Transport Transport
	Store     Store
	Logger    *slog.Logger
	Now       func() time.Time // wall clock; time.Now if nil

	MaxFrame          int           // cap on one frame; DefaultMaxFrame if 0
	MaxClockSkew      time.Duration // how far ahead of our clock a message may be; 1h if 0
	StreamIdleTimeout time.Duration // an idle outbound DM stream is closed after this; 2m if 0
	FirstFrameTimeout time.Duration // an inbound stream must send its first frame within this; 10s if 0
	AckTimeout        time.Duration // unacknowledged frames this old reset the stream; 20s if 0
	RetryMin          time.Duration // first redelivery backoff; 250ms if 0
	RetryMax          time.Duration // longest redelivery backoff; 30s if 0
	Window            int           // most unacknowledged messages per peer; 1024 if 0

	// Rooms. PubSub nil: no rooms.
	PubSub          PubSub
	AutoJoin        []string      // rooms joined on the very first start
	RoomRate        float64       // messages per second one author may send into a room; 500 if 0
	RoomBurst       int           // and in a burst; 5000 if 0
	AntiEntropy     time.Duration // a room syncs with a random member this often; 30s if 0
	SyncSettle      time.Duration // and this long after live traffic; 2s if 0
	SyncWindow      time.Duration // history a sync covers; 30 days if 0
	SyncMaxMessages int           // and at most this many messages; 10000 if 0
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
	setDefault(&c.SyncWindow, 30*24*time.Hour)
	setDefault(&c.SyncMaxMessages, 10000)
}

func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// Service is the messenger of one node.
type Service struct {
	cfg    Config
	self   PeerID
	log    *slog.Logger
	clock  *Clock
	events *eventBus

	ctx     context.Context // lifetime; cancelled by Close
	cancel  context.CancelFunc
	wg      sync.WaitGroup // every goroutine the service starts
	started atomic.Bool
	done    chan struct{} // closed when Run returns

	convs    sync.Map   // PeerID -> Conversation: text forms, computed once per peer
	roomMu   sync.Mutex // serialises joins and leaves
	markerMu sync.Mutex // serialises read-marker moves

	saveMu  sync.Mutex // held from a peer snapshot to its write, so writes land in order
	mu      sync.Mutex
	nick    string
	peers   map[PeerID]*Peer
	links   map[PeerID]*dmLink
	rooms   map[string]*room
	serving map[PeerID]int      // sync sessions this node is serving, by peer
	inbound map[Stream]struct{} // inbound streams being served, reset on Close
}

// New returns a Service; Run starts it.
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
	known, err := cfg.Store.Peers()
	if err != nil {
		return nil, fmt.Errorf("load known peers: %w", err)
	}
	s := &Service{
		cfg:     cfg,
		self:    cfg.Identity.PeerID(),
		log:     cfg.Logger,
		clock:   NewClock(cfg.Now),
		events:  newEventBus(),
		done:    make(chan struct{}),
		nick:    cfg.Nick,
		peers:   make(map[PeerID]*Peer, len(known)),
		links:   make(map[PeerID]*dmLink),
		rooms:   make(map[string]*room),
		serving: make(map[PeerID]int),
		inbound: make(map[Stream]struct{}),
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	for i := range known {
		p := known[i]
		p.Connected = false
		s.peers[p.ID] = &p
		if len(p.Addrs) > 0 {
			cfg.Transport.AddPeerAddrs(p.ID, p.Addrs)
		}
	}
	return s, nil
}

// Run serves the messenger until ctx is cancelled or Close is called, then
// stops everything it started and returns nil.
func (s *Service) Run(ctx context.Context) error {
	if !s.started.CompareAndSwap(false, true) {
		return errors.New("chat: Run called twice")
	}
	defer close(s.done)
	events, unsubscribe := s.cfg.Transport.SubscribePeers()
	defer unsubscribe()
	s.cfg.Transport.SetStreamHandler(DMProtocol, s.handleDM)
	s.cfg.Transport.SetStreamHandler(ProfileProtocol, s.handleProfile)
	if s.cfg.PubSub != nil {
		s.cfg.Transport.SetStreamHandler(SyncProtocol, s.handleSync)
	}
	if err := s.startRooms(); err != nil {
		s.shutdown()
		return fmt.Errorf("open rooms: %w", err)
	}

	outbox, err := s.cfg.Store.Outbox()
	if err != nil {
		s.shutdown()
		return fmt.Errorf("load outbox: %w", err)
	}
	for p, ms := range outbox {
		s.link(p).enqueue(ms...)
	}
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			s.onPeerEvent(ev)
		case <-ctx.Done():
			s.shutdown()
			return nil
		case <-s.ctx.Done():
			s.shutdown()
			return nil
		}
	}
}

func (s *Service) shutdown() {
	s.cancel()
	s.cfg.Transport.RemoveStreamHandler(DMProtocol)
	s.cfg.Transport.RemoveStreamHandler(ProfileProtocol)
	s.cfg.Transport.RemoveStreamHandler(SyncProtocol)
	s.stopRooms()
	s.mu.Lock()
	for st := range s.inbound {
		_ = st.Reset()
	}
	s.mu.Unlock()
	s.wg.Wait()
	s.events.close()
}

// Close stops the service and waits for its goroutines. It is idempotent.
func (s *Service) Close() error {
	s.cancel()
	if s.started.Load() {
		<-s.done
	} else {
		s.shutdown()
	}
	return nil
}

// Self returns this node's peer ID.
func (s *Service) Self() PeerID { return s.self }

// Nick returns this node's nickname.
func (s *Service) Nick() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nick
}

// SetNick changes this node's nickname and tells connected peers.
func (s *Service) SetNick(nick string) error {
	if err := ValidateNick(nick); err != nil {
		return err
	}
	s.mu.Lock()
	s.nick = nick
	var up []PeerID
	for id, p := range s.peers {
		if p.Connected {
			up = append(up, id)
		}
	}
	s.mu.Unlock()
	for _, p := range up {
		s.goTracked(func() { s.exchangeProfile(p) })
	}
	return nil
}

// ConversationInfo is one entry of a client's sidebar: a joined room, or a
// peer with whom there is a direct conversation (or who is online).
type ConversationInfo struct {
	Conversation Conversation
	Room         string // rooms
	Peer         PeerID // direct conversations
	Nick         string
	Online       bool
	Unread       int
}

// Conversations lists the joined rooms (by name) and then the direct
// conversations: every known peer that is online or has history with
// this node (by nickname).
func (s *Service) Conversations() ([]ConversationInfo, error) {
	rooms, err := s.Rooms()
	if err != nil {
		return nil, err
	}
	out := make([]ConversationInfo, 0, len(rooms))
	for _, r := range rooms {
		out = append(out, ConversationInfo{Conversation: RoomConversation(r.Name), Room: r.Name, Online: r.Online > 1, Unread: r.Unread})
	}
	for _, p := range s.Peers() {
		conv := s.dmConversation(p.ID)
		newest, err := s.cfg.Store.Messages(conv, Cursor{}, 1)
		if err != nil {
			return nil, err
		}
		if len(newest) == 0 && !p.Connected {
			continue
		}
		unread, err := s.Unread(conv)
		if err != nil {
			return nil, err
		}
		out = append(out, ConversationInfo{Conversation: conv, Peer: p.ID, Nick: p.Nick, Online: p.Connected, Unread: unread})
	}
	return out, nil
}

// Subscribe returns a channel of events until cancel is called. If the
// subscriber falls subscriberBuffer events behind, the channel is closed.
func (s *Service) Subscribe() (<-chan Event, func()) { return s.events.subscribe() }

func (s *Service) publish(e Event) {
	e.Time = s.cfg.Now()
	s.events.publish(e)
}

// SendDM stores a direct message to peer `to` in the outbox and returns it
// once it is persisted; delivery continues in the background.
func (s *Service) SendDM(to PeerID, body string) (*Message, error) {
	if to == s.self {
		return nil, ErrSelf
	}
	if strings.TrimSpace(body) == "" {
		return nil, ErrEmptyMessage
	}
	if !utf8.ValidString(body) {
		return nil, fmt.Errorf("%w: text is not UTF-8", ErrBadEnvelope)
	}
	if s.ctx.Err() != nil {
		return nil, ErrClosed
	}
	m := &Message{
		Conversation: s.dmConversation(to),
		Author:       s.self,
		To:           to,
		HLC:          s.clock.Now(),
		Kind:         KindText,
		Body:         body,
		Status:       StatusQueued,
		ReceivedAt:   s.cfg.Now(),
	}
	if err := sealEnvelope(m); err != nil {
		return nil, err
	}
	if size := dmFrameSize(m); size > s.cfg.MaxFrame {
		return nil, fmt.Errorf("%w: %d bytes of text make a %d-byte frame, the limit is %d", ErrTooLarge, len(body), size, s.cfg.MaxFrame)
	}
	if err := s.cfg.Store.Enqueue(m); err != nil {
		return nil, fmt.Errorf("store message: %w", err)
	}
	s.touchPeer(to)
	s.publish(Event{Type: EventMessage, Message: m})
	s.link(to).enqueue(m)
	return m, nil
}

// dmConversation is DMConversation(p), computed once per peer.
func (s *Service) dmConversation(p PeerID) Conversation {
	if c, ok := s.convs.Load(p); ok {
		return c.(Conversation)
	}
	c := DMConversation(p)
	s.convs.Store(p, c)
	return c
}

// MaxBodySize returns the largest text a direct message can carry with the
// configured frame cap (an upper bound: envelope overhead is ~150 bytes).
func (s *Service) MaxBodySize() int { return s.cfg.MaxFrame }

// History returns up to limit messages of conv before cursor `before`
// (zero: the newest), oldest first, with live delivery states.
func (s *Service) History(conv Conversation, before Cursor, limit int) ([]*Message, error) {
	ms, err := s.cfg.Store.Messages(conv, before, limit)
	if err != nil {
		return nil, err
	}
	if p, ok := conv.Peer(); ok {
		s.mu.Lock()
		l := s.links[p]
		s.mu.Unlock()
		if l != nil {
			l.overlaySent(ms)
		}
	}
	return ms, nil
}

// ResolvePeer turns what a person typed into a peer ID: "@nick" matches a
// known peer's nickname (case-insensitively, and only if unambiguous);
// anything else must be a peer ID.
func (s *Service) ResolvePeer(ref string) (PeerID, error) {
	if nick, ok := strings.CutPrefix(ref, "@"); ok {
		if nick == "" {
			return "", fmt.Errorf("%w: want a nickname after '@'", ErrUnknownPeer)
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		var found []PeerID
		for id, p := range s.peers {
			if strings.EqualFold(p.Nick, nick) {
				found = append(found, id)
			}
		}
		switch len(found) {
		case 0:
			return "", fmt.Errorf("%w @%s: no known peer has that nickname", ErrUnknownPeer, nick)
		case 1:
			return found[0], nil
		default:
			ids := make([]string, len(found))
			for i, id := range found {
				ids[i] = id.String()
			}
			slices.Sort(ids)
			return "", fmt.Errorf("%w @%s: %d peers share it, use a peer ID: %s", ErrAmbiguousPeer, nick, len(found), strings.Join(ids, ", "))
		}
	}
	id, err := crypto.ParsePeerID(ref)
	if err != nil {
		return "", fmt.Errorf("%w %q: want a peer ID or @nick", ErrUnknownPeer, ref)
	}
	return id, nil
}

// Peers returns the known peers, connected ones first, then by nickname.
func (s *Service) Peers() []Peer {
	s.mu.Lock()
	out := make([]Peer, 0, len(s.peers))
	for _, p := range s.peers {
		out = append(out, clonePeer(p))
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b Peer) int {
		if a.Connected != b.Connected {
			if a.Connected {
				return -1
			}
			return 1
		}
		return cmp.Or(cmp.Compare(strings.ToLower(a.Nick), strings.ToLower(b.Nick)), cmp.Compare(a.ID, b.ID))
	})
	return out
}

// Peer returns one known peer.
func (s *Service) Peer(id PeerID) (Peer, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.peers[id]
	if !ok {
		return Peer{}, false
	}
	return clonePeer(p), true
}

func clonePeer(p *Peer) Peer {
	c := *p
	c.Addrs = slices.Clone(p.Addrs)
	return c
}

// touchPeer makes sure a peer we message is known, so it is listed and
// its nickname is learnt when it connects.
func (s *Service) touchPeer(id PeerID) {
	s.saveMu.Lock()
	defer s.saveMu.Unlock()
	s.mu.Lock()
	_, ok := s.peers[id]
	if !ok {
		s.peers[id] = &Peer{ID: id, FirstSeen: s.cfg.Now()}
	}
	p := clonePeer(s.peers[id])
	s.mu.Unlock()
	if !ok {
		s.savePeer(p)
	}
}

func (s *Service) savePeer(p Peer) {
	if err := s.cfg.Store.PutPeer(p); err != nil {
		s.log.Warn("could not save peer", "peer", p.ID, "err", err)
	}
}

func (s *Service) onPeerEvent(ev PeerEvent) {
	now := s.cfg.Now()
	s.saveMu.Lock()
	s.mu.Lock()
	p, ok := s.peers[ev.Peer]
	if !ok {
		p = &Peer{ID: ev.Peer, FirstSeen: now}
		s.peers[ev.Peer] = p
	}
	changed := p.Connected != ev.Up
	p.Connected = ev.Up
	p.LastSeen = now
	if ev.Up && len(ev.Addrs) > 0 {
		p.Addrs = slices.Clone(ev.Addrs)
	}
	snapshot := clonePeer(p)
	s.mu.Unlock()

	s.savePeer(snapshot)
	s.saveMu.Unlock()
	if changed {
		s.publish(Event{Type: EventPeer, Peer: &snapshot})
	}
	if ev.Up {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.exchangeProfile(ev.Peer)
		}()
		s.link(ev.Peer).peerUp()
	}
}

func (s *Service) setPeerNick(id PeerID, nick string) {
	s.saveMu.Lock()
	s.mu.Lock()
	p, ok := s.peers[id]
	if !ok || p.Nick == nick {
		s.mu.Unlock()
		s.saveMu.Unlock()
		return
	}
	p.Nick = nick
	snapshot := clonePeer(p)
	s.mu.Unlock()
	s.savePeer(snapshot)
	s.saveMu.Unlock()
	s.publish(Event{Type: EventPeer, Peer: &snapshot})
}

// ValidateNick checks a nickname: 1 to MaxNickLen letters, digits, '-',
// '_' or '.'.
func ValidateNick(nick string) error {
	n := utf8.RuneCountInString(nick)
	if n == 0 || n > MaxNickLen {
		return fmt.Errorf("%w %q: want 1 to %d characters", ErrBadNick, nick, MaxNickLen)
	}
	for _, r := range nick {
		if !nickRune(r) {
			return fmt.Errorf("%w %q: only letters, digits, '-', '_' and '.' are allowed", ErrBadNick, nick)
		}
	}
	return nil
}

func nickRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_' || r == '.'
}

// cleanNick makes a peer-supplied nickname safe to show: disallowed
// characters are dropped and the rest cut to MaxNickLen.
func cleanNick(nick string) string {
	var b strings.Builder
	n := 0
	for _, r := range nick {
		if n == MaxNickLen {
			break
		}
		if nickRune(r) {
			b.WriteRune(r)
			n++
		}
	}
	return b.String()
}

// goTracked runs f in a goroutine the service waits for on shutdown, unless
// the service is shutting down; it reports whether f was started.
func (s *Service) goTracked(f func()) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ctx.Err() != nil {
		return false
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f()
	}()
	return true
}
