package chat_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/internal/wire"
)

func TestSendDMDelivered(t *testing.T) {
	net := newFakeNet(t)
	alice, bob := newNode(t, net), newNode(t, net)
	net.connect(alice.id, bob.id)

	sent, err := alice.svc.SendDM(bob.id, "hello, bob")
	if err != nil {
		t.Fatal(err)
	}
	if sent.Status != chat.StatusQueued || sent.Author != alice.id || sent.To != bob.id || sent.Conversation != chat.DMConversation(bob.id) {
		t.Errorf("SendDM returned status %s, author %s, to %s, conversation %s; want queued, %s, %s, %s",
			sent.Status, sent.Author, sent.To, sent.Conversation, alice.id, bob.id, chat.DMConversation(bob.id))
	}
	if sent.ID != chat.MessageIDOf(sent.Envelope) {
		t.Errorf("ID: got %s, want sha256 of the envelope %s", sent.ID, chat.MessageIDOf(sent.Envelope))
	}

	bob.events.waitFor(t, "bob storing the message", messageIs(sent.ID))
	alice.events.waitFor(t, "alice seeing it delivered", statusIs(sent.ID, chat.StatusDelivered))

	got := bob.history(alice.id)
	if len(got) != 1 {
		t.Fatalf("bob's history: got %d messages, want 1", len(got))
	}
	m := got[0]
	if m.ID != sent.ID || m.Status != chat.StatusReceived || m.Author != alice.id || m.To != bob.id ||
		m.Body != "hello, bob" || m.HLC != sent.HLC || m.Conversation != chat.DMConversation(alice.id) {
		t.Errorf("bob's copy: got id %s, status %s, author %s, to %s, body %q, hlc %d, conv %s; want %s, received, %s, %s, %q, %d, %s",
			m.ID, m.Status, m.Author, m.To, m.Body, m.HLC, m.Conversation,
			sent.ID, alice.id, bob.id, "hello, bob", sent.HLC, chat.DMConversation(alice.id))
	}

	mine := alice.history(bob.id)
	if len(mine) != 1 || mine[0].ID != sent.ID || mine[0].Status != chat.StatusDelivered {
		t.Errorf("alice's history: got %v, want [%s delivered]", summarize(mine), sent.ID)
	}
	outbox, err := alice.store.Outbox()
	if err != nil {
		t.Fatal(err)
	}
	if len(outbox) != 0 {
		t.Errorf("alice's outbox: got %d recipients, want empty", len(outbox))
	}

	// The event stream opens with the queued message and reports the
	// delivery once. (How "sent" fits in is TestStatusEventsEndDelivered's
	// business.)
	evs := alice.events.all(func(ev chat.Event) bool { return ev.Message != nil && ev.Message.ID == sent.ID })
	if len(evs) == 0 || evs[0].Type != chat.EventMessage || evs[0].Message.Status != chat.StatusQueued {
		t.Errorf("alice's first event for the message: got %+v, want the queued message", evs)
	}
	if n := alice.events.count(statusIs(sent.ID, chat.StatusDelivered)); n != 1 {
		t.Errorf("alice's delivered events: got %d, want 1", n)
	}
}

// TestStatusEventsEndDelivered holds each of the sender's stream writes
// until the receiver's ack for it has been applied, then checks that the
// last status event of each message is "delivered": a client following the
// events must not be left showing "sent" for a delivered message. The first
// message opens the stream; the second finds it open and idle.
func TestStatusEventsEndDelivered(t *testing.T) {
	net := newFakeNet(t)
	alice, bob := newNode(t, net), newNode(t, net)
	net.connect(alice.id, bob.id)
	net.setWriteHook(alice.id, chat.DMProtocol, func(p []byte, write func([]byte) (int, error)) (int, error) {
		n, err := write(p)
		if err != nil {
			return n, err
		}
		for _, id := range messageIDsIn(p) {
			_, _ = alice.events.await(statusIs(id, chat.StatusDelivered), waitTimeout)
		}
		return n, err
	})

	var sent []*chat.Message
	for _, body := range []string{"opens the stream", "finds it open"} {
		m, err := alice.svc.SendDM(bob.id, body)
		if err != nil {
			t.Fatal(err)
		}
		alice.events.waitFor(t, "delivery", statusIs(m.ID, chat.StatusDelivered))
		sent = append(sent, m)
	}
	// Once alice is stopped, every event she published is in her log.
	alice.stop()
	for i, m := range sent {
		var got []chat.Status
		for _, ev := range alice.events.all(func(ev chat.Event) bool { return ev.Type == chat.EventStatus && ev.Message.ID == m.ID }) {
			got = append(got, ev.Message.Status)
		}
		if len(got) == 0 || got[len(got)-1] != chat.StatusDelivered {
			t.Errorf("message %d: status events: got %v, want them to end with delivered", i+1, got)
		}
	}
}

// messageIDsIn returns the IDs of the messages in a run of DM frames.
func messageIDsIn(b []byte) []chat.MessageID {
	var out []chat.MessageID
	for len(b) > 0 {
		n, k := binary.Uvarint(b)
		if k <= 0 || uint64(len(b)-k) < n {
			break
		}
		var f wire.DMFrame
		if proto.Unmarshal(b[k:k+int(n)], &f) == nil && f.GetMessage() != nil {
			out = append(out, chat.MessageIDOf(f.GetMessage().GetEnvelope()))
		}
		b = b[k+int(n):]
	}
	return out
}

func TestSendDMBothWays(t *testing.T) {
	net := newFakeNet(t)
	alice, bob := newNode(t, net), newNode(t, net)
	net.connect(alice.id, bob.id)

	var fromAlice, fromBob []*chat.Message
	for i := range 5 {
		m, err := alice.svc.SendDM(bob.id, fmt.Sprintf("alice %d", i))
		if err != nil {
			t.Fatal(err)
		}
		fromAlice = append(fromAlice, m)
		m, err = bob.svc.SendDM(alice.id, fmt.Sprintf("bob %d", i))
		if err != nil {
			t.Fatal(err)
		}
		fromBob = append(fromBob, m)
	}
	for _, m := range fromAlice {
		alice.events.waitFor(t, "alice's message delivered", statusIs(m.ID, chat.StatusDelivered))
	}
	for _, m := range fromBob {
		bob.events.waitFor(t, "bob's message delivered", statusIs(m.ID, chat.StatusDelivered))
	}
	// Both histories hold all ten messages in the same (HLC, ID) order.
	a, b := alice.history(bob.id), bob.history(alice.id)
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
	net := newFakeNet(t)
	alice, bob := newNode(t, net), newNode(t, net)

	var sent []*chat.Message
	for i := range 3 {
		m, err := alice.svc.SendDM(bob.id, fmt.Sprintf("while apart %d", i))
		if err != nil {
			t.Fatal(err)
		}
		sent = append(sent, m)
	}
	for _, m := range alice.history(bob.id) {
		if m.Status != chat.StatusQueued {
			t.Errorf("before connecting: message %s is %s, want queued", m.ID, m.Status)
		}
	}

	net.connect(alice.id, bob.id)
	for _, m := range sent {
		alice.events.waitFor(t, "delivery after connecting", statusIs(m.ID, chat.StatusDelivered))
		bob.events.waitFor(t, "bob announcing the message", messageIs(m.ID))
	}
	got := bob.history(alice.id)
	if !slices.Equal(idsOf(got), idsOf(sent)) {
		t.Errorf("bob's history: got %v, want %v", idsOf(got), idsOf(sent))
	}
	barrier(t, alice, bob)
	for _, m := range sent {
		if n := alice.events.count(statusIs(m.ID, chat.StatusDelivered)); n != 1 {
			t.Errorf("message %s: alice saw it delivered %d times, want once", m.ID, n)
		}
		if n := bob.events.count(messageIs(m.ID)); n != 1 {
			t.Errorf("message %s: bob stored it %d times, want once", m.ID, n)
		}
	}
}

func TestOutboxSurvivesRestart(t *testing.T) {
	net := newFakeNet(t)
	alice, bob := newNode(t, net, onDisk()), newNode(t, net)

	var sent []*chat.Message
	for i := range 3 {
		m, err := alice.svc.SendDM(bob.id, fmt.Sprintf("before the restart %d", i))
		if err != nil {
			t.Fatal(err)
		}
		sent = append(sent, m)
	}

	alice.restart()
	got := alice.history(bob.id)
	if !slices.Equal(idsOf(got), idsOf(sent)) {
		t.Fatalf("alice's history after restart: got %v, want %v", idsOf(got), idsOf(sent))
	}
	for _, m := range got {
		if m.Status != chat.StatusQueued {
			t.Errorf("after restart: message %s is %s, want queued", m.ID, m.Status)
		}
	}
	// The restarted node remembers the peer it wrote to.
	if _, ok := alice.svc.Peer(bob.id); !ok {
		t.Errorf("after restart: bob is not a known peer")
	}

	net.connect(alice.id, bob.id)
	for _, m := range sent {
		alice.events.waitFor(t, "delivery after restart", statusIs(m.ID, chat.StatusDelivered))
	}
	if got := bob.history(alice.id); !slices.Equal(idsOf(got), idsOf(sent)) {
		t.Errorf("bob's history: got %v, want %v", idsOf(got), idsOf(sent))
	}
	outbox, err := alice.store.Outbox()
	if err != nil {
		t.Fatal(err)
	}
	if len(outbox) != 0 {
		t.Errorf("alice's outbox after delivery: got %d recipients, want empty", len(outbox))
	}

	// Delivered stays delivered across another restart.
	alice.restart()
	for _, m := range alice.history(bob.id) {
		if m.Status != chat.StatusDelivered {
			t.Errorf("after second restart: message %s is %s, want delivered", m.ID, m.Status)
		}
	}
}

func TestDeliveryAcrossDisconnect(t *testing.T) {
	net := newFakeNet(t)
	alice, bob := newNode(t, net), newNode(t, net)
	net.connect(alice.id, bob.id)
	first, err := alice.svc.SendDM(bob.id, "first")
	if err != nil {
		t.Fatal(err)
	}
	alice.events.waitFor(t, "first delivered", statusIs(first.ID, chat.StatusDelivered))

	net.disconnect(alice.id, bob.id)
	alice.events.waitFor(t, "bob going down", func(ev chat.Event) bool {
		return ev.Type == chat.EventPeer && ev.Peer.ID == bob.id && !ev.Peer.Connected
	})
	second, err := alice.svc.SendDM(bob.id, "second")
	if err != nil {
		t.Fatal(err)
	}
	net.connect(alice.id, bob.id)
	alice.events.waitFor(t, "second delivered", statusIs(second.ID, chat.StatusDelivered))
	if got := bob.history(alice.id); !slices.Equal(idsOf(got), []chat.MessageID{first.ID, second.ID}) {
		t.Errorf("bob's history: got %v, want [%s %s]", idsOf(got), first.ID, second.ID)
	}
}

// TestDuplicateStoredOnce replays a delivered message on a new stream: the
// receiver acknowledges it as stored again but keeps one copy.
func TestDuplicateStoredOnce(t *testing.T) {
	net := newFakeNet(t)
	alice, bob := newNode(t, net), newNode(t, net)
	net.connect(alice.id, bob.id)
	sent, err := alice.svc.SendDM(bob.id, "only once")
	if err != nil {
		t.Fatal(err)
	}
	alice.events.waitFor(t, "delivery", statusIs(sent.ID, chat.StatusDelivered))
	bob.events.waitFor(t, "bob announcing the message", messageIs(sent.ID))

	for i := range 2 {
		s := openRaw(t, alice.tr, bob.id, chat.DMProtocol)
		if _, err := s.Write(messageFrame(t, sent.Envelope)); err != nil {
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
	if got := bob.history(alice.id); len(got) != 1 {
		t.Errorf("bob's history: got %d messages, want 1", len(got))
	}
	barrier(t, alice, bob)
	if n := bob.events.count(messageIs(sent.ID)); n != 1 {
		t.Errorf("bob announced the message %d times, want once", n)
	}
}

// TestLostAcksRedelivered drops the receiver's acknowledgements, so the
// sender writes the message again on a new stream after its ack timeout;
// the receiver stores it once and the sender marks it delivered once the
// acks get through.
func TestLostAcksRedelivered(t *testing.T) {
	net := newFakeNet(t)
	fast := withConfig(func(c *chat.Config) { c.AckTimeout = 200 * time.Millisecond })
	alice, bob := newNode(t, net, fast), newNode(t, net)
	net.connect(alice.id, bob.id)

	var dropped atomic.Int32
	net.setWriteHook(bob.id, chat.DMProtocol, func(p []byte, _ func([]byte) (int, error)) (int, error) {
		dropped.Add(1)
		return len(p), nil
	})
	sent, err := alice.svc.SendDM(bob.id, "are you there?")
	if err != nil {
		t.Fatal(err)
	}
	bob.events.waitFor(t, "bob storing the message", messageIs(sent.ID))
	// Each ack bob writes answers a batch he has stored: two lost acks
	// mean he was sent the message twice.
	waitUntil(t, "a second delivery attempt", func() bool { return dropped.Load() >= 2 })
	if alice.events.count(statusIs(sent.ID, chat.StatusDelivered)) != 0 {
		t.Fatal("alice saw the message delivered though every ack was lost")
	}

	net.setWriteHook(bob.id, chat.DMProtocol, nil)
	alice.events.waitFor(t, "delivery once acks get through", statusIs(sent.ID, chat.StatusDelivered))
	if got := bob.history(alice.id); len(got) != 1 {
		t.Errorf("bob's history: got %d messages, want 1", len(got))
	}
	barrier(t, alice, bob)
	if n := bob.events.count(messageIs(sent.ID)); n != 1 {
		t.Errorf("bob announced the message %d times, want once", n)
	}
	if n := net.streamsOpened(alice.id, chat.DMProtocol); n < 2 {
		t.Errorf("alice opened %d DM streams, want at least 2", n)
	}
}

func TestReceiverRejects(t *testing.T) {
	net := newFakeNet(t)
	bob := newNode(t, net)
	alice := newIdentity(t).PeerID()
	carol := newIdentity(t).PeerID()
	aliceTr := net.addNode(alice)
	net.connect(alice, bob.id)
	now := chat.HLCFromTime(time.Now())

	tests := []struct {
		name     string
		envelope []byte
		reason   string // a prefix of the reason given
	}{
		{"author is not the sender", sealDM(t, carol, bob.id, now, "I am carol"), "author is not the sending peer"},
		{"not addressed to the receiver", sealDM(t, alice, carol, now, "for carol"), "not addressed to this peer"},
		{"timestamp too far ahead", sealDM(t, alice, bob.id, chat.HLCFromTime(time.Now().Add(2*time.Hour)), "from the future"), "timestamp "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// An acceptable message on either side of the rejected one:
			// one batch, one ack entry per message, in order.
			before := sealDM(t, alice, bob.id, now, "before "+tt.name)
			after := sealDM(t, alice, bob.id, now+1, "after "+tt.name)
			s := openRaw(t, aliceTr, bob.id, chat.DMProtocol)
			var frames []byte
			for _, env := range [][]byte{before, tt.envelope, after} {
				frames = append(frames, messageFrame(t, env)...)
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

			if _, err := bob.store.Message(chat.MessageIDOf(tt.envelope)); !errors.Is(err, chat.ErrNotFound) {
				t.Errorf("rejected message in bob's store: got %v, want ErrNotFound", err)
			}
			for _, env := range [][]byte{before, after} {
				if _, err := bob.store.Message(chat.MessageIDOf(env)); err != nil {
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
			net := newFakeNet(t)
			alice := newNode(t, net)
			rejecter := newIdentity(t).PeerID()
			net.addNode(rejecter).SetStreamHandler(chat.DMProtocol, func(_ chat.PeerID, s chat.Stream) {
				defer func() { _ = s.Close() }()
				p := newRawPeer(s)
				for {
					f, err := p.nextDM()
					if err != nil {
						return
					}
					id := chat.MessageIDOf(f.GetMessage().GetEnvelope())
					entry := &wire.AckEntry{Id: id[:], Status: wire.AckStatus_ACK_STATUS_REJECTED, Reason: tt.reason}
					ack, err := encodeAck(entry)
					if err != nil {
						return
					}
					if _, err := s.Write(ack); err != nil {
						return
					}
				}
			})
			net.connect(alice.id, rejecter)

			sent, err := alice.svc.SendDM(rejecter, "hello?")
			if err != nil {
				t.Fatal(err)
			}
			ev := alice.events.waitFor(t, "the message failing", statusIs(sent.ID, chat.StatusFailed))
			if ev.Message.Reason != tt.wantReason {
				t.Errorf("event reason: got %q, want %q", ev.Message.Reason, tt.wantReason)
			}
			got := alice.history(rejecter)
			if len(got) != 1 || got[0].Status != chat.StatusFailed || got[0].Reason != tt.wantReason {
				t.Errorf("history: got %v, want [%s failed %q]", summarize(got), sent.ID, tt.wantReason)
			}
			outbox, err := alice.store.Outbox()
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
// would: each stream must be reset, and honest delivery must go on.
func TestHostileStreams(t *testing.T) {
	const maxFrame = 4 << 10
	net := newFakeNet(t)
	bob := newNode(t, net, withConfig(func(c *chat.Config) {
		c.MaxFrame = maxFrame
		c.FirstFrameTimeout = 100 * time.Millisecond
	}))
	alice := newNode(t, net)
	net.connect(alice.id, bob.id)
	mallory := newIdentity(t).PeerID()
	malloryTr := net.addNode(mallory)
	net.connect(mallory, bob.id)
	valid := sealDM(t, mallory, bob.id, chat.HLCFromTime(time.Now()), "valid")

	tests := []struct {
		name  string
		input []byte
		// halfClose ends the attacker's writing after input.
		halfClose bool
		// rejectOK accepts, instead of a reset, an ack rejecting the
		// message of a well-formed frame whose envelope is invalid.
		rejectOK bool
	}{
		{name: "huge length prefix", input: []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}},
		{name: "length prefix just over the cap", input: binary.AppendUvarint(nil, maxFrame+1)},
		{name: "varint overflow", input: bytesOf(0xff, 11)},
		{name: "garbage", input: []byte("GET / HTTP/1.1\r\nHost: bob\r\n\r\n")},
		{name: "frame that is not protobuf", input: lengthPrefixed([]byte{0xff, 0xff, 0xff})},
		{name: "empty frame", input: lengthPrefixed(nil)},
		{name: "ack instead of a message", input: ackFrame(t, &wire.AckEntry{Id: make([]byte, 32), Status: wire.AckStatus_ACK_STATUS_STORED})},
		{name: "message with a garbage envelope", input: messageFrame(t, []byte("not an envelope")), rejectOK: true},
		{name: "message with an empty envelope", input: messageFrame(t, nil), rejectOK: true},
		{name: "truncated frame", input: messageFrame(t, valid)[:20], halfClose: true},
		{name: "truncated length prefix", input: []byte{0x80}, halfClose: true},
		{name: "valid frame then garbage", input: append(messageFrame(t, valid), 0xff, 0xff, 0xff)},
		{name: "nothing at all"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openRaw(t, malloryTr, bob.id, chat.DMProtocol)
			if len(tt.input) > 0 {
				if _, err := s.Write(tt.input); err != nil {
					t.Fatalf("write: %v", err)
				}
			}
			if tt.halfClose {
				_ = s.(*fakeStream).CloseWrite()
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
				return
			}
			for err == nil {
				_, err = p.next()
			}
			if !errors.Is(err, errStreamReset) {
				t.Errorf("read: got %v, want the stream reset", err)
			}
		})
	}

	sent, err := alice.svc.SendDM(bob.id, "still there?")
	if err != nil {
		t.Fatal(err)
	}
	alice.events.waitFor(t, "honest delivery after the attacks", statusIs(sent.ID, chat.StatusDelivered))
	if _, err := bob.store.Message(sent.ID); err != nil {
		t.Errorf("honest message in bob's store: %v", err)
	}
}

func TestSendDMErrors(t *testing.T) {
	const maxFrame = 256
	net := newFakeNet(t)
	alice := newNode(t, net, withConfig(func(c *chat.Config) { c.MaxFrame = maxFrame }))
	bob := newNode(t, net)
	net.connect(alice.id, bob.id)

	tests := []struct {
		name string
		to   chat.PeerID
		body string
		want error
	}{
		{"to self", alice.id, "hello me", chat.ErrSelf},
		{"empty", bob.id, "", chat.ErrEmptyMessage},
		{"only white space", bob.id, " \t\r\n ", chat.ErrEmptyMessage},
		{"not UTF-8", bob.id, "caf\xe9", chat.ErrBadEnvelope},
		{"too large", bob.id, strings.Repeat("x", maxFrame), chat.ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := alice.svc.SendDM(tt.to, tt.body)
			if !errors.Is(err, tt.want) {
				t.Errorf("got (%v, %v), want %v", m, err, tt.want)
			}
		})
	}
	if got := alice.history(bob.id); len(got) != 0 {
		t.Errorf("history after failed sends: got %d messages, want none", len(got))
	}
	outbox, err := alice.store.Outbox()
	if err != nil {
		t.Fatal(err)
	}
	if len(outbox) != 0 {
		t.Errorf("outbox after failed sends: got %d recipients, want none", len(outbox))
	}

	// The largest body that fits is sent and delivered.
	body := strings.Repeat("x", maxFrame)
	for len(body) > 0 {
		if _, err := alice.svc.SendDM(bob.id, body); !errors.Is(err, chat.ErrTooLarge) {
			if err != nil {
				t.Fatalf("body of %d bytes: %v", len(body), err)
			}
			break
		}
		body = body[:len(body)-1]
	}
	if len(body) > alice.svc.MaxBodySize() {
		t.Errorf("largest body sent: %d bytes, more than MaxBodySize %d", len(body), alice.svc.MaxBodySize())
	}
	got := alice.history(bob.id)
	if len(got) != 1 {
		t.Fatalf("history: got %d messages, want the one that fit", len(got))
	}
	alice.events.waitFor(t, "the largest message delivered", statusIs(got[0].ID, chat.StatusDelivered))

	svc := alice.svc
	alice.stop()
	if _, err := svc.SendDM(bob.id, "too late"); !errors.Is(err, chat.ErrClosed) {
		t.Errorf("after Close: got %v, want ErrClosed", err)
	}
}

func idsOf(ms []*chat.Message) []chat.MessageID {
	out := make([]chat.MessageID, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	return out
}

// summarize renders messages for failure messages.
func summarize(ms []*chat.Message) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = fmt.Sprintf("%s %s %q", m.ID, m.Status, m.Reason)
	}
	return out
}

func bytesOf(b byte, n int) []byte { return bytes.Repeat([]byte{b}, n) }

// TestReceiverThatNeverReads has the receiver accept the stream and never
// read from it. Once the stream's window is full the sender's writes
// block; the ack timeout must still end the stream so the link retries
// (and Close does not wait on a write that can never finish).
func TestReceiverThatNeverReads(t *testing.T) {
	net := newFakeNet(t)
	alice := newNode(t, net, onDisk(), withConfig(func(c *chat.Config) { c.AckTimeout = 200 * time.Millisecond }))
	sink := newIdentity(t).PeerID()
	stop := make(chan struct{})
	net.addNode(sink).SetStreamHandler(chat.DMProtocol, func(_ chat.PeerID, s chat.Stream) {
		<-stop
		_ = s.Reset()
	})
	t.Cleanup(func() {
		close(stop)
		net.disconnect(alice.id, sink) // unblocks a stuck sender
	})
	var attempted atomic.Int64
	net.setWriteHook(alice.id, chat.DMProtocol, func(p []byte, write func([]byte) (int, error)) (int, error) {
		attempted.Add(int64(len(p)))
		return write(p)
	})

	// Queue more than the window while apart, so the first stream gets
	// all of it in one batch.
	body := strings.Repeat("w", 60<<10)
	for range 8 {
		if _, err := alice.svc.SendDM(sink, body); err != nil {
			t.Fatal(err)
		}
	}
	net.connect(alice.id, sink)
	waitUntil(t, "the stream's window to fill", func() bool { return attempted.Load() > pipeWindow })
	waitUntil(t, "the sender to give up on the stream and retry", func() bool {
		return net.streamsOpened(alice.id, chat.DMProtocol) >= 2
	})
}

// TestSmallMaxFrameManyMessages queues more messages than one ack frame
// of the sender's small MaxFrame can acknowledge.
func TestSmallMaxFrameManyMessages(t *testing.T) {
	net := newFakeNet(t)
	alice := newNode(t, net, withConfig(func(c *chat.Config) { c.MaxFrame = 256 }))
	bob := newNode(t, net)
	var sent []*chat.Message
	for i := range 20 {
		m, err := alice.svc.SendDM(bob.id, fmt.Sprintf("short %d", i))
		if err != nil {
			t.Fatal(err)
		}
		sent = append(sent, m)
	}
	net.connect(alice.id, bob.id)
	for _, m := range sent {
		alice.events.waitFor(t, "delivery", statusIs(m.ID, chat.StatusDelivered))
	}
}

// TestReceiverRejectsUnknownKinds sends envelopes a newer version of Parley
// might write: the frames are well formed, so the receiver must answer
// them with REJECTED (so the sender stops retrying) and go on with the
// rest of the batch, not reset the stream and make the sender write the
// same batch forever.
func TestReceiverRejectsUnknownKinds(t *testing.T) {
	net := newFakeNet(t)
	bob := newNode(t, net)
	alice := newIdentity(t).PeerID()
	aliceTr := net.addNode(alice)
	net.connect(alice, bob.id)
	now := chat.HLCFromTime(time.Now())
	encode := func(env *wire.Envelope) []byte {
		b, err := proto.MarshalOptions{Deterministic: true}.Marshal(env)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tests := []struct {
		name     string
		envelope []byte
	}{
		{"kind from the future", encode(&wire.Envelope{Version: 1, Author: []byte(alice), ToPeer: []byte(bob.id), Hlc: uint64(now), Kind: 2, Body: "x"})},
		{"version from the future", encode(&wire.Envelope{Version: 2, Author: []byte(alice), ToPeer: []byte(bob.id), Hlc: uint64(now), Kind: wire.Kind_KIND_TEXT, Body: "x"})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := sealDM(t, alice, bob.id, now, "before "+tt.name)
			after := sealDM(t, alice, bob.id, now+1, "after "+tt.name)
			s := openRaw(t, aliceTr, bob.id, chat.DMProtocol)
			var frames []byte
			for _, env := range [][]byte{before, tt.envelope, after} {
				frames = append(frames, messageFrame(t, env)...)
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
