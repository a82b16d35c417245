package node_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/crypto"
	"github.com/parley-chat/parley/node"
	"github.com/parley-chat/parley/node/nodetest"
	"github.com/parley-chat/parley/store"
)

func newLoopbackNode(t *testing.T) *node.Node {
	t.Helper()
	return newNode(t, "/ip4/127.0.0.1/tcp/0")
}

func newNode(t *testing.T, listen ...string) *node.Node {
	t.Helper()
	id, err := crypto.NewIdentity(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	n, err := node.New(node.Config{Identity: id, Listen: listen})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Close() })
	return n
}

func addrInfo(t *testing.T, n *node.Node) peer.AddrInfo {
	t.Helper()
	return peer.AddrInfo{ID: n.Host().ID(), Addrs: n.Host().Addrs()}
}

// TestSimultaneousDialKeepsOneConnection has both ends dial each other at
// the same moment over QUIC (where that makes two connections) several
// times: each time the pair must settle on the one connection the smaller
// peer ID dialled.
func TestSimultaneousDialKeepsOneConnection(t *testing.T) {
	a, b := newNode(t, "/ip4/127.0.0.1/udp/0/quic-v1"), newNode(t, "/ip4/127.0.0.1/udp/0/quic-v1")
	for round := range 5 {
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
		conns := a.Host().Network().ConnsToPeer(b.Host().ID())
		if len(conns) != 1 {
			t.Fatalf("round %d: a has %d connections", round, len(conns))
		}
		outbound := conns[0].Stat().Direction == network.DirOutbound
		if want := a.Host().ID() < b.Host().ID(); outbound != want {
			t.Errorf("round %d: a kept an outbound=%v connection, want outbound=%v (the smaller ID dials)", round, outbound, want)
		}
		_ = a.Host().Network().ClosePeer(b.Host().ID())
		_ = b.Host().Network().ClosePeer(a.Host().ID())
		nodetest.WaitFor(t, 10*time.Second, "disconnected", func() bool {
			return a.ConnCount(b.Self()) == 0 && b.ConnCount(a.Self()) == 0
		})
	}
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

// hostileVictim is a chat service on a real node with short stream timeouts.
func hostileVictim(t *testing.T) (*node.Node, *chat.Service) {
	t.Helper()
	id, err := crypto.NewIdentity(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	n, err := node.New(node.Config{Identity: id, Listen: []string{"/ip4/127.0.0.1/tcp/0"}})
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := chat.New(chat.Config{Identity: id, Nick: "victim", Transport: n, Store: st, FirstFrameTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = svc.Run(context.Background())
	}()
	t.Cleanup(func() {
		_ = svc.Close()
		<-done
		_ = n.Close()
		_ = st.Close()
	})
	return n, svc
}

// TestHostileDMStreams throws bad input at the DM protocol over real
// libp2p: each bad stream is reset, the node stays up, and an honest
// peer's messages keep flowing.
func TestHostileDMStreams(t *testing.T) {
	victimNode, victim := hostileVictim(t)
	honest := startLoopbackPeer(t, "honest")
	connectLoopback(t, honest, &loopbackPeer{node: victimNode, chat: victim})
	attacker := newLoopbackNode(t)
	if err := attacker.Host().Connect(t.Context(), addrInfo(t, victimNode)); err != nil {
		t.Fatal(err)
	}
	events, cancel := honest.chat.Subscribe()
	defer cancel()
	sendHonest := func(text string) {
		t.Helper()
		m, err := honest.chat.SendDM(victim.Self(), text)
		if err != nil {
			t.Fatal(err)
		}
		waitStatus(t, events, m.ID, chat.StatusDelivered)
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
			s, err := attacker.Host().NewStream(t.Context(), victimNode.Host().ID(), protocol.ID(chat.DMProtocol))
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
	got, err := victim.History(chat.DMConversation(honest.chat.Self()), chat.Cursor{}, 100)
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
