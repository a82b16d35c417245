package chat

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/parley-chat/parley/crypto"
	"github.com/parley-chat/parley/internal/wire"
)

// InviteProtocol is the stream protocol a joiner shows an invite on.
const InviteProtocol = "/parley/invite/1.0.0"

// InviteLinkPrefix starts every invite link.
const InviteLinkPrefix = "parley://invite/"

// Invite defaults.
const (
	DefaultInviteUses    = 1
	DefaultInviteExpiry  = 7 * 24 * time.Hour
	maxInviteLink        = 4096
	maxInviteAddrs       = 16
	maxInviteFrame       = 1 << 20 // a response carries every op of the room
	inviteRequestTimeout = 30 * time.Second
)

// Errors a joiner gets for an invite that does not work.
var (
	ErrInviteUsedUp  = errors.New("invite used up")
	ErrInviteExpired = errors.New("invite expired")
	ErrInviteRevoked = errors.New("invite revoked")
	ErrInviteForged  = errors.New("invite forged or damaged")
	ErrInviteUnknown = errors.New("invite not known to any member reached")
)

// Invite is a parsed invite link.
type Invite struct {
	RoomID   RoomID
	ID       [16]byte
	Secret   crypto.Key
	Inviter  PeerID
	Addrs    []string
	Expires  time.Time
	RoomName string
}

// IDString is the invite's ID as people see it (hex).
func (inv *Invite) IDString() string { return fmt.Sprintf("%x", inv.ID[:]) }

// inviteWire is inv as its link carries it, unsigned.
func (inv *Invite) wire() *wire.Invite {
	return &wire.Invite{
		RoomId:    inv.RoomID[:],
		InviteId:  inv.ID[:],
		Secret:    inv.Secret[:],
		Inviter:   peerIDBytes(inv.Inviter),
		Addrs:     inv.Addrs,
		ExpiresMs: inv.Expires.UnixMilli(),
		Name:      inv.RoomName,
	}
}

// signInvite makes the link of inv, signed by id.
func signInvite(inv *Invite, id *crypto.Identity) (string, error) {
	w := inv.wire()
	unsigned, err := proto.MarshalOptions{Deterministic: true}.Marshal(w)
	if err != nil {
		return "", err
	}
	w.Signature = id.Sign(invitePayload(unsigned))
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(w)
	if err != nil {
		return "", err
	}
	return InviteLinkPrefix + base64.RawURLEncoding.EncodeToString(b), nil
}

// invitePayload is what an invite's signature covers.
func invitePayload(unsigned []byte) []byte {
	return append([]byte("parley invite v1:"), unsigned...)
}

// ParseInvite reads and checks an invite link: its form, and the
// inviter's signature over it (ErrInviteForged when either fails). It
// does not judge the expiry: JoinInvite does, with a clearer error.
func ParseInvite(link string) (*Invite, error) {
	link = strings.TrimSpace(link)
	if len(link) > maxInviteLink {
		return nil, fmt.Errorf("%w: the link is %d characters long", ErrInviteForged, len(link))
	}
	rest, ok := strings.CutPrefix(link, InviteLinkPrefix)
	if !ok {
		return nil, fmt.Errorf("%w: an invite link starts with %s", ErrInviteForged, InviteLinkPrefix)
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(rest)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInviteForged, err)
	}
	var w wire.Invite
	if err := proto.Unmarshal(b, &w); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInviteForged, err)
	}
	inviter, err := crypto.PeerIDFromBytes(w.Inviter)
	if err != nil {
		return nil, fmt.Errorf("%w: inviter: %v", ErrInviteForged, err)
	}
	inv := &Invite{Inviter: inviter, Addrs: w.Addrs, Expires: time.UnixMilli(w.ExpiresMs), RoomName: w.Name}
	switch {
	case len(w.RoomId) != len(inv.RoomID), len(w.InviteId) != len(inv.ID), len(w.Secret) != len(inv.Secret):
		return nil, fmt.Errorf("%w: malformed", ErrInviteForged)
	case len(w.Addrs) > maxInviteAddrs:
		return nil, fmt.Errorf("%w: %d addresses", ErrInviteForged, len(w.Addrs))
	case ValidateRoomName(w.Name) != nil:
		return nil, fmt.Errorf("%w: room name %q", ErrInviteForged, w.Name)
	}
	copy(inv.RoomID[:], w.RoomId)
	copy(inv.ID[:], w.InviteId)
	copy(inv.Secret[:], w.Secret)
	pub, ok := inviter.PublicKey()
	if !ok {
		return nil, fmt.Errorf("%w: inviter has no inline key", ErrInviteForged)
	}
	sig := w.Signature
	w.Signature = nil
	unsigned, err := proto.MarshalOptions{Deterministic: true}.Marshal(&w)
	if err != nil {
		return nil, err
	}
	if !ed25519.Verify(pub, invitePayload(unsigned), sig) {
		return nil, fmt.Errorf("%w: the inviter's signature does not match", ErrInviteForged)
	}
	// A link re-encoded differently (other field order, extra bytes) is
	// not the one signed.
	w.Signature = sig
	again, err := proto.MarshalOptions{Deterministic: true}.Marshal(&w)
	if err != nil || string(again) != string(b) {
		return nil, fmt.Errorf("%w: not in its signed form", ErrInviteForged)
	}
	return inv, nil
}

// inviteHash is what an invite op keeps of the invite's secret.
func inviteHash(secret crypto.Key) []byte {
	h := sha256.Sum256(secret[:])
	return h[:]
}

// inviteError maps a response's error to the joiner's.
func inviteError(e wire.InviteResponse_Error) error {
	switch e {
	case wire.InviteResponse_ERROR_USED_UP:
		return ErrInviteUsedUp
	case wire.InviteResponse_ERROR_EXPIRED:
		return ErrInviteExpired
	case wire.InviteResponse_ERROR_REVOKED:
		return ErrInviteRevoked
	case wire.InviteResponse_ERROR_FORGED:
		return ErrInviteForged
	case wire.InviteResponse_ERROR_UNKNOWN:
		return ErrInviteUnknown
	}
	return fmt.Errorf("the member could not admit us now (%v)", e)
}
