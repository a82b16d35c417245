package store_test

import (
	"bytes"
	"crypto/rand"
	"testing"
	"time"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/chat/chattest"
	"github.com/parley-chat/parley/crypto"
	"github.com/parley-chat/parley/store"
)

// baseTime is the wall time test messages are written around.
var baseTime = time.Date(2025, 3, 14, 15, 9, 26, 535_000_000, time.UTC)

// baseHLC is the first HLC reading at baseTime.
var baseHLC = chat.HLCFromTime(baseTime)

// newPeer returns the peer ID of a freshly generated identity.
func newPeer(t testing.TB) chat.PeerID {
	t.Helper()
	id, err := crypto.NewIdentity(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return id.PeerID()
}

// dm is a direct message from one peer to another, filed as node self
// files it: under the conversation with the other party.
func dm(t testing.TB, self, from, to chat.PeerID, h chat.HLC, body string) *chat.Message {
	t.Helper()
	m := chattest.Env{Author: from, To: to, HLC: h, Body: body}.Message(t)
	if from == self {
		m.Conversation = chat.DMConversation(to)
	} else {
		m.Conversation = chat.DMConversation(from)
	}
	return m
}

// outgoing is a direct message self wrote to peer, queued as SendDM queues it.
func outgoing(t testing.TB, self, peer chat.PeerID, h chat.HLC, body string) *chat.Message {
	t.Helper()
	m := dm(t, self, self, peer, h, body)
	m.Status = chat.StatusQueued
	m.ReceivedAt = h.Time()
	return m
}

// incoming is a direct message peer wrote to self, as the receiver stores it.
func incoming(t testing.TB, self, peer chat.PeerID, h chat.HLC, body string) *chat.Message {
	t.Helper()
	m := dm(t, self, peer, self, h, body)
	m.Status = chat.StatusReceived
	m.ReceivedAt = h.Time().Add(1500 * time.Millisecond)
	return m
}

// roomMessage is a room message of another node, published (it has a
// proof) and received.
func roomMessage(t testing.TB, from chat.PeerID, room string, h chat.HLC, body string) *chat.Message {
	t.Helper()
	m := chattest.Env{Author: from, Room: room, HLC: h, Body: body}.Message(t)
	m.Proof = chat.Proof{Seqno: []byte{0, 0, 0, 0, 0, 0, 0, byte(h)}, Signature: bytes.Repeat([]byte{byte(h)}, 64)}
	m.ReceivedAt = h.Time()
	return m
}

// ownRoomMessage is a room message of this node as EnqueueRoom gets it:
// queued, with no proof yet.
func ownRoomMessage(t testing.TB, self chat.PeerID, room string, h chat.HLC, kind chat.Kind, body string) *chat.Message {
	t.Helper()
	m := chattest.Env{Author: self, Room: room, HLC: h, Kind: kind, Body: body}.Message(t)
	m.Status = chat.StatusQueued
	m.ReceivedAt = h.Time()
	return m
}

// published is m as SetProofs gets it: sent, with its proof.
func published(m *chat.Message, seqno byte) *chat.Message {
	p := *m
	p.Status = chat.StatusSent
	p.Proof = chat.Proof{Seqno: []byte{seqno}, Signature: bytes.Repeat([]byte{seqno}, 64)}
	return &p
}

// openStore opens a Badger store in dir and closes it when the test ends.
func openStore(t testing.TB, dir string) *store.Store {
	t.Helper()
	s, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	return s
}

// openMemStore opens an in-memory store closed when the test ends.
func openMemStore(t testing.TB) *store.Store {
	t.Helper()
	s, err := store.Open("", store.Options{InMemory: true})
	if err != nil {
		t.Fatalf("open in-memory store: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	return s
}

// backends are the two ways a test can open a store.
var backends = []struct {
	name string
	open func(t testing.TB) *store.Store
}{
	{"disk", func(t testing.TB) *store.Store { return openStore(t, t.TempDir()) }},
	{"memory", openMemStore},
}

// checkMessage compares every persisted field of got with want.
func checkMessage(t testing.TB, got, want *chat.Message) {
	t.Helper()
	if got == nil {
		t.Fatalf("message %s: got nil, want a message", want.ID)
	}
	if got.ID != want.ID {
		t.Errorf("ID: got %s, want %s", got.ID, want.ID)
	}
	if got.Conversation != want.Conversation {
		t.Errorf("message %s: Conversation: got %q, want %q", want.ID, got.Conversation, want.Conversation)
	}
	if got.Author != want.Author {
		t.Errorf("message %s: Author: got %s, want %s", want.ID, got.Author, want.Author)
	}
	if got.To != want.To {
		t.Errorf("message %s: To: got %s, want %s", want.ID, got.To, want.To)
	}
	if got.Room != want.Room {
		t.Errorf("message %s: Room: got %q, want %q", want.ID, got.Room, want.Room)
	}
	if got.HLC != want.HLC {
		t.Errorf("message %s: HLC: got %d, want %d", want.ID, got.HLC, want.HLC)
	}
	if got.Kind != want.Kind {
		t.Errorf("message %s: Kind: got %d, want %d", want.ID, got.Kind, want.Kind)
	}
	if got.Body != want.Body {
		t.Errorf("message %s: Body: got %q, want %q", want.ID, got.Body, want.Body)
	}
	if got.ReplyTo != want.ReplyTo {
		t.Errorf("message %s: ReplyTo: got %s, want %s", want.ID, got.ReplyTo, want.ReplyTo)
	}
	if !bytes.Equal(got.Envelope, want.Envelope) {
		t.Errorf("message %s: Envelope: got %x, want %x", want.ID, got.Envelope, want.Envelope)
	}
	if !bytes.Equal(got.Proof.Seqno, want.Proof.Seqno) || !bytes.Equal(got.Proof.Signature, want.Proof.Signature) {
		t.Errorf("message %s: Proof: got %x, want %x", want.ID, got.Proof, want.Proof)
	}
	if got.Status != want.Status {
		t.Errorf("message %s: Status: got %s, want %s", want.ID, got.Status, want.Status)
	}
	if got.Reason != want.Reason {
		t.Errorf("message %s: Reason: got %q, want %q", want.ID, got.Reason, want.Reason)
	}
	if g, w := got.ReceivedAt.UnixMilli(), want.ReceivedAt.UnixMilli(); g != w {
		t.Errorf("message %s: ReceivedAt: got %d ms, want %d ms", want.ID, g, w)
	}
}

// ids returns the IDs of ms, for comparing orders.
func ids(ms []*chat.Message) []chat.MessageID {
	out := make([]chat.MessageID, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	return out
}
