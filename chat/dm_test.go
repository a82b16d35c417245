package chat_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/chat/chattest"
	"github.com/parley-chat/parley/internal/wire"
)

func TestSendDMDelivered(t *testing.T) {
	net := chattest.NewNet(t)
	alice, bob := chattest.NewNode(t, net), chattest.NewNode(t, net)
	net.Connect(alice.ID, bob.ID)

	sent, err := alice.Svc.SendDM(t.Context(), bob.ID, "hello, bob")
	if err != nil {
		t.Fatal(err)
	}
	if sent.Status != chat.StatusQueued || sent.Author != alice.ID || sent.To != bob.ID || sent.Conversation != chat.DMConversation(bob.ID) {
		t.Errorf("SendDM returned status %s, author %s, to %s, conversation %s; want queued, %s, %s, %s",
			sent.Status, sent.Author, sent.To, sent.Conversation, alice.ID, bob.ID, chat.DMConversation(bob.ID))
	}
	if sent.ID != chat.MessageIDOf(sent.Envelope) {
		t.Errorf("ID: got %s, want sha256 of the envelope %s", sent.ID, chat.MessageIDOf(sent.Envelope))
	}

	bob.Events.WaitFor(t, "bob storing the message", chattest.MessageIs(sent.ID))
	alice.Events.WaitFor(t, "alice seeing it delivered", chattest.StatusIs(sent.ID, chat.StatusDelivered))

	got := dmHistory(bob, alice.ID)
	if len(got) != 1 {
		t.Fatalf("bob's history: got %d messages, want 1", len(got))
	}
	m := got[0]
	if m.ID != sent.ID || m.Status != chat.StatusReceived || m.Author != alice.ID || m.To != bob.ID ||
		m.Body != "hello, bob" || m.HLC != sent.HLC || m.Conversation != chat.DMConversation(alice.ID) {
		t.Errorf("bob's copy: got id %s, status %s, author %s, to %s, body %q, hlc %d, conv %s; want %s, received, %s, %s, %q, %d, %s",
			m.ID, m.Status, m.Author, m.To, m.Body, m.HLC, m.Conversation,
			sent.ID, alice.ID, bob.ID, "hello, bob", sent.HLC, chat.DMConversation(alice.ID))
	}

	mine := dmHistory(alice, bob.ID)
	if len(mine) != 1 || mine[0].ID != sent.ID || mine[0].Status != chat.StatusDelivered {
		t.Errorf("alice's history: got %v, want [%s delivered]", summarize(mine), sent.ID)
	}
	outbox, err := alice.Store.Outbox()
	if err != nil {
		t.Fatal(err)
	}
	if len(outbox) != 0 {
		t.Errorf("alice's outbox: got %d recipients, want empty", len(outbox))
	}

	// The event stream opens with the queued message and reports the
	// delivery once. (How "sent" fits in is TestStatusEventsEndDelivered's
	// business.)
	evs := alice.Events.All(func(ev chat.Event) bool { return ev.Message != nil && ev.Message.ID == sent.ID })
	if len(evs) == 0 || evs[0].Type != chat.EventMessage || evs[0].Message.Status != chat.StatusQueued {
		t.Errorf("alice's first event for the message: got %+v, want the queued message", evs)
	}
	if n := alice.Events.Count(chattest.StatusIs(sent.ID, chat.StatusDelivered)); n != 1 {
		t.Errorf("alice's delivered events: got %d, want 1", n)
	}
}

// TestStatusEventsEndDelivered holds each of the sender's stream writes
// until the receiver's ack for it has been applied, then checks that the
// last status event of each message is "delivered": a client following the
// events must not be left showing "sent" for a delivered message. The first
// message opens the stream; the second finds it open and idle (the
// bubble's clock stands still while anything runs, so the stream cannot
// idle out in between).
func TestStatusEventsEndDelivered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		net := chattest.NewNet(t)
		alice, bob := chattest.NewNode(t, net), chattest.NewNode(t, net)
		net.Connect(alice.ID, bob.ID)
		net.SetWriteHook(alice.ID, chat.DMProtocol, func(p []byte, write func([]byte) (int, error)) (int, error) {
			n, err := write(p)
			if err != nil {
				return n, err
			}
			for _, id := range messageIDsIn(p) {
				_, _ = alice.Events.Await(chattest.StatusIs(id, chat.StatusDelivered), chattest.Timeout)
			}
			return n, err
		})

		var sent []*chat.Message
		for _, body := range []string{"opens the stream", "finds it open"} {
			m, err := alice.Svc.SendDM(t.Context(), bob.ID, body)
			if err != nil {
				t.Fatal(err)
			}
			alice.Events.WaitFor(t, "delivery", chattest.StatusIs(m.ID, chat.StatusDelivered))
			sent = append(sent, m)
		}
		if n := net.StreamsOpened(alice.ID, chat.DMProtocol); n != 1 {
			t.Errorf("alice opened %d DM streams, want 1", n)
		}
		// Once alice is stopped, every event she published is in her log.
		alice.Stop()
		for i, m := range sent {
			var got []chat.Status
			for _, ev := range alice.Events.All(func(ev chat.Event) bool { return ev.Type == chat.EventStatus && ev.Message.ID == m.ID }) {
				got = append(got, ev.Message.Status)
			}
			if len(got) == 0 || got[len(got)-1] != chat.StatusDelivered {
				t.Errorf("message %d: status events: got %v, want them to end with delivered", i+1, got)
			}
		}
	})
}

func TestSendDMBothWays(t *testing.T) {
	net := chattest.NewNet(t)
	alice, bob := chattest.NewNode(t, net), chattest.NewNode(t, net)
	net.Connect(alice.ID, bob.ID)

	var fromAlice, fromBob []*chat.Message
	for i := range 5 {
		m, err := alice.Svc.SendDM(t.Context(), bob.ID, fmt.Sprintf("alice %d", i))
		if err != nil {
			t.Fatal(err)
		}
		fromAlice = append(fromAlice, m)
		m, err = bob.Svc.SendDM(t.Context(), alice.ID, fmt.Sprintf("bob %d", i))
		if err != nil {
			t.Fatal(err)
		}
		fromBob = append(fromBob, m)
	}
	for _, m := range fromAlice {
		alice.Events.WaitFor(t, "alice's message delivered", chattest.StatusIs(m.ID, chat.StatusDelivered))
	}
	for _, m := range fromBob {
		bob.Events.WaitFor(t, "bob's message delivered", chattest.StatusIs(m.ID, chat.StatusDelivered))
	}
	// Both histories hold all ten messages in the same (HLC, ID) order.
	a, b := dmHistory(alice, bob.ID), dmHistory(bob, alice.ID)
	if len(a) != 10 || len(b) != 10 {
		t.Fatalf("histories: got %d and %d messages, want 10 each", len(a), len(b))
	}
	for i := range a {
		if a[i].ID != b[i].ID {
			t.Fatalf("message %d: alice has %s, bob has %s; want the same order on both", i, a[i].ID, b[i].ID)
		}
	}
}

func TestOutboxDeliveredOnConnect(t *testing.T) {
	net := chattest.NewNet(t)
	alice, bob := chattest.NewNode(t, net), chattest.NewNode(t, net)

	var sent []*chat.Message
	for i := range 3 {
		m, err := alice.Svc.SendDM(t.Context(), bob.ID, fmt.Sprintf("while apart %d", i))
		if err != nil {
			t.Fatal(err)
		}
		sent = append(sent, m)
	}
	for _, m := range dmHistory(alice, bob.ID) {
		if m.Status != chat.StatusQueued {
			t.Errorf("before connecting: message %s is %s, want queued", m.ID, m.Status)
		}
	}

	net.Connect(alice.ID, bob.ID)
	for _, m := range sent {
		alice.Events.WaitFor(t, "delivery after connecting", chattest.StatusIs(m.ID, chat.StatusDelivered))
		bob.Events.WaitFor(t, "bob announcing the message", chattest.MessageIs(m.ID))
	}
	got := dmHistory(bob, alice.ID)
	if !slices.Equal(idsOf(got), idsOf(sent)) {
		t.Errorf("bob's history: got %v, want %v", idsOf(got), idsOf(sent))
	}
	barrier(t, alice, bob)
	for _, m := range sent {
		if n := alice.Events.Count(chattest.StatusIs(m.ID, chat.StatusDelivered)); n != 1 {
			t.Errorf("message %s: alice saw it delivered %d times, want once", m.ID, n)
		}
		if n := bob.Events.Count(chattest.MessageIs(m.ID)); n != 1 {
			t.Errorf("message %s: bob stored it %d times, want once", m.ID, n)
		}
	}
}

func TestOutboxSurvivesRestart(t *testing.T) {
	net := chattest.NewNet(t)
	alice, bob := chattest.NewNode(t, net, chattest.OnDisk()), chattest.NewNode(t, net)

	var sent []*chat.Message
	for i := range 3 {
		m, err := alice.Svc.SendDM(t.Context(), bob.ID, fmt.Sprintf("before the restart %d", i))
		if err != nil {
			t.Fatal(err)
		}
		sent = append(sent, m)
	}

	alice.Restart()
	got := dmHistory(alice, bob.ID)
	if !slices.Equal(idsOf(got), idsOf(sent)) {
		t.Fatalf("alice's history after restart: got %v, want %v", idsOf(got), idsOf(sent))
	}
	for _, m := range got {
		if m.Status != chat.StatusQueued {
			t.Errorf("after restart: message %s is %s, want queued", m.ID, m.Status)
		}
	}
	// The restarted node remembers the peer it wrote to.
	if _, ok := alice.Svc.Peer(bob.ID); !ok {
		t.Errorf("after restart: bob is not a known peer")
	}

	net.Connect(alice.ID, bob.ID)
	for _, m := range sent {
		alice.Events.WaitFor(t, "delivery after restart", chattest.StatusIs(m.ID, chat.StatusDelivered))
	}
	if got := dmHistory(bob, alice.ID); !slices.Equal(idsOf(got), idsOf(sent)) {
		t.Errorf("bob's history: got %v, want %v", idsOf(got), idsOf(sent))
	}
	outbox, err := alice.Store.Outbox()
	if err != nil {
		t.Fatal(err)
	}
	if len(outbox) != 0 {
		t.Errorf("alice's outbox after delivery: got %d recipients, want empty", len(outbox))
	}

	// Delivered stays delivered across another restart.
	alice.Restart()
	for _, m := range dmHistory(alice, bob.ID) {
		if m.Status != chat.StatusDelivered {
			t.Errorf("after second restart: message %s is %s, want delivered", m.ID, m.Status)
		}
	}
}

func TestDeliveryAcrossDisconnect(t *testing.T) {
	net := chattest.NewNet(t)
	alice, bob := chattest.NewNode(t, net), chattest.NewNode(t, net)
	net.Connect(alice.ID, bob.ID)
	first, err := alice.Svc.SendDM(t.Context(), bob.ID, "first")
	if err != nil {
		t.Fatal(err)
	}
	alice.Events.WaitFor(t, "first delivered", chattest.StatusIs(first.ID, chat.StatusDelivered))

	net.Disconnect(alice.ID, bob.ID)
	alice.Events.WaitFor(t, "bob going down", peerDown(bob.ID))
	second, err := alice.Svc.SendDM(t.Context(), bob.ID, "second")
	if err != nil {
		t.Fatal(err)
	}
	net.Connect(alice.ID, bob.ID)
	alice.Events.WaitFor(t, "second delivered", chattest.StatusIs(second.ID, chat.StatusDelivered))
	if got := dmHistory(bob, alice.ID); !slices.Equal(idsOf(got), []chat.MessageID{first.ID, second.ID}) {
		t.Errorf("bob's history: got %v, want [%s %s]", idsOf(got), first.ID, second.ID)
	}
}

// TestDuplicateStoredOnce replays a delivered message on a new stream: the
// receiver acknowledges it as stored again but keeps one copy.
func TestDuplicateStoredOnce(t *testing.T) {
	net := chattest.NewNet(t)
	alice, bob := chattest.NewNode(t, net), chattest.NewNode(t, net)
	net.Connect(alice.ID, bob.ID)
	sent, err := alice.Svc.SendDM(t.Context(), bob.ID, "only once")
	if err != nil {
		t.Fatal(err)
	}
	alice.Events.WaitFor(t, "delivery", chattest.StatusIs(sent.ID, chat.StatusDelivered))
	bob.Events.WaitFor(t, "bob announcing the message", chattest.MessageIs(sent.ID))

	for i := range 2 {
		s := openRaw(t, alice.Tr, bob.ID, chat.DMProtocol)
		if _, err := s.Write(chattest.MessageFrame(t, sent.Envelope)); err != nil {
			t.Fatal(err)
		}
		entries, err := newRawPeer(s).readAcks(1)
		if err != nil {
			t.Fatalf("replay %d: read ack: %v", i+1, err)
		}
		if e := entries[0]; ackedID(e) != sent.ID || e.Status != wire.AckStatus_ACK_STATUS_STORED {
			t.Errorf("replay %d: got ack %x %s, want %s STORED", i+1, e.Id, e.Status, sent.ID)
		}
		_ = s.Close()
	}
	if got := dmHistory(bob, alice.ID); len(got) != 1 {
		t.Errorf("bob's history: got %d messages, want 1", len(got))
	}
	barrier(t, alice, bob)
	if n := bob.Events.Count(chattest.MessageIs(sent.ID)); n != 1 {
		t.Errorf("bob announced the message %d times, want once", n)
	}
}

// TestLostAcksRedelivered drops the receiver's acknowledgements, so the
// sender writes the message again on a new stream after its ack timeout;
// the receiver stores it once and the sender marks it delivered once the
// acks get through.
func TestLostAcksRedelivered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		net := chattest.NewNet(t)
		alice, bob := chattest.NewNode(t, net), chattest.NewNode(t, net)
		net.Connect(alice.ID, bob.ID)

		var dropped atomic.Int32
		net.SetWriteHook(bob.ID, chat.DMProtocol, func(p []byte, _ func([]byte) (int, error)) (int, error) {
			dropped.Add(1)
			return len(p), nil
		})
		sent, err := alice.Svc.SendDM(t.Context(), bob.ID, "are you there?")
		if err != nil {
			t.Fatal(err)
		}
		bob.Events.WaitFor(t, "bob storing the message", chattest.MessageIs(sent.ID))
		// Each ack bob writes answers a batch he has stored: two lost acks
		// mean he was sent the message twice.
		chattest.WaitFor(t, 0, "a second delivery attempt", func() bool { return dropped.Load() >= 2 })
		if alice.Events.Count(chattest.StatusIs(sent.ID, chat.StatusDelivered)) != 0 {
			t.Fatal("alice saw the message delivered though every ack was lost")
		}

		net.SetWriteHook(bob.ID, chat.DMProtocol, nil)
		alice.Events.WaitFor(t, "delivery once acks get through", chattest.StatusIs(sent.ID, chat.StatusDelivered))
		if got := dmHistory(bob, alice.ID); len(got) != 1 {
			t.Errorf("bob's history: got %d messages, want 1", len(got))
		}
		barrier(t, alice, bob)
		if n := bob.Events.Count(chattest.MessageIs(sent.ID)); n != 1 {
			t.Errorf("bob announced the message %d times, want once", n)
		}
		if n := net.StreamsOpened(alice.ID, chat.DMProtocol); n < 2 {
			t.Errorf("alice opened %d DM streams, want at least 2", n)
		}
	})
}

func TestReceiverRejects(t *testing.T) {
	net := chattest.NewNet(t)
	bob := chattest.NewNode(t, net)
	alice := chattest.NewIdentity(t).PeerID()
	carol := chattest.NewIdentity(t).PeerID()
	aliceTr := net.AddNode(alice)
	net.Connect(alice, bob.ID)
	now := chat.HLCFromTime(time.Now())

	tests := []struct {
		name     string
		envelope []byte
		reason   string // a prefix of the reason given
	}{
		{"author is not the sender", chattest.Env{Author: carol, To: bob.ID, HLC: now, Body: "I am carol"}.Bytes(t), "author is not the sending peer"},
		{"not addressed to the receiver", chattest.Env{Author: alice, To: carol, HLC: now, Body: "for carol"}.Bytes(t), "not addressed to this peer"},
		{"timestamp too far ahead", chattest.Env{Author: alice, To: bob.ID, HLC: chat.HLCFromTime(time.Now().Add(2 * time.Hour)), Body: "from the future"}.Bytes(t), "timestamp "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// An acceptable message on either side of the rejected one:
			// one batch, one ack entry per message, in order.
			before := chattest.Env{Author: alice, To: bob.ID, HLC: now, Body: "before " + tt.name}.Bytes(t)
			after := chattest.Env{Author: alice, To: bob.ID, HLC: now + 1, Body: "after " + tt.name}.Bytes(t)
			s := openRaw(t, aliceTr, bob.ID, chat.DMProtocol)
			var frames []byte
			for _, env := range [][]byte{before, tt.envelope, after} {
				frames = append(frames, chattest.MessageFrame(t, env)...)
			}
			if _, err := s.Write(frames); err != nil {
				t.Fatal(err)
			}
			entries, err := newRawPeer(s).readAcks(3)
			if err != nil {
				t.Fatalf("read acks: %v", err)
			}
			if len(entries) != 3 {
				t.Fatalf("got %d ack entries, want 3", len(entries))
			}
			want := []struct {
				id     chat.MessageID
				status wire.AckStatus
			}{
				{chat.MessageIDOf(before), wire.AckStatus_ACK_STATUS_STORED},
				{chat.MessageIDOf(tt.envelope), wire.AckStatus_ACK_STATUS_REJECTED},
				{chat.MessageIDOf(after), wire.AckStatus_ACK_STATUS_STORED},
			}
			for i, w := range want {
				if got := entries[i]; ackedID(got) != w.id || got.Status != w.status {
					t.Errorf("ack %d: got %x %s, want %s %s", i, got.Id, got.Status, w.id, w.status)
				}
			}
			if got := entries[1].Reason; !strings.HasPrefix(got, tt.reason) {
				t.Errorf("reason: got %q, want it to start with %q", got, tt.reason)
			}
			_ = s.Close()

			if _, err := bob.Store.Message(chat.MessageIDOf(tt.envelope)); !errors.Is(err, chat.ErrNotFound) {
				t.Errorf("rejected message in bob's store: got %v, want ErrNotFound", err)
			}
			for _, env := range [][]byte{before, after} {
				if _, err := bob.Store.Message(chat.MessageIDOf(env)); err != nil {
					t.Errorf("accepted message %s: %v", chat.MessageIDOf(env), err)
				}
			}
		})
	}
}

// TestSenderMarksRejectedFailed has a hand-written receiver reject
// everything; the sender marks its message failed with the reason, cleaned,
// and stops retrying.
func TestSenderMarksRejectedFailed(t *testing.T) {
	tests := []struct {
		name       string
		reason     string
		wantReason string
	}{
		{"with reason", "no thanks\x07\r\n\u0000", "rejected by the recipient: no thanks"},
		{"without reason", "", "rejected by the recipient"},
		{"unprintable reason", "\x1b\x7f\ufffd", "rejected by the recipient"},
		{"long reason", strings.Repeat("é", 300), "rejected by the recipient: " + strings.Repeat("é", 100)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			net := chattest.NewNet(t)
			alice := chattest.NewNode(t, net)
			rejecter := chattest.NewIdentity(t).PeerID()
			net.AddNode(rejecter).SetStreamHandler(chat.DMProtocol, func(_ chat.PeerID, s chat.Stream) {
				defer func() { _ = s.Close() }()
				p := newRawPeer(s)
				for {
					f, err := p.nextDM()
					if err != nil {
						return
					}
					id := chat.MessageIDOf(f.GetMessage().GetEnvelope())
					entry := &wire.AckEntry{Id: id[:], Status: wire.AckStatus_ACK_STATUS_REJECTED, Reason: tt.reason}
					if _, err := s.Write(chattest.AckFrame(entry)); err != nil {
						return
					}
				}
			})
			net.Connect(alice.ID, rejecter)

			sent, err := alice.Svc.SendDM(t.Context(), rejecter, "hello?")
			if err != nil {
				t.Fatal(err)
			}
			ev := alice.Events.WaitFor(t, "the message failing", chattest.StatusIs(sent.ID, chat.StatusFailed))
			if ev.Message.Reason != tt.wantReason {
				t.Errorf("event reason: got %q, want %q", ev.Message.Reason, tt.wantReason)
			}
			got := dmHistory(alice, rejecter)
			if len(got) != 1 || got[0].Status != chat.StatusFailed || got[0].Reason != tt.wantReason {
				t.Errorf("history: got %v, want [%s failed %q]", summarize(got), sent.ID, tt.wantReason)
			}
			outbox, err := alice.Store.Outbox()
			if err != nil {
				t.Fatal(err)
			}
			if len(outbox) != 0 {
				t.Errorf("outbox: got %d recipients, want empty: a rejected message is not retried", len(outbox))
			}
		})
	}
}

// TestHostileStreams sends the receiver's DM handler what no honest peer
// would: each stream must be reset (a stream that sends nothing, once the
// first frame is overdue), and honest delivery must go on.
func TestHostileStreams(t *testing.T) {
	const maxFrame = 4 << 10
	tests := []struct {
		name string
		// input is what the attacker writes, given a valid envelope.
		input func(t *testing.T, valid []byte) []byte
		// halfClose ends the attacker's writing after input.
		halfClose bool
		// rejectOK accepts, instead of a reset, an ack rejecting the
		// message of a well-formed frame whose envelope is invalid.
		rejectOK bool
	}{
		{name: "huge length prefix", input: raw(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f)},
		{name: "length prefix just over the cap", input: raw(binary.AppendUvarint(nil, maxFrame+1)...)},
		{name: "varint overflow", input: raw(bytes.Repeat([]byte{0xff}, 11)...)},
		{name: "garbage", input: raw([]byte("GET / HTTP/1.1\r\nHost: bob\r\n\r\n")...)},
		{name: "frame that is not protobuf", input: raw(chattest.Frame([]byte{0xff, 0xff, 0xff})...)},
		{name: "empty frame", input: raw(chattest.Frame(nil)...)},
		{name: "ack instead of a message", input: raw(chattest.AckFrame(&wire.AckEntry{Id: make([]byte, 32), Status: wire.AckStatus_ACK_STATUS_STORED})...)},
		{name: "message with a garbage envelope", input: func(t *testing.T, _ []byte) []byte { return chattest.MessageFrame(t, []byte("not an envelope")) }, rejectOK: true},
		{name: "message with an empty envelope", input: func(t *testing.T, _ []byte) []byte { return chattest.MessageFrame(t, nil) }, rejectOK: true},
		{name: "truncated frame", input: func(t *testing.T, valid []byte) []byte { return chattest.MessageFrame(t, valid)[:20] }, halfClose: true},
		{name: "truncated length prefix", input: raw(0x80), halfClose: true},
		{name: "valid frame then garbage", input: func(t *testing.T, valid []byte) []byte {
			return append(chattest.MessageFrame(t, valid), 0xff, 0xff, 0xff)
		}},
		{name: "nothing at all", input: raw()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				net := chattest.NewNet(t)
				bob := chattest.NewNode(t, net, chattest.WithConfig(func(c *chat.Config) {
					c.MaxFrame = maxFrame
					c.FirstFrameTimeout = 100 * time.Millisecond
				}))
				alice := chattest.NewNode(t, net)
				net.Connect(alice.ID, bob.ID)
				mallory := chattest.NewIdentity(t).PeerID()
				malloryTr := net.AddNode(mallory)
				net.Connect(mallory, bob.ID)
				valid := chattest.Env{Author: mallory, To: bob.ID, HLC: chat.HLCFromTime(time.Now()), Body: "valid"}.Bytes(t)

				s := openRaw(t, malloryTr, bob.ID, chat.DMProtocol)
				if input := tt.input(t, valid); len(input) > 0 {
					if _, err := s.Write(input); err != nil {
						t.Fatalf("write: %v", err)
					}
				}
				if tt.halfClose {
					_ = s.(*chattest.Stream).CloseWrite()
				}
				// The stream must end in a reset, or, where that is allowed,
				// with the message rejected.
				p := newRawPeer(s)
				f, err := p.nextDM()
				if err == nil && tt.rejectOK {
					entries := f.GetAck().GetEntries()
					if len(entries) != 1 || entries[0].Status != wire.AckStatus_ACK_STATUS_REJECTED {
						t.Errorf("got %v, want the stream reset or the message rejected", f)
					}
				} else {
					for err == nil {
						_, err = p.next()
					}
					if !errors.Is(err, chattest.ErrStreamReset) {
						t.Errorf("read: got %v, want the stream reset", err)
					}
				}

				sent, err := alice.Svc.SendDM(t.Context(), bob.ID, "still there?")
				if err != nil {
					t.Fatal(err)
				}
				alice.Events.WaitFor(t, "honest delivery after the attack", chattest.StatusIs(sent.ID, chat.StatusDelivered))
				if _, err := bob.Store.Message(sent.ID); err != nil {
					t.Errorf("honest message in bob's store: %v", err)
				}
			})
		})
	}
}

// raw returns an attacker's input of fixed bytes.
func raw(b ...byte) func(*testing.T, []byte) []byte {
	return func(*testing.T, []byte) []byte { return b }
}

func TestSendDMErrors(t *testing.T) {
	const maxFrame = 256
	net := chattest.NewNet(t)
	alice := chattest.NewNode(t, net, chattest.WithConfig(func(c *chat.Config) { c.MaxFrame = maxFrame }))
	bob := chattest.NewNode(t, net)
	net.Connect(alice.ID, bob.ID)

	tests := []struct {
		name string
		to   chat.PeerID
		body string
		want error
	}{
		{"to self", alice.ID, "hello me", chat.ErrSelf},
		{"empty", bob.ID, "", chat.ErrEmptyMessage},
		{"only white space", bob.ID, " \t\r\n ", chat.ErrEmptyMessage},
		{"not UTF-8", bob.ID, "caf\xe9", chat.ErrBadEnvelope},
		{"too large", bob.ID, strings.Repeat("x", maxFrame), chat.ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := alice.Svc.SendDM(t.Context(), tt.to, tt.body)
			if !errors.Is(err, tt.want) {
				t.Errorf("got (%v, %v), want %v", m, err, tt.want)
			}
		})
	}
	t.Run("cancelled context", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if m, err := alice.Svc.SendDM(ctx, bob.ID, "never sent"); !errors.Is(err, context.Canceled) {
			t.Errorf("got (%v, %v), want context.Canceled", m, err)
		}
	})
	if got := dmHistory(alice, bob.ID); len(got) != 0 {
		t.Errorf("history after failed sends: got %d messages, want none", len(got))
	}
	outbox, err := alice.Store.Outbox()
	if err != nil {
		t.Fatal(err)
	}
	if len(outbox) != 0 {
		t.Errorf("outbox after failed sends: got %d recipients, want none", len(outbox))
	}

	// The largest body that fits is sent and delivered.
	body := strings.Repeat("x", maxFrame)
	for len(body) > 0 {
		if _, err := alice.Svc.SendDM(t.Context(), bob.ID, body); !errors.Is(err, chat.ErrTooLarge) {
			if err != nil {
				t.Fatalf("body of %d bytes: %v", len(body), err)
			}
			break
		}
		body = body[:len(body)-1]
	}
	if len(body) > alice.Svc.MaxFrame() {
		t.Errorf("largest body sent: %d bytes, more than MaxFrame %d", len(body), alice.Svc.MaxFrame())
	}
	got := dmHistory(alice, bob.ID)
	if len(got) != 1 {
		t.Fatalf("history: got %d messages, want the one that fit", len(got))
	}
	alice.Events.WaitFor(t, "the largest message delivered", chattest.StatusIs(got[0].ID, chat.StatusDelivered))

	svc := alice.Svc
	alice.Stop()
	if _, err := svc.SendDM(t.Context(), bob.ID, "too late"); !errors.Is(err, chat.ErrClosed) {
		t.Errorf("after Close: got %v, want ErrClosed", err)
	}
}

// streamWindow is how many unread bytes a chattest stream holds before
// writes block.
const streamWindow = 256 << 10

// TestReceiverThatNeverReads has the receiver accept the stream and never
// read from it. Once the stream's window is full the sender's writes
// block; the ack timeout must still end the stream so the link retries
// (and Close does not wait on a write that can never finish).
func TestReceiverThatNeverReads(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		net := chattest.NewNet(t)
		alice := chattest.NewNode(t, net, chattest.OnDisk(), chattest.WithConfig(func(c *chat.Config) { c.AckTimeout = 200 * time.Millisecond }))
		sink := chattest.NewIdentity(t).PeerID()
		stop := make(chan struct{})
		net.AddNode(sink).SetStreamHandler(chat.DMProtocol, func(_ chat.PeerID, s chat.Stream) {
			<-stop
			_ = s.Reset()
		})
		t.Cleanup(func() {
			close(stop)
			net.Disconnect(alice.ID, sink) // unblocks a stuck sender
		})
		var attempted atomic.Int64
		net.SetWriteHook(alice.ID, chat.DMProtocol, func(p []byte, write func([]byte) (int, error)) (int, error) {
			attempted.Add(int64(len(p)))
			return write(p)
		})

		// Queue more than the window while apart, so the first stream gets
		// all of it in one batch.
		body := strings.Repeat("w", 60<<10)
		for range 8 {
			if _, err := alice.Svc.SendDM(t.Context(), sink, body); err != nil {
				t.Fatal(err)
			}
		}
		net.Connect(alice.ID, sink)
		chattest.WaitFor(t, 0, "the stream's window to fill", func() bool { return attempted.Load() > streamWindow })
		chattest.WaitFor(t, 0, "the sender to give up on the stream and retry", func() bool {
			return net.StreamsOpened(alice.ID, chat.DMProtocol) >= 2
		})
	})
}

// TestSmallMaxFrameManyMessages queues more messages than one ack frame
// of the sender's small MaxFrame can acknowledge.
func TestSmallMaxFrameManyMessages(t *testing.T) {
	net := chattest.NewNet(t)
	alice := chattest.NewNode(t, net, chattest.WithConfig(func(c *chat.Config) { c.MaxFrame = 256 }))
	bob := chattest.NewNode(t, net)
	var sent []*chat.Message
	for i := range 20 {
		m, err := alice.Svc.SendDM(t.Context(), bob.ID, fmt.Sprintf("short %d", i))
		if err != nil {
			t.Fatal(err)
		}
		sent = append(sent, m)
	}
	net.Connect(alice.ID, bob.ID)
	for _, m := range sent {
		alice.Events.WaitFor(t, "delivery", chattest.StatusIs(m.ID, chat.StatusDelivered))
	}
}

// TestReceiverRejectsUnknownKinds sends envelopes a newer version of Parley
// might write: the frames are well formed, so the receiver must answer
// them with REJECTED (so the sender stops retrying) and go on with the
// rest of the batch, not reset the stream and make the sender write the
// same batch forever.
func TestReceiverRejectsUnknownKinds(t *testing.T) {
	net := chattest.NewNet(t)
	bob := chattest.NewNode(t, net)
	alice := chattest.NewIdentity(t).PeerID()
	aliceTr := net.AddNode(alice)
	net.Connect(alice, bob.ID)
	now := chat.HLCFromTime(time.Now())
	tests := []struct {
		name     string
		envelope []byte
	}{
		{"kind from the future", chattest.Env{Author: alice, To: bob.ID, HLC: now, Kind: 9, Body: "x"}.Bytes(t)},
		{"room kind in a direct message", chattest.Env{Author: alice, To: bob.ID, HLC: now, Kind: chat.KindJoin}.Bytes(t)},
		{"version from the future", chattest.Env{Version: 2, Author: alice, To: bob.ID, HLC: now, Body: "x"}.Bytes(t)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := chattest.Env{Author: alice, To: bob.ID, HLC: now, Body: "before " + tt.name}.Bytes(t)
			after := chattest.Env{Author: alice, To: bob.ID, HLC: now + 1, Body: "after " + tt.name}.Bytes(t)
			s := openRaw(t, aliceTr, bob.ID, chat.DMProtocol)
			var frames []byte
			for _, env := range [][]byte{before, tt.envelope, after} {
				frames = append(frames, chattest.MessageFrame(t, env)...)
			}
			if _, err := s.Write(frames); err != nil {
				t.Fatal(err)
			}
			entries, err := newRawPeer(s).readAcks(3)
			if err != nil {
				t.Fatalf("read acks: %v", err)
			}
			want := []wire.AckStatus{wire.AckStatus_ACK_STATUS_STORED, wire.AckStatus_ACK_STATUS_REJECTED, wire.AckStatus_ACK_STATUS_STORED}
			for i, env := range [][]byte{before, tt.envelope, after} {
				if got := entries[i]; ackedID(got) != chat.MessageIDOf(env) || got.Status != want[i] {
					t.Errorf("ack %d: got %x %s, want %s %s", i, got.Id, got.Status, chat.MessageIDOf(env), want[i])
				}
			}
		})
	}
}

// TestDMRetryBackoff has a peer reset every stream: the sender waits
// RetryMin, then twice as long each time, up to RetryMax, between
// attempts; the peer coming up ends a wait at once.
func TestDMRetryBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const retryMin, retryMax = time.Second, 4 * time.Second
		net := chattest.NewNet(t)
		alice := chattest.NewNode(t, net, chattest.WithConfig(func(c *chat.Config) { c.RetryMin, c.RetryMax = retryMin, retryMax }))
		flaky := chattest.NewIdentity(t).PeerID()
		var mu sync.Mutex
		var attempts []time.Time
		net.AddNode(flaky).SetStreamHandler(chat.DMProtocol, func(_ chat.PeerID, s chat.Stream) {
			mu.Lock()
			attempts = append(attempts, time.Now())
			mu.Unlock()
			_ = s.Reset()
		})

		if _, err := alice.Svc.SendDM(t.Context(), flaky, "anyone there?"); err != nil {
			t.Fatal(err)
		}
		synctest.Wait() // the first attempt found no connection; alice waits
		net.Connect(alice.ID, flaky)
		up := time.Now()
		time.Sleep(2*retryMin + 2*retryMax + time.Millisecond)
		synctest.Wait()

		mu.Lock()
		defer mu.Unlock()
		var got []time.Duration
		for _, at := range attempts {
			got = append(got, at.Sub(up))
		}
		want := []time.Duration{0, 2 * retryMin, 2*retryMin + retryMax, 2*retryMin + 2*retryMax}
		if !slices.Equal(got, want) {
			t.Errorf("attempts after the peer came up: got %v, want %v", got, want)
		}
		if m := dmHistory(alice, flaky); len(m) != 1 || m[0].Status != chat.StatusQueued {
			t.Errorf("history: got %v, want the message queued", summarize(m))
		}
	})
}

// TestDMStreamIdleClose checks that a direct-message stream stays open
// while it is used more often than StreamIdleTimeout, and is closed once
// it has been idle that long.
func TestDMStreamIdleClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const idle = 10 * time.Second
		net := chattest.NewNet(t)
		withIdle := chattest.WithConfig(func(c *chat.Config) { c.StreamIdleTimeout = idle })
		alice, bob := chattest.NewNode(t, net, withIdle), chattest.NewNode(t, net, withIdle)
		net.Connect(alice.ID, bob.ID)
		send := func(body string) {
			t.Helper()
			m, err := alice.Svc.SendDM(t.Context(), bob.ID, body)
			if err != nil {
				t.Fatal(err)
			}
			alice.Events.WaitFor(t, "delivery of "+body, chattest.StatusIs(m.ID, chat.StatusDelivered))
		}
		opened := func() int { return net.StreamsOpened(alice.ID, chat.DMProtocol) }

		// Pauses of either length: the sender must count from the last
		// write (not from when the stream opened), and the receiver must
		// not give up on a stream the sender keeps open.
		for i, pause := range []time.Duration{idle / 2, idle - time.Millisecond, idle / 2, idle - time.Millisecond} {
			send(fmt.Sprint("busy ", i))
			time.Sleep(pause)
		}
		send("just in time")
		if n := opened(); n != 1 {
			t.Errorf("streams opened while busy: got %d, want 1", n)
		}
		time.Sleep(idle + time.Millisecond)
		synctest.Wait()
		send("after a pause")
		if n := opened(); n != 2 {
			t.Errorf("streams opened after an idle pause: got %d, want 2", n)
		}
	})
}
