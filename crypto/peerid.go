package crypto

import (
	"crypto/ed25519"
	"encoding/binary"
	"fmt"
)

// Multihash codes and the protobuf bytes of libp2p's PublicKey message that
// a peer ID is built from.
const (
	mhIdentity = 0x00
	mhSHA256   = 0x12
	// maxInlineKey is the largest public key libp2p inlines with the identity hash.
	maxInlineKey = 42
)

// ed25519KeyPrefix is libp2p's PublicKey{Type: Ed25519, Data: <32 bytes>}
// protobuf encoding minus the key itself.
var ed25519KeyPrefix = []byte{0x08, 0x01, 0x12, 0x20}

// PeerID names a node. Its value is the binary multihash (the same bytes as
// libp2p's peer.ID); its text form is base58btc and round-trips exactly.
// The zero value is no peer.
type PeerID string

// PeerIDFromPublicKey derives the peer ID of an Ed25519 public key.
func PeerIDFromPublicKey(pub ed25519.PublicKey) PeerID {
	key := append(append(make([]byte, 0, 36), ed25519KeyPrefix...), pub...)
	return PeerID(append([]byte{mhIdentity, byte(len(key))}, key...))
}

// ParsePeerID parses the base58btc text form of a peer ID.
func ParsePeerID(s string) (PeerID, error) {
	b, err := base58Decode(s)
	if err != nil {
		return "", fmt.Errorf("%w %q: %v", ErrBadPeerID, s, err)
	}
	id, err := PeerIDFromBytes(b)
	if err != nil {
		return "", fmt.Errorf("%w %q", ErrBadPeerID, s)
	}
	return id, nil
}

// PeerIDFromBytes checks that b is a multihash of the kinds libp2p uses for
// peer IDs (identity or SHA-256) and returns it as a PeerID.
func PeerIDFromBytes(b []byte) (PeerID, error) {
	code, n := binary.Uvarint(b)
	if n <= 0 {
		return "", ErrBadPeerID
	}
	size, m := binary.Uvarint(b[n:])
	if m <= 0 {
		return "", ErrBadPeerID
	}
	digest := len(b) - n - m
	switch {
	case code == mhIdentity && size <= maxInlineKey && int(size) == digest && size > 0:
	case code == mhSHA256 && size == 32 && digest == 32:
	default:
		return "", ErrBadPeerID
	}
	return PeerID(b), nil
}

// String returns the base58btc text form, or "" for the zero PeerID.
func (id PeerID) String() string {
	if id == "" {
		return ""
	}
	return base58Encode([]byte(id))
}

// Short returns the short form of the ID, for display (see Short).
func (id PeerID) Short() string { return Short(id.String()) }

// shortLen is how many characters of an ID's text form its short form keeps.
const shortLen = 8

// Short returns the short form of an ID's text form (a peer ID or a
// message ID), the one form every Parley client shows: its last 8
// characters.
func Short(text string) string {
	if len(text) <= shortLen {
		return text
	}
	return text[len(text)-shortLen:]
}

// PublicKey returns the Ed25519 key inlined in the ID, if there is one.
func (id PeerID) PublicKey() (ed25519.PublicKey, bool) {
	b := []byte(id)
	if len(b) != 2+len(ed25519KeyPrefix)+ed25519.PublicKeySize || b[0] != mhIdentity {
		return nil, false
	}
	for i, c := range ed25519KeyPrefix {
		if b[2+i] != c {
			return nil, false
		}
	}
	return ed25519.PublicKey(b[2+len(ed25519KeyPrefix):]), true
}

// MarshalText implements encoding.TextMarshaler.
func (id PeerID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (id *PeerID) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*id = ""
		return nil
	}
	p, err := ParsePeerID(string(b))
	if err != nil {
		return err
	}
	*id = p
	return nil
}
