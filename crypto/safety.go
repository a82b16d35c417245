package crypto

import (
	"crypto/sha512"
	"encoding/binary"
	"fmt"
	"strings"
)

// Safety numbers let two people check, by reading digits aloud or
// scanning a code, that each holds the other's real identity key. The
// construction follows Signal's: for each side, SHA-512 iterated over its
// public key and peer ID gives 30 digits; the safety number is both
// sides' digits, the smaller first, so it is the same on both sides.

const (
	safetyVersion    = 0
	safetyIterations = 5200
	safetyDigits     = 30 // per side
)

// SafetyNumber returns the 60-digit safety number of two peers, identical
// whichever side computes it. Both peer IDs must inline their Ed25519
// keys (as Parley's do).
func SafetyNumber(a, b PeerID) (string, error) {
	da, err := safetyHalf(a)
	if err != nil {
		return "", err
	}
	db, err := safetyHalf(b)
	if err != nil {
		return "", err
	}
	if db < da {
		da, db = db, da
	}
	return da + db, nil
}

// safetyHalf is one side's 30 digits.
func safetyHalf(id PeerID) (string, error) {
	pub, ok := id.PublicKey()
	if !ok {
		return "", fmt.Errorf("%w: peer ID %s has no inline Ed25519 key", ErrBadPeerID, id)
	}
	var buf []byte
	buf = binary.BigEndian.AppendUint16(buf, safetyVersion)
	buf = append(buf, pub...)
	buf = append(buf, id...)
	h := sha512.Sum512(buf)
	for range safetyIterations - 1 {
		h = sha512.Sum512(append(h[:], pub...))
	}
	var b strings.Builder
	for i := range safetyDigits / 5 {
		chunk := h[i*5 : i*5+5]
		v := uint64(chunk[0])<<32 | uint64(chunk[1])<<24 | uint64(chunk[2])<<16 | uint64(chunk[3])<<8 | uint64(chunk[4])
		fmt.Fprintf(&b, "%05d", v%100000)
	}
	return b.String(), nil
}

// FormatSafetyNumber groups a safety number's digits in fives, for
// reading aloud: "12345 67890 ...".
func FormatSafetyNumber(n string) string {
	var groups []string
	for len(n) > 5 {
		groups = append(groups, n[:5])
		n = n[5:]
	}
	return strings.Join(append(groups, n), " ")
}
