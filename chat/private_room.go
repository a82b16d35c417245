package chat

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/parley-chat/parley/crypto"
	"github.com/parley-chat/parley/internal/wire"
)

// Errors of private rooms.
var (
	// ErrNotMember is returned for what only a private room's members may
	// do, asked of a node that is not (or no longer) one.
	ErrNotMember = errors.New("not a member")
	// ErrNotAllowed is returned for what the member's role does not allow
	// (only admins remove, promote and change settings).
	ErrNotAllowed = errors.New("not allowed")
	// ErrPrivate is returned for what private rooms do not do.
	ErrPrivate = errors.New("private room")
)

// KeyRotation is how long an epoch lasts at most: an admin starts a new one
// after it.
const KeyRotation = 7 * 24 * time.Hour

// maxPending bounds the sealed messages a room holds for keys it lacks.
const maxPending = 4096

// private is a private room's state: its ops' verdict, its keys, and the
// sealed messages waiting for a key.
type private struct {
	r      *room
	id     RoomID
	secret crypto.Key
	topic  string
	opKey  crypto.Key

	// reloadMu makes reloads one at a time: each reads the ops and
	// installs what it derived from them, so a reload that read fewer
	// ops never installs its state after one that read more.
	reloadMu sync.Mutex

	// admitMu serialises this room's admissions, so an invite's uses are
	// counted right.
	admitMu sync.Mutex

	mu         sync.Mutex
	st         *roomState
	keys       map[MessageID]crypto.Key // epoch secrets that match their op's check
	unverified map[MessageID]crypto.Key // epoch secrets whose op is not known yet
	pending    map[MessageID][]pendingSealed
	npending   int
	changed    chan struct{} // closed and replaced when keys, state or the proofs of ops change
	rotating   bool
	removed    bool
}

// pendingSealed is a sealed message waiting for its epoch's key.
type pendingSealed struct {
	author PeerID
	data   []byte
	proof  Proof
}

func newPrivate(r *room, p *PrivateRoom) *private {
	return &private{
		r:          r,
		id:         p.ID,
		secret:     p.Secret,
		topic:      PrivateTopic(p.Secret),
		opKey:      opKey(p.Secret),
		st:         newRoomState(p.ID),
		keys:       make(map[MessageID]crypto.Key),
		unverified: make(map[MessageID]crypto.Key),
		pending:    make(map[MessageID][]pendingSealed),
		changed:    make(chan struct{}),
		removed:    p.Removed,
	}
}

// load reads the room's ops and keys from the store.
func (pv *private) load() error {
	s := pv.r.s
	keys, err := s.cfg.Store.RoomKeys(pv.id)
	if err != nil {
		return err
	}
	pv.mu.Lock()
	for _, k := range keys {
		pv.unverified[k.Epoch] = k.Secret
	}
	pv.mu.Unlock()
	return pv.reload()
}

// reload derives the state anew from the stored ops, checks the keys
// waiting for their op, and acts on what changed: grants this node owes,
// a rotation after a leave, its own removal.
func (pv *private) reload() error {
	r := pv.r
	s := r.s
	pv.reloadMu.Lock()
	ops, err := s.cfg.Store.Ops(r.conv)
	if err != nil {
		pv.reloadMu.Unlock()
		return err
	}
	st := deriveState(pv.id, ops)
	pv.mu.Lock()
	changed := pv.st == nil || !sameMembership(pv.st, st)
	pv.st = st
	pv.verifyKeysLocked()
	wasRemoved := pv.removed
	nowRemoved := st.created && !st.member(s.self)
	if nowRemoved {
		pv.removed = true
	}
	pv.notifyLocked()
	pv.mu.Unlock()
	pv.reloadMu.Unlock()
	if changed {
		s.publish(Event{Type: EventMembers, Room: r.name})
	}
	if nowRemoved {
		if !wasRemoved {
			s.rooms.markRemoved(r)
		}
		return nil
	}
	pv.grantOwed()
	pv.maybeRotate()
	return nil
}

// verifyKeysLocked moves keys whose epoch is now known (and matches) to
// keys, and retries the sealed messages that waited for them.
func (pv *private) verifyKeysLocked() {
	for id, k := range pv.unverified {
		e, ok := pv.st.epoch(id)
		if !ok {
			continue
		}
		delete(pv.unverified, id)
		if string(keyCheck(k)) != string(e.check) {
			pv.r.s.log.Warn("dropped a room key that does not match its epoch", "room", pv.r.name)
			continue
		}
		pv.keys[id] = k
		if waiting := pv.pending[id]; len(waiting) > 0 {
			delete(pv.pending, id)
			pv.npending -= len(waiting)
			r := pv.r
			r.wg.Add(1)
			go func() {
				defer r.wg.Done()
				pv.takePending(waiting)
			}()
		}
	}
}

func (pv *private) notifyLocked() {
	close(pv.changed)
	pv.changed = make(chan struct{})
}

// proven tells whoever waits for this node's ops to be proven (joinerOps)
// that proofs were recorded.
func (pv *private) proven() {
	pv.mu.Lock()
	pv.notifyLocked()
	pv.mu.Unlock()
}

// addKeys records epoch secrets (persisted first).
func (pv *private) addKeys(keys ...RoomKey) error {
	if len(keys) == 0 {
		return nil
	}
	if err := pv.r.s.cfg.Store.PutRoomKeys(pv.id, keys...); err != nil {
		return fmt.Errorf("store room keys: %w", err)
	}
	pv.mu.Lock()
	for _, k := range keys {
		if _, ok := pv.keys[k.Epoch]; !ok {
			pv.unverified[k.Epoch] = k.Secret
		}
	}
	pv.verifyKeysLocked()
	pv.notifyLocked()
	pv.mu.Unlock()
	return nil
}

// state returns the current state (read only).
func (pv *private) state() *roomState {
	pv.mu.Lock()
	defer pv.mu.Unlock()
	return pv.st
}

// isMember says whether p is a member now, by the ops this node holds.
func (pv *private) isMember(p PeerID) bool {
	pv.mu.Lock()
	defer pv.mu.Unlock()
	return pv.st.members[p] != nil
}

func (pv *private) isRemoved() bool {
	pv.mu.Lock()
	defer pv.mu.Unlock()
	return pv.removed
}

// sendKey waits until this node may seal messages: the latest epoch began
// after the latest remove or leave, and its secret is here.
func (pv *private) sendKey(ctx context.Context) (MessageID, crypto.Key, error) {
	for {
		pv.mu.Lock()
		st, changed, removed := pv.st, pv.changed, pv.removed
		e, ok := st.current()
		var key crypto.Key
		have := false
		if ok && compareCursor(st.lastRemovalBefore(Cursor{HLC: ^HLC(0)}), e.at) <= 0 {
			key, have = pv.keys[e.id]
		}
		pv.mu.Unlock()
		if removed {
			return MessageID{}, key, ErrNotMember
		}
		if have {
			return e.id, key, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return MessageID{}, key, ctx.Err()
		}
	}
}

// seal seals m for the topic: an op with the op key, anything else with
// this node's sender key of the current epoch (waiting for one).
func (pv *private) seal(ctx context.Context, m *Message) error {
	if m.Kind == KindOp {
		sealed, err := sealMessage(m, pv.opKey, MessageID{})
		m.Sealed = sealed
		return err
	}
	epoch, key, err := pv.sendKey(ctx)
	if err != nil {
		return err
	}
	sealed, err := sealMessage(m, key, epoch)
	m.Sealed = sealed
	return err
}

// errNoKey says a sealed message waits for its epoch's key.
var errNoKey = errors.New("no key for the message's epoch yet")

// open opens a sealed message by author and judges it against the ops:
// ErrBadEnvelope for what every holder of the key judges alike, errNoKey
// when the key is missing, another error for what depends on this node.
func (pv *private) open(author PeerID, data []byte) (*Message, MessageID, error) {
	sl, epoch, err := decodeSealed(data)
	if err != nil {
		return nil, epoch, err
	}
	pv.mu.Lock()
	st := pv.st
	key, ok := pv.opKey, true
	if !epoch.IsZero() {
		key, ok = pv.keys[epoch]
	}
	pv.mu.Unlock()
	if !ok {
		return nil, epoch, errNoKey
	}
	m, err := openSealed(sl, epoch, key, author)
	if err != nil {
		return nil, epoch, err
	}
	r := pv.r
	if m.Room != r.name {
		return nil, epoch, fmt.Errorf("%w: from room %q", ErrBadEnvelope, m.Room)
	}
	if m.Kind == KindOp {
		// Ops are kept from whoever is or was a member (and the create);
		// the ops decide what they do.
		if len(st.spans[author]) == 0 && (m.op.Type != wire.RoomOp_TYPE_CREATE || RoomID(m.ID[:16]) != pv.id) {
			return nil, epoch, fmt.Errorf("an op by %s, never a member", author.Short())
		}
	} else {
		e, ok := st.epoch(epoch)
		if !ok {
			return nil, epoch, errNoKey
		}
		if err := st.sealedOK(author, e, CursorOf(m)); err != nil {
			return nil, epoch, err
		}
	}
	m.Sealed = slices.Clone(data)
	return m, epoch, nil
}

// hold keeps a sealed message until its epoch's key arrives.
func (pv *private) hold(epoch MessageID, p pendingSealed) {
	pv.mu.Lock()
	defer pv.mu.Unlock()
	if _, ok := pv.keys[epoch]; ok {
		// The key came meanwhile.
		r := pv.r
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			pv.takePending([]pendingSealed{p})
		}()
		return
	}
	if pv.npending >= maxPending {
		return // sync brings it again later
	}
	pv.pending[epoch] = append(pv.pending[epoch], p)
	pv.npending++
}

// takePending opens and stores messages whose key has arrived.
func (pv *private) takePending(ps []pendingSealed) {
	r := pv.r
	s := r.s
	ms := make([]*Message, 0, len(ps))
	for _, p := range ps {
		m, _, err := pv.open(p.author, p.data)
		if err != nil {
			s.log.Debug("dropped a sealed message", "room", r.name, "err", err)
			continue
		}
		m.Proof = p.proof
		m.Status = StatusReceived
		m.ReceivedAt = s.cfg.Now()
		ms = append(ms, m)
	}
	if _, err := s.storeArrived(ms); err != nil {
		s.log.Warn("could not store room messages", "room", r.name, "err", err)
	}
}

// grantOwed sends the epoch secrets this node owes: to every member of an
// epoch it started, that epoch's secret; with history "all", to a member
// it added, every secret it holds. Each grant goes once (a flag remembers
// it) through the direct-message outbox.
func (pv *private) grantOwed() {
	s := pv.r.s
	pv.mu.Lock()
	st := pv.st
	keys := make(map[MessageID]crypto.Key, len(pv.keys))
	for id, k := range pv.keys {
		keys[id] = k
	}
	pv.mu.Unlock()
	addedBy := map[PeerID]bool{}
	if st.history == HistoryAll {
		ops, err := s.cfg.Store.Ops(pv.r.conv)
		if err == nil {
			for _, m := range ops {
				if m.op.Type == wire.RoomOp_TYPE_ADD && m.Author == s.self {
					addedBy[PeerID(m.op.Target)] = true
				}
			}
		}
	}
	for _, p := range st.memberList() {
		if p == s.self {
			continue
		}
		from := st.members[p].since
		for _, e := range st.epochs {
			k, ok := keys[e.id]
			if !ok {
				continue
			}
			mine := e.starter == s.self && compareCursor(e.at, from) >= 0
			if !mine && !addedBy[p] {
				continue
			}
			flag := "grant/" + e.id.String() + "/" + p.String()
			if done, err := s.cfg.Store.Flag(flag); err != nil || done {
				continue
			}
			if err := s.sendGrant(p, pv.id, e.id, k); err != nil {
				s.log.Warn("could not queue a room key", "room", pv.r.name, "peer", p, "err", err)
				continue
			}
			if err := s.cfg.Store.SetFlag(flag); err != nil {
				s.log.Warn("could not remember a room key sent", "room", pv.r.name, "err", err)
			}
		}
	}
}

// rotateDelay spreads the rotations several admins would start after one
// leave (the first one to land does; others see it and stand down).
const rotateDelay = 2 * time.Second

// maybeRotate starts a new epoch, after a short random delay, when this
// node is an admin and the current epoch began before the latest leave or
// is older than KeyRotation.
func (pv *private) maybeRotate() {
	s := pv.r.s
	if !pv.needsRotation() {
		return
	}
	pv.mu.Lock()
	if pv.rotating {
		pv.mu.Unlock()
		return
	}
	pv.rotating = true
	pv.mu.Unlock()
	r := pv.r
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		defer func() {
			pv.mu.Lock()
			pv.rotating = false
			pv.mu.Unlock()
		}()
		t := time.NewTimer(time.Duration(rand.Int64N(int64(rotateDelay))))
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.ctx.Done():
			return
		}
		if !pv.needsRotation() {
			return
		}
		if _, err := pv.postOp(r.ctx, &wire.RoomOp{Type: wire.RoomOp_TYPE_ROTATE}, nil); err != nil {
			s.log.Warn("could not rotate room keys", "room", r.name, "err", err)
		}
	}()
}

func (pv *private) needsRotation() bool {
	s := pv.r.s
	pv.mu.Lock()
	defer pv.mu.Unlock()
	st := pv.st
	e, ok := st.current()
	if !ok || pv.removed || !st.admin(s.self) {
		return false
	}
	if compareCursor(st.lastRemovalBefore(Cursor{HLC: ^HLC(0)}), e.at) > 0 {
		return true
	}
	return s.cfg.Now().Sub(e.at.HLC.Time()) > KeyRotation
}

// postOp posts an op; an op that starts an epoch gets a fresh secret,
// kept before the op is stored. done (if set) is called once published.
func (pv *private) postOp(ctx context.Context, op *wire.RoomOp, done func(*Message, error)) (*Message, error) {
	var secret crypto.Key
	if startsEpoch(op.Type) {
		var err error
		if secret, err = newRoomSecret(); err != nil {
			return nil, err
		}
		op.KeyCheck = keyCheck(secret)
	}
	m, err := pv.r.postMessage(ctx, &Message{Kind: KindOp, op: op}, done)
	if err != nil {
		return nil, err
	}
	if startsEpoch(op.Type) {
		if err := pv.addKeys(RoomKey{Epoch: m.ID, Secret: secret}); err != nil {
			return nil, err
		}
	}
	return m, pv.reload()
}

// sendGrant queues an epoch secret for p in the direct-message outbox.
func (s *Service) sendGrant(p PeerID, room RoomID, epoch MessageID, secret crypto.Key) error {
	m := &Message{
		Conversation: keyConversation(p),
		Author:       s.self,
		To:           p,
		HLC:          s.clock.Now(),
		Kind:         KindKey,
		grant:        &wire.KeyGrant{RoomId: room[:], Epoch: epoch[:], Secret: secret[:]},
		Status:       StatusQueued,
		ReceivedAt:   s.cfg.Now(),
	}
	if err := encodeEnvelope(m); err != nil {
		return err
	}
	if err := s.cfg.Store.Enqueue(m); err != nil {
		return err
	}
	s.dms.link(p).enqueue(m)
	return nil
}

// keyConversation files the key grants sent to p, apart from the direct
// conversation with p (they are never shown).
func keyConversation(p PeerID) Conversation { return Conversation("key:" + p.String()) }

// takeGrant stores a key grant from a peer; it reports why not.
func (s *Service) takeGrant(from PeerID, g *wire.KeyGrant) error {
	id := RoomID(g.RoomId)
	pv := s.rooms.private(id)
	if pv == nil {
		if !s.rooms.isJoining(id) {
			return errors.New("not in that room")
		}
		// A grant for a room being joined: kept for when it opens.
		return s.cfg.Store.PutRoomKeys(id, RoomKey{Epoch: MessageID(g.Epoch), Secret: crypto.Key(g.Secret)})
	}
	if st := pv.state(); st.created && !st.memberAt(from, Cursor{HLC: ^HLC(0)}) && len(st.spans[from]) == 0 {
		return errors.New("the sender was never a member")
	}
	return pv.addKeys(RoomKey{Epoch: MessageID(g.Epoch), Secret: crypto.Key(g.Secret)})
}
