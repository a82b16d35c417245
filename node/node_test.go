package node_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/chat/chattest"
	"github.com/parley-chat/parley/crypto"
	"github.com/parley-chat/parley/node"
	"github.com/parley-chat/parley/node/nodetest"
)

func newLoopbackNode(t *testing.T) *node.Node {
	t.Helper()
	return newNode(t, "/ip4/127.0.0.1/tcp/0")
}

// newNode builds a node listening on listen and runs it, as the daemon
// does, until the test ends.
func newNode(t *testing.T, listen ...string) *node.Node {
	t.Helper()
	id, err := crypto.NewIdentity(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	n, err := node.New(node.Config{Identity: id, Listen: listen, Logger: nodetest.Logger("node")})
	if err != nil {
		t.Fatal(err)
	}
	stop := nodetest.RunParts(t, "node", map[string]func(context.Context) error{"node": n.Run})
	t.Cleanup(func() {
		stop()
		if err := n.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return n
}

func addrInfo(t *testing.T, n *node.Node) peer.AddrInfo {
	t.Helper()
	return peer.AddrInfo{ID: n.Host().ID(), Addrs: n.Host().Addrs()}
}

// TestSimultaneousDialKeepsOneConnection has both ends dial each other at
// the same moment over QUIC (where that can make two connections) several
// times: each time the pair must settle on one connection, the same on
// both sides, and where two were made, on the one the smaller peer ID
// dialled. (Where one dial finds the other's connection already up, no
// second connection is made, and the one there stays whoever dialled it.)
func TestSimultaneousDialKeepsOneConnection(t *testing.T) {
	a, b := newNode(t, "/ip4/127.0.0.1/udp/0/quic-v1"), newNode(t, "/ip4/127.0.0.1/udp/0/quic-v1")
	var (
		mu     sync.Mutex
		opened = map[network.Direction]int{} // a's connections to b this round
	)
	notifiee := &network.NotifyBundle{ConnectedF: func(_ network.Network, c network.Conn) {
		if c.RemotePeer() == b.Host().ID() {
			mu.Lock()
			opened[c.Stat().Direction]++
			mu.Unlock()
		}
	}}
	a.Host().Network().Notify(notifiee)
	defer a.Host().Network().StopNotify(notifiee)
	duplicated := 0
	for round := range 5 {
		mu.Lock()
		clear(opened)
		mu.Unlock()
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		errs := make(chan error, 2)
		go func() {
			errs <- a.Host().Connect(network.WithForceDirectDial(ctx, "test"), addrInfo(t, b))
		}()
		go func() {
			errs <- b.Host().Connect(network.WithForceDirectDial(ctx, "test"), addrInfo(t, a))
		}()
		for range 2 {
			if err := <-errs; err != nil {
				t.Errorf("round %d: dial: %v", round, err)
			}
		}
		cancel()
		nodetest.WaitFor(t, 10*time.Second, "one connection on each side", func() bool {
			return a.ConnCount(b.Self()) == 1 && b.ConnCount(a.Self()) == 1
		})
		ac, bc := a.Host().Network().ConnsToPeer(b.Host().ID()), b.Host().Network().ConnsToPeer(a.Host().ID())
		if len(ac) != 1 || len(bc) != 1 {
			t.Fatalf("round %d: a has %d connections, b %d", round, len(ac), len(bc))
		}
		outbound := ac[0].Stat().Direction == network.DirOutbound
		if bOutbound := bc[0].Stat().Direction == network.DirOutbound; outbound == bOutbound {
			t.Errorf("round %d: a kept an outbound=%v connection and b an outbound=%v one: not the same connection", round, outbound, bOutbound)
		}
		mu.Lock()
		both := opened[network.DirOutbound] > 0 && opened[network.DirInbound] > 0
		mu.Unlock()
		if both {
			duplicated++
			if want := a.Host().ID() < b.Host().ID(); outbound != want {
				t.Errorf("round %d: of two connections a kept an outbound=%v one, want outbound=%v (the smaller ID dials)", round, outbound, want)
			}
		}
		_ = a.Host().Network().ClosePeer(b.Host().ID())
		_ = b.Host().Network().ClosePeer(a.Host().ID())
		nodetest.WaitFor(t, 10*time.Second, "disconnected", func() bool {
			return a.ConnCount(b.Self()) == 0 && b.ConnCount(a.Self()) == 0
		})
	}
	t.Logf("%d of 5 rounds made two connections", duplicated)
}

// TestDiscoveryRaceSettles has two nodes learn of each other at the same
// moment, as when each finds the other by mDNS: they must end up up, with
// one connection, over TCP and QUIC.
func TestDiscoveryRaceSettles(t *testing.T) {
	listen := []string{"/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/udp/0/quic-v1"}
	a, b := newNode(t, listen...), newNode(t, listen...)
	registerDM(a)
	registerDM(b)
	evA, cancelA := a.SubscribePeers()
	defer cancelA()
	a.AddPeerAddrs(b.Self(), addrStrings(b))
	b.AddPeerAddrs(a.Self(), addrStrings(a))
	select {
	case ev := <-evA:
		if ev.Peer != b.Self() || !ev.Up {
			t.Fatalf("first peer event: got %+v, want b up", ev)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("b never came up at a")
	}
	nodetest.WaitFor(t, 10*time.Second, "one connection on each side", func() bool {
		return a.ConnCount(b.Self()) == 1 && b.ConnCount(a.Self()) == 1
	})
}

// registerDM makes n look like a Parley peer to others (identify lists
// the DM protocol).
func registerDM(n *node.Node) {
	n.SetStreamHandler(chat.DMProtocol, func(_ chat.PeerID, s chat.Stream) { _ = s.Reset() })
}

func addrStrings(n *node.Node) []string {
	var out []string
	for _, a := range n.Host().Addrs() {
		out = append(out, a.String())
	}
	return out
}

// TestHostileDMStreams throws bad input at the DM protocol over real
// libp2p: each bad stream is reset, the node stays up, and an honest
// peer's messages keep flowing.
func TestHostileDMStreams(t *testing.T) {
	victim := startLoopbackPeer(t, "victim", func(c *chat.Config) {
		c.PubSub = nil
		c.FirstFrameTimeout = 300 * time.Millisecond
	})
	honest := startLoopbackPeer(t, "honest")
	connectLoopback(t, honest, victim)
	attacker := newLoopbackNode(t)
	if err := attacker.Host().Connect(t.Context(), addrInfo(t, victim.node)); err != nil {
		t.Fatal(err)
	}
	events := chattest.NewEventLog(honest.chat)
	sendHonest := func(text string) {
		t.Helper()
		m, err := honest.chat.SendDM(t.Context(), victim.chat.Self(), text)
		if err != nil {
			t.Fatal(err)
		}
		events.WaitFor(t, "the honest message delivered", chattest.StatusIs(m.ID, chat.StatusDelivered))
	}
	sendHonest("before the attack")

	bigPrefix := binary.AppendUvarint(nil, 1<<30)
	garbage := bytes.Repeat([]byte{0xff, 0x13, 0x37}, 1000)
	wrongProto := append(binary.AppendUvarint(nil, 12), []byte("hello world!")...)
	notAMessage := append(binary.AppendUvarint(nil, 2), 0x12, 0x00) // a DMFrame holding an empty ack
	for _, tc := range []struct {
		name  string
		bytes []byte
	}{
		{"oversized length prefix", bigPrefix},
		{"garbage bytes", garbage},
		{"valid frame, wrong protobuf", wrongProto},
		{"ack frame where a message belongs", notAMessage},
		{"stream that never sends", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := attacker.Host().NewStream(t.Context(), victim.node.Host().ID(), protocol.ID(chat.DMProtocol))
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = s.Reset() }()
			if tc.bytes != nil {
				if _, err := s.Write(tc.bytes); err != nil {
					t.Fatal(err)
				}
			}
			_ = s.SetReadDeadline(time.Now().Add(10 * time.Second))
			n, err := io.Copy(io.Discard, s)
			if err == nil {
				t.Errorf("stream ended cleanly after %d bytes; want it reset", n)
			}
			if isTimeout(err) {
				t.Errorf("stream not reset within 10s: %v", err)
			}
			sendHonest("during the attack: " + tc.name)
		})
	}
	sendHonest("after the attack")
	got, err := victim.chat.History(chat.DMConversation(honest.chat.Self()), chat.HistoryQuery{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 7 {
		t.Errorf("victim holds %d honest messages, want 7", len(got))
	}
}

func isTimeout(err error) bool {
	var te interface{ Timeout() bool }
	return errors.As(err, &te) && te.Timeout()
}
