package crypto

import (
	"crypto/ed25519"
	"crypto/rand"
	"regexp"
	"strings"
	"testing"
)

func TestSafetyNumberSameOnBothSides(t *testing.T) {
	a, b, c := newTestID(t), newTestID(t), newTestID(t)
	ab, err := SafetyNumber(a, b)
	if err != nil {
		t.Fatal(err)
	}
	ba, err := SafetyNumber(b, a)
	if err != nil {
		t.Fatal(err)
	}
	if ab != ba {
		t.Errorf("SafetyNumber(a, b) = %s, SafetyNumber(b, a) = %s; want the same", ab, ba)
	}
	if !regexp.MustCompile(`^[0-9]{60}$`).MatchString(ab) {
		t.Errorf("safety number %q: want 60 digits", ab)
	}
	ac, err := SafetyNumber(a, c)
	if err != nil {
		t.Fatal(err)
	}
	if ac == ab {
		t.Error("a's safety numbers with b and with c are equal")
	}
	// One side's half is the same with every partner: the other half
	// changes.
	if !strings.Contains(ac, mustHalf(t, a)) || !strings.Contains(ab, mustHalf(t, a)) {
		t.Error("a's half is not in both of its safety numbers")
	}
}

func TestSafetyNumberNeedsInlineKey(t *testing.T) {
	a := newTestID(t)
	sha := PeerID(append([]byte{mhSHA256, 32}, make([]byte, 32)...))
	if _, err := SafetyNumber(a, sha); err == nil {
		t.Error("SafetyNumber with a hashed peer ID: got nil error")
	}
}

// TestSafetyNumberStable pins the construction: a change to it would make
// people's earlier comparisons meaningless.
func TestSafetyNumberStable(t *testing.T) {
	seed := make([]byte, ed25519.SeedSize)
	a := IdentityFromKey(ed25519.NewKeyFromSeed(seed)).PeerID()
	seed[0] = 1
	b := IdentityFromKey(ed25519.NewKeyFromSeed(seed)).PeerID()
	got, err := SafetyNumber(a, b)
	if err != nil {
		t.Fatal(err)
	}
	const want = "019538573606565638243754601811932407554961775118760386883383"
	if got != want {
		t.Errorf("safety number of the fixed pair: got %s, want %s", got, want)
	}
}

func TestFormatSafetyNumber(t *testing.T) {
	if got, want := FormatSafetyNumber("123456789012"), "12345 67890 12"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	n := strings.Repeat("0123456789", 6)
	if got := FormatSafetyNumber(n); len(strings.Fields(got)) != 12 {
		t.Errorf("60 digits: got %q, want 12 groups", got)
	}
}

func mustHalf(t *testing.T, id PeerID) string {
	t.Helper()
	h, err := safetyHalf(id)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func newTestID(t *testing.T) PeerID {
	t.Helper()
	id, err := NewIdentity(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return id.PeerID()
}
