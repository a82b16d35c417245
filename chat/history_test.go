package chat_test

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/chat/chattest"
)

// TestHistoryPaging pages back through a room whose text messages are
// separated by runs of join and leave lines: text-only pages skip the
// lines (reading on until a page is full), and paging ends at the very
// first message.
func TestHistoryPaging(t *testing.T) {
	net := chattest.NewNet(t)
	n := chattest.NewNode(t, net, chattest.WithRooms())
	leaveRoom := func() {
		t.Helper()
		if _, err := n.Svc.LeaveRoom(t.Context(), dev); err != nil {
			t.Fatal(err)
		}
	}
	joinRoom(t, n, dev)
	for _, body := range []string{"t1", "t2", "t3"} {
		sendRoom(t, n, dev, body)
	}
	leaveRoom()
	joinRoom(t, n, dev)
	leaveRoom()
	joinRoom(t, n, dev)
	for _, body := range []string{"t4", "t5"} {
		sendRoom(t, n, dev, body)
	}
	all := n.History(devConv)
	if got, want := bodiesOf(all), []string{"+", "t1", "t2", "t3", "-", "+", "-", "+", "t4", "t5"}; !slices.Equal(got, want) {
		t.Fatalf("whole history: got %q, want %q", got, want)
	}

	page := func(q chat.HistoryQuery) []*chat.Message {
		t.Helper()
		ms, err := n.Svc.History(devConv, q)
		if err != nil {
			t.Fatalf("History(%+v): %v", q, err)
		}
		return ms
	}
	var pages [][]string
	var before chat.MessageID
	for range len(all) {
		ms := page(chat.HistoryQuery{Before: before, Limit: 2})
		pages = append(pages, bodiesOf(ms))
		if len(ms) == 0 {
			break
		}
		before = ms[0].ID
	}
	want := [][]string{{"t4", "t5"}, {"t2", "t3"}, {"t1"}, {}}
	if !slices.EqualFunc(pages, want, slices.Equal) {
		t.Errorf("text pages of 2: got %q, want %q", pages, want)
	}

	// All: the raw pages, lines included.
	pages, before = nil, chat.MessageID{}
	for range len(all) {
		ms := page(chat.HistoryQuery{Before: before, Limit: 4, All: true})
		pages = append(pages, bodiesOf(ms))
		if len(ms) == 0 {
			break
		}
		before = ms[0].ID
	}
	want = [][]string{{"-", "+", "t4", "t5"}, {"t2", "t3", "-", "+"}, {"+", "t1"}, {}}
	if !slices.EqualFunc(pages, want, slices.Equal) {
		t.Errorf("raw pages of 4: got %q, want %q", pages, want)
	}

	// The default page is the newest DefaultHistoryLimit text messages.
	for i := range chat.DefaultHistoryLimit {
		sendRoom(t, n, dev, fmt.Sprint("more ", i))
	}
	ms := page(chat.HistoryQuery{})
	if len(ms) != chat.DefaultHistoryLimit || ms[0].Body != "more 0" {
		t.Errorf("default page: got %d messages from %q, want %d from %q", len(ms), ms[0].Body, chat.DefaultHistoryLimit, "more 0")
	}
}

func TestHistoryQueryErrors(t *testing.T) {
	net := chattest.NewNet(t)
	alice := chattest.NewNode(t, net, chattest.WithRooms())
	bob := chattest.NewIdentity(t).PeerID()
	dm, err := alice.Svc.SendDM(t.Context(), bob, "to bob")
	if err != nil {
		t.Fatal(err)
	}
	inRoom := joinRoom(t, alice, dev)
	var unknown chat.MessageID
	unknown[0] = 1
	tests := []struct {
		name string
		conv chat.Conversation
		q    chat.HistoryQuery
		want error
	}{
		{"negative limit", devConv, chat.HistoryQuery{Limit: -1}, chat.ErrInvalid},
		{"limit over the maximum", devConv, chat.HistoryQuery{Limit: chat.MaxHistoryLimit + 1}, chat.ErrInvalid},
		{"before a message of another conversation", devConv, chat.HistoryQuery{Before: dm.ID}, chat.ErrInvalid},
		{"before a room message, in a direct conversation", chat.DMConversation(bob), chat.HistoryQuery{Before: inRoom.ID}, chat.ErrInvalid},
		{"before an unknown message", devConv, chat.HistoryQuery{Before: unknown}, chat.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if ms, err := alice.Svc.History(tt.conv, tt.q); !errors.Is(err, tt.want) {
				t.Errorf("got (%d messages, %v), want %v", len(ms), err, tt.want)
			}
		})
	}
	for _, limit := range []int{1, chat.MaxHistoryLimit} {
		if ms, err := alice.Svc.History(devConv, chat.HistoryQuery{Limit: limit, All: true}); err != nil || len(ms) != 1 {
			t.Errorf("limit %d: got (%d messages, %v), want the join line", limit, len(ms), err)
		}
	}
}

// TestMessageOverlaysSent checks that Message and History show a direct
// message on the wire but not yet acknowledged as "sent", though the store
// (which keeps only what survives a restart) says "queued".
func TestMessageOverlaysSent(t *testing.T) {
	net := chattest.NewNet(t)
	alice := chattest.NewNode(t, net, chattest.WithConfig(func(c *chat.Config) { c.AckTimeout = time.Hour }))
	bob := chattest.NewNode(t, net)
	held := make(chan struct{})
	net.SetWriteHook(bob.ID, chat.DMProtocol, func(p []byte, write func([]byte) (int, error)) (int, error) {
		<-held // bob's acks wait
		return write(p)
	})
	release := sync.OnceFunc(func() { close(held) })
	t.Cleanup(release) // before the nodes stop
	net.Connect(alice.ID, bob.ID)

	m, err := alice.Svc.SendDM(t.Context(), bob.ID, "on its way")
	if err != nil {
		t.Fatal(err)
	}
	alice.Events.WaitFor(t, "the message sent", chattest.StatusIs(m.ID, chat.StatusSent))
	stored, err := alice.Store.Message(m.ID)
	if err != nil || stored.Status != chat.StatusQueued {
		t.Fatalf("stored: got (%v, %v), want it queued", stored, err)
	}
	if got, err := alice.Svc.Message(m.ID); err != nil || got.Status != chat.StatusSent {
		t.Errorf("Message: got (%v, %v), want it sent", got, err)
	}
	if ms, err := alice.Svc.History(chat.DMConversation(bob.ID), chat.HistoryQuery{}); err != nil || len(ms) != 1 || ms[0].Status != chat.StatusSent {
		t.Errorf("History: got (%v, %v), want the message sent", summarize(ms), err)
	}

	release()
	alice.Events.WaitFor(t, "the message delivered", chattest.StatusIs(m.ID, chat.StatusDelivered))
	if got, err := alice.Svc.Message(m.ID); err != nil || got.Status != chat.StatusDelivered {
		t.Errorf("Message after the ack: got (%v, %v), want it delivered", got, err)
	}
	var unknown chat.MessageID
	unknown[0] = 1
	if _, err := alice.Svc.Message(unknown); !errors.Is(err, chat.ErrNotFound) {
		t.Errorf("Message of an unknown ID: got %v, want ErrNotFound", err)
	}
}

// TestMarkReadDirect moves the read marker of a direct conversation by
// message ID.
func TestMarkReadDirect(t *testing.T) {
	net := chattest.NewNet(t)
	alice, bob := chattest.NewNode(t, net), chattest.NewNode(t, net)
	net.Connect(alice.ID, bob.ID)
	conv := chat.DMConversation(bob.ID)
	if err := alice.Svc.MarkRead(conv, chat.MessageID{}); err != nil {
		t.Errorf("marking an empty conversation read: %v", err)
	}
	var fromBob []*chat.Message
	for i := range 3 {
		m, err := bob.Svc.SendDM(t.Context(), alice.ID, fmt.Sprint("from bob ", i))
		if err != nil {
			t.Fatal(err)
		}
		alice.Events.WaitFor(t, "alice storing bob's message", chattest.MessageIs(m.ID))
		fromBob = append(fromBob, m)
	}
	mine, err := alice.Svc.SendDM(t.Context(), bob.ID, "from alice")
	if err != nil {
		t.Fatal(err)
	}
	unread := func() int {
		t.Helper()
		n, err := alice.Svc.Unread(conv)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := unread(); n != 3 {
		t.Errorf("unread: got %d, want 3", n)
	}
	if err := alice.Svc.MarkRead(conv, fromBob[1].ID); err != nil {
		t.Fatal(err)
	}
	alice.Events.WaitFor(t, "the read event", func(ev chat.Event) bool { return ev.Type == chat.EventRead && ev.Conversation == conv })
	if n := unread(); n != 1 {
		t.Errorf("unread after marking the second message read: got %d, want 1", n)
	}

	other := chattest.NewIdentity(t).PeerID()
	elsewhere, err := alice.Svc.SendDM(t.Context(), other, "to someone else")
	if err != nil {
		t.Fatal(err)
	}
	var unknown chat.MessageID
	unknown[0] = 1
	if err := alice.Svc.MarkRead(conv, elsewhere.ID); !errors.Is(err, chat.ErrInvalid) {
		t.Errorf("marking read up to a message of another conversation: got %v, want ErrInvalid", err)
	}
	if err := alice.Svc.MarkRead(conv, unknown); !errors.Is(err, chat.ErrNotFound) {
		t.Errorf("marking read up to an unknown message: got %v, want ErrNotFound", err)
	}
	if n := unread(); n != 1 {
		t.Errorf("unread after the refused marks: got %d, want 1", n)
	}
	if err := alice.Svc.MarkRead(conv, mine.ID); err != nil {
		t.Fatal(err)
	}
	if n := unread(); n != 0 {
		t.Errorf("unread after marking alice's own newest message read: got %d, want 0", n)
	}
}
