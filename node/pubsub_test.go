package node_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"slices"
	"testing"
	"time"

	lcrypto "github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	mocknet "github.com/libp2p/go-libp2p/p2p/net/mock"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/chat/chattest"
	"github.com/parley-chat/parley/crypto"
	"github.com/parley-chat/parley/node"
	"github.com/parley-chat/parley/node/nodetest"
)

// mocknetNode is a bare node (no store, no chat service) on a mocknet host.
type mocknetNode struct {
	*node.Node
	id *crypto.Identity
}

// newMocknetNodes builds n nodes on hosts of one mocknet, all linked and
// none connected. Unless run is false they run, as the daemon runs them,
// until the test ends.
func newMocknetNodes(t *testing.T, n int, run bool) (mocknet.Mocknet, []*mocknetNode) {
	t.Helper()
	mn := mocknet.New()
	var nodes []*mocknetNode
	t.Cleanup(func() {
		for _, nd := range nodes {
			if err := nd.Close(); err != nil {
				t.Errorf("close: %v", err)
			}
		}
		_ = mn.Close()
	})
	for i := range n {
		id := chattest.NewIdentity(t)
		key, err := lcrypto.UnmarshalEd25519PrivateKey(id.PrivateKey())
		if err != nil {
			t.Fatal(err)
		}
		h, err := mn.AddPeer(key, ma.StringCast(fmt.Sprintf("/ip4/100.64.1.%d/tcp/4001", i+1)))
		if err != nil {
			t.Fatal(err)
		}
		nd, err := node.NewWithHost(h, node.Config{Identity: id, Logger: nodetest.Logger(fmt.Sprintf("n%d", i))})
		if err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, &mocknetNode{Node: nd, id: id})
		if run {
			stop := nodetest.RunParts(t, fmt.Sprintf("n%d", i), map[string]func(context.Context) error{"node": nd.Run})
			t.Cleanup(stop)
		}
	}
	if err := mn.LinkAll(); err != nil {
		t.Fatal(err)
	}
	return mn, nodes
}

// connectHosts connects a's host to b's.
func connectHosts(t *testing.T, a, b *node.Node) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := a.Host().Connect(ctx, peer.AddrInfo{ID: b.Host().ID(), Addrs: b.Host().Addrs()}); err != nil {
		t.Fatal(err)
	}
}

// acceptEnvelopes is a topic validator as a room's, without the state:
// envelopes that decode and whose author is the signer are accepted.
func acceptEnvelopes(from chat.PeerID, data []byte) (chat.Verdict, *chat.Message) {
	m, err := chat.DecodeEnvelope(data)
	if err != nil || m.Author != from {
		return chat.Reject, nil
	}
	return chat.Accept, m
}

// joinTopics joins every node to topic and waits until each sees the
// others in it.
func joinTopics(t *testing.T, nodes []*mocknetNode, topic string) []chat.Topic {
	t.Helper()
	topics := make([]chat.Topic, len(nodes))
	for i, n := range nodes {
		tp, err := n.JoinTopic(topic, acceptEnvelopes)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = tp.Close() })
		topics[i] = tp
	}
	for i, tp := range topics {
		nodetest.WaitFor(t, 10*time.Second, fmt.Sprintf("n%d to see the others in the topic", i), func() bool {
			return len(tp.Peers()) == len(nodes)-1
		})
	}
	return topics
}

// TestPublishReturnsTheProofReceiversGet publishes over real GossipSub
// and checks the proof Publish returns: it is the one the receiver's
// message carries, both nodes verify it, and nodetest.SignProof makes the
// very same signature (so the history tests write into stores are signed
// as GossipSub signs).
func TestPublishReturnsTheProofReceiversGet(t *testing.T) {
	_, nodes := newMocknetNodes(t, 2, true)
	a, b := nodes[0], nodes[1]
	connectHosts(t, a.Node, b.Node)
	const room = "proofs"
	topic := chat.RoomTopic(room)
	topics := joinTopics(t, nodes, topic)

	var last []byte
	for k := range 3 {
		data := chattest.Env{Author: a.Self(), Room: room, HLC: chat.HLCFromTime(time.Now()), Body: fmt.Sprintf("signed %d", k)}.Bytes(t)
		proof, err := topics[0].Publish(t.Context(), data)
		if err != nil {
			t.Fatal(err)
		}
		if len(proof.Seqno) != 8 || len(proof.Signature) != 64 {
			t.Fatalf("Publish: got a proof with a %d-byte seqno and a %d-byte signature, want 8 and 64", len(proof.Seqno), len(proof.Signature))
		}
		if bytes.Compare(proof.Seqno, last) <= 0 {
			t.Errorf("message %d: seqno %x does not follow %x", k, proof.Seqno, last)
		}
		last = proof.Seqno

		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		got, err := topics[1].Next(ctx)
		cancel()
		if err != nil {
			t.Fatalf("message %d at the receiver: %v", k, err)
		}
		if got.From != a.Self() || got.Message.ID != chat.MessageIDOf(data) || got.Message.Body != fmt.Sprintf("signed %d", k) {
			t.Fatalf("message %d at the receiver: got %q from %s, want %q from %s", k, got.Message.Body, got.From.Short(), fmt.Sprintf("signed %d", k), a.Self().Short())
		}
		if !proofsEqual(got.Message.Proof, proof) {
			t.Errorf("message %d: the receiver got proof %x/%x, Publish returned %x/%x", k, got.Message.Proof.Seqno, got.Message.Proof.Signature, proof.Seqno, proof.Signature)
		}
		for i, n := range nodes {
			if err := n.VerifyProof(topic, a.Self(), data, proof); err != nil {
				t.Errorf("message %d: n%d: VerifyProof: %v", k, i, err)
			}
		}
		if signed := nodetest.SignProof(a.id, topic, data, binary.BigEndian.Uint64(proof.Seqno)); !proofsEqual(signed, proof) {
			t.Errorf("message %d: nodetest.SignProof signs %x, GossipSub signed %x", k, signed.Signature, proof.Signature)
		}
	}
}

// TestVerifyProofRejects checks that VerifyProof accepts a proof only for
// exactly what was signed: any change to the data, the seqno, the
// signature, the topic or the author fails it, as does an author whose
// key cannot be read from its peer ID.
func TestVerifyProofRejects(t *testing.T) {
	_, nodes := newMocknetNodes(t, 1, false)
	n := nodes[0]
	author, other := chattest.NewIdentity(t), chattest.NewIdentity(t)
	const room = "proofs"
	topic := chat.RoomTopic(room)
	data := chattest.Env{Author: author.PeerID(), Room: room, HLC: chat.HLCFromTime(time.Now()), Body: "exactly this"}.Bytes(t)
	proof := nodetest.SignProof(author, topic, data, 42)
	if err := n.VerifyProof(topic, author.PeerID(), data, proof); err != nil {
		t.Fatalf("the untouched proof: %v", err)
	}

	ecKey, _, err := lcrypto.GenerateECDSAKeyPair(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	hashed, err := peer.IDFromPublicKey(ecKey.GetPublic())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := hashed.ExtractPublicKey(); err == nil {
		t.Fatal("an ECDSA peer ID inlines its key; want one that does not")
	}

	flip := func(b []byte, i int) []byte {
		b = slices.Clone(b)
		b[i] ^= 0x01
		return b
	}
	for _, tc := range []struct {
		name   string
		topic  string
		author chat.PeerID
		data   []byte
		proof  chat.Proof
	}{
		{"a flipped byte in the data", topic, author.PeerID(), flip(data, len(data)-1), proof},
		{"a flipped byte in the seqno", topic, author.PeerID(), data, chat.Proof{Seqno: flip(proof.Seqno, 7), Signature: proof.Signature}},
		{"a flipped byte in the signature", topic, author.PeerID(), data, chat.Proof{Seqno: proof.Seqno, Signature: flip(proof.Signature, 10)}},
		{"a shorter signature", topic, author.PeerID(), data, chat.Proof{Seqno: proof.Seqno, Signature: proof.Signature[:63]}},
		{"another topic", chat.RoomTopic("elsewhere"), author.PeerID(), data, proof},
		{"another author", topic, other.PeerID(), data, proof},
		{"an author whose key is not in its peer ID", topic, chat.PeerID(hashed), data, proof},
		{"no signature", topic, author.PeerID(), data, chat.Proof{Seqno: proof.Seqno}},
		{"no seqno", topic, author.PeerID(), data, chat.Proof{Signature: proof.Signature}},
		{"no proof", topic, author.PeerID(), data, chat.Proof{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := n.VerifyProof(tc.topic, tc.author, tc.data, tc.proof); err == nil {
				t.Error("VerifyProof accepted it")
			}
		})
	}
}

// TestMocknetRoomProofs: a room message published by one member is stored
// by another with the proof its author's Publish returned (which the
// author stores too), and that proof verifies on every node.
func TestMocknetRoomProofs(t *testing.T) {
	const room = "proven"
	c := nodetest.NewCluster(t, 2, nodetest.Options{InMemory: true})
	author, receiver := c.Members[0], c.Members[1]
	c.Connect(0, 1)
	joinRoom(t, author, room)
	joinRoom(t, receiver, room)
	events := chattest.NewEventLog(author.Chat)
	received := chattest.NewEventLog(receiver.Chat)
	msg := sendRoom(t, author, room, "prove it")
	events.WaitFor(t, "the message published", chattest.StatusIs(msg.ID, chat.StatusSent))
	received.WaitFor(t, "the message at the receiver", chattest.MessageIs(msg.ID))

	mine, err := author.Store.Message(msg.ID)
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := receiver.Store.Message(msg.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(mine.Proof.Signature) == 0 || len(mine.Proof.Seqno) == 0 {
		t.Fatalf("the author stored proof %x/%x, want the one Publish returned", mine.Proof.Seqno, mine.Proof.Signature)
	}
	if !proofsEqual(mine.Proof, theirs.Proof) {
		t.Errorf("the receiver stored proof %x/%x, the author %x/%x", theirs.Proof.Seqno, theirs.Proof.Signature, mine.Proof.Seqno, mine.Proof.Signature)
	}
	if !bytes.Equal(theirs.Envelope, msg.Envelope) {
		t.Errorf("the receiver stored another envelope")
	}
	for _, m := range c.Members {
		if err := m.Node.VerifyProof(chat.RoomTopic(room), author.ID(), theirs.Envelope, theirs.Proof); err != nil {
			t.Errorf("n%d: VerifyProof of the stored proof: %v", m.Index, err)
		}
	}
}

func proofsEqual(a, b chat.Proof) bool {
	return bytes.Equal(a.Seqno, b.Seqno) && bytes.Equal(a.Signature, b.Signature)
}
