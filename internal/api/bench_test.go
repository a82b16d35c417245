package api

import (
	"fmt"
	"net/url"
	"testing"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/chat/chattest"
)

// benchServer serves a node on disk in room #dev with n plain messages.
func benchServer(b *testing.B, n int) (*testServer, []*chat.Message) {
	b.Helper()
	ts := serve(b, chattest.OnDisk())
	if _, err := ts.node.Svc.JoinRoom(b.Context(), "dev"); err != nil {
		b.Fatal(err)
	}
	ms := make([]*chat.Message, n)
	for i := range ms {
		m, err := ts.node.Svc.SendRoom(b.Context(), "dev", fmt.Sprintf("message %d of the benchmark, a line of ordinary length", i))
		if err != nil {
			b.Fatal(err)
		}
		ms[i] = m
	}
	return ts, ms
}

// BenchmarkAPIHistoryDecoratedPage: GET /api/v1/history of a room's first
// page (the newest 50 of 1,000) when each of the 50 carries three
// reactions, an edit and two thread replies: what a client waits for,
// from the request to the decoded JSON, against a real chat.Service on a
// real store.
func BenchmarkAPIHistoryDecoratedPage(b *testing.B) {
	ts, ms := benchServer(b, 1000)
	svc, ctx := ts.node.Svc, b.Context()
	for _, m := range ms[len(ms)-50:] {
		for _, e := range []string{"👍", "🎉", "👀"} {
			if _, _, err := svc.React(ctx, m.ID, e); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := svc.Edit(ctx, m.ID, m.Body+" (fixed)"); err != nil {
			b.Fatal(err)
		}
		for range 2 {
			if _, err := svc.Reply(ctx, m.ID, "a reply in the thread", true, false); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		page, err := ts.client.History(ctx, "#dev", 50, "")
		if err != nil || len(page) != 50 || !page[49].Edited || page[49].Replies != 2 {
			b.Fatal(len(page), err)
		}
	}
}

// BenchmarkAPIThreadFirstPage: GET /api/v1/messages/{root}/thread?limit=50
// of a thread of 1,000 replies: the root and the newest 50.
func BenchmarkAPIThreadFirstPage(b *testing.B) {
	ts, ms := benchServer(b, 1)
	for i := range 1000 {
		if _, err := ts.node.Svc.Reply(b.Context(), ms[0].ID, fmt.Sprint("reply ", i), true, false); err != nil {
			b.Fatal(err)
		}
	}
	path := "/api/v1/messages/" + url.PathEscape(ms[0].ID.String()) + "/thread?limit=50"
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		var out []Message
		if err := ts.client.do(b.Context(), "GET", path, nil, &out); err != nil || len(out) != 51 || out[0].Replies != 1000 {
			b.Fatal(len(out), err)
		}
	}
}
