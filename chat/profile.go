package chat

import (
	"context"
	"errors"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/parley-chat/parley/internal/wire"
)

const profileTimeout = 10 * time.Second

// maxProfileFrame caps a profile frame; profiles are tiny.
const maxProfileFrame = 1024

// exchangeProfile opens /parley/profile/1.0.0 to p: each side writes its
// profile, then reads the other's.
func (b *peerBook) exchangeProfile(p PeerID) {
	s := b.s
	ctx, cancel := context.WithTimeout(s.ctx(), profileTimeout)
	defer cancel()
	st, err := s.cfg.Transport.OpenStream(ctx, p, ProfileProtocol)
	if err != nil {
		s.log.Debug("profile exchange failed", "peer", p, "err", err)
		return
	}
	if err := b.swapProfiles(p, st); err != nil {
		s.log.Debug("profile exchange failed", "peer", p, "err", err)
		_ = st.Reset()
		return
	}
	_ = st.Close()
}

// handleProfile serves an inbound profile stream.
func (b *peerBook) handleProfile(p PeerID, st Stream) {
	b.s.serveInbound(st, "profile exchange", p, func() error { return b.swapProfiles(p, st) })
}

func (b *peerBook) swapProfiles(p PeerID, st Stream) error {
	deadline := time.Now().Add(profileTimeout)
	_ = st.SetWriteDeadline(deadline)
	_ = st.SetReadDeadline(deadline)
	sent := b.s.cfg.Now()
	mine, err := proto.Marshal(&wire.Profile{Nick: b.s.Nick(), Agent: b.s.cfg.Agent, SentAtMs: sent.UnixMilli()})
	if err != nil {
		return err
	}
	if err := writeFrame(st, mine); err != nil {
		return err
	}
	f, err := newFrameReader(st, maxProfileFrame).Next()
	if err != nil {
		return err
	}
	received := b.s.cfg.Now()
	nick, skew, measured, err := decodeProfile(f, sent, received)
	if err != nil {
		return err
	}
	// The skew first: whoever sees the nickname sees the skew too.
	if measured {
		b.setClockSkew(p, skew, received)
	}
	b.setPeerNick(p, nick)
	return nil
}

// decodeProfile reads a peer's profile frame: its cleaned nickname and,
// when it sent its clock, how far that is off ours (our profile went out
// at sent, theirs came in at received).
func decodeProfile(f []byte, sent, received time.Time) (nick string, skew time.Duration, measured bool, err error) {
	var theirs wire.Profile
	if err := proto.Unmarshal(f, &theirs); err != nil {
		return "", 0, false, errors.New("bad profile frame")
	}
	if theirs.SentAtMs > 0 {
		skew, measured = clockSkew(time.UnixMilli(theirs.SentAtMs), sent, received), true
	}
	return cleanNick(theirs.Nick), skew, measured, nil
}

// clockSkew estimates how far a peer's clock is ahead of ours from its
// profile's time: both sides write their profile as the exchange starts,
// so the peer's clock read theirs about midway between our write and our
// read (the error is at most that round trip, milliseconds on a LAN;
// doctor warns at minutes).
func clockSkew(theirs, sent, received time.Time) time.Duration {
	mid := sent.Add(received.Sub(sent) / 2)
	return theirs.Sub(mid).Round(time.Millisecond)
}

// setClockSkew records a peer's measured clock skew (runtime only).
func (b *peerBook) setClockSkew(id PeerID, skew time.Duration, at time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if p, ok := b.peers[id]; ok {
		p.ClockSkew, p.SkewMeasured = skew, at
	}
}
