package chat

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/parley-chat/parley/crypto"
	"github.com/parley-chat/parley/internal/wire"
)

// validate is the topic validator: every message from another node
// passes here once, before it is delivered or relayed. Deterministic
// faults are Rejected; what depends on this node's state is Ignored.
func (r *room) validate(from PeerID, data []byte) (Verdict, *Message) {
	if len(data) > MaxRoomMessage {
		return Reject, nil
	}
	if r.priv != nil {
		return r.validatePrivate(from, data)
	}
	m, err := DecodeEnvelope(data)
	if err != nil || m.Room != r.name || m.Author != from {
		return Reject, nil
	}
	return r.judge(from, m)
}

// validatePrivate is validate for a private room's sealed messages. What
// does not open or decode with the right key is Rejected; what this node
// cannot open yet (its epoch's key has not arrived) is Accepted and held
// until the key comes, so the mesh relays it; what the ops forbid (an
// author who is not a member, a key from before a removal) is Ignored,
// since another member may know ops this node does not.
func (r *room) validatePrivate(from PeerID, data []byte) (Verdict, *Message) {
	if from == r.s.self {
		return Accept, &Message{Author: from, Envelope: data} // ours, relayed back
	}
	m, epoch, err := r.priv.open(from, data)
	switch {
	case errors.Is(err, errNoKey):
		if !r.allow(from) {
			r.s.cfg.PubSub.Penalize(from)
			return Ignore, nil
		}
		// Held by the read loop, with the proof pubsub adds.
		return Accept, &Message{Author: from, Sealed: slices.Clone(data), heldFor: epoch}
	case errors.Is(err, ErrBadEnvelope):
		return Reject, nil
	case err != nil:
		r.s.log.Debug("ignored a sealed message", "room", r.name, "peer", from, "err", err)
		return Ignore, nil
	case m.Kind != KindOp && !r.priv.isMember(from):
		// What a node publishes live once it is no longer a member is
		// refused whatever time it claims: a removed member cannot slip
		// in a message dated before its removal. A message that was in
		// flight at the removal still arrives by sync from a member that
		// took it in time (sync judges by place).
		r.s.log.Debug("ignored a sealed message from a former member", "room", r.name, "peer", from)
		return Ignore, nil
	}
	return r.judge(from, m)
}

// judge decides on a decoded message from another node by what depends on
// this node: its clock, the sender's rate, what it holds.
func (r *room) judge(from PeerID, m *Message) (Verdict, *Message) {
	s := r.s
	if from == s.self {
		return Accept, m // ours, relayed back
	}
	if s.clock.TooFarAhead(m.HLC, s.cfg.MaxClockSkew) {
		return Ignore, nil // our clock may be the wrong one
	}
	if !r.allow(from) {
		s.cfg.PubSub.Penalize(from)
		return Ignore, nil
	}
	if m.Kind.Stored() {
		if has, err := s.cfg.Store.Has(m.ID); err == nil && has {
			return Ignore, nil // a replay of what we hold: do not relay it again
		}
	}
	return Accept, m
}

// bucket is a token bucket: rate per second, up to burst.
type bucket struct {
	tokens float64
	at     time.Time
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

// checkSynced validates a room message that arrived by sync exactly as a
// live one: the same envelope checks as the topic validator, and the
// author's proof, which the pubsub layer checked for the live copy.
func (s *Service) checkSynced(r *room, rm *wire.RoomMessage) (*Message, error) {
	if len(rm.Envelope) > MaxRoomMessage {
		return nil, fmt.Errorf("%w: too large", ErrBadEnvelope)
	}
	if r.priv != nil {
		return s.checkSyncedPrivate(r, rm)
	}
	room := r.name
	m, err := DecodeEnvelope(rm.Envelope)
	if err != nil {
		return nil, err
	}
	switch {
	case m.Room != room:
		return nil, fmt.Errorf("%w: from room %q", ErrBadEnvelope, m.Room)
	case !m.Kind.Stored():
		return nil, fmt.Errorf("%w: %v messages are not kept", ErrBadEnvelope, m.Kind)
	case s.clock.TooFarAhead(m.HLC, s.cfg.MaxClockSkew):
		return nil, fmt.Errorf("timestamp %s too far ahead", m.SentAt().Format(time.RFC3339))
	}
	m.Proof = Proof{Seqno: rm.Seqno, Signature: rm.Signature}
	if err := s.cfg.PubSub.VerifyProof(RoomTopic(room), m.Author, m.Envelope, m.Proof); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadEnvelope, err)
	}
	m.Envelope = slices.Clone(m.Envelope)
	m.Proof = Proof{Seqno: slices.Clone(rm.Seqno), Signature: slices.Clone(rm.Signature)}
	m.Status = StatusReceived
	m.ReceivedAt = s.cfg.Now()
	return m, nil
}

// checkSyncedPrivate is checkSynced for a private room: the proof covers
// the sealed bytes, which open to the envelope. A message whose key has
// not arrived is held for it (errNoKey).
func (s *Service) checkSyncedPrivate(r *room, rm *wire.RoomMessage) (*Message, error) {
	author, err := crypto.PeerIDFromBytes(rm.Author)
	if err != nil {
		return nil, fmt.Errorf("%w: author: %v", ErrBadEnvelope, err)
	}
	proof := Proof{Seqno: slices.Clone(rm.Seqno), Signature: slices.Clone(rm.Signature)}
	if err := s.cfg.PubSub.VerifyProof(r.priv.topic, author, rm.Envelope, proof); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadEnvelope, err)
	}
	m, epoch, err := r.priv.open(author, rm.Envelope)
	if errors.Is(err, errNoKey) {
		r.priv.hold(epoch, pendingSealed{author: author, data: slices.Clone(rm.Envelope), proof: proof})
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	switch {
	case !m.Kind.Stored():
		return nil, fmt.Errorf("%w: %v messages are not kept", ErrBadEnvelope, m.Kind)
	case s.clock.TooFarAhead(m.HLC, s.cfg.MaxClockSkew):
		return nil, fmt.Errorf("timestamp %s too far ahead", m.SentAt().Format(time.RFC3339))
	}
	m.Envelope = slices.Clone(m.Envelope)
	m.Proof = proof
	m.Status = StatusReceived
	m.ReceivedAt = s.cfg.Now()
	return m, nil
}
