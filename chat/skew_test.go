package chat_test

import (
	"testing"
	"time"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/chat/chattest"
)

// TestProfileClockSkew: the profile exchange carries each side's clock,
// so each node learns how far the other's is off. Bob's clock runs three
// minutes ahead: alice sees +3m, bob sees -3m (within the exchange's
// round trip, milliseconds here).
func TestProfileClockSkew(t *testing.T) {
	const ahead = 3 * time.Minute
	net := chattest.NewNet(t)
	alice := chattest.NewNode(t, net, chattest.WithNick("alice"))
	bob := chattest.NewNode(t, net, chattest.WithNick("bob"), chattest.WithConfig(func(c *chat.Config) {
		c.Now = func() time.Time { return time.Now().Add(ahead) }
	}))
	net.Connect(alice.ID, bob.ID)
	measured := func(n *chattest.Node, p chat.PeerID) func() bool {
		return func() bool {
			peer, ok := n.Svc.Peer(p)
			return ok && !peer.SkewMeasured.IsZero()
		}
	}
	chattest.WaitFor(t, 0, "alice measures bob's clock", measured(alice, bob.ID))
	chattest.WaitFor(t, 0, "bob measures alice's clock", measured(bob, alice.ID))
	near := func(got, want time.Duration) bool { return (got - want).Abs() < 5*time.Second }
	if p, _ := alice.Svc.Peer(bob.ID); !near(p.ClockSkew, ahead) {
		t.Errorf("alice sees bob's clock off by %v, want about %v", p.ClockSkew, ahead)
	}
	if p, _ := bob.Svc.Peer(alice.ID); !near(p.ClockSkew, -ahead) {
		t.Errorf("bob sees alice's clock off by %v, want about %v", p.ClockSkew, -ahead)
	}
	// Peers lists it too.
	for _, p := range alice.Svc.Peers() {
		if p.ID == bob.ID && !near(p.ClockSkew, ahead) {
			t.Errorf("Peers: bob's skew %v, want about %v", p.ClockSkew, ahead)
		}
	}
}
