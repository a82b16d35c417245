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
func (s *Service) exchangeProfile(p PeerID) {
	ctx, cancel := context.WithTimeout(s.ctx, profileTimeout)
	defer cancel()
	st, err := s.cfg.Transport.OpenStream(ctx, p, ProfileProtocol)
	if err != nil {
		s.log.Debug("profile exchange failed", "peer", p, "err", err)
		return
	}
	if err := s.swapProfiles(p, st); err != nil {
		s.log.Debug("profile exchange failed", "peer", p, "err", err)
		_ = st.Reset()
		return
	}
	_ = st.Close()
}

func (s *Service) handleProfile(p PeerID, st Stream) {
	if !s.trackInbound(st) {
		_ = st.Reset()
		return
	}
	defer s.untrackInbound(st)
	if err := s.swapProfiles(p, st); err != nil {
		s.log.Debug("profile exchange failed", "peer", p, "err", err)
		_ = st.Reset()
		return
	}
	_ = st.Close()
}

func (s *Service) swapProfiles(p PeerID, st Stream) error {
	deadline := time.Now().Add(profileTimeout)
	_ = st.SetWriteDeadline(deadline)
	_ = st.SetReadDeadline(deadline)
	mine, err := proto.Marshal(&wire.Profile{Nick: s.Nick(), Agent: s.cfg.Agent})
	if err != nil {
		return err
	}
	if err := writeFrame(st, mine); err != nil {
		return err
	}
	b, err := newFrameReader(st, maxProfileFrame).Next()
	if err != nil {
		return err
	}
	var theirs wire.Profile
	if err := proto.Unmarshal(b, &theirs); err != nil {
		return errors.New("bad profile frame")
	}
	s.setPeerNick(p, cleanNick(theirs.Nick))
	return nil
}
