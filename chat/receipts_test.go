package chat_test

import (
	"slices"
	"testing"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/chat/chattest"
)

// seenBy is who ann's message shows as having seen it, at n.
func seenBy(t *testing.T, n *chattest.Node, id chat.MessageID) []chat.PeerID {
	t.Helper()
	m, err := n.Svc.Message(id)
	if err != nil {
		t.Fatal(err)
	}
	return m.SeenBy
}

func sortedIDs(ps ...chat.PeerID) []chat.PeerID {
	out := slices.Clone(ps)
	slices.Sort(out)
	return out
}

// TestRoomReceipts: members' read positions travel to the room, so every
// member shows the same "seen by" on a message; a member with receipts off
// is never counted; a member who was away learns the others' positions
// when it comes back.
func TestRoomReceipts(t *testing.T) {
	net := chattest.NewNet(t)
	ann := chattest.NewNode(t, net, chattest.WithRooms(), chattest.WithNick("ann"), chattest.OnDisk())
	bob := chattest.NewNode(t, net, chattest.WithRooms(), chattest.WithNick("bob"))
	cat := chattest.NewNode(t, net, chattest.WithRooms(), chattest.WithNick("cat"))
	dan := chattest.NewNode(t, net, chattest.WithRooms(), chattest.WithNick("dan"),
		chattest.WithConfig(func(c *chat.Config) { c.NoReadReceipts = true }))
	nodes := []*chattest.Node{ann, bob, cat, dan}
	for i, a := range nodes {
		for _, b := range nodes[i+1:] {
			net.Connect(a.ID, b.ID)
		}
	}
	for _, n := range nodes {
		joinRoom(t, n, dev)
	}
	m := sendRoom(t, ann, dev, "did everyone read this?")
	for _, n := range nodes[1:] {
		n.Events.WaitFor(t, n.Config.Nick+" storing ann's message", chattest.MessageIs(m.ID))
	}
	if got := seenBy(t, ann, m.ID); len(got) != 0 {
		t.Errorf("before anyone read it: seen by %v", got)
	}
	for _, n := range []*chattest.Node{bob, cat, dan} {
		if err := n.Svc.MarkRead(devConv, m.ID); err != nil {
			t.Fatal(err)
		}
	}
	want := sortedIDs(bob.ID, cat.ID)
	for _, n := range []*chattest.Node{ann, bob, cat} {
		chattest.WaitFor(t, 0, n.Config.Nick+" to show bob and cat have seen it", func() bool {
			return slices.Equal(seenBy(t, n, m.ID), want)
		})
	}
	// dan sends no receipts: even his own view leaves him out, like everyone's.
	chattest.WaitFor(t, 0, "dan to show bob and cat have seen it", func() bool {
		return slices.Equal(seenBy(t, dan, m.ID), want)
	})
	ev := ann.Events.WaitFor(t, "ann's receipt event from bob", func(e chat.Event) bool {
		return e.Type == chat.EventReceipt && e.Peer != nil && e.Peer.ID == bob.ID
	})
	if ev.Conversation != devConv || ev.ID != m.ID {
		t.Errorf("receipt event: %+v", ev)
	}

	// ann is stopped while a new message is read; she learns of it when
	// she comes back (the readers announce their positions on her return).
	later := sendRoom(t, bob, dev, "a second one")
	for _, n := range []*chattest.Node{ann, cat} {
		n.Events.WaitFor(t, n.Config.Nick+" storing bob's message", chattest.MessageIs(later.ID))
	}
	ann.Stop()
	if err := cat.Svc.MarkRead(devConv, later.ID); err != nil {
		t.Fatal(err)
	}
	bob.Events.WaitFor(t, "bob hearing cat's receipt", func(e chat.Event) bool {
		return e.Type == chat.EventReceipt && e.Peer != nil && e.Peer.ID == cat.ID && e.ID == later.ID
	})
	ann.Start()
	for _, p := range []*chattest.Node{bob, cat, dan} {
		net.Connect(ann.ID, p.ID)
	}
	chattest.WaitFor(t, 0, "ann to learn cat read the second message", func() bool {
		return slices.Contains(seenBy(t, ann, later.ID), cat.ID)
	})
}

// TestDMReceipts: a direct message the recipient has read shows "read" to
// its sender, also when the receipt had to wait for the sender to come
// back; reading one's own messages sends nothing; receipts never show as
// messages.
func TestDMReceipts(t *testing.T) {
	net := chattest.NewNet(t)
	ann, bob := chattest.NewNode(t, net), chattest.NewNode(t, net)
	net.Connect(ann.ID, bob.ID)
	m, err := ann.Svc.SendDM(t.Context(), bob.ID, "read me")
	if err != nil {
		t.Fatal(err)
	}
	ann.Events.WaitFor(t, "delivery to bob", chattest.StatusIs(m.ID, chat.StatusDelivered))
	read := func() bool {
		t.Helper()
		got, err := ann.Svc.Message(m.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != chat.StatusDelivered {
			t.Fatalf("status %v: a read message stays delivered", got.Status)
		}
		return got.Read
	}
	if read() {
		t.Fatal("read before bob read it")
	}
	// ann reading her own conversation tells bob nothing.
	if err := ann.Svc.MarkRead(chat.DMConversation(bob.ID), chat.MessageID{}); err != nil {
		t.Fatal(err)
	}
	net.Disconnect(ann.ID, bob.ID)
	if err := bob.Svc.MarkRead(chat.DMConversation(ann.ID), chat.MessageID{}); err != nil {
		t.Fatal(err)
	}
	if read() {
		t.Fatal("read while apart")
	}
	net.Connect(ann.ID, bob.ID)
	chattest.WaitFor(t, 0, "ann to see bob read her message", read)
	ev := ann.Events.WaitFor(t, "the receipt event", func(e chat.Event) bool { return e.Type == chat.EventReceipt })
	if ev.ID != m.ID || ev.Peer == nil || ev.Peer.ID != bob.ID {
		t.Errorf("receipt event: %+v", ev)
	}
	if n := bob.Events.Count(func(e chat.Event) bool { return e.Type == chat.EventReceipt }); n != 0 {
		t.Errorf("bob heard %d receipts; ann only read her own message", n)
	}
	for _, n := range []*chattest.Node{ann, bob} {
		for _, h := range n.History(chat.DMConversation(map[bool]chat.PeerID{true: bob.ID, false: ann.ID}[n == ann])) {
			if h.Kind != chat.KindText {
				t.Errorf("history shows a %v message", h.Kind)
			}
		}
	}
}
