package chat_test

import (
	"fmt"
	"testing"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/chat/chattest"
)

func TestZZSmoke(t *testing.T) {
	net := chattest.NewNet(t)
	a := chattest.NewNode(t, net, chattest.WithRooms(), chattest.WithNick("a"))
	b := chattest.NewNode(t, net, chattest.WithRooms(), chattest.WithNick("b"))
	net.Connect(a.ID, b.ID)
	m, err := a.Svc.SendDM(t.Context(), b.ID, "hi")
	if err != nil {
		t.Fatal(err)
	}
	a.Events.WaitFor(t, "delivered", chattest.StatusIs(m.ID, chat.StatusDelivered))
	b.Events.WaitFor(t, "stored", chattest.MessageIs(m.ID))
	for _, n := range []*chattest.Node{a, b} {
		if _, err := n.Svc.JoinRoom(t.Context(), "dev"); err != nil {
			t.Fatal(err)
		}
	}
	rm, err := a.Svc.SendRoom(t.Context(), "dev", "room hi")
	if err != nil {
		t.Fatal(err)
	}
	b.Events.WaitFor(t, "room msg", chattest.MessageIs(rm.ID))
	a.Events.WaitFor(t, "room msg sent", chattest.StatusIs(rm.ID, chat.StatusSent))
	// history for a late joiner
	for i := range 300 {
		if _, err := a.Svc.SendRoom(t.Context(), "dev", fmt.Sprint("m", i)); err != nil {
			t.Fatal(err)
		}
	}
	c := chattest.NewNode(t, net, chattest.WithRooms())
	if _, err := c.Svc.JoinRoom(t.Context(), "dev"); err != nil {
		t.Fatal(err)
	}
	net.Connect(c.ID, b.ID)
	chattest.WaitFor(t, 0, "b has all", func() bool { return len(b.History(chat.RoomConversation("dev"))) >= 304 })
	st, err := c.Svc.SyncRoomWith(t.Context(), "dev", b.ID)
	t.Logf("sync: %+v err %v", st, err)
	got := c.History(chat.RoomConversation("dev"))
	t.Logf("c holds %d", len(got))
	if len(got) < 304 {
		t.Fatalf("c holds %d", len(got))
	}
	st, err = c.Svc.SyncRoomWith(t.Context(), "dev", b.ID)
	t.Logf("sync again: %+v err %v", st, err)
}
