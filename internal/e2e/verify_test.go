package e2e

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/crypto"
	"github.com/parley-chat/parley/internal/api"
	"github.com/parley-chat/parley/internal/testnet"
)

// verifyJSON runs `parley verify PEER --json` on d and checks that it
// prints exactly one line holding exactly peer_id, safety_number and
// verified.
func verifyJSON(t *testing.T, d *testnet.Daemon, peer string) api.Safety {
	t.Helper()
	out := d.MustRun("verify", peer, "--json")
	if strings.Count(out, "\n") != 1 || !strings.HasSuffix(out, "\n") {
		t.Errorf("%s: verify --json: got %q, want one line", d.Name, out)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &raw); err != nil {
		t.Fatalf("%s: verify --json: %q: %v", d.Name, out, err)
	}
	var keys []string
	for k := range raw {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if !slices.Equal(keys, []string{"peer_id", "safety_number", "verified"}) {
		t.Errorf("%s: verify --json keys: got %v, want peer_id, safety_number, verified", d.Name, keys)
	}
	var s api.Safety
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestVerifyAndImpostor runs real daemons on 127.0.0.1 (no mDNS): alice
// and bob read the same safety number, alice marks bob verified, and
// when a second peer calls itself bob, @bob is refused, both are named
// apart, and only the real bob carries the ✓ (also after a restart).
func TestVerifyAndImpostor(t *testing.T) {
	alice, bob := testnet.NewDaemon(t, "alice"), testnet.NewDaemon(t, "bob")
	alice.Start(loopbackListen...)
	bob.Start(loopbackListen...)
	aliceID, bobID := alice.Identity(), bob.Identity()
	alice.MustRun("connect", bobID.Addrs[0])
	waitUntil(t, 15*time.Second, "alice and bob know each other's nicknames", func() bool {
		a, okA := peer(alice.Peers(), bobID.PeerID)
		b, okB := peer(bob.Peers(), aliceID.PeerID)
		return okA && okB && a.Nick == "bob" && b.Nick == "alice"
	})

	atAlice, atBob := verifyJSON(t, alice, "@bob"), verifyJSON(t, bob, "@alice")
	if atAlice.SafetyNumber != atBob.SafetyNumber {
		t.Errorf("safety numbers: alice reads %q, bob %q; want the same", atAlice.SafetyNumber, atBob.SafetyNumber)
	}
	if !regexp.MustCompile(`^[0-9]{5}( [0-9]{5}){11}$`).MatchString(atAlice.SafetyNumber) {
		t.Errorf("safety number %q: want 60 digits in groups of five", atAlice.SafetyNumber)
	}
	if atAlice.PeerID != bobID.PeerID || atBob.PeerID != aliceID.PeerID || atAlice.Verified || atBob.Verified {
		t.Errorf("verify --json: alice got %+v, bob %+v; want each other's IDs, neither verified", atAlice, atBob)
	}
	text := alice.MustRun("verify", "@bob")
	if !strings.Contains(text, atAlice.SafetyNumber) || !strings.Contains(text, "--confirm") {
		t.Errorf("verify: got %q, want the number and how to confirm it", text)
	}

	alice.MustRun("verify", "@bob", "--confirm")
	if s := verifyJSON(t, alice, bobID.PeerID); !s.Verified || s.SafetyNumber != atAlice.SafetyNumber {
		t.Errorf("verify --json after --confirm: got %+v, want verified, the same number", s)
	}
	if s := verifyJSON(t, bob, "@alice"); s.Verified {
		t.Errorf("bob's side: got verified, want not (only alice confirmed)")
	}
	bobLine := regexp.MustCompile(`(?m)^bob ✓ +` + bobID.PeerID + ` +online `)
	if out := alice.MustRun("peers"); !bobLine.MatchString(out) {
		t.Errorf("peers: got %q, want bob marked ✓", out)
	}

	// A second node calls itself bob.
	impostor := testnet.NewDaemon(t, "bob")
	impostor.Start(loopbackListen...)
	impID := impostor.Identity()
	alice.MustRun("connect", impID.Addrs[0])
	realShown, impShown := "bob ("+crypto.Short(bobID.PeerID)+") ✓", "bob ("+crypto.Short(impID.PeerID)+")"
	waitUntil(t, 15*time.Second, "both bobs named apart", func() bool {
		out := alice.MustRun("peers")
		return strings.Contains(out, realShown+"  ") && strings.Contains(out, impShown+"  ")
	})
	for _, args := range [][]string{{"verify", "@bob"}, {"verify", "@Bob", "--confirm"}, {"send", "@bob", "are you the real one?"}} {
		r := alice.Run(args...)
		if r.Code != 1 || r.Stdout != "" || strings.Count(r.Stderr, "\n") != 1 || !strings.HasPrefix(r.Stderr, "parley: ambiguous peer @") {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit 1 and one line saying @bob is ambiguous", args, r.Code, r.Stdout, r.Stderr)
			continue
		}
		for _, want := range []string{realShown + " = " + bobID.PeerID, impShown + " = " + impID.PeerID} {
			if !strings.Contains(r.Stderr, want) {
				t.Errorf("%q: stderr %q, want it to name %q", args, r.Stderr, want)
			}
		}
	}
	if s := verifyJSON(t, alice, impID.PeerID); s.Verified || s.SafetyNumber == atAlice.SafetyNumber {
		t.Errorf("the impostor's safety number: got %+v, want another number, not verified", s)
	}

	// The mark is kept: after a restart, bob still carries it.
	if code, _ := alice.Stop(); code != 0 {
		t.Fatalf("alice: SIGTERM: exit %d", code)
	}
	alice.Start(loopbackListen...)
	var peers []api.Peer
	alice.RunJSON(&peers, "peers", "--json")
	p, ok := peer(peers, bobID.PeerID)
	if !ok || !p.Verified || p.Display != realShown {
		t.Errorf("bob after a restart: got %+v (known %v), want verified, shown as %q", p, ok, realShown)
	}
	if p, _ := peer(peers, impID.PeerID); p.Verified || p.Display != impShown {
		t.Errorf("the impostor after a restart: got %+v, want not verified, shown as %q", p, impShown)
	}
}
