package crypto

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"testing"
)

func TestPeerIDTextRoundTrip(t *testing.T) {
	for seed := range byte(20) {
		priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, 32))
		id := IdentityFromKey(priv).PeerID()
		s := id.String()
		if len(s) < 46 || s[:2] != "12" {
			t.Errorf("ed25519 peer ID text %q: want the 12D3Koo... form", s)
		}
		back, err := ParsePeerID(s)
		if err != nil {
			t.Fatalf("ParsePeerID(%q): %v", s, err)
		}
		if back != id {
			t.Errorf("round trip: got %x, want %x", back, id)
		}
		pub, ok := back.PublicKey()
		if !ok || !pub.Equal(priv.Public()) {
			t.Errorf("PublicKey: got %x %v, want the key", pub, ok)
		}
	}
}

func TestParsePeerIDRejects(t *testing.T) {
	for _, s := range []string{"", "0OIl", "abc", "12D3KooW", "QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N!", "111111"} {
		if _, err := ParsePeerID(s); !errors.Is(err, ErrBadPeerID) {
			t.Errorf("ParsePeerID(%q): got %v, want ErrBadPeerID", s, err)
		}
	}
	// An SHA-256 peer ID (RSA keys) is accepted.
	if _, err := ParsePeerID("QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N"); err != nil {
		t.Errorf("sha256 peer ID: %v", err)
	}
}

func TestPeerIDJSON(t *testing.T) {
	id := IdentityFromKey(ed25519.NewKeyFromSeed(make([]byte, 32))).PeerID()
	b, err := json.Marshal(map[string]PeerID{"p": id})
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]PeerID
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back["p"] != id {
		t.Errorf("JSON round trip: got %s, want %s", back["p"], id)
	}
}

func FuzzParsePeerID(f *testing.F) {
	f.Add("12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN")
	f.Add("QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N")
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParsePeerID(s)
		if err != nil {
			return
		}
		if _, err := ParsePeerID(id.String()); err != nil {
			t.Errorf("re-parse of %q: %v", id.String(), err)
		}
	})
}
