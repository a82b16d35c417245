package chat

import (
	"fmt"
	"strings"
	"unicode"

	"github.com/parley-chat/parley/crypto"
)

// VerifiedMark follows the display name of a verified peer.
const VerifiedMark = "✓"

// displayNames is the one rule for naming peers to a person, which every
// client shows as it is given (the API's "display" fields):
//
//   - a peer's nickname, or its short ID (crypto.Short) if it has none;
//   - "nick (SHORTID)" when another known peer, or this node, uses the
//     same nickname (compared as strings.EqualFold does), so that nobody
//     can pass for someone else by taking their nickname;
//   - then " ✓" (VerifiedMark) for a verified peer.
//
// It names this node too (by its own nickname), never marked.
func displayNames(self PeerID, selfNick string, peers map[PeerID]*Peer) map[PeerID]string {
	users := make(map[string]int, len(peers)+1) // folded nickname -> how many use it
	if selfNick != "" {
		users[foldNick(selfNick)]++
	}
	for _, p := range peers {
		if p.Nick != "" {
			users[foldNick(p.Nick)]++
		}
	}
	name := func(id PeerID, nick string) string {
		switch {
		case nick == "":
			return id.Short()
		case users[foldNick(nick)] > 1:
			return nick + " (" + id.Short() + ")"
		}
		return nick
	}
	out := make(map[PeerID]string, len(peers)+1)
	for id, p := range peers {
		out[id] = name(id, p.Nick)
		if p.Verified {
			out[id] += " " + VerifiedMark
		}
	}
	out[self] = name(self, selfNick)
	return out
}

// foldNick maps nicknames that strings.EqualFold holds equal to one key:
// each rune becomes the smallest of its case-folding orbit.
func foldNick(s string) string {
	var b strings.Builder
	for _, r := range s {
		least := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			least = min(least, f)
		}
		b.WriteRune(least)
	}
	return b.String()
}

// displaysLocked returns every known peer's display name (and this
// node's), computing them again after a change.
func (b *peerBook) displaysLocked() map[PeerID]string {
	if b.display == nil {
		b.display = displayNames(b.s.self, b.nick, b.peers)
	}
	return b.display
}

// redisplayLocked drops the display names after a change and returns
// snapshots of the peers whose name changed with it, except skip (which
// the caller reports itself), for events.
func (b *peerBook) redisplayLocked(skip PeerID) []Peer {
	before := b.displaysLocked()
	b.display = nil
	after := b.displaysLocked()
	var changed []Peer
	for id, name := range after {
		if p, ok := b.peers[id]; ok && id != skip && before[id] != name {
			c := clonePeer(p)
			c.Display = name
			changed = append(changed, c)
		}
	}
	return changed
}

// decorate fills in what the book knows of the peer p names: its display
// name and whether it is verified.
func (b *peerBook) decorate(p *Peer) {
	b.mu.Lock()
	defer b.mu.Unlock()
	p.Display = b.displaysLocked()[p.ID]
	if p.Display == "" {
		p.Display = p.ID.Short() // an author this node has never met
	}
	if known, ok := b.peers[p.ID]; ok {
		p.Verified = known.Verified
	}
}

// DisplayName returns how to show peer p (or this node) to a person: its
// nickname, "nick (SHORTID)" when another known peer uses the same
// nickname, its short ID when it has no nickname or is not known, and
// "✓" after the name of a verified peer. Every client shows this name
// rather than making its own.
func (s *Service) DisplayName(p PeerID) string {
	b := s.peers
	b.mu.Lock()
	defer b.mu.Unlock()
	if name, ok := b.displaysLocked()[p]; ok {
		return name
	}
	return p.Short()
}

// SafetyNumber returns the safety number of this node and the known peer
// p: 60 digits, the same on both sides (crypto.SafetyNumber). Two people
// who read the same digits (crypto.FormatSafetyNumber groups them for
// that) know that each holds the other's real key.
func (s *Service) SafetyNumber(p PeerID) (string, error) {
	if err := s.checkVerifiable(p); err != nil {
		return "", err
	}
	n, err := crypto.SafetyNumber(s.self, p)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return n, nil
}

// Verify marks the known peer p verified, for good (it is saved with the
// peer): the user compared safety numbers with them. Verifying a verified
// peer changes nothing.
func (s *Service) Verify(p PeerID) error {
	if _, err := s.SafetyNumber(p); err != nil {
		return err
	}
	b := s.peers
	b.saveMu.Lock()
	defer b.saveMu.Unlock() // no other write of the peer in between
	b.mu.Lock()
	snapshot := clonePeer(b.peers[p])
	b.mu.Unlock()
	if snapshot.Verified {
		return nil
	}
	snapshot.Verified = true
	if err := s.cfg.Store.PutPeer(snapshot); err != nil {
		return fmt.Errorf("save peer %s: %w", p, err)
	}
	b.mu.Lock()
	b.peers[p].Verified = true
	b.display = nil
	b.mu.Unlock()
	s.publish(Event{Type: EventPeer, Peer: &snapshot})
	return nil
}

// checkVerifiable refuses this node itself and peers it has never seen.
func (s *Service) checkVerifiable(p PeerID) error {
	if p == s.self {
		return fmt.Errorf("%w: %s is this node's own peer ID: a safety number is between two people", ErrInvalid, p)
	}
	if _, ok := s.Peer(p); !ok {
		return fmt.Errorf("%w %s: this node has never seen it (connect to it first)", ErrUnknownPeer, p)
	}
	return nil
}
