package chat

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"time"
)

// room is one joined room: its topic, and the goroutines that read it,
// store what arrives, publish what this node posts, sync history and
// prune what is past its retention.
type room struct {
	s     *Service
	name  string
	conv  Conversation
	topic Topic    // nil for a private room this node was removed from
	priv  *private // nil for a public room

	closeOnce sync.Once

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	// outbox holds this node's messages to publish, in order. A message
	// takes a slot before it is stored and gives it back once published,
	// so the queue is bounded and a sender that outruns the room waits.
	outbox  chan outItem
	slots   chan struct{}
	arrived chan struct{} // live messages arrived: sync soon to fill gaps
	prune   chan struct{} // the retention changed: prune now

	mu         sync.Mutex
	meta       Room
	lastTyping time.Time
	limits     map[PeerID]*bucket
	syncing    map[PeerID]bool      // sessions this node opened, running
	serving    map[PeerID]int       // sessions members opened, running
	lastSynced map[PeerID]time.Time // when a session with each member last ended
}

// maxEnvelope is the largest envelope a room message may have: a private
// room's is sealed first, which adds up to sealOverhead bytes.
func maxEnvelope(private bool) int {
	if private {
		return MaxRoomMessage - sealOverhead
	}
	return MaxRoomMessage
}

// sealOverhead bounds what sealing adds: the epoch, nonce, tag and framing.
const sealOverhead = 128

// outboxSize bounds a room's queue of messages to publish: at 10,000
// messages a second it holds about 13 ms of them, so a message waits at
// most that long for its turn and a faster sender waits in SendRoom.
const outboxSize = 128

// outItem is a message to publish; done (if set) is called once the
// publish call has returned, with the message (its proof set if it got
// out) and the publish error.
type outItem struct {
	m    *Message
	done func(*Message, error)
}

// open subscribes to a room and starts its goroutines.
func (rs *roomSet) open(meta Room) (*room, error) {
	ps, err := rs.pubsub()
	if err != nil {
		return nil, err
	}
	s := rs.s
	r := &room{
		s:          s,
		name:       meta.Name,
		conv:       RoomConversation(meta.Name),
		meta:       meta,
		outbox:     make(chan outItem, outboxSize),
		slots:      make(chan struct{}, outboxSize),
		arrived:    make(chan struct{}, 1),
		prune:      make(chan struct{}, 1),
		limits:     make(map[PeerID]*bucket),
		syncing:    make(map[PeerID]bool),
		serving:    make(map[PeerID]int),
		lastSynced: make(map[PeerID]time.Time),
	}
	// What a previous run stored but never published is read before the
	// room opens: what is posted from then on goes through the outbox
	// alone, and is published once.
	unpublished, err := s.cfg.Store.Unpublished()
	if err != nil {
		s.log.Warn("could not read unpublished room messages", "room", meta.Name, "err", err)
	}
	r.ctx, r.cancel = context.WithCancel(s.ctx())
	topic := RoomTopic(meta.Name)
	if meta.Private != nil {
		r.priv = newPrivate(r, meta.Private)
		if err := r.priv.load(); err != nil {
			r.cancel()
			return nil, fmt.Errorf("load private room #%s: %w", meta.Name, err)
		}
		if r.priv.isRemoved() {
			r.cancel() // kept for its history; nothing runs
			return r, nil
		}
		topic = r.priv.topic
	}
	t, err := ps.JoinTopic(topic, r.validate)
	if err != nil {
		r.cancel()
		return nil, fmt.Errorf("join topic of #%s: %w", meta.Name, err)
	}
	r.topic = t
	publishLoop := func() { r.publishLoop(unpublished) }
	for _, f := range []func(){r.readLoop, publishLoop, r.peerLoop, r.syncLoop, r.pruneLoop} {
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
	r.closeOnce.Do(func() {
		if r.topic != nil {
			_ = r.topic.Close()
		}
	})
}

// topicPeers are the peers on the room's topic now.
func (r *room) topicPeers() []PeerID {
	if r.topic == nil || r.ctx.Err() != nil {
		return nil
	}
	return r.topic.Peers()
}

func (r *room) info() Room {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.meta
}

func (r *room) setInfo(meta Room) {
	r.mu.Lock()
	r.meta = meta
	r.mu.Unlock()
}

// retention is how long the room's history is kept: its own setting, else
// the node's; 0: forever.
func (r *room) retention() time.Duration {
	switch keep := r.info().Retention; {
	case keep > 0:
		return keep
	case keep == RetentionForever:
		return 0
	}
	return max(r.s.cfg.Retention, 0)
}

// floor is the oldest HLC the room keeps now (0: everything).
func (r *room) floor() HLC {
	keep := r.retention()
	if keep <= 0 {
		return 0
	}
	return HLCFromTime(r.s.cfg.Now().Add(-keep))
}

// readLoop stores what arrives on the topic, in batches.
func (r *room) readLoop() {
	msgs := make(chan *Message, 1024)
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
			case msgs <- pm.Message:
			case <-r.ctx.Done():
				return
			}
		}
	}()
	batch := make([]*Message, 0, 64)
	for m := range msgs {
		if m.Envelope == nil {
			r.priv.hold(m.heldFor, pendingSealed{author: m.Author, data: m.Sealed, proof: m.Proof})
			continue
		}
		batch = r.accept(m, batch[:0])
	drain:
		for len(batch) < 512 {
			select {
			case m, ok := <-msgs:
				if !ok {
					break drain
				}
				if m.Envelope == nil {
					r.priv.hold(m.heldFor, pendingSealed{author: m.Author, data: m.Sealed, proof: m.Proof})
				} else {
					batch = r.accept(m, batch)
				}
			default:
				break drain
			}
		}
		if len(batch) > 0 {
			if _, err := r.s.storeArrived(batch); err != nil {
				r.s.log.Warn("could not store room messages", "room", r.name, "err", err)
			}
			r.opsArrived(batch)
			poke(r.arrived)
		}
	}
}

// opsArrived re-derives a private room's state if ms hold an op.
func (r *room) opsArrived(ms []*Message) {
	if r.priv == nil || !slices.ContainsFunc(ms, func(m *Message) bool { return m.Kind == KindOp }) {
		return
	}
	if err := r.priv.reload(); err != nil {
		r.s.log.Warn("could not apply room ops", "room", r.name, "err", err)
	}
}

// accept appends a validated message from another node to batch, or
// handles it at once (typing, read receipts, and what is past retention).
func (r *room) accept(m *Message, batch []*Message) []*Message {
	s := r.s
	switch {
	case m.Author == s.self:
		return batch // ours, relayed back: stored when posted
	case m.Kind == KindTyping:
		s.publish(Event{Type: EventTyping, Room: r.name, Peer: &Peer{ID: m.Author, Nick: s.peers.nickOf(m.Author)}})
		return batch
	case m.Kind == KindRead:
		s.receiptArrived(m)
		return batch
	case m.HLC < r.floor():
		return batch
	}
	m.Status = StatusReceived
	m.ReceivedAt = s.cfg.Now()
	return append(batch, m)
}

// post stores (unless ephemeral) and queues one of this node's messages;
// done (if set) is called once it has been published. It waits (until
// ctx ends) for a place in the room's queue.
func (r *room) post(ctx context.Context, kind Kind, body string, done func(*Message, error)) (*Message, error) {
	return r.postMessage(ctx, &Message{Kind: kind, Body: body}, done)
}

// postMessage is post for a message whose content fields (Kind, Body, op)
// are set.
func (r *room) postMessage(ctx context.Context, m *Message, done func(*Message, error)) (*Message, error) {
	if r.priv != nil && r.priv.isRemoved() {
		return nil, fmt.Errorf("%w of #%s any more", ErrNotMember, r.name)
	}
	if err := ctx.Err(); err != nil {
		return nil, err // the select below would pick at random between a free slot and ctx
	}
	select {
	case r.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-r.ctx.Done():
		return nil, ErrClosed
	}
	s := r.s
	kind := m.Kind
	m.Conversation = r.conv
	m.Author = s.self
	m.Room = r.name
	m.HLC = s.clock.Now()
	m.Status = StatusQueued
	m.ReceivedAt = s.cfg.Now()
	if kind == KindText || kind == KindEdit {
		s.fillMentions(m)
	}
	err := encodeEnvelope(m)
	if err == nil && len(m.Envelope) > maxEnvelope(r.priv != nil) {
		err = fmt.Errorf("%w: %d bytes of text make a %d-byte message, the limit is %d", ErrTooLarge, len(m.Body), len(m.Envelope), maxEnvelope(r.priv != nil))
	}
	if err == nil && kind.Stored() {
		if err = s.cfg.Store.EnqueueRoom(m); err != nil {
			err = fmt.Errorf("store message: %w", err)
		}
	}
	if err != nil {
		<-r.slots
		return nil, err
	}
	// The caller and subscribers get a copy: the publisher goes on to set
	// m's proof and status.
	shown := *m
	if kind.Stored() && kind != KindOp {
		s.relationsArrived([]*Message{&shown}) // indexes it too
		s.publish(Event{Type: EventMessage, Message: &shown})
	}
	r.outbox <- outItem{m: m, done: done} // never blocks: it holds a slot
	return &shown, nil
}

// publishLoop publishes this node's messages: first those a previous run
// stored but never published (unpublished, of every room), then what is
// posted. Publishing costs a signature and GossipSub's check of it, so
// several workers publish at once (messages are ordered by HLC, not by
// when they went out), and this goroutine records their proofs in batches.
func (r *room) publishLoop(unpublished []*Message) {
	r.republish(unpublished)
	proven := make(chan *Message, outboxSize)
	var workers sync.WaitGroup
	for range publishWorkers() {
		workers.Add(1)
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			defer workers.Done()
			r.publishWorker(proven)
		}()
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		workers.Wait()
		close(proven)
	}()
	batch := make([]*Message, 0, 64)
	for m := range proven {
		batch = append(batch[:0], m)
	drain:
		for len(batch) < 256 {
			select {
			case m, ok := <-proven:
				if !ok {
					break drain
				}
				batch = append(batch, m)
			default:
				break drain
			}
		}
		r.recordProofs(batch)
	}
}

// publishWorkers is how many messages a room publishes at once.
func publishWorkers() int { return min(max(runtime.GOMAXPROCS(0)/2, 1), 8) }

// publishWorker publishes queued messages until the room closes, passing
// the stored ones that got out to proven.
func (r *room) publishWorker(proven chan<- *Message) {
	for {
		select {
		case it := <-r.outbox:
			err := r.publish(it.m)
			<-r.slots
			if it.done != nil {
				shown := *it.m
				it.done(&shown, err)
			}
			if err == nil && it.m.Kind.Stored() {
				proven <- it.m
			}
		case <-r.ctx.Done():
			return
		}
	}
}

// publishRetry is how long a room waits before publishing again a
// message whose publish timed out.
const publishRetry = 500 * time.Millisecond

// publish publishes m and sets its proof. A publish that times out (pubsub
// too busy to take the message in time) is tried again while the room is
// open: an unpublished message has no proof, so sync does not carry it
// either. A message that fails otherwise stays in the store's room
// outbox: it is published again on the next start.
func (r *room) publish(m *Message) error {
	data := m.Envelope
	if r.priv != nil {
		if m.Sealed == nil {
			if err := r.priv.seal(r.ctx, m); err != nil {
				return err
			}
		}
		data = m.Sealed
	}
	for {
		ctx, cancel := context.WithTimeout(r.ctx, 5*time.Second)
		proof, err := r.topic.Publish(ctx, data)
		cancel()
		switch {
		case err == nil:
			m.Proof = proof
			return nil
		case r.ctx.Err() != nil:
			return err
		case !errors.Is(err, context.DeadlineExceeded):
			r.s.log.Warn("could not publish a room message", "room", r.name, "err", err)
			return err
		}
		r.s.log.Debug("publishing a room message timed out; trying again", "room", r.name)
		t := time.NewTimer(publishRetry)
		select {
		case <-t.C:
		case <-r.ctx.Done():
			t.Stop()
			return err
		}
	}
}

// recordProofs stores the proofs of published messages, in one
// transaction, and announces them as sent.
func (r *room) recordProofs(ms []*Message) {
	if len(ms) == 0 {
		return
	}
	for _, m := range ms {
		m.Status = StatusSent
	}
	if err := r.s.cfg.Store.SetProofs(ms); err != nil {
		r.s.log.Warn("could not record published room messages", "room", r.name, "err", err)
		return
	}
	for _, m := range ms {
		r.s.publish(Event{Type: EventStatus, Message: statusCopy(m, StatusSent, "")})
	}
	if r.priv != nil && slices.ContainsFunc(ms, func(m *Message) bool { return m.Kind == KindOp }) {
		r.priv.proven()
	}
}

// republish publishes what this node stored for the room but never got
// out (a crash between storing and publishing).
func (r *room) republish(unpublished []*Message) {
	var proven []*Message
	for _, m := range unpublished {
		if m.Room != r.name || r.ctx.Err() != nil {
			continue
		}
		if r.publish(m) == nil {
			proven = append(proven, m)
		}
	}
	r.recordProofs(proven)
}

// peerLoop follows peers joining and leaving the topic: presence events,
// and a sync with each peer that joins (it may hold what we missed, or
// miss what we hold).
func (r *room) peerLoop() {
	s := r.s
	for {
		ev, err := r.topic.NextPeerEvent(r.ctx)
		if err != nil {
			return
		}
		s.publish(Event{Type: EventPresence, Room: r.name, Peer: &Peer{ID: ev.Peer, Nick: s.peers.nickOf(ev.Peer), Connected: ev.Joined}})
		if !ev.Joined {
			continue
		}
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			r.announceReceipt() // how far this node has read, for one who was away
		}()
		// Both sides see the join; the one with the smaller ID opens the
		// session, the other only if none has run after SyncSettle (a
		// session is two-way: one is enough).
		if s.self < ev.Peer {
			r.startSync(ev.Peer)
		} else {
			r.startSyncAfter(ev.Peer, s.cfg.SyncSettle)
		}
	}
}

// startSyncAfter syncs with p after d, unless a session with p ran (or
// runs) meanwhile.
func (r *room) startSyncAfter(p PeerID, d time.Duration) {
	asked := time.Now()
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.ctx.Done():
			return
		}
		r.mu.Lock()
		recent := r.lastSynced[p].After(asked) || r.serving[p] > 0
		r.mu.Unlock()
		if !recent {
			r.startSync(p)
		}
	}()
}

// served marks a session p opened for this room as running; the func marks
// it done.
func (r *room) served(p PeerID) func() {
	r.mu.Lock()
	r.serving[p]++
	r.mu.Unlock()
	return func() {
		r.mu.Lock()
		if r.serving[p]--; r.serving[p] == 0 {
			delete(r.serving, p)
		}
		r.lastSynced[p] = time.Now()
		r.mu.Unlock()
	}
}

// syncLoop syncs with a random online member now and then, and soon after
// live traffic (pubsub drops messages under bursts; sync fills the gaps).
func (r *room) syncLoop() {
	every := r.s.cfg.AntiEntropy
	t := time.NewTimer(every)
	defer t.Stop()
	settle := time.NewTimer(time.Hour)
	settle.Stop()
	defer settle.Stop()
	for {
		select {
		case <-r.ctx.Done():
			return
		case <-t.C:
			r.syncRandom()
			t.Reset(every)
		case <-r.arrived:
			settle.Reset(r.s.cfg.SyncSettle)
		case <-settle.C:
			r.syncRandom()
		}
	}
}

// syncRandom syncs with the online member synced longest ago (a random
// one among those never synced), so news spreads to everyone in turn.
func (r *room) syncRandom() {
	peers := r.topicPeers()
	if r.priv != nil {
		peers = slices.DeleteFunc(peers, func(p PeerID) bool { return !r.priv.isMember(p) })
	}
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
	if r.syncing[p] || r.serving[p] > 0 || r.ctx.Err() != nil {
		r.mu.Unlock()
		return
	}
	r.syncing[p] = true
	r.wg.Add(1)
	r.mu.Unlock()
	go func() {
		defer r.wg.Done()
		stats, err := r.s.syncRoom(r.ctx, r, p)
		r.mu.Lock()
		delete(r.syncing, p)
		r.lastSynced[p] = time.Now()
		r.mu.Unlock()
		switch {
		case err != nil && r.ctx.Err() == nil:
			r.s.log.Debug("room sync failed", "room", r.name, "peer", p, "err", err)
		case err == nil && stats.Received > 0:
			r.s.log.Info("room synced", "room", r.name, "peer", p, "received", stats.Received, "stages", stats.Stages,
				"bytes_in", stats.BytesIn, "bytes_out", stats.BytesOut, "first_stage", stats.FirstStage, "took", stats.Took)
		}
		if stats.Received > 0 {
			// News came by sync, which pubsub does not relay: pass it on
			// to another member soon.
			poke(r.arrived)
		}
	}()
}

// pruneLoop deletes history past the room's retention: at start, every
// PruneEvery, and when the retention changes.
func (r *room) pruneLoop() {
	t := time.NewTicker(r.s.cfg.PruneEvery)
	defer t.Stop()
	for {
		if floor := r.floor(); floor > 0 {
			if n, err := r.s.cfg.Store.DeleteBefore(r.conv, floor); err != nil {
				r.s.log.Warn("could not prune room history", "room", r.name, "err", err)
			} else if n > 0 {
				r.s.log.Info("pruned room history past its retention", "room", r.name, "messages", n)
			}
		}
		select {
		case <-r.ctx.Done():
			return
		case <-t.C:
		case <-r.prune:
		}
	}
}
