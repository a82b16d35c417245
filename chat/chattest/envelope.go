package chattest

import (
	"encoding/binary"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/internal/wire"
)

// Env builds an envelope the way chat encodes one. Set To for a direct
// message or Room for a room message. Zero Version means 1, zero Kind
// means text, zero HLC means 1. Raw, if set, edits the wire form last, for
// envelopes that break the rules on purpose.
type Env struct {
	Version uint32
	Author  chat.PeerID
	To      chat.PeerID
	Room    string
	HLC     chat.HLC
	Kind    chat.Kind
	Body    string
	ReplyTo chat.MessageID
	Raw     func(*wire.Envelope)
}

// Bytes returns the encoded envelope.
func (e Env) Bytes(t testing.TB) []byte {
	t.Helper()
	env := &wire.Envelope{
		Version: e.Version,
		Author:  []byte(e.Author),
		ToPeer:  []byte(e.To),
		Room:    e.Room,
		Hlc:     uint64(e.HLC),
		Kind:    wire.Kind(e.Kind),
		Body:    e.Body,
	}
	if env.Version == 0 {
		env.Version = 1
	}
	if env.Kind == 0 {
		env.Kind = wire.Kind_KIND_TEXT
	}
	if env.Hlc == 0 {
		env.Hlc = 1
	}
	if !e.ReplyTo.IsZero() {
		env.ReplyTo = e.ReplyTo[:]
	}
	if e.Raw != nil {
		e.Raw(env)
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Message returns the envelope decoded (and checked) as chat decodes what
// arrives, filed under its conversation as the recipient (direct
// messages) would file it, with status received.
func (e Env) Message(t testing.TB) *chat.Message {
	t.Helper()
	m, err := chat.DecodeEnvelope(e.Bytes(t))
	if err != nil {
		t.Fatalf("envelope does not decode: %v", err)
	}
	if m.Room == "" {
		m.Conversation = chat.DMConversation(m.Author)
	}
	m.Status = chat.StatusReceived
	return m
}

// Frame returns b as one length-delimited frame.
func Frame(b []byte) []byte {
	return append(binary.AppendUvarint(nil, uint64(len(b))), b...)
}

// MessageFrame returns one DM frame carrying envelope.
func MessageFrame(t testing.TB, envelope []byte) []byte {
	t.Helper()
	b, err := proto.Marshal(&wire.DMFrame{Frame: &wire.DMFrame_Message{Message: &wire.DMMessage{Envelope: envelope}}})
	if err != nil {
		t.Fatal(err)
	}
	return Frame(b)
}

// AckFrame returns one DM frame carrying entries. It never fails, so a
// goroutine other than the test's may call it.
func AckFrame(entries ...*wire.AckEntry) []byte {
	b, err := proto.Marshal(&wire.DMFrame{Frame: &wire.DMFrame_Ack{Ack: &wire.Ack{Entries: entries}}})
	if err != nil {
		panic(err) // an Ack always encodes
	}
	return Frame(b)
}
