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

func TestEncodeDecodeEnvelope(t *testing.T) {
	alice, bob := testPeerID(t), testPeerID(t)
	var reply MessageID
	copy(reply[:], bytes.Repeat([]byte{0xab}, len(reply)))
	tests := []struct {
		name     string
		m        Message // content fields to encode
		self     PeerID  // the node filing the message
		wantConv Conversation
	}{
		{"direct, filed by the author", Message{Author: alice, To: bob, HLC: testHLC, Kind: KindText, Body: "hi bob"}, alice, DMConversation(bob)},
		{"direct, filed by the recipient", Message{Author: alice, To: bob, HLC: testHLC, Kind: KindText, Body: "hi bob"}, bob, DMConversation(alice)},
		{"direct, filed by a third node", Message{Author: alice, To: bob, HLC: testHLC, Kind: KindText, Body: "hi bob"}, testPeerID(t), DMConversation(alice)},
		{"room", Message{Author: alice, Room: "lobby", HLC: testHLC, Kind: KindText, Body: "hi all"}, bob, RoomConversation("lobby")},
		{"room join line", Message{Author: alice, Room: "lobby", HLC: testHLC, Kind: KindJoin}, bob, RoomConversation("lobby")},
		{"room leave line", Message{Author: alice, Room: "lobby", HLC: testHLC, Kind: KindLeave}, alice, RoomConversation("lobby")},
		{"room typing notice", Message{Author: alice, Room: "lobby", HLC: testHLC, Kind: KindTyping}, bob, RoomConversation("lobby")},
		{"reply", Message{Author: bob, To: alice, HLC: testHLC, Kind: KindText, Body: "hi alice", ReplyTo: reply}, alice, DMConversation(bob)},
		{"empty body", Message{Author: bob, To: alice, HLC: 1, Kind: KindText, Body: ""}, alice, DMConversation(bob)},
		{"emoji", Message{Author: bob, To: alice, HLC: ^HLC(0), Kind: KindText, Body: "👋🏽 héllo\x00"}, alice, DMConversation(bob)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := tt.m
			if err := encodeEnvelope(&m); err != nil {
				t.Fatal(err)
			}
			if want := MessageID(sha256.Sum256(m.Envelope)); m.ID != want {
				t.Errorf("encoded ID: got %s, want sha256 of the envelope %s", m.ID, want)
			}
			got, err := DecodeEnvelope(m.Envelope)
			if err != nil {
				t.Fatal(err)
			}
			if got.ID != m.ID {
				t.Errorf("ID: got %s, want %s", got.ID, m.ID)
			}
			if got.Room != "" && got.Conversation != tt.wantConv {
				t.Errorf("Conversation of a room message: got %q, want %q", got.Conversation, tt.wantConv)
			}
			if got.Room == "" && got.Conversation != "" {
				t.Errorf("Conversation of a direct message: got %q, want none (the caller files it)", got.Conversation)
			}
			fileUnder(got, tt.self)
			if got.Conversation != tt.wantConv {
				t.Errorf("filed under %q, want %q", got.Conversation, tt.wantConv)
			}
			if got.Author != m.Author || got.To != m.To || got.Room != m.Room || got.HLC != m.HLC ||
				got.Kind != m.Kind || got.Body != m.Body || got.ReplyTo != m.ReplyTo {
				t.Errorf("content: got %+v, want %+v", got, m)
			}
			if !bytes.Equal(got.Envelope, m.Envelope) {
				t.Errorf("envelope is not kept verbatim")
			}
			if got.Status != 0 || len(got.Proof.Seqno) != 0 || len(got.Proof.Signature) != 0 {
				t.Errorf("Status and Proof: got %s and %+v, want none", got.Status, got.Proof)
			}
			// Encoding what was decoded gives the same bytes.
			again := *got
			if err := encodeEnvelope(&again); err != nil {
				t.Fatal(err)
			}
			if again.ID != m.ID {
				t.Errorf("re-encoded ID: got %s, want %s", again.ID, m.ID)
			}
			// Stored history reads the same content.
			stored, err := UnmarshalEnvelope(m.Envelope)
			if err != nil {
				t.Fatalf("UnmarshalEnvelope: %v", err)
			}
			if stored.ID != got.ID || stored.Author != got.Author || stored.To != got.To || stored.Room != got.Room ||
				stored.HLC != got.HLC || stored.Kind != got.Kind || stored.Body != got.Body || stored.ReplyTo != got.ReplyTo ||
				(got.Room != "" && stored.Conversation != got.Conversation) {
				t.Errorf("UnmarshalEnvelope: got %+v, want the content DecodeEnvelope read, %+v", stored, got)
			}
		})
	}
}

// TestDecodeEnvelopeIDIsOfTheBytes checks that the ID hashes the bytes as
// received, even when they are not how this node would encode the content.
func TestDecodeEnvelopeIDIsOfTheBytes(t *testing.T) {
	alice, bob := testPeerID(t), testPeerID(t)
	b := marshalEnvelope(t, &wire.Envelope{Version: 1, Author: []byte(alice), ToPeer: []byte(bob), Hlc: uint64(testHLC), Kind: wire.Kind_KIND_TEXT, Body: "x"})
	// An unknown field appended: same content, other bytes.
	extended := protowire.AppendVarint(protowire.AppendTag(bytes.Clone(b), 99, protowire.VarintType), 1)
	m1, err := DecodeEnvelope(b)
	if err != nil {
		t.Fatal(err)
	}
	m2, err := DecodeEnvelope(extended)
	if err != nil {
		t.Fatal(err)
	}
	if m2.ID != sha256.Sum256(extended) {
		t.Errorf("ID: got %s, want sha256 of the bytes received", m2.ID)
	}
	if m1.ID == m2.ID {
		t.Error("different envelope bytes got the same ID")
	}
	if stored, err := UnmarshalEnvelope(extended); err != nil || stored.ID != m2.ID {
		t.Errorf("UnmarshalEnvelope: got ID %v (error %v), want %s", stored, err, m2.ID)
	}
}

func TestDecodeEnvelopeRejects(t *testing.T) {
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
	inRoom := func(e *wire.Envelope) { e.ToPeer, e.Room = nil, "lobby" }
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
		{"room name not allowed", encode(func(e *wire.Envelope) { inRoom(e); e.Room = "Lobby" })},
		{"room name too long", encode(func(e *wire.Envelope) { inRoom(e); e.Room = strings.Repeat("r", MaxRoomNameLen+1) })},
		{"kind unspecified", encode(func(e *wire.Envelope) { e.Kind = wire.Kind_KIND_UNSPECIFIED })},
		{"unknown kind", encode(func(e *wire.Envelope) { e.Kind = 7 })},
		{"unknown kind in a room", encode(func(e *wire.Envelope) { inRoom(e); e.Kind = 7 })},
		{"join line in a direct message", encode(func(e *wire.Envelope) { e.Kind, e.Body = wire.Kind_KIND_JOIN, "" })},
		{"typing notice in a direct message", encode(func(e *wire.Envelope) { e.Kind, e.Body = wire.Kind_KIND_TYPING, "" })},
		{"join line with a body", encode(func(e *wire.Envelope) { inRoom(e); e.Kind = wire.Kind_KIND_JOIN })},
		{"leave line with a body", encode(func(e *wire.Envelope) { inRoom(e); e.Kind = wire.Kind_KIND_LEAVE })},
		{"typing notice with a body", encode(func(e *wire.Envelope) { inRoom(e); e.Kind = wire.Kind_KIND_TYPING })},
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
			m, err := DecodeEnvelope(tt.envelope)
			if !errors.Is(err, ErrBadEnvelope) {
				t.Errorf("got (%+v, %v), want ErrBadEnvelope", m, err)
			}
			if m != nil {
				t.Errorf("got a message with the error")
			}
		})
	}

	// A SHA-256 peer ID is a valid recipient (not every key is inlined).
	if _, err := DecodeEnvelope(encode(func(e *wire.Envelope) { e.ToPeer = sha256PeerID })); err != nil {
		t.Errorf("sha256 peer ID as recipient: got %v, want it accepted", err)
	}
}

// TestUnmarshalEnvelopeReadsWhatDecodeRejects checks that stored history
// stays readable whatever DecodeEnvelope refuses now: UnmarshalEnvelope
// reads the fields of any well-formed protobuf envelope as they are.
func TestUnmarshalEnvelopeReadsWhatDecodeRejects(t *testing.T) {
	alice, bob := testPeerID(t), testPeerID(t)
	tests := []struct {
		name string
		env  *wire.Envelope
	}{
		{"unknown kind", &wire.Envelope{Version: 1, Author: []byte(alice), Room: "lobby", Hlc: uint64(testHLC), Kind: 9, Body: "from a newer parley"}},
		{"version 2", &wire.Envelope{Version: 2, Author: []byte(alice), ToPeer: []byte(bob), Hlc: uint64(testHLC), Kind: wire.Kind_KIND_TEXT, Body: "v2"}},
		{"join line with a body", &wire.Envelope{Version: 1, Author: []byte(alice), Room: "lobby", Hlc: uint64(testHLC), Kind: wire.Kind_KIND_JOIN, Body: "hello"}},
		{"room name a newer rule refuses", &wire.Envelope{Version: 1, Author: []byte(alice), Room: "Lobby", Hlc: uint64(testHLC), Kind: wire.Kind_KIND_TEXT, Body: "hi"}},
		{"zero hlc", &wire.Envelope{Version: 1, Author: []byte(alice), ToPeer: []byte(bob), Kind: wire.Kind_KIND_TEXT, Body: "no time"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := marshalEnvelope(t, tt.env)
			if _, err := DecodeEnvelope(b); !errors.Is(err, ErrBadEnvelope) {
				t.Fatalf("DecodeEnvelope: got %v, want ErrBadEnvelope", err)
			}
			m, err := UnmarshalEnvelope(b)
			if err != nil {
				t.Fatalf("UnmarshalEnvelope: %v", err)
			}
			if m.ID != MessageIDOf(b) || !bytes.Equal(m.Envelope, b) {
				t.Errorf("ID and Envelope: got %s, want sha256 of the bytes and the bytes", m.ID)
			}
			if m.Author != PeerID(tt.env.Author) || m.To != PeerID(tt.env.ToPeer) || m.Room != tt.env.Room ||
				m.HLC != HLC(tt.env.Hlc) || m.Kind != Kind(tt.env.Kind) || m.Body != tt.env.Body {
				t.Errorf("content: got %+v, want the fields of %v", m, tt.env)
			}
			wantConv := Conversation("")
			if tt.env.Room != "" {
				wantConv = RoomConversation(tt.env.Room)
			}
			if m.Conversation != wantConv {
				t.Errorf("Conversation: got %q, want %q", m.Conversation, wantConv)
			}
		})
	}

	truncated := marshalEnvelope(t, tests[0].env)[:10]
	for _, bad := range [][]byte{[]byte("\xff\xff\xff\xff"), truncated} {
		if m, err := UnmarshalEnvelope(bad); !errors.Is(err, ErrBadEnvelope) || m != nil {
			t.Errorf("UnmarshalEnvelope(%x): got (%+v, %v), want ErrBadEnvelope", bad, m, err)
		}
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

func FuzzDecodeEnvelope(f *testing.F) {
	alice, bob := testPeerID(f), testPeerID(f)
	for _, m := range []Message{
		{Author: alice, To: bob, HLC: testHLC, Kind: KindText, Body: "hello"},
		{Author: bob, Room: "lobby", HLC: testHLC, Kind: KindText, Body: "hi all", ReplyTo: MessageIDOf(nil)},
		{Author: bob, Room: "lobby", HLC: testHLC, Kind: KindJoin},
		// An app message (an incoming webhook's).
		{Author: alice, Room: "lobby", HLC: testHLC, Kind: KindText, Body: "build passed", App: "CI", AppIcon: ":ship:", Rich: []byte(`{"text":"build *passed*"}`)},
		// A message with files (the manifests' decoder).
		{Author: alice, Room: "lobby", HLC: testHLC, Kind: KindText, Files: []FileManifest{
			{Name: "a.png", Size: 5 << 20, MIME: "image/png", Hash: FileHash{1}, ChunkSize: 1 << 20, Width: 64, Height: 48, Thumb: []byte{0xff, 0xd8}},
			{Name: "../etc/passwd", Size: 0, MIME: "text/plain; charset=utf-8", Hash: FileHash{2}, ChunkSize: 1 << 20, Key: crypto.Key{3}},
		}},
	} {
		if err := encodeEnvelope(&m); err != nil {
			f.Fatal(err)
		}
		f.Add(m.Envelope)
	}
	f.Add([]byte{})
	f.Add([]byte("\x08\x02"))
	f.Fuzz(func(t *testing.T, envelope []byte) {
		orig := bytes.Clone(envelope)
		stored, storedErr := UnmarshalEnvelope(envelope)
		if storedErr != nil && (!errors.Is(storedErr, ErrBadEnvelope) || stored != nil) {
			t.Fatalf("UnmarshalEnvelope: got (%+v, %v), want a message or ErrBadEnvelope alone", stored, storedErr)
		}
		m, err := DecodeEnvelope(envelope)
		if !bytes.Equal(envelope, orig) {
			t.Fatal("the decoders changed their input")
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
		switch {
		case m.Room != "":
			if ValidateRoomName(m.Room) != nil || m.Conversation != RoomConversation(m.Room) {
				t.Fatalf("accepted room %q filed under %q", m.Room, m.Conversation)
			}
			if m.Kind != KindText && (m.Kind < KindJoin || m.Kind > KindOp || m.Body != "") {
				t.Fatalf("accepted a room message of kind %v with body %q", m.Kind, m.Body)
			}
		case (m.Kind != KindText && m.Kind != KindKey) || m.Conversation != "":
			t.Fatalf("accepted a direct message of kind %v filed under %q", m.Kind, m.Conversation)
		}
		if m.HLC == 0 || !utf8.ValidString(m.Body) || m.Author == "" {
			t.Fatalf("accepted an invalid message: %+v", m)
		}
		if _, err := crypto.PeerIDFromBytes([]byte(m.Author)); err != nil {
			t.Fatalf("author %x is not a peer ID: %v", m.Author, err)
		}
		// What arrives is readable from the store with the same content.
		if storedErr != nil {
			t.Fatalf("UnmarshalEnvelope refuses what DecodeEnvelope accepts: %v", storedErr)
		}
		if stored.ID != m.ID || stored.Author != m.Author || stored.To != m.To || stored.Room != m.Room || stored.HLC != m.HLC ||
			stored.Kind != m.Kind || stored.Body != m.Body || stored.ReplyTo != m.ReplyTo || stored.Conversation != m.Conversation {
			t.Fatalf("UnmarshalEnvelope: got %+v, want the content DecodeEnvelope read, %+v", stored, m)
		}
	})
}

// TestDecodeEnvelopeRejectsNULInRoom checks that no room name holds 0x00:
// the store keys a conversation by its text followed by a 0x00 byte, so
// such a name would file its messages inside another room's key range
// ("go\x00x" inside "go").
func TestDecodeEnvelopeRejectsNULInRoom(t *testing.T) {
	alice := testPeerID(t)
	for _, room := range []string{"go\x00x", "\x00", "go\x00"} {
		b := marshalEnvelope(t, &wire.Envelope{Version: 1, Author: []byte(alice), Room: room, Hlc: uint64(testHLC), Kind: wire.Kind_KIND_TEXT, Body: "hi"})
		m, err := DecodeEnvelope(b)
		if err == nil {
			t.Errorf("room %q: got a message of conversation %q, want ErrBadEnvelope", room, m.Conversation)
		} else if !errors.Is(err, ErrBadEnvelope) {
			t.Errorf("room %q: got %v, want ErrBadEnvelope", room, err)
		}
	}
}
