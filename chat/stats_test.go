package chat_test

import (
	"testing"
	"time"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/chat/chattest"
)

// messageCount is how many messages of one kind the stats count.
func messageCount(st chat.Stats, dir, kind, conv string) uint64 {
	for _, m := range st.Messages {
		if m.Direction == dir && m.Kind == kind && m.ConvType == conv {
			return m.Count
		}
	}
	return 0
}

// TestStatsCountDirectMessages: every message stored is counted once, by
// direction, kind and conversation type, on both sides.
func TestStatsCountDirectMessages(t *testing.T) {
	net := chattest.NewNet(t)
	alice, bob := chattest.NewNode(t, net), chattest.NewNode(t, net)
	net.Connect(alice.ID, bob.ID)

	var last chat.MessageID
	for _, text := range []string{"one", "two"} {
		m, err := alice.Svc.SendDM(t.Context(), bob.ID, text)
		if err != nil {
			t.Fatal(err)
		}
		last = m.ID
	}
	reply, err := bob.Svc.SendDM(t.Context(), alice.ID, "three")
	if err != nil {
		t.Fatal(err)
	}
	bob.Events.WaitFor(t, "bob storing alice's last", chattest.MessageIs(last)) // before he reacts to it
	if _, _, err := bob.Svc.React(t.Context(), last, "👍"); err != nil {
		t.Fatal(err)
	}
	alice.Events.WaitFor(t, "alice storing bob's message", chattest.MessageIs(reply.ID))
	alice.Events.WaitFor(t, "alice storing bob's reaction", func(e chat.Event) bool {
		return e.Type == chat.EventMessage && e.Message.Kind == chat.KindReact
	})

	for _, tc := range []struct {
		who       string
		node      *chattest.Node
		dir, kind string
		want      uint64
	}{
		{"alice", alice, chat.DirOut, "text", 2},
		{"alice", alice, chat.DirIn, "text", 1},
		{"alice", alice, chat.DirIn, "react", 1},
		{"alice", alice, chat.DirOut, "react", 0},
		{"bob", bob, chat.DirIn, "text", 2},
		{"bob", bob, chat.DirOut, "text", 1},
		{"bob", bob, chat.DirOut, "react", 1},
	} {
		if got := messageCount(tc.node.Svc.Stats(), tc.dir, tc.kind, "dm"); got != tc.want {
			t.Errorf("%s: %s %s dm messages: got %d, want %d", tc.who, tc.dir, tc.kind, got, tc.want)
		}
	}
	if got := messageCount(alice.Svc.Stats(), chat.DirOut, "text", "room"); got != 0 {
		t.Errorf("alice: room messages: got %d, want 0", got)
	}
}

// TestStatsCountSync: a sync session counts on both sides, with the bytes
// the opener's SyncStats report.
func TestStatsCountSync(t *testing.T) {
	history := syncHistory(t, time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC), 40)
	a, b := syncPair(t, history[:10], history, nil, nil)
	stats, err := a.Svc.SyncRoomWith(t.Context(), syncRoom, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	a.waitStored(t, history[10:])
	chattest.WaitFor(t, 0, "the server counting its session", func() bool { return b.Svc.Stats().SyncServed == 1 })

	sa, sb := a.Svc.Stats(), b.Svc.Stats()
	if sa.SyncOpened != 1 || sa.SyncServed != 0 || sa.SyncFailed != 0 {
		t.Errorf("opener: opened %d, served %d, failed %d; want 1, 0, 0", sa.SyncOpened, sa.SyncServed, sa.SyncFailed)
	}
	if sa.SyncBytesIn != uint64(stats.BytesIn) || sa.SyncBytesOut != uint64(stats.BytesOut) || stats.BytesIn == 0 {
		t.Errorf("opener's sync bytes: got in %d out %d, want the session's %d and %d", sa.SyncBytesIn, sa.SyncBytesOut, stats.BytesIn, stats.BytesOut)
	}
	// What one side sent, the other received.
	if sb.SyncBytesIn != sa.SyncBytesOut || sb.SyncBytesOut != sa.SyncBytesIn {
		t.Errorf("server's sync bytes: got in %d out %d, want %d and %d", sb.SyncBytesIn, sb.SyncBytesOut, sa.SyncBytesOut, sa.SyncBytesIn)
	}
	if got := messageCount(sa, chat.DirIn, "text", "room"); got != 30 {
		t.Errorf("opener: room messages in: got %d, want the 30 synced", got)
	}
}
