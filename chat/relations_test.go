package chat_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/chat/chattest"
)

// view is what a member shows of a conversation, for comparing members.
func view(t testing.TB, n *chattest.Node, conv chat.Conversation) string {
	t.Helper()
	ms, err := n.Svc.History(conv, chat.HistoryQuery{Limit: chat.MaxHistoryLimit})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, m := range ms {
		fmt.Fprintf(&b, "%s %q edited=%v deleted=%v replies=%d versions=%d", m.ID.String()[:8], m.Body, m.Edited, m.Deleted, m.Replies, len(m.Versions))
		for _, r := range m.Reactions {
			by := make([]string, len(r.By))
			for i, p := range r.By {
				by[i] = p.Short()
			}
			slices.Sort(by)
			fmt.Fprintf(&b, " %s:%v", r.Emoji, by)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// waitSame waits until every node shows conv alike, and returns it.
func waitSame(t *testing.T, conv chat.Conversation, nodes ...*chattest.Node) string {
	t.Helper()
	var views []string
	defer func() {
		if t.Failed() {
			for i, v := range views {
				t.Logf("%s shows:\n%s", nodes[i].Config.Nick, v)
			}
		}
	}()
	chattest.WaitFor(t, 0, "every member to show the same history", func() bool {
		views = views[:0]
		for _, n := range nodes {
			views = append(views, view(t, n, conv))
		}
		for _, v := range views[1:] {
			if v != views[0] {
				return false
			}
		}
		return true
	})
	return views[0]
}

// TestRelationsConverge: three members edit, react, reply in threads and
// delete at once, then one is cut off and both sides go on; after they
// heal (and sync), every member shows the same texts, edited flags,
// reactions, thread counts and tombstones.
func TestRelationsConverge(t *testing.T) {
	net := chattest.NewNet(t)
	ann := chattest.NewNode(t, net, chattest.WithRooms(), chattest.WithNick("ann"))
	bob := chattest.NewNode(t, net, chattest.WithRooms(), chattest.WithNick("bob"))
	cat := chattest.NewNode(t, net, chattest.WithRooms(), chattest.WithNick("cat"))
	nodes := []*chattest.Node{ann, bob, cat}
	for _, pair := range [][2]*chattest.Node{{ann, bob}, {ann, cat}, {bob, cat}} {
		net.Connect(pair[0].ID, pair[1].ID)
	}
	for _, n := range nodes {
		joinRoom(t, n, dev)
	}
	for _, n := range nodes {
		for _, o := range nodes {
			if n != o {
				n.Events.WaitFor(t, "the others' join lines", chattest.MessageIs(ownLine(t, o, dev, chat.KindJoin).ID))
			}
		}
	}
	plan := sendRoom(t, ann, dev, "the plan: ship friday")
	doomed := sendRoom(t, ann, dev, "a message to delete")
	bobs := sendRoom(t, bob, dev, "bob's note")
	waitSame(t, devConv, nodes...)

	// At once: ann edits twice and deletes while editing; everyone
	// reacts; bob and cat reply in plan's thread.
	ctx := t.Context()
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	do := func(f func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(); err != nil {
				errs <- err
			}
		}()
	}
	do(func() error {
		if _, err := ann.Svc.Edit(ctx, plan.ID, "the plan: ship thursday"); err != nil {
			return err
		}
		_, err := ann.Svc.Edit(ctx, plan.ID, "the plan: ship thursday, 10:00")
		return err
	})
	do(func() error { _, err := ann.Svc.Edit(ctx, doomed.ID, "edited before it goes"); return err })
	do(func() error { _, err := ann.Svc.Delete(ctx, doomed.ID); return err })
	for _, n := range nodes {
		do(func() error { _, _, err := n.Svc.React(ctx, plan.ID, "👍"); return err })
	}
	do(func() error { _, _, err := bob.Svc.React(ctx, bobs.ID, "🎉"); return err })
	do(func() error { _, err := bob.Svc.Reply(ctx, plan.ID, "thursday works", true, false); return err })
	do(func() error { _, err := cat.Svc.Reply(ctx, plan.ID, "thursday it is", true, true); return err })
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	before := waitSame(t, devConv, nodes...)
	if !strings.Contains(before, `"the plan: ship thursday, 10:00" edited=true deleted=false replies=2 versions=2 👍:`) {
		t.Errorf("plan's line: want the last edit, 2 versions, 2 replies and the thumbs; got\n%s", before)
	}
	if !strings.Contains(before, doomed.ID.String()[:8]+` "" edited=false deleted=true`) {
		t.Errorf("the deleted message: want a tombstone with no text; got\n%s", before)
	}

	// A partition: cat on one side, ann and bob on the other.
	net.Disconnect(ann.ID, cat.ID)
	net.Disconnect(bob.ID, cat.ID)
	if _, err := ann.Svc.Edit(ctx, plan.ID, "the plan: ship thursday, 11:00"); err != nil {
		t.Fatal(err)
	}
	if _, added, err := cat.Svc.React(ctx, plan.ID, "👍"); err != nil || added {
		t.Fatalf("cat taking its thumb back: added %v, %v", added, err)
	}
	if _, _, err := bob.Svc.React(ctx, plan.ID, "🚀"); err != nil {
		t.Fatal(err)
	}
	late := sendRoom(t, bob, dev, "posted and deleted while cat is away")
	if _, err := bob.Svc.Delete(ctx, late.ID); err != nil {
		t.Fatal(err)
	}
	waitSame(t, devConv, ann, bob)

	net.Connect(ann.ID, cat.ID)
	net.Connect(bob.ID, cat.ID)
	if _, err := cat.Svc.SyncRoomWith(ctx, dev, ann.ID); err != nil {
		t.Fatal(err)
	}
	after := waitSame(t, devConv, nodes...)
	if !strings.Contains(after, `"the plan: ship thursday, 11:00" edited=true deleted=false replies=2 versions=3`) ||
		!strings.Contains(after, fmt.Sprintf("🚀:[%s]", bob.ID.Short())) {
		t.Errorf("after healing: want the partition's edit and reactions everywhere; got\n%s", after)
	}
	if !strings.Contains(after, late.ID.String()[:8]+` "" edited=false deleted=true`) {
		t.Errorf("the message deleted while cat was away: want a tombstone at cat too; got\n%s", after)
	}
	// The thread: its root, then both replies, alike everywhere.
	for _, n := range nodes {
		th, err := n.Svc.Thread(plan.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got := bodiesOf(th); len(got) != 3 || got[0] != "the plan: ship thursday, 11:00" {
			t.Errorf("%s's thread: got %q, want the root and two replies", n.Config.Nick, got)
		}
	}
	// Deleted text is gone from the store: the record and the edits.
	for _, n := range nodes {
		m, err := n.Store.Message(doomed.ID)
		if err != nil {
			t.Fatal(err)
		}
		rel, err := n.Store.Related(doomed.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range append(rel, m) {
			if r.Body != "" || strings.Contains(string(r.Envelope), "delete") || strings.Contains(string(r.Envelope), "edited before") {
				t.Errorf("%s still holds deleted text: %v %q", n.Config.Nick, r.Kind, r.Body)
			}
		}
	}
}

// TestRelationsRules: only its author edits a message; only its author
// deletes it (in a public room); reactions toggle; a thread reply is not a
// room line unless also sent there.
func TestRelationsRules(t *testing.T) {
	net := chattest.NewNet(t)
	ann := chattest.NewNode(t, net, chattest.WithRooms(), chattest.WithNick("ann"))
	bob := chattest.NewNode(t, net, chattest.WithRooms(), chattest.WithNick("bob"))
	net.Connect(ann.ID, bob.ID)
	joinRoom(t, ann, dev)
	ann.Events.WaitFor(t, "bob's join line", chattest.MessageIs(joinRoom(t, bob, dev).ID))
	m := sendRoom(t, ann, dev, "ann's message")
	bob.Events.WaitFor(t, "ann's message at bob", chattest.MessageIs(m.ID))
	ctx := t.Context()

	if _, err := bob.Svc.Edit(ctx, m.ID, "bob's words"); !errors.Is(err, chat.ErrNotAllowed) {
		t.Errorf("bob editing ann's message: %v, want ErrNotAllowed", err)
	}
	if _, err := bob.Svc.Delete(ctx, m.ID); !errors.Is(err, chat.ErrNotAllowed) {
		t.Errorf("bob deleting ann's message: %v, want ErrNotAllowed", err)
	}
	if _, added, err := bob.Svc.React(ctx, m.ID, "👍"); err != nil || !added {
		t.Fatalf("first react: added %v, %v", added, err)
	}
	if _, added, err := bob.Svc.React(ctx, m.ID, "👍"); err != nil || added {
		t.Fatalf("second react: added %v, %v; want it taken back", added, err)
	}
	if _, _, err := bob.Svc.React(ctx, m.ID, "two words"); !errors.Is(err, chat.ErrInvalid) {
		t.Errorf("a reaction with a space: %v, want ErrInvalid", err)
	}
	hidden, err := bob.Svc.Reply(ctx, m.ID, "in the thread only", true, false)
	if err != nil {
		t.Fatal(err)
	}
	shown, err := bob.Svc.Reply(ctx, m.ID, "in the thread and the room", true, true)
	if err != nil {
		t.Fatal(err)
	}
	quote, err := bob.Svc.Reply(ctx, m.ID, "a plain reply", false, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []chat.MessageID{hidden.ID, shown.ID, quote.ID} {
		ann.Events.WaitFor(t, "bob's replies at ann", chattest.MessageIs(id))
	}
	got := waitSame(t, devConv, ann, bob)
	if strings.Contains(got, "in the thread only") || !strings.Contains(got, "in the thread and the room") || !strings.Contains(got, "a plain reply") {
		t.Errorf("room history: want the also-sent reply and the plain one, not the thread-only one; got\n%s", got)
	}
	if !strings.Contains(got, `"ann's message" edited=false deleted=false replies=2`) {
		t.Errorf("the root: want 2 thread replies and no reactions; got\n%s", got)
	}
	if r, err := ann.Svc.Message(quote.ID); err != nil || r.ReplyTo != m.ID || !r.Thread.IsZero() {
		t.Errorf("the plain reply: reply_to %v thread %v (%v); want reply_to the message, no thread", r.ReplyTo, r.Thread, err)
	}
}

// TestMentions: @nick is resolved to the peer when sent, @room mentions
// everyone, an unknown nick no one.
func TestMentions(t *testing.T) {
	net := chattest.NewNet(t)
	ann := chattest.NewNode(t, net, chattest.WithRooms(), chattest.WithNick("ann"))
	bob := chattest.NewNode(t, net, chattest.WithRooms(), chattest.WithNick("bob"))
	net.Connect(ann.ID, bob.ID)
	joinRoom(t, ann, dev)
	ann.Events.WaitFor(t, "bob's join line", chattest.MessageIs(joinRoom(t, bob, dev).ID))
	chattest.WaitFor(t, 0, "ann to know bob's nick", func() bool {
		p, err := ann.Svc.ResolvePeer("@bob")
		return err == nil && p == bob.ID
	})
	m := sendRoom(t, ann, dev, "@bob, look (and @nobody); cc @room.")
	at := bob.Events.WaitFor(t, "the mention at bob", chattest.MessageIs(m.ID)).Message
	if !slices.Equal(at.Mentions, []chat.PeerID{bob.ID}) || !at.MentionAll {
		t.Errorf("mentions: got %v (all %v), want bob and everyone", at.Mentions, at.MentionAll)
	}
}
