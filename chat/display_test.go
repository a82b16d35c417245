package chat

import (
	"crypto/rand"
	"strings"
	"testing"

	"github.com/parley-chat/parley/crypto"
)

func newPeerID(t *testing.T) PeerID {
	t.Helper()
	id, err := crypto.NewIdentity(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return id.PeerID()
}

// TestDisplayNames checks the one naming rule: nicknames alone while
// unique, "nick (SHORTID)" while shared (ignoring case, this node's own
// included), the short ID without a nickname, and ✓ after verified peers.
func TestDisplayNames(t *testing.T) {
	self := newPeerID(t)
	ids := map[string]PeerID{}
	for _, k := range []string{"bob", "Bob", "carol", "dave", "quiet", "twin", "alice", "sigma1", "sigma2"} {
		ids[k] = newPeerID(t)
	}
	peers := map[PeerID]*Peer{
		ids["bob"]:    {ID: ids["bob"], Nick: "bob"},
		ids["Bob"]:    {ID: ids["Bob"], Nick: "BOB", Verified: true},
		ids["carol"]:  {ID: ids["carol"], Nick: "carol", Verified: true},
		ids["dave"]:   {ID: ids["dave"], Nick: "dave"},
		ids["quiet"]:  {ID: ids["quiet"], Verified: true},
		ids["alice"]:  {ID: ids["alice"], Nick: "Alice"}, // this node's nickname, taken
		ids["sigma1"]: {ID: ids["sigma1"], Nick: "Σοφία"},
		ids["sigma2"]: {ID: ids["sigma2"], Nick: "σοφία"},
	}
	got := displayNames(self, "alice", peers)
	short := func(k string) string { return ids[k].Short() }
	want := map[PeerID]string{
		self:          "alice (" + self.Short() + ")",
		ids["bob"]:    "bob (" + short("bob") + ")",
		ids["Bob"]:    "BOB (" + short("Bob") + ") ✓",
		ids["carol"]:  "carol ✓",
		ids["dave"]:   "dave",
		ids["quiet"]:  short("quiet") + " ✓",
		ids["alice"]:  "Alice (" + short("alice") + ")",
		ids["sigma1"]: "Σοφία (" + short("sigma1") + ")",
		ids["sigma2"]: "σοφία (" + short("sigma2") + ")",
	}
	if len(got) != len(want) {
		t.Errorf("got %d names, want %d: %q", len(got), len(want), got)
	}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("display of %s: got %q, want %q", id.Short(), got[id], w)
		}
	}

	// Alone, a nickname is shown as it is; this node without a nickname
	// is its short ID.
	got = displayNames(self, "", map[PeerID]*Peer{ids["dave"]: {ID: ids["dave"], Nick: "dave"}})
	if got[ids["dave"]] != "dave" || got[self] != self.Short() {
		t.Errorf("got %q, want dave and %s", got, self.Short())
	}
}

// TestFoldNick checks that foldNick holds equal exactly what
// strings.EqualFold does.
func TestFoldNick(t *testing.T) {
	nicks := []string{"bob", "BOB", "Bob", "b0b", "Σοφία", "σοφία", "ΣΟΦΊΑ", "straße", "STRASSE", "ǅemal", "ǆemal", "Kelvin", "\u212aelvin", "ı", "I", "i", "İ", "ſam", "sam"}
	for _, a := range nicks {
		for _, b := range nicks {
			if got, want := foldNick(a) == foldNick(b), strings.EqualFold(a, b); got != want {
				t.Errorf("foldNick(%q) == foldNick(%q): got %v, want %v (EqualFold)", a, b, got, want)
			}
		}
	}
}
