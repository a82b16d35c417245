package node

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/p2p/protocol/ping"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/parley-chat/parley/chat"
)

// maxKnownAddrs caps the addresses remembered per peer.
const maxKnownAddrs = 16

func (n *Node) eventLoop(sub event.Subscription) {
	defer sub.Close()
	for {
		select {
		case <-n.ctx().Done():
			return
		case e, ok := <-sub.Out():
			if !ok {
				return
			}
			switch ev := e.(type) {
			case event.EvtPeerIdentificationCompleted:
				if slices.Contains(ev.Protocols, protocol.ID(chat.DMProtocol)) {
					n.peerUp(ev.Peer, ev.ListenAddrs)
				}
			case event.EvtPeerProtocolsUpdated:
				if slices.Contains(ev.Added, protocol.ID(chat.DMProtocol)) {
					n.peerUp(ev.Peer, nil)
				}
			case event.EvtPeerConnectednessChanged:
				if ev.Connectedness != network.Connected {
					n.peerDown(ev.Peer)
				}
			case event.EvtLocalAddressesUpdated:
				n.mu.Lock()
				m := n.mdns
				n.mu.Unlock()
				if m != nil {
					m.addressesChanged()
				}
			}
		}
	}
}

func (n *Node) knownLocked(p peer.ID) *knownPeer {
	k, ok := n.known[p]
	if !ok {
		k = &knownPeer{wake: make(chan struct{}, 1)}
		n.known[p] = k
	}
	return k
}

func mergeAddrs(old, fresh []ma.Multiaddr) []ma.Multiaddr {
	out := slices.Clone(fresh)
	for _, a := range old {
		if !slices.ContainsFunc(out, a.Equal) {
			out = append(out, a)
		}
	}
	if len(out) > maxKnownAddrs {
		out = out[:maxKnownAddrs]
	}
	return out
}

func addrStrings(addrs []ma.Multiaddr) []string {
	out := make([]string, len(addrs))
	for i, a := range addrs {
		out[i] = a.String()
	}
	return out
}

// addKnownAddrs remembers where p is and makes sure it is being redialled
// while it is down.
func (n *Node) addKnownAddrs(p peer.ID, addrs []ma.Multiaddr) {
	if p == n.self {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	k := n.knownLocked(p)
	k.addrs = mergeAddrs(k.addrs, addrs)
	if k.up {
		return
	}
	if !k.redialing {
		k.redialing = true
		n.spawn(func() { n.redial(p) })
		return
	}
	select {
	case k.wake <- struct{}{}:
	default:
	}
}

func (n *Node) peerUp(p peer.ID, addrs []ma.Multiaddr) {
	if n.h.Network().Connectedness(p) != network.Connected {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	k := n.knownLocked(p)
	if len(addrs) > 0 {
		k.addrs = mergeAddrs(k.addrs, addrs)
	}
	if k.up || n.life.Stopping() {
		return
	}
	k.up = true
	k.lastErr, k.lastErrAt = "", time.Time{}
	ctx, cancel := context.WithCancel(n.ctx())
	k.pinger = cancel
	n.h.ConnManager().Protect(p, "parley")
	n.emitLocked(chat.PeerEvent{Peer: chat.PeerID(p), Up: true, Addrs: addrStrings(k.addrs)})
	n.spawn(func() { n.watch(ctx, p) })
	n.log.Debug("peer up", "peer", p)
}

func (n *Node) peerDown(p peer.ID) {
	n.mu.Lock()
	defer n.mu.Unlock()
	k, ok := n.known[p]
	if !ok || !k.up {
		return
	}
	k.up = false
	k.pinger()
	if k.lastErr == "" {
		k.lastErr, k.lastErrAt = "connection lost", time.Now()
	}
	n.h.ConnManager().Unprotect(p, "parley")
	n.emitLocked(chat.PeerEvent{Peer: chat.PeerID(p)})
	n.log.Debug("peer down", "peer", p)
	if !k.redialing {
		k.redialing = true
		n.spawn(func() { n.redial(p) })
	}
}

// redial reconnects a known peer until it is up again.
func (n *Node) redial(p peer.ID) {
	started := time.Now()
	for attempt := 0; ; attempt++ {
		n.mu.Lock()
		k := n.known[p]
		if k.up || n.life.Stopping() {
			k.redialing = false
			n.mu.Unlock()
			return
		}
		addrs := slices.Clone(k.addrs)
		wake := k.wake
		n.mu.Unlock()

		if attempt == 0 && n.self > p {
			// Tie-break: give the smaller ID the first dial.
			if !n.wait(n.cfg.TieBreakDelay, nil) {
				return
			}
		}
		if len(addrs) > 0 && n.h.Network().Connectedness(p) != network.Connected {
			ctx, cancel := context.WithTimeout(n.ctx(), n.cfg.DialTimeout)
			err := n.h.Connect(network.WithForceDirectDial(ctx, "parley redial"), peer.AddrInfo{ID: p, Addrs: addrs})
			cancel()
			if err != nil {
				n.log.Debug("redial failed", "peer", p, "err", err)
				n.recordError(p, err, false)
			}
		}
		delay := n.cfg.RedialFast
		if time.Since(started) > n.cfg.RedialFastFor {
			delay = n.cfg.RedialSlow
		}
		if !n.wait(jitter(delay), wake) {
			return
		}
	}
}

// jitter spreads d over ±20%, so that two peers redialling each other do
// not keep dialling at the same instant (with TCP port reuse, two dials at
// once can meet as one simultaneous open that neither handshake survives).
func jitter(d time.Duration) time.Duration {
	return d*4/5 + mrand.N(d*2/5+1)
}

// wait sleeps for d, or until wake fires; it reports false if the node closed.
func (n *Node) wait(d time.Duration, wake <-chan struct{}) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-wake:
	case <-n.ctx().Done():
		return false
	}
	return true
}

// watch pings p while it is up; PingMisses misses in a row close its
// connections so it is reported down and redialled.
func (n *Node) watch(ctx context.Context, p peer.ID) {
	t := time.NewTicker(n.cfg.PingInterval)
	defer t.Stop()
	misses := 0
	for {
		if misses == 0 {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
		err := n.pingOnce(ctx, p)
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			misses = 0
			continue
		}
		misses++
		n.log.Debug("ping missed", "peer", p, "misses", misses, "err", err)
		if misses >= n.cfg.PingMisses {
			n.log.Info("peer stopped answering; closing its connections", "peer", p)
			// Recorded before the connections close, so "connection lost"
			// does not take its place.
			n.recordError(p, fmt.Errorf("stopped answering pings (%d missed in a row): %w", misses, err), true)
			_ = n.h.Network().ClosePeer(p)
			n.peerDown(p)
			return
		}
	}
}

func (n *Node) pingOnce(ctx context.Context, p peer.ID) error {
	ctx, cancel := context.WithTimeout(ctx, n.cfg.PingTimeout)
	defer cancel()
	s, err := n.h.NewStream(network.WithNoDial(ctx, "ping"), p, ping.ID)
	if err != nil {
		return err
	}
	defer s.Close()
	_ = s.SetDeadline(time.Now().Add(n.cfg.PingTimeout))
	var out, in [ping.PingSize]byte
	_, _ = rand.Read(out[:])
	if _, err := s.Write(out[:]); err != nil {
		_ = s.Reset()
		return err
	}
	if _, err := io.ReadFull(s, in[:]); err != nil {
		_ = s.Reset()
		return err
	}
	if !bytes.Equal(out[:], in[:]) {
		return errors.New("ping answer does not match")
	}
	return nil
}

// dedupConns keeps one direction of connections to p: those dialled by the
// smaller peer ID. Both ends decide the same way, so they close the same
// connections.
func (n *Node) dedupConns(p peer.ID) {
	conns := n.h.Network().ConnsToPeer(p)
	if len(conns) < 2 {
		return
	}
	keepOutbound := n.self < p
	var keep, drop []network.Conn
	for _, c := range conns {
		if (c.Stat().Direction == network.DirOutbound) == keepOutbound {
			keep = append(keep, c)
		} else {
			drop = append(drop, c)
		}
	}
	if len(keep) == 0 {
		return
	}
	for _, c := range drop {
		n.log.Debug("closing duplicate connection", "peer", p, "conn", c.ID())
		_ = c.Close()
	}
}

// peerSub is one SubscribePeers subscriber: an unbounded queue drained by
// a goroutine, so emitting never blocks the node and never drops an event.
type peerSub struct {
	mu     sync.Mutex
	queue  []chat.PeerEvent
	signal chan struct{}
	out    chan chat.PeerEvent
	done   chan struct{}
	once   sync.Once
}

func (s *peerSub) push(ev chat.PeerEvent) {
	s.mu.Lock()
	s.queue = append(s.queue, ev)
	s.mu.Unlock()
	select {
	case s.signal <- struct{}{}:
	default:
	}
}

func (s *peerSub) close() { s.once.Do(func() { close(s.done) }) }

func (s *peerSub) forward() {
	defer close(s.out)
	for {
		s.mu.Lock()
		q := s.queue
		s.queue = nil
		s.mu.Unlock()
		for _, ev := range q {
			select {
			case s.out <- ev:
			case <-s.done:
				return
			}
		}
		select {
		case <-s.signal:
		case <-s.done:
			return
		}
	}
}

func (n *Node) emitLocked(ev chat.PeerEvent) {
	for s := range n.subs {
		s.push(ev)
	}
}

// SubscribePeers implements chat.Transport.
func (n *Node) SubscribePeers() (<-chan chat.PeerEvent, func()) {
	s := &peerSub{signal: make(chan struct{}, 1), out: make(chan chat.PeerEvent), done: make(chan struct{})}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.life.Stopping() {
		close(s.out)
		return s.out, func() {}
	}
	for p, k := range n.known {
		if k.up {
			s.push(chat.PeerEvent{Peer: chat.PeerID(p), Up: true, Addrs: addrStrings(k.addrs)})
		}
	}
	if !n.life.Go(s.forward) {
		close(s.out)
		return s.out, func() {}
	}
	n.subs[s] = struct{}{}
	return s.out, func() {
		n.mu.Lock()
		delete(n.subs, s)
		n.mu.Unlock()
		s.close()
	}
}

// maxErrorLen caps a remembered error, so one peer with many addresses
// cannot make the peers list huge.
const maxErrorLen = 400

// recordError remembers why p could not be reached; unless whileUp, not
// for a peer that is up (another connection won meanwhile).
func (n *Node) recordError(p peer.ID, err error, whileUp bool) {
	if p == n.self || err == nil {
		return
	}
	msg := oneLineError(err)
	n.mu.Lock()
	defer n.mu.Unlock()
	k := n.knownLocked(p)
	if k.up && !whileUp {
		return
	}
	k.lastErr, k.lastErrAt = msg, time.Now()
}

// oneLineError flattens libp2p's multi-line dial errors ("all dials
// failed\n  * [addr] reason") into one line.
func oneLineError(err error) string {
	fields := strings.FieldsFunc(err.Error(), func(r rune) bool { return r == '\n' || r == '\r' })
	for i, f := range fields {
		fields[i] = strings.TrimPrefix(strings.TrimSpace(f), "* ")
	}
	msg := strings.Join(fields, "; ")
	// "failed to dial: failed to dial <peer ID>: all dials failed; [addr]
	// reason": the reasons per address are what says something.
	if _, rest, ok := strings.Cut(msg, "all dials failed; "); ok {
		msg = rest
	}
	if len(msg) > maxErrorLen {
		cut := maxErrorLen
		for cut > 0 && !utf8.RuneStart(msg[cut]) {
			cut--
		}
		msg = msg[:cut] + "…"
	}
	return msg
}

// LastError implements chat.Network.
func (n *Node) LastError(p chat.PeerID) (string, time.Time) {
	n.mu.Lock()
	defer n.mu.Unlock()
	k, ok := n.known[peer.ID(p)]
	if !ok || k.up {
		return "", time.Time{}
	}
	return k.lastErr, k.lastErrAt
}
