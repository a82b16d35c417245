package node_test

import (
	"context"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/chat/chattest"
	"github.com/parley-chat/parley/node"
)

// runNode runs n.Run(ctx) in a goroutine and returns its result channel.
func runNode(ctx context.Context, n *node.Node) <-chan error {
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	return done
}

// waitRunReturned waits for Run's result and checks that it is nil.
func waitRunReturned(t *testing.T, done <-chan error) {
	t.Helper()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: got %v, want nil", err)
		}
	case <-time.After(chattest.Timeout):
		t.Fatalf("Run did not return within %v", chattest.Timeout)
	}
}

// waitUp waits for an event that reports p up, and returns it.
func waitUp(t *testing.T, events <-chan chat.PeerEvent, p chat.PeerID) chat.PeerEvent {
	t.Helper()
	timeout := time.After(chattest.Timeout)
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatalf("the peer events ended before %s came up", p.Short())
			}
			if ev.Peer == p && ev.Up {
				return ev
			}
		case <-timeout:
			t.Fatalf("%s was not reported up within %v", p.Short(), chattest.Timeout)
		}
	}
}

// waitEnded waits until events is closed (the node stopped).
func waitEnded(t *testing.T, events <-chan chat.PeerEvent) {
	t.Helper()
	timeout := time.After(chattest.Timeout)
	for {
		select {
		case _, ok := <-events:
			if !ok {
				return
			}
		case <-timeout:
			t.Fatalf("the peer events did not end within %v of the node stopping", chattest.Timeout)
		}
	}
}

// TestCloseBeforeRun: a node closed before it ran releases everything
// (the leak check at the end of the package sees to the goroutines), and
// a Run after that returns nil at once.
func TestCloseBeforeRun(t *testing.T) {
	for _, dht := range []bool{false, true} {
		t.Run(map[bool]string{false: "no DHT", true: "DHT"}[dht], func(t *testing.T) {
			n, err := node.New(node.Config{Identity: chattest.NewIdentity(t), Listen: []string{"/ip4/127.0.0.1/tcp/0"}, DHT: dht})
			if err != nil {
				t.Fatal(err)
			}
			if err := n.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if err := n.Close(); err != nil {
				t.Errorf("Close again: %v", err)
			}
			waitRunReturned(t, runNode(t.Context(), n))
			events, cancel := n.SubscribePeers()
			defer cancel()
			waitEnded(t, events)
		})
	}
}

// TestRunStops: Run returns nil when its context is cancelled or when
// Close is called while it runs; either way the node's work stops (peer
// subscriptions end) and Close is safe after.
func TestRunStops(t *testing.T) {
	for _, tc := range []struct {
		name string
		stop func(t *testing.T, cancel context.CancelFunc, n *node.Node)
	}{
		{"cancel", func(_ *testing.T, cancel context.CancelFunc, _ *node.Node) { cancel() }},
		{"Close", func(t *testing.T, _ context.CancelFunc, n *node.Node) {
			if err := n.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, nodes := newMocknetNodes(t, 2, false)
			a, b := nodes[0].Node, nodes[1].Node
			registerDM(a)
			registerDM(b)
			stopB := runNode(t.Context(), b)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			done := runNode(ctx, a)
			events, unsubscribe := a.SubscribePeers()
			defer unsubscribe()
			connectHosts(t, a, b)
			waitUp(t, events, b.Self()) // Run has started its work

			tc.stop(t, cancel, a)
			waitRunReturned(t, done)
			waitEnded(t, events)
			if err := a.Close(); err != nil {
				t.Errorf("Close after Run returned: %v", err)
			}
			if err := b.Close(); err != nil {
				t.Errorf("Close b: %v", err)
			}
			waitRunReturned(t, stopB)
		})
	}
}

// TestPeersIdentifiedBeforeRun: a peer that connected and was identified
// before Run is reported up once Run starts (Run's event subscription
// came too late for its identification event), with the addresses it is
// known at (chat keeps them to reconnect).
func TestPeersIdentifiedBeforeRun(t *testing.T) {
	_, nodes := newMocknetNodes(t, 2, false)
	a, b := nodes[0].Node, nodes[1].Node
	registerDM(a)
	registerDM(b)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	bDone := runNode(ctx, b)
	events, unsubscribe := a.SubscribePeers()
	defer unsubscribe()
	connectHosts(t, a, b)
	chattest.WaitFor(t, 0, "a to have identified b as a Parley peer", func() bool {
		protos, err := a.Host().Peerstore().SupportsProtocols(b.Host().ID(), protocol.ID(chat.DMProtocol))
		return err == nil && len(protos) == 1
	})
	select {
	case ev := <-events:
		t.Fatalf("before Run: got peer event %+v, want none", ev)
	default:
	}

	aDone := runNode(ctx, a)
	if ev := waitUp(t, events, b.Self()); len(ev.Addrs) == 0 {
		t.Errorf("b came up with no addresses, want those a knows it at (%v)", a.Host().Peerstore().Addrs(b.Host().ID()))
	}
	if got := a.ConnCount(b.Self()); got != 1 {
		t.Errorf("a has %d connections to b, want 1", got)
	}
	cancel()
	waitRunReturned(t, aDone)
	waitRunReturned(t, bDone)
}
