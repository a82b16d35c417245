package chat_test

import (
	"fmt"
	"testing"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/chat/chattest"
)

// benchRoom is one node on disk with a room of n plain messages.
func benchRoom(b *testing.B, n int) (*chattest.Node, []*chat.Message) {
	b.Helper()
	net := chattest.NewNet(b)
	ann := chattest.NewNode(b, net, chattest.WithRooms(), chattest.OnDisk())
	joinRoom(b, ann, dev)
	ms := make([]*chat.Message, n)
	for i := range ms {
		ms[i] = sendRoom(b, ann, dev, fmt.Sprintf("message %d of the benchmark, a line of ordinary length", i))
	}
	return ann, ms
}

func benchHistory(b *testing.B, n *chattest.Node) {
	b.Helper()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		page, err := n.Svc.History(devConv, chat.HistoryQuery{Limit: 50})
		if err != nil || len(page) != 50 {
			b.Fatal(len(page), err)
		}
	}
}

// BenchmarkHistoryPlainPage: the newest 50 of 1,000 plain room messages,
// as a client's first page asks for them (the baseline).
func BenchmarkHistoryPlainPage(b *testing.B) {
	n, _ := benchRoom(b, 1000)
	benchHistory(b, n)
}

// BenchmarkHistoryDecoratedPage: the same page when each of the 50 carries
// three reactions, an edit and two thread replies.
func BenchmarkHistoryDecoratedPage(b *testing.B) {
	n, ms := benchRoom(b, 1000)
	ctx := b.Context()
	for _, m := range ms[len(ms)-50:] {
		for _, e := range []string{"👍", "🎉", "👀"} {
			if _, _, err := n.Svc.React(ctx, m.ID, e); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := n.Svc.Edit(ctx, m.ID, m.Body+" (fixed)"); err != nil {
			b.Fatal(err)
		}
		for range 2 {
			if _, err := n.Svc.Reply(ctx, m.ID, "a reply in the thread", true, false); err != nil {
				b.Fatal(err)
			}
		}
	}
	benchHistory(b, n)
}

// BenchmarkThread1000: opening a thread of 1,000 replies (all of it).
func BenchmarkThread1000(b *testing.B) {
	n, ms := benchRoom(b, 1)
	for i := range 1000 {
		if _, err := n.Svc.Reply(b.Context(), ms[0].ID, fmt.Sprint("reply ", i), true, false); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		th, err := n.Svc.Thread(ms[0].ID)
		if err != nil || len(th) != 1001 {
			b.Fatal(len(th), err)
		}
	}
}

// BenchmarkThreadFirstPage: the first page of a thread of 1,000 replies
// (the root and the newest 50), as a client opening it asks for it.
func BenchmarkThreadFirstPage(b *testing.B) {
	n, ms := benchRoom(b, 1)
	for i := range 1000 {
		if _, err := n.Svc.Reply(b.Context(), ms[0].ID, fmt.Sprint("reply ", i), true, false); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		th, err := n.Svc.ThreadPage(ms[0].ID, chat.HistoryQuery{Limit: 50})
		if err != nil || len(th) != 51 || th[0].Replies != 1000 {
			b.Fatal(len(th), err)
		}
	}
}
