package chat

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/parley-chat/parley/crypto"
	"github.com/parley-chat/parley/internal/wire"
)

func testPeerID(t testing.TB) PeerID {
	t.Helper()
	id, err := crypto.NewIdentity(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return id.PeerID()
}

var testHLC = HLCFromTime(time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC)) + 3

func marshalEnvelope(t testing.TB, env *wire.Envelope) []byte {
	t.Helper()
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestOpenEnvelopeAccepts(t *testing.T) {
	alice, bob := testPeerID(t), testPeerID(t)
	var reply MessageID
	copy(reply[:], bytes.Repeat([]byte{0xab}, len(reply)))
	tests := []struct {
		name     string
		m        Message // content fields to seal
		self     PeerID
		wantConv Conversation
	}{
		{"direct, read by the author", Message{Author: alice, To: bob, HLC: testHLC, Kind: KindText, Body: "hi bob"}, alice, DMConversation(bob)},
		{"direct, read by the recipient", Message{Author: alice, To: bob, HLC: testHLC, Kind: KindText, Body: "hi bob"}, bob, DMConversation(alice)},
		{"direct, read by a third node", Message{Author: alice, To: bob, HLC: testHLC, Kind: KindText, Body: "hi bob"}, "", DMConversation(alice)},
		{"room", Message{Author: alice, Room: "lobby", HLC: testHLC, Kind: KindText, Body: "hi all"}, bob, RoomConversation("lobby")},
		{"reply", Message{Author: bob, To: alice, HLC: testHLC, Kind: KindText, Body: "hi alice", ReplyTo: reply}, alice, DMConversation(bob)},
		{"empty body", Message{Author: bob, To: alice, HLC: 1, Kind: KindText, Body: ""}, alice, DMConversation(bob)},
		{"emoji", Message{Author: bob, To: alice, HLC: ^HLC(0), Kind: KindText, Body: "👋🏽 héllo\x00"}, alice, DMConversation(bob)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := tt.m
			if err := sealEnvelope(&m); err != nil {
				t.Fatal(err)
			}
			if want := MessageID(sha256.Sum256(m.Envelope)); m.ID != want {
				t.Errorf("sealed ID: got %s, want sha256 of the envelope %s", m.ID, want)
			}
			sig := []byte("signature")
			got, err := OpenEnvelope(m.Envelope, sig, tt.self)
			if err != nil {
				t.Fatal(err)
			}
			if got.ID != m.ID {
				t.Errorf("ID: got %s, want %s", got.ID, m.ID)
			}
			if got.Conversation != tt.wantConv {
				t.Errorf("Conversation: got %q, want %q", got.Conversation, tt.wantConv)
			}
			if got.Author != m.Author || got.To != m.To || got.Room != m.Room || got.HLC != m.HLC ||
				got.Kind != m.Kind || got.Body != m.Body || got.ReplyTo != m.ReplyTo {
				t.Errorf("content: got %+v, want %+v", got, m)
			}
			if !bytes.Equal(got.Envelope, m.Envelope) || !bytes.Equal(got.Signature, sig) {
				t.Errorf("envelope and signature are not kept verbatim")
			}
			if got.Status != 0 {
				t.Errorf("Status: got %s, want none", got.Status)
			}
			// Sealing what was opened gives the same bytes.
			again := *got
			if err := sealEnvelope(&again); err != nil {
				t.Fatal(err)
			}
			if again.ID != m.ID {
				t.Errorf("resealed ID: got %s, want %s", again.ID, m.ID)
			}
		})
	}
}

// TestOpenEnvelopeIDIsOfTheBytes checks that the ID hashes the bytes as
// received, even when they are not how this node would encode the content.
func TestOpenEnvelopeIDIsOfTheBytes(t *testing.T) {
	alice, bob := testPeerID(t), testPeerID(t)
	b := marshalEnvelope(t, &wire.Envelope{Version: 1, Author: []byte(alice), ToPeer: []byte(bob), Hlc: uint64(testHLC), Kind: wire.Kind_KIND_TEXT, Body: "x"})
	// An unknown field appended: same content, other bytes.
	extended := protowire.AppendVarint(protowire.AppendTag(bytes.Clone(b), 99, protowire.VarintType), 1)
	m1, err := OpenEnvelope(b, nil, bob)
	if err != nil {
		t.Fatal(err)
	}
	m2, err := OpenEnvelope(extended, nil, bob)
	if err != nil {
		t.Fatal(err)
	}
	if m2.ID != sha256.Sum256(extended) {
		t.Errorf("ID: got %s, want sha256 of the bytes received", m2.ID)
	}
	if m1.ID == m2.ID {
		t.Error("different envelope bytes got the same ID")
	}
}

func TestOpenEnvelopeRejects(t *testing.T) {
	alice, bob := testPeerID(t), testPeerID(t)
	valid := func() *wire.Envelope {
		return &wire.Envelope{
			Version: 1,
			Author:  []byte(alice),
			ToPeer:  []byte(bob),
			Hlc:     uint64(testHLC),
			Kind:    wire.Kind_KIND_TEXT,
			Body:    "hello",
		}
	}
	encode := func(change func(*wire.Envelope)) []byte {
		env := valid()
		change(env)
		return marshalEnvelope(t, env)
	}
	// withField appends a raw length-delimited field to a valid envelope;
	// the last occurrence of a field wins.
	withField := func(num protowire.Number, v []byte) []byte {
		b := encode(func(*wire.Envelope) {})
		b = protowire.AppendTag(b, num, protowire.BytesType)
		return protowire.AppendBytes(b, v)
	}
	sha256PeerID := append([]byte{0x12, 0x20}, bytes.Repeat([]byte{1}, 32)...)

	tests := []struct {
		name     string
		envelope []byte
	}{
		{"nothing", nil},
		{"garbage", []byte("\xff\xff\xff\xff")},
		{"truncated", encode(func(*wire.Envelope) {})[:10]},
		{"version 0", encode(func(e *wire.Envelope) { e.Version = 0 })},
		{"version 2", encode(func(e *wire.Envelope) { e.Version = 2 })},
		{"no author", encode(func(e *wire.Envelope) { e.Author = nil })},
		{"author not a peer ID", encode(func(e *wire.Envelope) { e.Author = []byte("alice") })},
		{"recipient not a peer ID", encode(func(e *wire.Envelope) { e.ToPeer = []byte{0x12, 0x20, 1} })},
		{"both recipient and room", encode(func(e *wire.Envelope) { e.Room = "lobby" })},
		{"neither recipient nor room", encode(func(e *wire.Envelope) { e.ToPeer = nil })},
		{"kind unspecified", encode(func(e *wire.Envelope) { e.Kind = wire.Kind_KIND_UNSPECIFIED })},
		{"unknown kind", encode(func(e *wire.Envelope) { e.Kind = 7 })},
		{"zero hlc", encode(func(e *wire.Envelope) { e.Hlc = 0 })},
		{"body not UTF-8", withField(7, []byte("caf\xe9"))},
		{"room not UTF-8", withField(4, []byte("\xc3"))},
		{"reply_to too short", encode(func(e *wire.Envelope) { e.ReplyTo = make([]byte, 31) })},
		{"reply_to too long", encode(func(e *wire.Envelope) { e.ReplyTo = make([]byte, 33) })},
		{"reply_to one byte", encode(func(e *wire.Envelope) { e.ReplyTo = []byte{1} })},
		{"field of the wrong wire type", protowire.AppendVarint(protowire.AppendTag(nil, 7, protowire.VarintType), 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := OpenEnvelope(tt.envelope, nil, bob)
			if !errors.Is(err, ErrBadEnvelope) {
				t.Errorf("got (%+v, %v), want ErrBadEnvelope", m, err)
			}
			if m != nil {
				t.Errorf("got a message with the error")
			}
		})
	}

	// A SHA-256 peer ID is a valid recipient (not every key is inlined).
	if _, err := OpenEnvelope(encode(func(e *wire.Envelope) { e.ToPeer = sha256PeerID }), nil, alice); err != nil {
		t.Errorf("sha256 peer ID as recipient: got %v, want it accepted", err)
	}
}

func TestMessageIDText(t *testing.T) {
	id := MessageIDOf([]byte("envelope"))
	text, err := id.MarshalText()
	if err != nil {
		t.Fatal(err)
	}
	var back MessageID
	if err := back.UnmarshalText(text); err != nil {
		t.Fatal(err)
	}
	if back != id {
		t.Errorf("round trip: got %s, want %s", back, id)
	}
	if s := id.String(); len(s) != 64 || strings.ToLower(s) != s {
		t.Errorf("String: got %q, want 64 lower-case hex digits", s)
	}
	for _, bad := range []string{"", "abc", strings.Repeat("g", 64), strings.Repeat("0", 63), strings.Repeat("0", 65)} {
		if _, err := ParseMessageID(bad); err == nil {
			t.Errorf("ParseMessageID(%q): got nil error, want one", bad)
		}
	}
	if !(MessageID{}).IsZero() || id.IsZero() {
		t.Error("IsZero is wrong")
	}
}

func TestConversation(t *testing.T) {
	alice := testPeerID(t)
	dm := DMConversation(alice)
	if p, ok := dm.Peer(); !ok || p != alice {
		t.Errorf("DM Peer: got (%s, %v), want (%s, true)", p, ok, alice)
	}
	if _, ok := dm.Room(); ok {
		t.Error("a DM conversation has a room")
	}
	room := RoomConversation("lobby")
	if r, ok := room.Room(); !ok || r != "lobby" {
		t.Errorf("Room: got (%q, %v), want (lobby, true)", r, ok)
	}
	if _, ok := room.Peer(); ok {
		t.Error("a room conversation has a peer")
	}
	if _, ok := Conversation("dm:not-a-peer").Peer(); ok {
		t.Error(`"dm:not-a-peer" has a peer`)
	}
}

func TestStatusString(t *testing.T) {
	tests := []struct {
		s    Status
		want string
	}{
		{StatusQueued, "queued"},
		{StatusSent, "sent"},
		{StatusDelivered, "delivered"},
		{StatusFailed, "failed"},
		{StatusReceived, "received"},
		{0, "status(0)"},
		{42, "status(42)"},
	}
	for _, tt := range tests {
		if got := tt.s.String(); got != tt.want {
			t.Errorf("Status(%d): got %q, want %q", uint8(tt.s), got, tt.want)
		}
		if b, _ := tt.s.MarshalText(); string(b) != tt.want {
			t.Errorf("Status(%d).MarshalText: got %q, want %q", uint8(tt.s), b, tt.want)
		}
	}
}

func FuzzOpenEnvelope(f *testing.F) {
	alice, bob := testPeerID(f), testPeerID(f)
	for _, m := range []Message{
		{Author: alice, To: bob, HLC: testHLC, Kind: KindText, Body: "hello"},
		{Author: bob, Room: "lobby", HLC: testHLC, Kind: KindText, Body: "hi all", ReplyTo: MessageIDOf(nil)},
	} {
		if err := sealEnvelope(&m); err != nil {
			f.Fatal(err)
		}
		f.Add(m.Envelope)
	}
	f.Add([]byte{})
	f.Add([]byte("\x08\x02"))
	self := bob
	f.Fuzz(func(t *testing.T, envelope []byte) {
		orig := bytes.Clone(envelope)
		m, err := OpenEnvelope(envelope, nil, self)
		if !bytes.Equal(envelope, orig) {
			t.Fatal("OpenEnvelope changed its input")
		}
		if err != nil {
			if !errors.Is(err, ErrBadEnvelope) {
				t.Fatalf("got %v, want ErrBadEnvelope", err)
			}
			if m != nil {
				t.Fatal("got a message with the error")
			}
			return
		}
		if m.ID != sha256.Sum256(envelope) {
			t.Fatalf("ID: got %s, want sha256 of the input", m.ID)
		}
		if !bytes.Equal(m.Envelope, envelope) {
			t.Fatal("Envelope is not the input")
		}
		if (m.To == "") == (m.Room == "") {
			t.Fatalf("want exactly one of To (%q) and Room (%q)", m.To, m.Room)
		}
		if m.Kind != KindText || m.HLC == 0 || !utf8.ValidString(m.Body) || m.Author == "" || m.Conversation == "" {
			t.Fatalf("accepted an invalid message: %+v", m)
		}
		if _, err := crypto.PeerIDFromBytes([]byte(m.Author)); err != nil {
			t.Fatalf("author %x is not a peer ID: %v", m.Author, err)
		}
	})
}

// TestOpenEnvelopeRejectsNULInRoom: the store keys a conversation by its
// text followed by a 0x00 byte, so a room name holding 0x00 would file its
// messages inside another room's key range ("go\x00x" inside "go").
func TestOpenEnvelopeRejectsNULInRoom(t *testing.T) {
	alice := testPeerID(t)
	for _, room := range []string{"go\x00x", "\x00", "go\x00"} {
		b := marshalEnvelope(t, &wire.Envelope{Version: 1, Author: []byte(alice), Room: room, Hlc: uint64(testHLC), Kind: wire.Kind_KIND_TEXT, Body: "hi"})
		m, err := OpenEnvelope(b, nil, alice)
		if err == nil {
			t.Errorf("room %q: got a message of conversation %q, want ErrBadEnvelope", room, m.Conversation)
		} else if !errors.Is(err, ErrBadEnvelope) {
			t.Errorf("room %q: got %v, want ErrBadEnvelope", room, err)
		}
	}
}
