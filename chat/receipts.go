package chat

import (
	"context"
	"slices"
	"time"
)

// Read receipts: a member's read position (how far it has read a
// conversation) travels to the conversation, so others can show "seen by
// N" on room messages and "read" on direct messages.
//
// In a room a receipt is a KindRead message on the room's topic (sealed in
// a private room), ephemeral like typing: never stored as a message, never
// synced. Each member keeps the newest position of every other member
// (Store.SetReceipt) and announces its own again when a member comes onto
// the topic, so one who was away catches up. In a direct conversation a
// receipt is a KindRead message through the outbox (so it arrives however
// long the peer is away), filed apart from the conversation as key grants
// are, and applied, not stored, by the recipient.

// receiptWait is how long sending a room receipt waits for a place in the
// room's queue.
const receiptWait = time.Second

// sendReceipt tells conv's members that this node has read up to upTo,
// unless receipts are off. It never fails the read: a receipt that cannot
// be sent now is announced again later (rooms) or kept in the outbox
// (direct messages).
func (s *Service) sendReceipt(conv Conversation, upTo Cursor) {
	if s.cfg.NoReadReceipts || upTo == (Cursor{}) {
		return
	}
	m := &Message{Kind: KindRead, Target: upTo.ID, TargetHLC: upTo.HLC}
	if name, ok := conv.Room(); ok {
		r, err := s.joined(name)
		if err != nil {
			return // left, or never joined: nobody to tell
		}
		if r.priv != nil && r.priv.isRemoved() {
			return
		}
		// A room's queue full of unpublished messages must not hold up
		// marking read: the receipt then waits for the next read or join.
		ctx, cancel := context.WithTimeout(s.ctx(), receiptWait)
		defer cancel()
		if _, err := r.postMessage(ctx, m, nil); err != nil {
			s.log.Debug("could not send a read receipt", "room", name, "err", err)
		}
		return
	}
	p, ok := conv.Peer()
	if !ok || p == s.self {
		return
	}
	if err := s.queueReceipt(p, m); err != nil {
		s.log.Debug("could not queue a read receipt", "peer", p, "err", err)
	}
}

// queueReceipt puts direct receipt m for p in the outbox.
func (s *Service) queueReceipt(p PeerID, m *Message) error {
	if s.life.Stopping() {
		return ErrClosed
	}
	m.Conversation = receiptConversation(p)
	m.Author, m.To, m.HLC = s.self, p, s.clock.Now()
	m.Status, m.ReceivedAt = StatusQueued, s.cfg.Now()
	if err := encodeEnvelope(m); err != nil {
		return err
	}
	if err := s.cfg.Store.Enqueue(m); err != nil {
		return err
	}
	s.dms.link(p).enqueue(m)
	return nil
}

// receiptConversation files the read receipts sent to p, apart from the
// direct conversation with p (they are never shown).
func receiptConversation(p PeerID) Conversation { return Conversation("read:" + p.String()) }

// announceReceipt sends this node's read position in a room again, for a
// member who just came onto its topic.
func (r *room) announceReceipt() {
	s := r.s
	if s.cfg.NoReadReceipts {
		return
	}
	pos, err := s.cfg.Store.Marker(r.conv)
	if err != nil || pos == (Cursor{}) {
		return
	}
	m := &Message{Kind: KindRead, Target: pos.ID, TargetHLC: pos.HLC}
	ctx, cancel := context.WithCancel(r.ctx)
	defer cancel()
	if _, err := r.postMessage(ctx, m, nil); err != nil {
		s.log.Debug("could not announce a read receipt", "room", r.name, "err", err)
	}
}

// receiptArrived records a member's read receipt m (in m.Conversation) and
// announces it when it moves the member's position.
func (s *Service) receiptArrived(m *Message) {
	if m.Author == s.self {
		return
	}
	moved, err := s.cfg.Store.SetReceipt(m.Conversation, m.Author, Cursor{HLC: m.TargetHLC, ID: m.Target})
	if err != nil {
		s.log.Warn("could not record a read receipt", "conversation", m.Conversation.Display(), "err", err)
		return
	}
	if moved {
		s.publish(Event{Type: EventReceipt, Conversation: m.Conversation, ID: m.Target,
			Peer: &Peer{ID: m.Author, Nick: s.peers.nickOf(m.Author)}})
	}
}

// decorateReceipts fills in SeenBy on the room messages of ms and
// Read on this node's direct messages the recipient has read.
func (s *Service) decorateReceipts(ms []*Message) error {
	var conv Conversation
	var pos map[PeerID]Cursor
	for _, m := range ms {
		if m.Kind != KindText || m.Deleted {
			continue
		}
		if pos == nil || m.Conversation != conv {
			conv = m.Conversation
			var err error
			if pos, err = s.cfg.Store.Receipts(conv); err != nil {
				return err
			}
			if _, room := conv.Room(); room && !s.cfg.NoReadReceipts {
				mine, err := s.cfg.Store.Marker(conv)
				if err != nil {
					return err
				}
				if mine != (Cursor{}) {
					pos[s.self] = mine
				}
			}
		}
		at := CursorOf(m)
		if m.Room != "" {
			m.SeenBy = m.SeenBy[:0]
			for p, c := range pos {
				if p != m.Author && !c.Less(at) {
					m.SeenBy = append(m.SeenBy, p)
				}
			}
			slices.Sort(m.SeenBy)
			continue
		}
		if m.Author == s.self {
			if c, ok := pos[m.To]; ok && !c.Less(at) {
				m.Read = true
			}
		}
	}
	return nil
}
