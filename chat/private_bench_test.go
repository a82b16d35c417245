package chat_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/chat/chattest"
)

// BenchmarkPrivateRekey50 measures a removal from a private room of 50
// members (in-memory nodes, every pair linked: chattest's pubsub reaches
// linked members only): from the admin's RemoveMember until every one of
// the 49 left has applied it, got the new epoch's key (from the admin,
// through the outbox) and sent a message that the 48 others stored. Each
// op removes another member; the removed one rejoins by a new invite
// between ops (not timed), so the room stays at 50. Run it with
// -benchtime=Nx: one op takes seconds.
func BenchmarkPrivateRekey50(b *testing.B) {
	const size = 50
	net := chattest.NewNet(b)
	nodes := make([]*chattest.Node, size)
	for i := range nodes {
		nodes[i] = chattest.NewNode(b, net, chattest.WithRooms(), chattest.WithNick(fmt.Sprintf("n%d", i)))
	}
	for i := range nodes {
		for j := i + 1; j < size; j++ {
			net.Connect(nodes[i].ID, nodes[j].ID)
		}
	}
	admin := nodes[0]
	if err := admin.Svc.CreatePrivateRoom(b.Context(), payroll); err != nil {
		b.Fatal(err)
	}
	for _, n := range nodes[1:] {
		joinByInvite(b, admin, n)
	}
	waitMembers(b, nodes, nodes...)

	b.ResetTimer()
	for i := range b.N {
		victim := nodes[1+i%(size-1)]
		rest := slices.DeleteFunc(slices.Clone(nodes), func(n *chattest.Node) bool { return n == victim })
		if err := admin.Svc.RemoveMember(b.Context(), payroll, victim.ID); err != nil {
			b.Fatal(err)
		}
		// A member that has not applied the removal would seal with the
		// epoch before it, which the others refuse after the removal.
		waitMembers(b, rest, rest...)
		sent := make([]*chat.Message, len(rest))
		for j, n := range rest {
			sent[j] = sendRoom(b, n, payroll, fmt.Sprintf("op %d from %s", i, n.Config.Nick))
		}
		for j, m := range sent {
			for k, n := range rest {
				if k != j {
					n.Events.WaitFor(b, m.Body+" at "+n.Config.Nick, chattest.MessageIs(m.ID))
				}
			}
		}
		b.StopTimer()
		joinByInvite(b, admin, victim)
		waitMembers(b, nodes, nodes...)
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed())/float64(time.Millisecond)/float64(b.N), "ms/op")
}
