package node_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/node/nodetest"
)

func roomHistory(t *testing.T, m *nodetest.Member, room string) []*chat.Message {
	t.Helper()
	ms, err := m.Chat.History(chat.RoomConversation(room), chat.HistoryQuery{Limit: chat.MaxHistoryLimit, All: true})
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

func textIDs(ms []*chat.Message) []chat.MessageID {
	var out []chat.MessageID
	for _, m := range ms {
		if m.Kind == chat.KindText {
			out = append(out, m.ID)
		}
	}
	return out
}

func TestMocknetRoomSmall(t *testing.T) {
	c := nodetest.NewCluster(t, 3, nodetest.Options{})
	c.Connect(0, 1)
	c.Connect(1, 2)
	for _, m := range c.Members {
		if _, err := m.Chat.JoinRoom(t.Context(), "test"); err != nil {
			t.Fatal(err)
		}
	}
	var sent []chat.MessageID
	for i, m := range c.Members {
		msg, err := m.Chat.SendRoom(t.Context(), "test", fmt.Sprintf("hello from %d", i))
		if err != nil {
			t.Fatal(err)
		}
		sent = append(sent, msg.ID)
	}
	nodetest.WaitFor(t, 20*time.Second, "every member has every message", func() bool {
		for _, m := range c.Members {
			got := textIDs(roomHistory(t, m, "test"))
			for _, id := range sent {
				if !slices.Contains(got, id) {
					return false
				}
			}
		}
		return true
	})
	// Join lines may still be arriving: wait for identical full histories.
	nodetest.WaitFor(t, 20*time.Second, "identical histories, join lines included", func() bool {
		want := roomHistory(t, c.Members[0], "test")
		if len(want) != 6 {
			return false
		}
		for _, m := range c.Members[1:] {
			got := roomHistory(t, m, "test")
			if len(got) != len(want) {
				return false
			}
			for i := range got {
				if got[i].ID != want[i].ID {
					t.Fatalf("n%d order differs at %d", m.Index, i)
				}
			}
		}
		return true
	})
}
