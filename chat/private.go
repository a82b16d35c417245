package chat

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/parley-chat/parley/crypto"
	"github.com/parley-chat/parley/internal/wire"
)

// A private room is kept to its members (docs/PROTOCOL.md, "Private
// rooms"). Its topic is derived from a random room secret, so a node that
// does not hold the secret learns neither the room's name nor anything
// readable from the topic; every message on it is sealed (Sealed): ops
// with the op key, every other message with its author's sender key of an
// epoch. An epoch begins with each op that changes who may read (create,
// add, remove, rotate); its secret is random, made by that op's author,
// bound to the op by the op's key_check, and handed to every member of the
// epoch as a key grant (a direct message, kept in the outbox until
// delivered). A member's sender key of an epoch is derived from the
// epoch's secret and the member's peer ID.

// PrivateTopicPrefix starts the GossipSub topic of every private room.
const PrivateTopicPrefix = "/parley/private/1/"

// RoomID names a private room: the first 16 bytes of its create op's ID.
type RoomID [16]byte

func (id RoomID) String() string { return hex.EncodeToString(id[:]) }

// IsZero reports whether id is absent.
func (id RoomID) IsZero() bool { return id == RoomID{} }

// Key derivation purposes. Each gives an independent key of a secret.
const (
	purposeTopic     = "parley private room topic v1"
	purposeOps       = "parley private room ops v1"
	purposeKeyCheck  = "parley epoch key check v1"
	purposeSenderKey = "parley sender key v1 "
)

// PrivateTopic is the topic of the private room with secret.
func PrivateTopic(secret crypto.Key) string {
	return PrivateTopicPrefix + hex.EncodeToString(crypto.Derive(secret, purposeTopic, 16))
}

// opKey seals a private room's ops.
func opKey(secret crypto.Key) crypto.Key { return crypto.DeriveKey(secret, purposeOps) }

// keyCheck binds an epoch's secret to the op that starts it.
func keyCheck(epochSecret crypto.Key) []byte { return crypto.Derive(epochSecret, purposeKeyCheck, 16) }

// senderKey is author's key of an epoch.
func senderKey(epochSecret crypto.Key, author PeerID) crypto.Key {
	return crypto.DeriveKey(epochSecret, purposeSenderKey+string(author))
}

// Role is a member's role in a private room.
type Role string

// Roles. Public rooms have members only.
const (
	RoleAdmin  Role = "admin"
	RoleMember Role = "member"
)

// History settings: who reads a private room's earlier history.
const (
	HistoryJoin = "join" // newcomers read from their join on
	HistoryAll  = "all"  // newcomers get every earlier epoch's key
)

// Invite settings: who may invite into a private room.
const (
	InviteAdmins  = "admins"
	InviteMembers = "members"
)

// PrivateRoom is what makes a joined room private.
type PrivateRoom struct {
	ID      RoomID
	Secret  crypto.Key
	Removed bool // this node is no longer a member (removed, or it left)
}

// RoomKey is one epoch secret of a private room as the store keeps it.
type RoomKey struct {
	Epoch  MessageID // the op that started the epoch
	Secret crypto.Key
}

// sealMessage seals m's envelope for a private room: with the op key for
// an op (epoch zero), else with m's author's sender key of epoch.
func sealMessage(m *Message, key crypto.Key, epoch MessageID) ([]byte, error) {
	var ad []byte
	if !epoch.IsZero() {
		ad = epoch[:]
		key = senderKey(key, m.Author)
	}
	box, err := crypto.Seal(key, m.Envelope, ad, rand.Reader)
	if err != nil {
		return nil, err
	}
	return proto.MarshalOptions{Deterministic: true}.Marshal(&wire.Sealed{Epoch: ad, Box: box})
}

// decodeSealed reads a Sealed wrapper (not yet opened).
func decodeSealed(data []byte) (*wire.Sealed, MessageID, error) {
	var sl wire.Sealed
	var epoch MessageID
	if err := proto.Unmarshal(data, &sl); err != nil {
		return nil, epoch, fmt.Errorf("%w: sealed: %v", ErrBadEnvelope, err)
	}
	switch len(sl.Epoch) {
	case 0:
	case len(epoch):
		copy(epoch[:], sl.Epoch)
	default:
		return nil, epoch, fmt.Errorf("%w: sealed: epoch of %d bytes", ErrBadEnvelope, len(sl.Epoch))
	}
	return &sl, epoch, nil
}

// openSealed opens a Sealed wrapper by author with key (the op key for an
// op, else the epoch's secret) and decodes the envelope inside.
func openSealed(sl *wire.Sealed, epoch MessageID, key crypto.Key, author PeerID) (*Message, error) {
	var ad []byte
	if !epoch.IsZero() {
		ad = epoch[:]
		key = senderKey(key, author)
	}
	env, err := crypto.Open(key, sl.Box, ad)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadEnvelope, err)
	}
	m, err := DecodeEnvelope(env)
	if err != nil {
		return nil, err
	}
	if m.Author != author {
		return nil, fmt.Errorf("%w: sealed by another author", ErrBadEnvelope)
	}
	if (m.Kind == KindOp) != epoch.IsZero() {
		return nil, fmt.Errorf("%w: an op is sealed with the op key, and only an op", ErrBadEnvelope)
	}
	return m, nil
}

// newRoomSecret makes a fresh random key.
func newRoomSecret() (crypto.Key, error) { return crypto.NewKey(rand.Reader) }

// random16 returns 16 random bytes.
func random16() []byte {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return b
}

// peerIDBytes is the binary form of p.
func peerIDBytes(p PeerID) []byte { return []byte(p) }
