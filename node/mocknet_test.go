package node_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/node/nodetest"
)

func history(t *testing.T, m *nodetest.Member, with chat.PeerID) []*chat.Message {
	t.Helper()
	ms, err := m.Chat.History(chat.DMConversation(with), chat.HistoryQuery{Limit: chat.MaxHistoryLimit})
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

func statusOf(t *testing.T, m *nodetest.Member, id chat.MessageID) chat.Status {
	t.Helper()
	msg, err := m.Store.Message(id)
	if err != nil {
		t.Fatal(err)
	}
	return msg.Status
}

func TestMocknetDirectMessage(t *testing.T) {
	c := nodetest.NewCluster(t, 2, nodetest.Options{})
	a, b := c.Members[0], c.Members[1]
	c.Connect(0, 1)
	nodetest.WaitFor(t, 10*time.Second, "peers up and nicks known", func() bool {
		p, ok := a.Chat.Peer(b.ID())
		return ok && p.Connected && p.Nick == "n1"
	})
	m, err := a.Chat.SendDM(t.Context(), b.ID(), "hello over mocknet")
	if err != nil {
		t.Fatal(err)
	}
	nodetest.WaitFor(t, 10*time.Second, "delivered", func() bool { return statusOf(t, a, m.ID) == chat.StatusDelivered })
	got := history(t, b, a.ID())
	if len(got) != 1 || got[0].ID != m.ID || got[0].Body != "hello over mocknet" || got[0].Author != a.ID() || got[0].Status != chat.StatusReceived {
		t.Fatalf("receiver history: got %+v, want the one message", got)
	}
}

func TestMocknetOutboxAcrossDisconnect(t *testing.T) {
	c := nodetest.NewCluster(t, 2, nodetest.Options{})
	a, b := c.Members[0], c.Members[1]
	c.Connect(0, 1)
	nodetest.WaitFor(t, 10*time.Second, "peer up", func() bool { p, _ := a.Chat.Peer(b.ID()); return p.Connected })

	c.Cut(0, 1)
	nodetest.WaitFor(t, 10*time.Second, "peer down", func() bool { p, _ := a.Chat.Peer(b.ID()); return !p.Connected })
	var ids []chat.MessageID
	for i := range 20 {
		m, err := a.Chat.SendDM(t.Context(), b.ID(), fmt.Sprintf("while cut %d", i))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.ID)
	}
	for _, id := range ids {
		if st := statusOf(t, a, id); st != chat.StatusQueued {
			t.Fatalf("status while cut: got %v, want queued", st)
		}
	}
	// Restart the sender while the peer is away: the outbox is on disk.
	a.Stop()
	a.Start(nodetest.Options{})
	c.Heal(0, 1)
	nodetest.WaitFor(t, 20*time.Second, "all delivered after heal", func() bool {
		for _, id := range ids {
			if statusOf(t, a, id) != chat.StatusDelivered {
				return false
			}
		}
		return true
	})
	got := history(t, b, a.ID())
	if len(got) != len(ids) {
		t.Fatalf("receiver has %d messages, want %d", len(got), len(ids))
	}
	for _, id := range ids {
		if !slices.ContainsFunc(got, func(m *chat.Message) bool { return m.ID == id }) {
			t.Errorf("message %s missing at the receiver", id)
		}
	}
}
