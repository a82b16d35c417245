package store_test

import (
	"bytes"
	"cmp"
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/chat/chattest"
	"github.com/parley-chat/parley/internal/wire"
	"github.com/parley-chat/parley/store"
)

// TestRecordsBreakingTodaysChecks: history this node accepted once stays
// readable when the rules for what arrives get stricter. Each record is
// written by hand, as an earlier version would have, with an envelope that
// chat.DecodeEnvelope refuses today.
func TestRecordsBreakingTodaysChecks(t *testing.T) {
	self, peer := newPeer(t), newPeer(t)
	tests := []struct {
		name string
		conv chat.Conversation
		env  chattest.Env
	}{
		{"unknown kind", chat.RoomConversation("dev"),
			chattest.Env{Author: peer, Room: "dev", HLC: baseHLC, Kind: 99, Body: "a kind from the future"}},
		{"bad room name", chat.RoomConversation("Dev Room!"),
			chattest.Env{Author: peer, Room: "Dev Room!", HLC: baseHLC + 1, Body: "upper case and a space"}},
		{"join with a body", chat.RoomConversation("dev"),
			chattest.Env{Author: peer, Room: "dev", HLC: baseHLC + 2, Kind: chat.KindJoin, Body: "hello"}},
		{"version 2", chat.DMConversation(peer),
			chattest.Env{Version: 2, Author: peer, To: self, HLC: baseHLC + 3, Body: "newer format"}},
		{"author not a peer ID", chat.DMConversation(peer),
			chattest.Env{Author: "not a peer", To: self, HLC: baseHLC + 4, Body: "odd author"}},
		{"no timestamp", chat.DMConversation(peer),
			chattest.Env{Author: peer, To: self, Body: "no clock", Raw: func(e *wire.Envelope) { e.Hlc = 0 }}},
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			s := b.open(t)
			byConv := map[chat.Conversation][]*chat.Message{}
			for _, tt := range tests {
				envelope := tt.env.Bytes(t)
				if _, err := chat.DecodeEnvelope(envelope); err == nil {
					t.Fatalf("%s: DecodeEnvelope accepts the envelope; the test needs one it refuses", tt.name)
				}
				want, err := chat.UnmarshalEnvelope(envelope)
				if err != nil {
					t.Fatalf("%s: %v", tt.name, err)
				}
				want.Conversation = tt.conv
				want.Status = chat.StatusReceived
				want.ReceivedAt = baseTime.Add(time.Minute)
				want.Proof = chat.Proof{Seqno: []byte{7}, Signature: []byte("signature")}
				val, err := proto.Marshal(&wire.StoredMessage{
					Envelope:     envelope,
					Signature:    want.Proof.Signature,
					Seqno:        want.Proof.Seqno,
					Status:       uint32(want.Status),
					ReceivedAtMs: want.ReceivedAt.UnixMilli(),
				})
				if err != nil {
					t.Fatal(err)
				}
				if err := store.PutRecord(s, tt.conv, want.HLC, want.ID, val); err != nil {
					t.Fatal(err)
				}
				byConv[tt.conv] = append(byConv[tt.conv], want)

				got, err := s.Message(want.ID)
				if err != nil {
					t.Fatalf("%s: Message: %v", tt.name, err)
				}
				checkMessage(t, got, want)
			}
			// A message of today in between reads as well.
			today := incoming(t, self, peer, baseHLC+5, "today")
			if _, err := s.AddMessages([]*chat.Message{today}); err != nil {
				t.Fatal(err)
			}
			byConv[today.Conversation] = append(byConv[today.Conversation], today)

			for conv, want := range byConv {
				slices.SortFunc(want, func(a, b *chat.Message) int {
					return cmp.Or(cmp.Compare(a.HLC, b.HLC), bytes.Compare(a.ID[:], b.ID[:]))
				})
				got, err := s.Messages(conv, chat.Cursor{}, 10)
				if err != nil {
					t.Fatalf("Messages(%s): %v", conv, err)
				}
				if !slices.Equal(ids(got), ids(want)) {
					t.Errorf("Messages(%s): got %v, want %v", conv, ids(got), ids(want))
				}
			}
		})
	}
}
