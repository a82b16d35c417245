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
	mine, err := proto.Marshal(&wire.Profile{Nick: b.s.Nick(), Agent: b.s.cfg.Agent})
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
	var theirs wire.Profile
	if err := proto.Unmarshal(f, &theirs); err != nil {
		return errors.New("bad profile frame")
	}
	b.setPeerNick(p, cleanNick(theirs.Nick))
	return nil
}
