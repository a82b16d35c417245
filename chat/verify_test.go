package chat_test

import (
	"errors"
	"regexp"
	"testing"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/chat/chattest"
	"github.com/parley-chat/parley/crypto"
)

// peerShown matches a peer event of p with the display name and mark.
func peerShown(p chat.PeerID, display string, verified bool) func(chat.Event) bool {
	return func(ev chat.Event) bool {
		return ev.Type == chat.EventPeer && ev.Peer.ID == p && ev.Peer.Display == display && ev.Peer.Verified == verified
	}
}

// meet connects a and b and waits until a knows b's nickname.
func meet(t *testing.T, net *chattest.Net, a, b *chattest.Node) {
	t.Helper()
	net.Connect(a.ID, b.ID)
	a.Events.WaitFor(t, "the nickname of "+b.Config.Nick, chattest.PeerNickIs(b.ID, b.Config.Nick))
}

func TestSafetyNumberSameOnBothSides(t *testing.T) {
	net := chattest.NewNet(t)
	alice := chattest.NewNode(t, net, chattest.WithNick("alice"))
	bob := chattest.NewNode(t, net, chattest.WithNick("bob"))

	// Before they meet, neither knows the other.
	if _, err := alice.Svc.SafetyNumber(bob.ID); !errors.Is(err, chat.ErrUnknownPeer) {
		t.Errorf("safety number of a peer never seen: got %v, want ErrUnknownPeer", err)
	}
	meet(t, net, alice, bob)
	meet(t, net, bob, alice)

	atAlice, err := alice.Svc.SafetyNumber(bob.ID)
	if err != nil {
		t.Fatal(err)
	}
	atBob, err := bob.Svc.SafetyNumber(alice.ID)
	if err != nil {
		t.Fatal(err)
	}
	if atAlice != atBob {
		t.Errorf("safety numbers: alice has %s, bob %s; want the same", atAlice, atBob)
	}
	if !regexp.MustCompile(`^[0-9]{60}$`).MatchString(atAlice) {
		t.Errorf("safety number: got %q, want 60 digits", atAlice)
	}
	if want, _ := crypto.SafetyNumber(alice.ID, bob.ID); atAlice != want {
		t.Errorf("safety number: got %s, want crypto.SafetyNumber's %s", atAlice, want)
	}

	if _, err := alice.Svc.SafetyNumber(alice.ID); !errors.Is(err, chat.ErrInvalid) {
		t.Errorf("safety number with oneself: got %v, want ErrInvalid", err)
	}
	stranger := chattest.NewIdentity(t).PeerID()
	if _, err := alice.Svc.SafetyNumber(stranger); !errors.Is(err, chat.ErrUnknownPeer) {
		t.Errorf("safety number of a stranger: got %v, want ErrUnknownPeer", err)
	}
}

func TestVerify(t *testing.T) {
	net := chattest.NewNet(t)
	alice := chattest.NewNode(t, net, chattest.WithNick("alice"), chattest.OnDisk())
	bob := chattest.NewNode(t, net, chattest.WithNick("bob"))
	meet(t, net, alice, bob)

	if p, _ := alice.Svc.Peer(bob.ID); p.Verified || p.Display != "bob" {
		t.Errorf("bob before verifying: got verified %v, display %q; want false, bob", p.Verified, p.Display)
	}
	if err := alice.Svc.Verify(bob.ID); err != nil {
		t.Fatalf("verify: %v", err)
	}
	alice.Events.WaitFor(t, "bob shown verified", peerShown(bob.ID, "bob ✓", true))
	check := func(t *testing.T) {
		t.Helper()
		if p, ok := alice.Svc.Peer(bob.ID); !ok || !p.Verified || p.Display != "bob ✓" {
			t.Errorf("Peer(bob): got %+v, %v; want verified, shown as \"bob ✓\"", p, ok)
		}
		if got := alice.Svc.DisplayName(bob.ID); got != "bob ✓" {
			t.Errorf("DisplayName(bob): got %q, want \"bob ✓\"", got)
		}
		ps := alice.Svc.Peers()
		if len(ps) != 1 || !ps[0].Verified || ps[0].Display != "bob ✓" {
			t.Errorf("Peers: got %+v, want bob verified", ps)
		}
	}
	check(t)

	// Again: nothing changes, no second event.
	if err := alice.Svc.Verify(bob.ID); err != nil {
		t.Errorf("verify again: %v", err)
	}
	if n := alice.Events.Count(peerShown(bob.ID, "bob ✓", true)); n != 1 {
		t.Errorf("events of bob verified: got %d, want 1", n)
	}
	// Only alice's side: bob has not verified alice.
	if p, _ := bob.Svc.Peer(alice.ID); p.Verified {
		t.Errorf("alice at bob: got verified, want not")
	}

	// Refused: a peer never seen (and it stays unknown), and oneself.
	stranger := chattest.NewIdentity(t).PeerID()
	if err := alice.Svc.Verify(stranger); !errors.Is(err, chat.ErrUnknownPeer) {
		t.Errorf("verify a stranger: got %v, want ErrUnknownPeer", err)
	}
	if _, ok := alice.Svc.Peer(stranger); ok {
		t.Errorf("a stranger refused: got known, want unknown")
	}
	if err := alice.Svc.Verify(alice.ID); !errors.Is(err, chat.ErrInvalid) {
		t.Errorf("verify oneself: got %v, want ErrInvalid", err)
	}

	// Saved: a restart remembers it, and the peer's later updates (it
	// comes up again) keep it.
	alice.Restart()
	t.Run("after restart", check)
	net.Connect(alice.ID, bob.ID)
	alice.Events.WaitFor(t, "bob up again", func(ev chat.Event) bool {
		return ev.Type == chat.EventPeer && ev.Peer.ID == bob.ID && ev.Peer.Connected
	})
	t.Run("after reconnect", check)
}

// TestDisplayNameFollowsNicknames checks that a nickname taken by a second
// peer (or by this node) makes both show their short IDs, and that the
// peer whose name changed that way is announced again.
func TestDisplayNameFollowsNicknames(t *testing.T) {
	net := chattest.NewNet(t)
	alice := chattest.NewNode(t, net, chattest.WithNick("alice"), chattest.WithRooms())
	bob := chattest.NewNode(t, net, chattest.WithNick("bob"), chattest.WithRooms())
	otherBob := chattest.NewNode(t, net, chattest.WithNick("Bob"))
	meet(t, net, alice, bob)
	if got := alice.Svc.DisplayName(bob.ID); got != "bob" {
		t.Errorf("bob alone: got %q, want bob", got)
	}

	meet(t, net, alice, otherBob)
	bobShown, otherShown := "bob ("+bob.ID.Short()+")", "Bob ("+otherBob.ID.Short()+")"
	alice.Events.WaitFor(t, "bob shown with his ID", peerShown(bob.ID, bobShown, false))
	alice.Events.WaitFor(t, "the other Bob shown with his ID", peerShown(otherBob.ID, otherShown, false))
	if got := alice.Svc.DisplayName(bob.ID); got != bobShown {
		t.Errorf("DisplayName(bob): got %q, want %q", got, bobShown)
	}

	// Events a room makes (presence, typing) carry the same name.
	joinRoom(t, alice, dev)
	joinRoom(t, bob, dev)
	ev := alice.Events.WaitFor(t, "bob online in the room", presence(dev, bob.ID, true))
	if ev.Peer.Display != bobShown {
		t.Errorf("presence of bob: got display %q, want %q", ev.Peer.Display, bobShown)
	}

	// This node and a peer, same nickname: both show their IDs; a peer
	// this node has never met shows its short ID.
	if err := alice.Svc.SetNick("BOB"); err != nil {
		t.Fatal(err)
	}
	if got, want := alice.Svc.DisplayName(alice.ID), "BOB ("+alice.ID.Short()+")"; got != want {
		t.Errorf("DisplayName(self): got %q, want %q", got, want)
	}
	if err := alice.Svc.SetNick("alice"); err != nil {
		t.Fatal(err)
	}
	if got := alice.Svc.DisplayName(alice.ID); got != "alice" {
		t.Errorf("DisplayName(self): got %q, want alice", got)
	}
	stranger := chattest.NewIdentity(t).PeerID()
	if got := alice.Svc.DisplayName(stranger); got != stranger.Short() {
		t.Errorf("DisplayName(stranger): got %q, want %q", got, stranger.Short())
	}

	// The other Bob renames himself: bob is alone again, and is told so.
	if err := otherBob.Svc.SetNick("robert"); err != nil {
		t.Fatal(err)
	}
	alice.Events.WaitFor(t, "bob alone again", peerShown(bob.ID, "bob", false))
	alice.Events.WaitFor(t, "robert", peerShown(otherBob.ID, "robert", false))
}
