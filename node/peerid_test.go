package node_test

import (
	"crypto/rand"
	"testing"

	lcrypto "github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/parley-chat/parley/crypto"
)

// TestPeerIDMatchesLibp2p checks that crypto's libp2p-free peer IDs are
// libp2p's, byte for byte and in text.
func TestPeerIDMatchesLibp2p(t *testing.T) {
	for range 50 {
		id, err := crypto.NewIdentity(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		key, err := lcrypto.UnmarshalEd25519PrivateKey(id.PrivateKey())
		if err != nil {
			t.Fatal(err)
		}
		want, err := peer.IDFromPrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		got := id.PeerID()
		if string(got) != string(want) {
			t.Fatalf("bytes: got %x, want %x", got, want)
		}
		if got.String() != want.String() {
			t.Fatalf("text: got %s, want %s", got, want)
		}
		back, err := crypto.ParsePeerID(want.String())
		if err != nil || back != got {
			t.Fatalf("ParsePeerID(%s): got %x, %v", want, back, err)
		}
	}
}
