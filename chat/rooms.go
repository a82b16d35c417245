package chat

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
)

// RoomTopicPrefix starts the GossipSub topic of every public room:
// "/parley/room/1/<name>". It is also the DHT rendezvous namespace.
const RoomTopicPrefix = "/parley/room/1/"

// RoomTopic is the pubsub topic of room name.
func RoomTopic(name string) string { return RoomTopicPrefix + name }

// MaxRoomMessage caps a room message's envelope.
const MaxRoomMessage = 60 << 10

// typingThrottle is how often a typing notice is sent at most, and
// TypingTimeout how long a received one lasts.
const (
	typingThrottle = 3 * time.Second
	TypingTimeout  = 6 * time.Second
)

// room is one joined room: its topic, and the goroutines that read it,
// store what arrives, publish what this node posts, and sync history.
type room struct {
	s        *Service
	name     string
	conv     Conversation
	topic    Topic
	joinedAt time.Time

	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	outbox  chan outItem  // this node's messages to publish, in order
	arrived chan struct{} // live messages arrived: sync soon to fill gaps

	mu         sync.Mutex
	pending    map[MessageID]*Message // published, waiting for our own copy to bring the proof
	lastTyping time.Time
	limits     map[PeerID]*bucket
	syncing    map[PeerID]bool
	lastSynced map[PeerID]time.Time // when each member was last synced with
}

// outItem is a message to publish; done (if set) is closed once the
// publish call has returned.
type outItem struct {
	m    *Message
	done chan struct{}
}

// bucket is a token bucket: rate per second, up to burst.
type bucket struct {
	tokens float64
	at     time.Time
}

func (s *Service) pubsub() (PubSub, error) {
	if s.cfg.PubSub == nil {
		return nil, errors.New("rooms are not available on this node")
	}
	return s.cfg.PubSub, nil
}

// openRoom subscribes to a room and starts its goroutines.
func (s *Service) openRoom(name string, joinedAt time.Time) (*room, error) {
	ps, err := s.pubsub()
	if err != nil {
		return nil, err
	}
	r := &room{
		s:          s,
		name:       name,
		conv:       RoomConversation(name),
		joinedAt:   joinedAt,
		outbox:     make(chan outItem, 4096),
		arrived:    make(chan struct{}, 1),
		pending:    make(map[MessageID]*Message),
		limits:     make(map[PeerID]*bucket),
		syncing:    make(map[PeerID]bool),
		lastSynced: make(map[PeerID]time.Time),
	}
	t, err := ps.JoinTopic(RoomTopic(name), r.validate)
	if err != nil {
		return nil, fmt.Errorf("join topic of #%s: %w", name, err)
	}
	r.topic = t
	r.ctx, r.cancel = context.WithCancel(s.ctx)
	for _, f := range []func(){r.readLoop, r.publishLoop, r.peerLoop, r.syncLoop} {
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			f()
		}()
	}
	return r, nil
}

// close stops the room's goroutines and leaves the topic.
func (r *room) close() {
	r.cancel()
	r.wg.Wait()
	_ = r.topic.Close()
}

// validate is the topic validator: every message, this node's own too,
// passes here once before it is delivered or relayed.
func (r *room) validate(from PeerID, data []byte) Verdict {
	if len(data) > MaxRoomMessage {
		return Reject
	}
	m, err := DecodeEnvelope(data, nil)
	if err != nil || m.Room != r.name || m.Author != from {
		return Reject
	}
	s := r.s
	if from == s.self {
		return Accept
	}
	if s.clock.TooFarAhead(m.HLC, s.cfg.MaxClockSkew) {
		return Ignore // our clock may be the wrong one
	}
	if !r.allow(from) {
		s.cfg.PubSub.Penalize(from)
		return Ignore
	}
	if m.Kind.Stored() {
		if has, err := s.cfg.Store.Has(m.ID); err == nil && has {
			return Ignore // a replay of what we hold: do not relay it again
		}
	}
	return Accept
}

// allow charges one message to from's token bucket.
func (r *room) allow(from PeerID) bool {
	rate, burst := r.s.cfg.RoomRate, float64(r.s.cfg.RoomBurst)
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	b, ok := r.limits[from]
	if !ok {
		b = &bucket{tokens: burst, at: now}
		r.limits[from] = b
	}
	b.tokens = min(burst, b.tokens+now.Sub(b.at).Seconds()*rate)
	b.at = now
	if len(r.limits) > 1024 {
		// Forget authors whose bucket has refilled: they are not flooding.
		for p, other := range r.limits {
			if p != from && other.tokens+now.Sub(other.at).Seconds()*rate >= burst {
				delete(r.limits, p)
			}
		}
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// readLoop stores what arrives on the topic, in batches.
func (r *room) readLoop() {
	msgs := make(chan *PubSubMessage, 1024)
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		defer close(msgs)
		for {
			pm, err := r.topic.Next(r.ctx)
			if err != nil {
				return
			}
			select {
			case msgs <- pm:
			case <-r.ctx.Done():
				return
			}
		}
	}()
	batch := make([]*Message, 0, 64)
	for pm := range msgs {
		batch = r.accept(pm, batch[:0])
	drain:
		for len(batch) < 512 {
			select {
			case pm, ok := <-msgs:
				if !ok {
					break drain
				}
				batch = r.accept(pm, batch)
			default:
				break drain
			}
		}
		if len(batch) > 0 {
			if err := r.s.storeRoomMessages(batch); err != nil {
				r.s.log.Warn("could not store room messages", "room", r.name, "err", err)
			}
			poke(r.arrived)
		}
	}
}

// accept turns a pubsub message into a message to store (appended to
// batch), or handles it at once (our own copy, typing).
func (r *room) accept(pm *PubSubMessage, batch []*Message) []*Message {
	m, err := DecodeEnvelope(pm.Data, pm.Signature)
	if err != nil {
		return batch // validated already; cannot happen
	}
	m.Seqno = pm.Seqno
	if pm.Local {
		r.published(m)
		return batch
	}
	if m.Kind == KindTyping {
		r.s.publish(Event{Type: EventTyping, Room: r.name, Peer: &Peer{ID: m.Author, Nick: r.s.nickOf(m.Author)}})
		return batch
	}
	m.Envelope = slices.Clone(m.Envelope)
	m.Status = StatusReceived
	m.ReceivedAt = r.s.cfg.Now()
	return append(batch, m)
}

// published records the proof our own copy brought back.
func (r *room) published(copyBack *Message) {
	r.mu.Lock()
	m, ok := r.pending[copyBack.ID]
	delete(r.pending, copyBack.ID)
	r.mu.Unlock()
	if !ok {
		return
	}
	m.Signature, m.Seqno = copyBack.Signature, copyBack.Seqno
	m.Status = StatusSent
	if err := r.s.cfg.Store.SetProof(m); err != nil {
		r.s.log.Warn("could not record a published room message", "room", r.name, "err", err)
		return
	}
	r.s.publish(Event{Type: EventStatus, Message: statusCopy(m, StatusSent, "")})
}

// storeRoomMessages stores received room messages and announces the new ones.
func (s *Service) storeRoomMessages(ms []*Message) error {
	if len(ms) == 0 {
		return nil
	}
	for _, m := range ms {
		s.clock.Observe(m.HLC) // before storing: a reply must sort after it
	}
	added, err := s.cfg.Store.AddMessages(ms)
	if err != nil {
		return err
	}
	for i, m := range ms {
		if added[i] {
			s.publish(Event{Type: EventMessage, Message: m})
		}
	}
	return nil
}

// publishLoop publishes this node's messages in order.
func (r *room) publishLoop() {
	for {
		select {
		case it := <-r.outbox:
			m := it.m
			if m.Kind.Stored() {
				r.mu.Lock()
				r.pending[m.ID] = m
				r.mu.Unlock()
			}
			ctx, cancel := context.WithTimeout(r.ctx, 5*time.Second)
			err := r.topic.Publish(ctx, m.Envelope)
			cancel()
			if err != nil && r.ctx.Err() == nil {
				// Still in the store's room outbox: published again on the next start.
				r.s.log.Warn("could not publish a room message", "room", r.name, "err", err)
			}
			if it.done != nil {
				close(it.done)
			}
		case <-r.ctx.Done():
			return
		}
	}
}

// post stores (unless ephemeral) and queues one of this node's messages.
func (r *room) post(kind Kind, body string) (*Message, error) {
	return r.postSignal(kind, body, nil)
}

// postSignal is post; done is closed once the message has been published.
func (r *room) postSignal(kind Kind, body string, done chan struct{}) (*Message, error) {
	s := r.s
	m := &Message{
		Conversation: r.conv,
		Author:       s.self,
		Room:         r.name,
		HLC:          s.clock.Now(),
		Kind:         kind,
		Body:         body,
		Status:       StatusQueued,
		ReceivedAt:   s.cfg.Now(),
	}
	if err := sealEnvelope(m); err != nil {
		return nil, err
	}
	if len(m.Envelope) > MaxRoomMessage {
		return nil, fmt.Errorf("%w: %d bytes of text make a %d-byte message, the limit is %d", ErrTooLarge, len(body), len(m.Envelope), MaxRoomMessage)
	}
	if kind.Stored() {
		if err := s.cfg.Store.EnqueueRoom(m); err != nil {
			return nil, fmt.Errorf("store message: %w", err)
		}
		s.publish(Event{Type: EventMessage, Message: m})
	}
	select {
	case r.outbox <- outItem{m: m, done: done}:
	case <-r.ctx.Done():
		return nil, ErrClosed
	}
	return m, nil
}

// peerLoop follows peers joining and leaving the topic: presence events,
// and a sync with each peer that joins (it may hold what we missed, or
// miss what we hold).
func (r *room) peerLoop() {
	for {
		ev, err := r.topic.NextPeerEvent(r.ctx)
		if err != nil {
			return
		}
		r.s.publish(Event{Type: EventPresence, Room: r.name, Peer: &Peer{ID: ev.Peer, Nick: r.s.nickOf(ev.Peer), Connected: ev.Joined}})
		if ev.Joined {
			r.startSync(ev.Peer)
		}
	}
}

// syncLoop syncs with a random online member now and then, and soon after
// live traffic (pubsub drops messages under bursts; sync fills the gaps).
func (r *room) syncLoop() {
	every := r.s.cfg.AntiEntropy
	t := time.NewTimer(every)
	defer t.Stop()
	for {
		var settle <-chan time.Time
		select {
		case <-r.ctx.Done():
			return
		case <-t.C:
			r.syncRandom()
			t.Reset(every)
		case <-r.arrived:
			settle = time.After(r.s.cfg.SyncSettle)
		}
		if settle != nil {
			select {
			case <-r.ctx.Done():
				return
			case <-settle:
				r.syncRandom()
			}
		}
	}
}

// syncRandom syncs with the online member synced longest ago (a random
// one among those never synced), so news spreads to everyone in turn.
func (r *room) syncRandom() {
	peers := r.topic.Peers()
	if len(peers) == 0 {
		return
	}
	rand.Shuffle(len(peers), func(i, j int) { peers[i], peers[j] = peers[j], peers[i] })
	r.mu.Lock()
	best := peers[0]
	for _, p := range peers[1:] {
		if r.lastSynced[p].Before(r.lastSynced[best]) {
			best = p
		}
	}
	r.mu.Unlock()
	r.startSync(best)
}

// startSync syncs the room with p in the background, one session per peer
// at a time.
func (r *room) startSync(p PeerID) {
	r.mu.Lock()
	if r.syncing[p] || r.ctx.Err() != nil {
		r.mu.Unlock()
		return
	}
	r.syncing[p] = true
	r.wg.Add(1)
	r.mu.Unlock()
	go func() {
		defer r.wg.Done()
		stats, err := r.s.SyncRoomWith(r.ctx, r.name, p)
		r.mu.Lock()
		delete(r.syncing, p)
		r.lastSynced[p] = time.Now()
		r.mu.Unlock()
		if err != nil && r.ctx.Err() == nil {
			r.s.log.Debug("room sync failed", "room", r.name, "peer", p, "err", err)
		}
		if stats.Received > 0 {
			// News came by sync, which pubsub does not relay: pass it on
			// to another member soon.
			poke(r.arrived)
		}
	}()
}

// verifyProof checks a room message's author signature the way GossipSub
// did when it arrived live: the pubsub message {from: author, data:
// envelope, seqno, topic} signed with "libp2p-pubsub:" in front.
func verifyProof(m *Message) error {
	pub, ok := m.Author.PublicKey()
	if !ok {
		return errors.New("author key is not an inline Ed25519 key")
	}
	if len(m.Signature) != ed25519.SignatureSize || len(m.Seqno) == 0 {
		return errors.New("no signature")
	}
	b := []byte("libp2p-pubsub:")
	b = protowire.AppendTag(b, 1, protowire.BytesType)
	b = protowire.AppendBytes(b, []byte(m.Author))
	b = protowire.AppendTag(b, 2, protowire.BytesType)
	b = protowire.AppendBytes(b, m.Envelope)
	b = protowire.AppendTag(b, 3, protowire.BytesType)
	b = protowire.AppendBytes(b, m.Seqno)
	b = protowire.AppendTag(b, 4, protowire.BytesType)
	b = protowire.AppendString(b, RoomTopic(m.Room))
	if !ed25519.Verify(pub, b, m.Signature) {
		return errors.New("bad signature")
	}
	return nil
}

// checkSynced validates a room message that arrived by sync exactly as a
// live one: the same envelope checks as the topic validator, and the
// author's signature that GossipSub checked for the live copy.
func (s *Service) checkSynced(room string, envelope, seqno, signature []byte) (*Message, error) {
	if len(envelope) > MaxRoomMessage {
		return nil, fmt.Errorf("%w: too large", ErrBadEnvelope)
	}
	m, err := DecodeEnvelope(envelope, signature)
	if err != nil {
		return nil, err
	}
	m.Seqno = seqno
	switch {
	case m.Room != room:
		return nil, fmt.Errorf("%w: from room %q", ErrBadEnvelope, m.Room)
	case !m.Kind.Stored():
		return nil, fmt.Errorf("%w: %v messages are not kept", ErrBadEnvelope, m.Kind)
	case s.clock.TooFarAhead(m.HLC, s.cfg.MaxClockSkew):
		return nil, fmt.Errorf("timestamp %s too far ahead", m.SentAt().Format(time.RFC3339))
	}
	if err := verifyProof(m); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadEnvelope, err)
	}
	m.Envelope = slices.Clone(m.Envelope)
	m.Signature = slices.Clone(m.Signature)
	m.Seqno = slices.Clone(m.Seqno)
	m.Status = StatusReceived
	m.ReceivedAt = s.cfg.Now()
	return m, nil
}

// ---- the Service's room API ----

// ParseRoom turns "#name" (or "name") into a validated room name.
func ParseRoom(ref string) (string, error) {
	name := strings.TrimPrefix(ref, "#")
	if err := ValidateRoomName(name); err != nil {
		return "", err
	}
	return name, nil
}

func (s *Service) room(name string) *room {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rooms[name]
}

// JoinRoom joins a room: subscribes, remembers it across restarts, and
// posts a join line. It reports false if the room was already joined.
func (s *Service) JoinRoom(name string) (bool, error) {
	if err := ValidateRoomName(name); err != nil {
		return false, err
	}
	s.roomMu.Lock()
	defer s.roomMu.Unlock()
	if s.room(name) != nil {
		return false, nil
	}
	now := s.cfg.Now()
	r, err := s.openRoom(name, now)
	if err != nil {
		return false, err
	}
	if err := s.cfg.Store.PutRoom(Room{Name: name, JoinedAt: now}); err != nil {
		r.close()
		return false, fmt.Errorf("remember room: %w", err)
	}
	s.mu.Lock()
	s.rooms[name] = r
	s.mu.Unlock()
	if _, err := r.post(KindJoin, ""); err != nil {
		s.log.Warn("could not post the join line", "room", name, "err", err)
	}
	s.publish(Event{Type: EventRoom, Room: name, Joined: true})
	return true, nil
}

// LeaveRoom posts a leave line, unsubscribes and forgets the room (its
// history stays). It reports false if the room was not joined.
func (s *Service) LeaveRoom(name string) (bool, error) {
	if err := ValidateRoomName(name); err != nil {
		return false, err
	}
	s.roomMu.Lock()
	defer s.roomMu.Unlock()
	r := s.room(name)
	if r == nil {
		return false, nil
	}
	published := make(chan struct{})
	if _, err := r.postSignal(KindLeave, "", published); err == nil {
		select {
		case <-published:
		case <-time.After(5 * time.Second):
		}
	}
	s.mu.Lock()
	delete(s.rooms, name)
	s.mu.Unlock()
	r.close()
	if err := s.cfg.Store.DeleteRoom(name); err != nil {
		return true, fmt.Errorf("forget room: %w", err)
	}
	s.publish(Event{Type: EventRoom, Room: name, Joined: false})
	return true, nil
}

// SendRoom posts a text message to a joined room and returns it once it
// is stored; it is published in the background.
func (s *Service) SendRoom(name, body string) (*Message, error) {
	if strings.TrimSpace(body) == "" {
		return nil, ErrEmptyMessage
	}
	r := s.room(name)
	if r == nil {
		return nil, fmt.Errorf("%w: #%s (join it first)", ErrNotJoined, name)
	}
	return r.post(KindText, body)
}

// Typing tells a room this node is typing (at most every few seconds).
func (s *Service) Typing(name string) error {
	r := s.room(name)
	if r == nil {
		return fmt.Errorf("%w: #%s", ErrNotJoined, name)
	}
	r.mu.Lock()
	if time.Since(r.lastTyping) < typingThrottle {
		r.mu.Unlock()
		return nil
	}
	r.lastTyping = time.Now()
	r.mu.Unlock()
	_, err := r.post(KindTyping, "")
	return err
}

// RoomInfo is a joined room as listed.
type RoomInfo struct {
	Name     string
	JoinedAt time.Time
	Members  int // members known to be in the room, this node included
	Online   int // members online now, this node included
	Unread   int
}

// Rooms lists the joined rooms by name.
func (s *Service) Rooms() ([]RoomInfo, error) {
	s.mu.Lock()
	rooms := make([]*room, 0, len(s.rooms))
	for _, r := range s.rooms {
		rooms = append(rooms, r)
	}
	s.mu.Unlock()
	slices.SortFunc(rooms, func(a, b *room) int { return strings.Compare(a.name, b.name) })
	out := make([]RoomInfo, 0, len(rooms))
	for _, r := range rooms {
		members, err := s.RoomMembers(r.name)
		if err != nil {
			return nil, err
		}
		info := RoomInfo{Name: r.name, JoinedAt: r.joinedAt, Members: len(members)}
		for _, m := range members {
			if m.Online {
				info.Online++
			}
		}
		if info.Unread, err = s.Unread(r.conv); err != nil {
			return nil, err
		}
		out = append(out, info)
	}
	return out, nil
}

// RoomMember is one member of a room as shown.
type RoomMember struct {
	Peer     PeerID
	Nick     string
	Online   bool
	LastSeen time.Time // zero if never seen
}

// RoomMembers lists who is in a room: this node, every peer subscribed to
// the room now, and every author whose latest join or leave line is a
// join; online ones first, then by nickname.
func (s *Service) RoomMembers(name string) ([]RoomMember, error) {
	r := s.room(name)
	if r == nil {
		return nil, fmt.Errorf("%w: #%s", ErrNotJoined, name)
	}
	byPeer := map[PeerID]*RoomMember{s.self: {Peer: s.self, Nick: s.Nick(), Online: true, LastSeen: s.cfg.Now()}}
	for _, p := range r.topic.Peers() {
		byPeer[p] = &RoomMember{Peer: p, Online: true, LastSeen: s.cfg.Now()}
	}
	stored, err := s.cfg.Store.Members(name)
	if err != nil {
		return nil, err
	}
	for _, m := range stored {
		rm, ok := byPeer[m.Peer]
		if !ok {
			if !m.Joined {
				continue
			}
			rm = &RoomMember{Peer: m.Peer}
			byPeer[m.Peer] = rm
		}
		if t := m.LastHLC.Time(); t.After(rm.LastSeen) {
			rm.LastSeen = t
		}
	}
	out := make([]RoomMember, 0, len(byPeer))
	for _, rm := range byPeer {
		if rm.Nick == "" {
			rm.Nick = s.nickOf(rm.Peer)
		}
		if p, ok := s.Peer(rm.Peer); ok && p.LastSeen.After(rm.LastSeen) && !rm.Online {
			rm.LastSeen = p.LastSeen
		}
		out = append(out, *rm)
	}
	slices.SortFunc(out, func(a, b RoomMember) int {
		if a.Online != b.Online {
			if a.Online {
				return -1
			}
			return 1
		}
		if c := strings.Compare(strings.ToLower(a.Nick), strings.ToLower(b.Nick)); c != 0 {
			return c
		}
		return strings.Compare(string(a.Peer), string(b.Peer))
	})
	return out, nil
}

// nickOf returns a known peer's nickname, or "".
func (s *Service) nickOf(p PeerID) string {
	if p == s.self {
		return s.Nick()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if peer, ok := s.peers[p]; ok {
		return peer.Nick
	}
	return ""
}

// Unread counts text messages from others after conv's read marker.
func (s *Service) Unread(conv Conversation) (int, error) {
	marker, err := s.cfg.Store.Marker(conv)
	if err != nil {
		return 0, err
	}
	return s.cfg.Store.CountAfter(conv, marker, s.self)
}

// MarkRead moves conv's read marker to upTo (the zero Cursor: the newest
// message). The marker never moves back.
func (s *Service) MarkRead(conv Conversation, upTo Cursor) error {
	if upTo == (Cursor{}) {
		newest, err := s.cfg.Store.Messages(conv, Cursor{}, 1)
		if err != nil {
			return err
		}
		if len(newest) == 0 {
			return nil
		}
		upTo = CursorOf(newest[0])
	}
	s.markerMu.Lock()
	defer s.markerMu.Unlock()
	cur, err := s.cfg.Store.Marker(conv)
	if err != nil {
		return err
	}
	if cursorLess(upTo, cur) || upTo == cur {
		return nil
	}
	if err := s.cfg.Store.SetMarker(conv, upTo); err != nil {
		return err
	}
	s.publish(Event{Type: EventRead, Conversation: conv})
	return nil
}

func cursorLess(a, b Cursor) bool {
	if a.HLC != b.HLC {
		return a.HLC < b.HLC
	}
	return slices.Compare(a.ID[:], b.ID[:]) < 0
}

// startRooms opens the joined rooms at start, joins the auto-join rooms
// on the very first start, and republishes what never got out.
func (s *Service) startRooms() error {
	if s.cfg.PubSub == nil {
		return nil
	}
	if err := s.openJoinedRooms(); err != nil {
		return err
	}
	unpublished, err := s.cfg.Store.Unpublished()
	if err != nil {
		return err
	}
	for _, m := range unpublished {
		if r := s.room(m.Room); r != nil {
			select {
			case r.outbox <- outItem{m: m}:
			default:
			}
		}
	}
	done, err := s.cfg.Store.Flag("auto-joined")
	if err != nil || done {
		return err
	}
	for _, name := range s.cfg.AutoJoin {
		if _, err := s.JoinRoom(name); err != nil {
			return fmt.Errorf("join #%s: %w", name, err)
		}
	}
	return s.cfg.Store.SetFlag("auto-joined")
}

// openJoinedRooms opens the rooms joined before this start. It holds
// roomMu, as JoinRoom and LeaveRoom do, and skips a room already open: a
// JoinRoom may run before Run gets here.
func (s *Service) openJoinedRooms() error {
	s.roomMu.Lock()
	defer s.roomMu.Unlock()
	joined, err := s.cfg.Store.Rooms()
	if err != nil {
		return err
	}
	for _, jr := range joined {
		if s.room(jr.Name) != nil {
			continue
		}
		r, err := s.openRoom(jr.Name, jr.JoinedAt)
		if err != nil {
			return err
		}
		s.mu.Lock()
		s.rooms[jr.Name] = r
		s.mu.Unlock()
	}
	return nil
}

// stopRooms closes every room (they stay joined).
func (s *Service) stopRooms() {
	s.mu.Lock()
	rooms := make([]*room, 0, len(s.rooms))
	for _, r := range s.rooms {
		rooms = append(rooms, r)
	}
	s.mu.Unlock()
	for _, r := range rooms {
		r.close()
	}
}
