package chat

import (
	"bufio"
	"context"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/parley-chat/parley/crypto"
	"github.com/parley-chat/parley/internal/wire"
)

// CreatePrivateRoom creates private room name with this node as its
// first admin, and joins it.
func (s *Service) CreatePrivateRoom(ctx context.Context, name string) error {
	if err := ValidateRoomName(name); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	rs := s.rooms
	if _, err := rs.pubsub(); err != nil {
		return err
	}
	rs.joinMu.Lock()
	defer rs.joinMu.Unlock()
	if rs.get(name) != nil {
		return fmt.Errorf("%w: a room named #%s is already joined here", ErrInvalid, name)
	}
	secret, err := newRoomSecret()
	if err != nil {
		return err
	}
	epochSecret, err := newRoomSecret()
	if err != nil {
		return err
	}
	create := &Message{
		Conversation: RoomConversation(name),
		Author:       s.self,
		Room:         name,
		HLC:          s.clock.Now(),
		Kind:         KindOp,
		op: &wire.RoomOp{
			Type: wire.RoomOp_TYPE_CREATE, KeyCheck: keyCheck(epochSecret), Nonce: random16(),
			History: HistoryJoin, Invite: InviteAdmins,
		},
		Status:     StatusQueued,
		ReceivedAt: s.cfg.Now(),
	}
	if err := encodeEnvelope(create); err != nil {
		return err
	}
	info := Room{Name: name, JoinedAt: s.cfg.Now(), Private: &PrivateRoom{ID: RoomID(create.ID[:16]), Secret: secret}}
	// The create op is stored unpublished: the room publishes it as it
	// opens.
	if err := s.cfg.Store.PutRoomKeys(info.Private.ID, RoomKey{Epoch: create.ID, Secret: epochSecret}); err != nil {
		return err
	}
	if err := s.cfg.Store.EnqueueRoom(create); err != nil {
		return fmt.Errorf("store room: %w", err)
	}
	r, err := rs.open(info)
	if err != nil {
		return err
	}
	if err := s.cfg.Store.PutRoom(info); err != nil {
		r.close()
		return fmt.Errorf("remember room: %w", err)
	}
	rs.put(r)
	s.publish(Event{Type: EventRoom, Room: name, Joined: true})
	return nil
}

// privateRoom returns joined private room name, for a member.
func (s *Service) privateRoom(name string) (*private, error) {
	r, err := s.joined(name)
	if err != nil {
		return nil, err
	}
	if r.priv == nil {
		return nil, fmt.Errorf("%w: #%s is public", ErrInvalid, name)
	}
	if r.priv.isRemoved() {
		return nil, fmt.Errorf("%w of #%s any more", ErrNotMember, name)
	}
	return r.priv, nil
}

// CreateInvite makes an invite into private room name that uses people may
// use until expires from now, and returns its link.
func (s *Service) CreateInvite(ctx context.Context, name string, uses int, expires time.Duration) (string, *Invite, error) {
	if uses < 1 || uses > 10000 {
		return "", nil, fmt.Errorf("%w: uses %d: want 1 to 10000", ErrInvalid, uses)
	}
	if expires <= 0 {
		return "", nil, fmt.Errorf("%w: an invite must expire after a positive time", ErrInvalid)
	}
	pv, err := s.privateRoom(name)
	if err != nil {
		return "", nil, err
	}
	if !pv.state().mayInvite(s.self) {
		return "", nil, fmt.Errorf("%w: only an admin may invite into #%s", ErrNotAllowed, name)
	}
	secret, err := newRoomSecret()
	if err != nil {
		return "", nil, err
	}
	inv := &Invite{
		RoomID: pv.id, ID: [16]byte(random16()), Secret: secret, Inviter: s.self,
		Expires: s.cfg.Now().Add(expires).Truncate(time.Millisecond), RoomName: name,
	}
	if n := s.cfg.Network; n != nil {
		inv.Addrs = n.Addrs()
		if len(inv.Addrs) > maxInviteAddrs {
			inv.Addrs = inv.Addrs[:maxInviteAddrs]
		}
	}
	link, err := signInvite(inv, s.cfg.Identity)
	if err != nil {
		return "", nil, err
	}
	op := &wire.RoomOp{Type: wire.RoomOp_TYPE_INVITE, InviteId: inv.ID[:], InviteHash: inviteHash(secret), Uses: uint32(uses), ExpiresMs: inv.Expires.UnixMilli()}
	if _, err := pv.postOp(ctx, op, nil); err != nil {
		return "", nil, err
	}
	return link, inv, nil
}

// RevokeInvite revokes an invite, named by its link or its ID (hex), and
// returns its room.
func (s *Service) RevokeInvite(ctx context.Context, ref string) (string, error) {
	var id [16]byte
	if inv, err := ParseInvite(ref); err == nil {
		id = inv.ID
	} else if b, herr := parseHex16(ref); herr == nil {
		id = b
	} else {
		return "", fmt.Errorf("%w: %q is neither an invite link nor an invite ID", ErrInvalid, ref)
	}
	for _, r := range s.rooms.all() {
		if r.priv == nil || r.priv.isRemoved() {
			continue
		}
		st := r.priv.state()
		inv := st.invites[id]
		if inv == nil {
			continue
		}
		if inv.by != s.self && !st.admin(s.self) {
			return r.name, fmt.Errorf("%w: only its maker or an admin may revoke an invite", ErrNotAllowed)
		}
		if inv.revoked {
			return r.name, nil
		}
		_, err := r.priv.postOp(ctx, &wire.RoomOp{Type: wire.RoomOp_TYPE_REVOKE, InviteId: id[:]}, nil)
		return r.name, err
	}
	return "", fmt.Errorf("%w: no invite %x in a room of this node", ErrNotFound, id[:])
}

func parseHex16(s string) ([16]byte, error) {
	var out [16]byte
	b, err := hex.DecodeString(strings.TrimSpace(s))
	if err != nil || len(b) != len(out) {
		return out, errors.New("not 32 hex digits")
	}
	copy(out[:], b)
	return out, nil
}

// RemoveMember removes peer from private room name (admins only). The
// others move to a new epoch whose key peer never gets.
func (s *Service) RemoveMember(ctx context.Context, name string, peer PeerID) error {
	return s.memberOp(ctx, name, peer, wire.RoomOp_TYPE_REMOVE, "remove members")
}

// PromoteMember makes peer an admin of private room name (admins only).
func (s *Service) PromoteMember(ctx context.Context, name string, peer PeerID) error {
	return s.memberOp(ctx, name, peer, wire.RoomOp_TYPE_PROMOTE, "promote members")
}

func (s *Service) memberOp(ctx context.Context, name string, peer PeerID, t wire.RoomOp_Type, what string) error {
	pv, err := s.privateRoom(name)
	if err != nil {
		return err
	}
	st := pv.state()
	switch {
	case !st.admin(s.self):
		return fmt.Errorf("%w: only an admin of #%s may %s", ErrNotAllowed, name, what)
	case peer == s.self && t == wire.RoomOp_TYPE_REMOVE:
		return fmt.Errorf("%w: to leave #%s, leave it", ErrInvalid, name)
	case !st.member(peer):
		return fmt.Errorf("%w: %s is not a member of #%s", ErrInvalid, peer, name)
	}
	_, err = pv.postOp(ctx, &wire.RoomOp{Type: t, Target: peerIDBytes(peer)}, nil)
	return err
}

// SetPrivateSettings changes who reads earlier history ("join" or "all")
// and who may invite ("admins" or "members") in private room name (admins
// only); an empty value leaves a setting as it is.
func (s *Service) SetPrivateSettings(ctx context.Context, name, history, invite string) error {
	op := &wire.RoomOp{Type: wire.RoomOp_TYPE_SETTINGS, History: history, Invite: invite}
	if err := checkOp(op); err != nil {
		return fmt.Errorf("%w: history is %q or %q, invite %q or %q", ErrInvalid, HistoryJoin, HistoryAll, InviteAdmins, InviteMembers)
	}
	pv, err := s.privateRoom(name)
	if err != nil {
		return err
	}
	if !pv.state().admin(s.self) {
		return fmt.Errorf("%w: only an admin of #%s may change its settings", ErrNotAllowed, name)
	}
	_, err = pv.postOp(ctx, op, nil)
	return err
}

// PrivateSettings returns a private room's history and invite settings.
func (s *Service) PrivateSettings(name string) (history, invite string, err error) {
	r, err := s.joined(name)
	if err != nil {
		return "", "", err
	}
	if r.priv == nil {
		return "", "", fmt.Errorf("%w: #%s is public", ErrInvalid, name)
	}
	st := r.priv.state()
	return st.history, st.invite, nil
}

// ---- joining by invite ----

// JoinInvite joins the private room an invite link leads to, through the
// inviter or any other member this node reaches. It returns the room's
// name and whether it was joined now (false: already a member).
func (s *Service) JoinInvite(ctx context.Context, link string) (string, bool, error) {
	inv, err := ParseInvite(link)
	if err != nil {
		return "", false, err
	}
	if !s.cfg.Now().Before(inv.Expires) {
		return "", false, fmt.Errorf("%w on %s", ErrInviteExpired, inv.Expires.UTC().Format(time.RFC3339))
	}
	rs := s.rooms
	if pv := rs.private(inv.RoomID); pv != nil && !pv.isRemoved() {
		return pv.r.name, false, nil
	}
	if r := rs.get(inv.RoomName); r != nil && (r.priv == nil || r.priv.id != inv.RoomID) {
		return "", false, fmt.Errorf("%w: a room named #%s is already joined here; leave it first", ErrInvalid, inv.RoomName)
	}
	if _, err := rs.pubsub(); err != nil {
		return "", false, err
	}
	defer rs.startJoining(inv.RoomID)()
	ctx, cancel := context.WithTimeout(ctx, inviteRequestTimeout)
	defer cancel()
	if n := s.cfg.Network; n != nil && inv.Inviter != s.self {
		for _, a := range inv.Addrs {
			if _, err := n.Connect(ctx, a); err == nil {
				break
			}
		}
	}
	candidates := []PeerID{inv.Inviter}
	for _, p := range s.Peers() {
		if p.Connected && p.ID != inv.Inviter {
			candidates = append(candidates, p.ID)
		}
	}
	lastErr := ErrInviteUnknown
	for _, p := range candidates {
		if p == s.self {
			continue
		}
		resp, err := s.askInvite(ctx, p, inv)
		if err != nil {
			lastErr = fmt.Errorf("could not reach %s: %w", p.Short(), err)
			continue
		}
		switch resp.Error {
		case wire.InviteResponse_ERROR_UNSPECIFIED:
		case wire.InviteResponse_ERROR_UNKNOWN, wire.InviteResponse_ERROR_BUSY:
			lastErr = inviteError(resp.Error)
			continue
		default:
			return "", false, inviteError(resp.Error)
		}
		if err := s.admitted(inv, resp); err != nil {
			return "", false, err
		}
		return inv.RoomName, true, nil
	}
	return "", false, lastErr
}

// askInvite shows inv to member p and reads the answer.
func (s *Service) askInvite(ctx context.Context, p PeerID, inv *Invite) (*wire.InviteResponse, error) {
	st, err := s.cfg.Transport.OpenStream(ctx, p, InviteProtocol)
	if err != nil {
		return nil, err
	}
	defer func() { _ = st.Close() }()
	stop := context.AfterFunc(ctx, func() { _ = st.Reset() })
	defer stop()
	req, err := proto.Marshal(&wire.InviteRequest{RoomId: inv.RoomID[:], InviteId: inv.ID[:], Secret: inv.Secret[:]})
	if err != nil {
		return nil, err
	}
	if err := writeFrame(st, req); err != nil {
		return nil, err
	}
	b, err := newFrameReader(st, maxInviteFrame).Next()
	if err != nil {
		return nil, err
	}
	var resp wire.InviteResponse
	if err := proto.Unmarshal(b, &resp); err != nil {
		return nil, fmt.Errorf("bad answer: %w", err)
	}
	return &resp, nil
}

// admitted checks a member's answer and joins: every op proven by its
// author on the room's topic and sealed with the room's op key, and the
// ops making this node a member.
func (s *Service) admitted(inv *Invite, resp *wire.InviteResponse) error {
	if len(resp.RoomSecret) != crypto.KeySize || resp.Name != inv.RoomName {
		return errors.New("the member's answer is malformed")
	}
	secret := crypto.Key(resp.RoomSecret)
	topic := PrivateTopic(secret)
	ok := opKey(secret)
	ops := make([]*Message, 0, len(resp.Ops))
	for _, rm := range resp.Ops {
		author, err := crypto.PeerIDFromBytes(rm.Author)
		if err != nil {
			return fmt.Errorf("the member's answer has a bad op: %w", err)
		}
		proof := Proof{Seqno: rm.Seqno, Signature: rm.Signature}
		if err := s.cfg.PubSub.VerifyProof(topic, author, rm.Envelope, proof); err != nil {
			return fmt.Errorf("the member's answer has an op without a valid proof: %w", err)
		}
		sl, epoch, err := decodeSealed(rm.Envelope)
		if err != nil || !epoch.IsZero() {
			return errors.New("the member's answer has a bad op")
		}
		m, err := openSealed(sl, epoch, ok, author)
		if err != nil || m.Kind != KindOp || m.Room != inv.RoomName {
			return errors.New("the member's answer has a bad op")
		}
		m.Sealed, m.Proof = rm.Envelope, proof
		m.Status, m.ReceivedAt = StatusReceived, s.cfg.Now()
		ops = append(ops, m)
	}
	st := deriveState(inv.RoomID, ops)
	if !st.created || !st.member(s.self) {
		return errors.New("the member's answer does not make this node a member")
	}
	var keys []RoomKey
	for _, g := range resp.Keys {
		if checkGrant(g) == nil && RoomID(g.RoomId) == inv.RoomID {
			keys = append(keys, RoomKey{Epoch: MessageID(g.Epoch), Secret: crypto.Key(g.Secret)})
		}
	}
	if err := s.cfg.Store.PutRoomKeys(inv.RoomID, keys...); err != nil {
		return err
	}
	if _, err := s.storeArrived(ops); err != nil {
		return err
	}
	rs := s.rooms
	rs.joinMu.Lock()
	defer rs.joinMu.Unlock()
	if r := rs.get(inv.RoomName); r != nil {
		if r.priv == nil || r.priv.id != inv.RoomID {
			return fmt.Errorf("%w: a room named #%s is already joined here", ErrInvalid, inv.RoomName)
		}
		// Rejoining after a removal: the old, stopped room makes way.
		rs.mu.Lock()
		delete(rs.rooms, inv.RoomName)
		rs.mu.Unlock()
		r.close()
	}
	info := Room{Name: inv.RoomName, JoinedAt: s.cfg.Now(), Private: &PrivateRoom{ID: inv.RoomID, Secret: secret}}
	r, err := rs.open(info)
	if err != nil {
		return err
	}
	if err := s.cfg.Store.PutRoom(info); err != nil {
		r.close()
		return fmt.Errorf("remember room: %w", err)
	}
	rs.put(r)
	s.publish(Event{Type: EventRoom, Room: inv.RoomName, Joined: true})
	return nil
}

// handleInvite serves InviteProtocol: a joiner shows an invite.
func (s *Service) handleInvite(p PeerID, st Stream) {
	s.serveInbound(st, "invite", p, func() error {
		_ = st.SetReadDeadline(time.Now().Add(inviteRequestTimeout))
		_ = st.SetWriteDeadline(time.Now().Add(inviteRequestTimeout))
		b, err := newFrameReader(st, 4<<10).Next()
		if err != nil {
			return err
		}
		var req wire.InviteRequest
		if err := proto.Unmarshal(b, &req); err != nil {
			return fmt.Errorf("bad invite request: %w", err)
		}
		resp := s.admit(p, &req)
		out, err := proto.Marshal(resp)
		if err != nil {
			return err
		}
		bw := bufio.NewWriter(st)
		if err := writeFrame(bw, out); err != nil {
			return err
		}
		return bw.Flush()
	})
}

// admit judges an invite shown by p and, if it holds, adds p to the room
// and answers with what p needs to join.
func (s *Service) admit(p PeerID, req *wire.InviteRequest) *wire.InviteResponse {
	fail := func(e wire.InviteResponse_Error) *wire.InviteResponse { return &wire.InviteResponse{Error: e} }
	if len(req.RoomId) != len(RoomID{}) || len(req.InviteId) != 16 || len(req.Secret) != crypto.KeySize {
		return fail(wire.InviteResponse_ERROR_FORGED)
	}
	pv := s.rooms.private(RoomID(req.RoomId))
	if pv == nil || pv.isRemoved() {
		return fail(wire.InviteResponse_ERROR_UNKNOWN)
	}
	pv.admitMu.Lock()
	defer pv.admitMu.Unlock()
	st := pv.state()
	inv := st.invites[[16]byte(req.InviteId)]
	switch {
	case inv == nil:
		return fail(wire.InviteResponse_ERROR_UNKNOWN)
	case subtle.ConstantTimeCompare(inviteHash(crypto.Key(req.Secret)), inv.hash) != 1:
		return fail(wire.InviteResponse_ERROR_FORGED)
	case inv.revoked:
		return fail(wire.InviteResponse_ERROR_REVOKED)
	case !s.cfg.Now().Before(inv.expires):
		return fail(wire.InviteResponse_ERROR_EXPIRED)
	case !st.member(p) && inv.used >= inv.uses:
		return fail(wire.InviteResponse_ERROR_USED_UP)
	case !st.member(s.self):
		return fail(wire.InviteResponse_ERROR_UNKNOWN)
	}
	t := time.NewTimer(inviteRequestTimeout / 2)
	defer t.Stop()
	var add *Message
	if !st.member(p) {
		published := make(chan *Message, 1)
		op := &wire.RoomOp{Type: wire.RoomOp_TYPE_ADD, Target: peerIDBytes(p), InviteId: req.InviteId}
		if _, err := pv.postOp(s.ctx(), op, func(m *Message, err error) {
			if err != nil {
				m = nil
			}
			published <- m
		}); err != nil {
			s.log.Warn("could not add a member", "room", pv.r.name, "err", err)
			return fail(wire.InviteResponse_ERROR_BUSY)
		}
		select {
		case add = <-published:
		case <-t.C:
		case <-s.ctx().Done():
		}
		if add == nil {
			return fail(wire.InviteResponse_ERROR_BUSY)
		}
	}
	ops, err := pv.joinerOps(t.C, add)
	if err != nil {
		return fail(wire.InviteResponse_ERROR_BUSY)
	}
	resp := &wire.InviteResponse{Name: pv.r.name, RoomSecret: pv.secret[:]}
	for _, m := range ops {
		if len(m.Proof.Signature) > 0 && m.Sealed != nil {
			resp.Ops = append(resp.Ops, roomMessageOf(m))
		}
	}
	st = pv.state()
	from := st.readsFrom(p)
	pv.mu.Lock()
	for _, e := range st.epochs {
		if k, ok := pv.keys[e.id]; ok && e.at.HLC >= from {
			resp.Keys = append(resp.Keys, &wire.KeyGrant{RoomId: pv.id[:], Epoch: e.id[:], Secret: slices.Clone(k[:])})
		}
	}
	pv.mu.Unlock()
	return resp
}

// joinerOps returns the room's ops for a joiner, add (this node's add of
// the joiner, published, if set) among them. An op is only of use to the
// joiner with its author's proof, and this node's own ops get theirs
// recorded a moment after they are published: an invite made just before
// would be left out, and without it the joiner cannot tell it was added.
// So it waits, until timeout fires, for this node's ops to be proven.
func (pv *private) joinerOps(timeout <-chan time.Time, add *Message) ([]*Message, error) {
	s := pv.r.s
	for {
		pv.mu.Lock()
		changed := pv.changed
		pv.mu.Unlock()
		ops, err := s.cfg.Store.Ops(pv.r.conv)
		if err != nil {
			return nil, err
		}
		unproven := false
		for i, m := range ops {
			switch {
			case add != nil && m.ID == add.ID:
				ops[i] = add // its proof may not be recorded yet
			case m.Author == s.self && (len(m.Proof.Signature) == 0 || m.Sealed == nil):
				unproven = true
			}
		}
		if add != nil && !slices.ContainsFunc(ops, func(m *Message) bool { return m.ID == add.ID }) {
			ops = append(ops, add)
		}
		if !unproven {
			return ops, nil
		}
		select {
		case <-changed:
		case <-timeout:
			return ops, nil
		case <-s.ctx().Done():
			return ops, nil
		}
	}
}
