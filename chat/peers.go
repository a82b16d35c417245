package chat

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/parley-chat/parley/crypto"
)

// MaxNickLen is the longest nickname, in characters.
const MaxNickLen = 32

// peerBook is what this node knows of peers: every peer seen, its
// nickname, addresses and whether it is connected, and this node's own
// nickname. It follows the transport's peer events and persists what
// changes.
type peerBook struct {
	s *Service

	saveMu sync.Mutex // held from a peer snapshot to its write, so writes land in order

	mu      sync.Mutex
	nick    string
	peers   map[PeerID]*Peer
	convs   map[PeerID]Conversation // text forms, computed once per peer
	display map[PeerID]string       // display names (display.go); nil when a change made them stale
}

func newPeerBook(s *Service) (*peerBook, error) {
	known, err := s.cfg.Store.Peers()
	if err != nil {
		return nil, fmt.Errorf("load known peers: %w", err)
	}
	b := &peerBook{s: s, nick: s.cfg.Nick, peers: make(map[PeerID]*Peer, len(known)), convs: map[PeerID]Conversation{}}
	for i := range known {
		p := known[i]
		p.Connected = false
		b.peers[p.ID] = &p
		if len(p.Addrs) > 0 {
			s.cfg.Transport.AddPeerAddrs(p.ID, p.Addrs)
		}
	}
	return b, nil
}

// follow applies the transport's peer events until the channel closes or
// the service stops.
func (b *peerBook) follow(events <-chan PeerEvent) {
	ctx := b.s.ctx()
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				return
			}
			b.onPeerEvent(ev)
		case <-ctx.Done():
			return
		}
	}
}

func (b *peerBook) onPeerEvent(ev PeerEvent) {
	s := b.s
	now := s.cfg.Now()
	b.saveMu.Lock()
	b.mu.Lock()
	p, ok := b.peers[ev.Peer]
	if !ok {
		p = &Peer{ID: ev.Peer, FirstSeen: now}
		b.peers[ev.Peer] = p
		b.display = nil
	}
	changed := p.Connected != ev.Up
	p.Connected = ev.Up
	p.LastSeen = now
	if ev.Up && len(ev.Addrs) > 0 {
		p.Addrs = slices.Clone(ev.Addrs)
	}
	snapshot := clonePeer(p)
	b.mu.Unlock()
	b.save(snapshot)
	b.saveMu.Unlock()
	if changed {
		s.publish(Event{Type: EventPeer, Peer: &snapshot})
	}
	if ev.Up {
		s.goTracked(func() { b.exchangeProfile(ev.Peer) })
		s.dms.peerUp(ev.Peer)
	}
}

func (b *peerBook) save(p Peer) {
	if err := b.s.cfg.Store.PutPeer(p); err != nil {
		b.s.log.Warn("could not save peer", "peer", p.ID, "err", err)
	}
}

// touch makes sure a peer we message is known, so it is listed and its
// nickname is learnt when it connects.
func (b *peerBook) touch(id PeerID) {
	b.saveMu.Lock()
	defer b.saveMu.Unlock()
	b.mu.Lock()
	_, ok := b.peers[id]
	if !ok {
		b.peers[id] = &Peer{ID: id, FirstSeen: b.s.cfg.Now()}
		b.display = nil
	}
	p := clonePeer(b.peers[id])
	b.mu.Unlock()
	if !ok {
		b.save(p)
	}
}

// setPeerNick records the nickname a peer announced.
func (b *peerBook) setPeerNick(id PeerID, nick string) {
	b.saveMu.Lock()
	b.mu.Lock()
	p, ok := b.peers[id]
	if !ok || p.Nick == nick {
		b.mu.Unlock()
		b.saveMu.Unlock()
		return
	}
	p.Nick = nick
	snapshot := clonePeer(p)
	renamed := b.redisplayLocked(id)
	b.mu.Unlock()
	b.save(snapshot)
	b.saveMu.Unlock()
	b.s.publish(Event{Type: EventPeer, Peer: &snapshot})
	b.publishPeers(renamed)
}

// publishPeers tells clients of peers whose display name changed.
func (b *peerBook) publishPeers(ps []Peer) {
	for i := range ps {
		b.s.publish(Event{Type: EventPeer, Peer: &ps[i]})
	}
}

// nickOf returns a peer's nickname (this node's own too), or "".
func (b *peerBook) nickOf(p PeerID) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if p == b.s.self {
		return b.nick
	}
	if peer, ok := b.peers[p]; ok {
		return peer.Nick
	}
	return ""
}

// dmConversation is DMConversation(p), computed once per peer.
func (b *peerBook) dmConversation(p PeerID) Conversation {
	b.mu.Lock()
	defer b.mu.Unlock()
	c, ok := b.convs[p]
	if !ok {
		c = DMConversation(p)
		b.convs[p] = c
	}
	return c
}

func clonePeer(p *Peer) Peer {
	c := *p
	c.Addrs = slices.Clone(p.Addrs)
	return c
}

// connectedPeers lists the peers connected now.
func (b *peerBook) connectedPeers() []PeerID {
	b.mu.Lock()
	defer b.mu.Unlock()
	var up []PeerID
	for id, p := range b.peers {
		if p.Connected {
			up = append(up, id)
		}
	}
	return up
}

// ---- the Service's peer API ----

// Nick returns this node's nickname.
func (s *Service) Nick() string {
	s.peers.mu.Lock()
	defer s.peers.mu.Unlock()
	return s.peers.nick
}

// SetNick changes this node's nickname, saves it (Config.SaveNick) and
// tells connected peers.
func (s *Service) SetNick(nick string) error {
	if err := ValidateNick(nick); err != nil {
		return err
	}
	if s.cfg.SaveNick != nil {
		if err := s.cfg.SaveNick(nick); err != nil {
			return fmt.Errorf("save nickname: %w", err)
		}
	}
	s.peers.mu.Lock()
	s.peers.nick = nick
	renamed := s.peers.redisplayLocked("")
	s.peers.mu.Unlock()
	s.peers.publishPeers(renamed)
	for _, p := range s.peers.connectedPeers() {
		s.goTracked(func() { s.peers.exchangeProfile(p) })
	}
	return nil
}

// Peers returns the known peers, connected ones first, then by nickname.
func (s *Service) Peers() []Peer {
	b := s.peers
	b.mu.Lock()
	out := make([]Peer, 0, len(b.peers))
	names := b.displaysLocked()
	for _, p := range b.peers {
		c := clonePeer(p)
		c.Display = names[p.ID]
		out = append(out, c)
	}
	b.mu.Unlock()
	if n := s.cfg.Network; n != nil {
		for i := range out {
			out[i].Connections = n.ConnCount(out[i].ID)
			if !out[i].Connected {
				out[i].LastError, out[i].LastErrorAt = n.LastError(out[i].ID)
			}
		}
	}
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
	s.peers.mu.Lock()
	p, ok := s.peers.peers[id]
	if !ok {
		s.peers.mu.Unlock()
		return Peer{}, false
	}
	c := clonePeer(p)
	c.Display = s.peers.displaysLocked()[id]
	s.peers.mu.Unlock()
	if n := s.cfg.Network; n != nil && !c.Connected {
		c.LastError, c.LastErrorAt = n.LastError(id)
	}
	return c, true
}

// ResolvePeer turns what a person typed into a peer ID: "@nick" matches a
// known peer's nickname (case-insensitively, and only if unambiguous);
// anything else must be a peer ID.
func (s *Service) ResolvePeer(ref string) (PeerID, error) {
	nick, ok := strings.CutPrefix(ref, "@")
	if !ok {
		id, err := crypto.ParsePeerID(ref)
		if err != nil {
			return "", fmt.Errorf("%w %q: want a peer ID or @nick", ErrUnknownPeer, ref)
		}
		return id, nil
	}
	if nick == "" {
		return "", fmt.Errorf("%w: want a nickname after '@'", ErrUnknownPeer)
	}
	b := s.peers
	b.mu.Lock()
	var found []string // "display = peer ID"
	var id PeerID
	names := b.displaysLocked()
	for pid, p := range b.peers {
		if strings.EqualFold(p.Nick, nick) {
			id = pid
			found = append(found, names[pid]+" = "+pid.String())
		}
	}
	b.mu.Unlock()
	switch len(found) {
	case 0:
		return "", fmt.Errorf("%w @%s: no known peer has that nickname", ErrUnknownPeer, nick)
	case 1:
		return id, nil
	}
	slices.Sort(found)
	return "", fmt.Errorf("%w @%s: %d known peers use that nickname, name one by peer ID: %s", ErrAmbiguousPeer, nick, len(found), strings.Join(found, "; "))
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
