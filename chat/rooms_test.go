package chat_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/chat/chattest"
)

// These tests run rooms over chattest's in-memory pubsub, where a message
// reaches the members linked to its author (one hop). History sync between
// members is tested in sync_test.go.

// dev is the room most tests use.
const dev = "dev"

var devConv = chat.RoomConversation(dev)

// joinRoom joins n to a room and returns its join line.
func joinRoom(t testing.TB, n *chattest.Node, name string) *chat.Message {
	t.Helper()
	joined, err := n.Svc.JoinRoom(t.Context(), name)
	if err != nil || !joined {
		t.Fatalf("join #%s: got (%v, %v), want (true, nil)", name, joined, err)
	}
	return ownLine(t, n, name, chat.KindJoin)
}

// ownLine returns n's newest join or leave line in a room.
func ownLine(t testing.TB, n *chattest.Node, name string, kind chat.Kind) *chat.Message {
	t.Helper()
	ms := n.History(chat.RoomConversation(name))
	for i := len(ms) - 1; i >= 0; i-- {
		if ms[i].Author == n.ID && ms[i].Kind == kind {
			return ms[i]
		}
	}
	t.Fatalf("%s has no %v line in #%s: %v", n.ID.Short(), kind, name, bodiesOf(ms))
	return nil
}

// sendRoom posts body to a room from n.
func sendRoom(t testing.TB, n *chattest.Node, name, body string) *chat.Message {
	t.Helper()
	m, err := n.Svc.SendRoom(t.Context(), name, body)
	if err != nil {
		t.Fatalf("send to #%s: %v", name, err)
	}
	return m
}

// roomEvent matches n's EventRoom for a room.
func roomEvent(name string, joined bool) func(chat.Event) bool {
	return func(ev chat.Event) bool { return ev.Type == chat.EventRoom && ev.Room == name && ev.Joined == joined }
}

// presence matches a presence event of peer p in a room.
func presence(name string, p chat.PeerID, online bool) func(chat.Event) bool {
	return func(ev chat.Event) bool {
		return ev.Type == chat.EventPresence && ev.Room == name && ev.Peer.ID == p && ev.Peer.Connected == online
	}
}

// typingIn matches a typing event of peer p in a room.
func typingIn(name string, p chat.PeerID) func(chat.Event) bool {
	return func(ev chat.Event) bool { return ev.Type == chat.EventTyping && ev.Room == name && ev.Peer.ID == p }
}

func TestRoomJoinAndLeave(t *testing.T) {
	net := chattest.NewNet(t)
	ann := chattest.NewNode(t, net, chattest.WithRooms(), chattest.WithNick("ann"))
	bob := chattest.NewNode(t, net, chattest.WithRooms(), chattest.WithNick("bob"))
	net.Connect(ann.ID, bob.ID)

	annJoin := joinRoom(t, ann, dev)
	ann.Events.WaitFor(t, "ann's room event", roomEvent(dev, true))
	if joined, err := ann.Svc.JoinRoom(t.Context(), dev); joined || err != nil {
		t.Errorf("joining again: got (%v, %v), want (false, nil)", joined, err)
	}
	if annJoin.Room != dev || annJoin.Conversation != devConv || annJoin.Body != "" {
		t.Errorf("ann's join line: got room %q, conversation %q, body %q; want %q, %q, none", annJoin.Room, annJoin.Conversation, annJoin.Body, dev, devConv)
	}

	bobJoin := joinRoom(t, bob, dev)
	ann.Events.WaitFor(t, "bob's join line at ann", chattest.MessageIs(bobJoin.ID))
	ann.Events.WaitFor(t, "bob online in the room", presence(dev, bob.ID, true))
	got, err := ann.Svc.Message(bobJoin.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Kind != chat.KindJoin || got.Author != bob.ID || got.Conversation != devConv || got.Status != chat.StatusReceived {
		t.Errorf("bob's join line at ann: got kind %v, author %s, conversation %q, status %v; want join, %s, %q, received",
			got.Kind, got.Author.Short(), got.Conversation, got.Status, bob.ID.Short(), devConv)
	}

	left, err := bob.Svc.LeaveRoom(t.Context(), dev)
	if err != nil || !left {
		t.Fatalf("leave: got (%v, %v), want (true, nil)", left, err)
	}
	bob.Events.WaitFor(t, "bob's room event", roomEvent(dev, false))
	if left, err := bob.Svc.LeaveRoom(t.Context(), dev); left || err != nil {
		t.Errorf("leaving again: got (%v, %v), want (false, nil)", left, err)
	}
	// Bob's history of the room stays, his leave line last.
	bobLeave := ownLine(t, bob, dev, chat.KindLeave)
	if bobLeave.HLC <= bobJoin.HLC {
		t.Errorf("bob's leave line sorts before his join line")
	}
	ann.Events.WaitFor(t, "bob's leave line at ann", chattest.MessageIs(bobLeave.ID))
	ann.Events.WaitFor(t, "bob offline in the room", presence(dev, bob.ID, false))
	ids := idsOf(ann.History(devConv))
	if i, j := slices.Index(ids, bobJoin.ID), slices.Index(ids, bobLeave.ID); len(ids) != 3 || !slices.Contains(ids, annJoin.ID) || i < 0 || j < i {
		t.Errorf("ann's history: got %v, want ann's join line and bob's join then leave lines", ids)
	}

	rooms, err := bob.Svc.Rooms()
	if err != nil || len(rooms) != 0 {
		t.Errorf("bob's rooms after leaving: got (%v, %v), want none", rooms, err)
	}
	if _, err := bob.Svc.SendRoom(t.Context(), dev, "still here?"); !errors.Is(err, chat.ErrNotJoined) {
		t.Errorf("sending after leaving: got %v, want ErrNotJoined", err)
	}
	if _, err := bob.Svc.RoomMembers(dev); !errors.Is(err, chat.ErrNotJoined) {
		t.Errorf("members after leaving: got %v, want ErrNotJoined", err)
	}
}

func TestRoomMembers(t *testing.T) {
	net := chattest.NewNet(t)
	ann := chattest.NewNode(t, net, chattest.WithRooms(), chattest.WithNick("ann"))
	joinRoom(t, ann, dev)
	others := map[string]*chattest.Node{}
	for _, nick := range []string{"Bob", "carl", "dave"} {
		n := chattest.NewNode(t, net, chattest.WithRooms(), chattest.WithNick(nick))
		net.Connect(ann.ID, n.ID)
		ann.Events.WaitFor(t, nick+"'s nickname", chattest.PeerNickIs(n.ID, nick))
		line := joinRoom(t, n, dev)
		ann.Events.WaitFor(t, nick+"'s join line", chattest.MessageIs(line.ID))
		others[nick] = n
	}
	bob, carl, dave := others["Bob"], others["carl"], others["dave"]

	// dave leaves; carl is cut off, but his latest line is a join.
	if _, err := dave.Svc.LeaveRoom(t.Context(), dev); err != nil {
		t.Fatal(err)
	}
	ann.Events.WaitFor(t, "dave's leave line", chattest.MessageIs(ownLine(t, dave, dev, chat.KindLeave).ID))
	net.Disconnect(ann.ID, carl.ID)
	ann.Events.WaitFor(t, "carl offline in the room", presence(dev, carl.ID, false))

	members, err := ann.Svc.RoomMembers(dev)
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		peer   chat.PeerID
		nick   string
		online bool
	}
	var got []row
	for _, m := range members {
		got = append(got, row{m.Peer, m.Nick, m.Online})
		if m.LastSeen.IsZero() {
			t.Errorf("member %s: LastSeen not set", m.Nick)
		}
	}
	// Online first, then by nickname ignoring case.
	want := []row{{ann.ID, "ann", true}, {bob.ID, "Bob", true}, {carl.ID, "carl", false}}
	if !slices.Equal(got, want) {
		t.Errorf("members: got %v, want %v", got, want)
	}
	rooms, err := ann.Svc.Rooms()
	if err != nil {
		t.Fatal(err)
	}
	if len(rooms) != 1 || rooms[0].Name != dev || rooms[0].Members != 3 || rooms[0].Online != 2 {
		t.Errorf("rooms: got %+v, want #%s with 3 members, 2 online", rooms, dev)
	}
}

func TestRoomSendAndReceive(t *testing.T) {
	net := chattest.NewNet(t)
	ann := chattest.NewNode(t, net, chattest.WithRooms())
	bob := chattest.NewNode(t, net, chattest.WithRooms())
	net.Connect(ann.ID, bob.ID)
	joinRoom(t, ann, dev)
	ann.Events.WaitFor(t, "bob's join line at ann", chattest.MessageIs(joinRoom(t, bob, dev).ID))

	sent := sendRoom(t, ann, dev, "hello, room")
	if sent.Status != chat.StatusQueued || sent.Author != ann.ID || sent.Room != dev || sent.Conversation != devConv ||
		sent.Kind != chat.KindText || sent.ID != chat.MessageIDOf(sent.Envelope) {
		t.Errorf("SendRoom returned status %v, author %s, room %q, conversation %q, kind %v; want queued, %s, %q, %q, text, with the ID of its envelope",
			sent.Status, sent.Author.Short(), sent.Room, sent.Conversation, sent.Kind, ann.ID.Short(), dev, devConv)
	}
	bob.Events.WaitFor(t, "bob storing the message", chattest.MessageIs(sent.ID))
	ann.Events.WaitFor(t, "ann's message sent", chattest.StatusIs(sent.ID, chat.StatusSent))

	mine, err := ann.Svc.Message(sent.ID)
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := bob.Svc.Message(sent.ID)
	if err != nil {
		t.Fatal(err)
	}
	if mine.Status != chat.StatusSent || len(mine.Proof.Signature) == 0 {
		t.Errorf("ann's copy: got status %v and proof %+v, want sent with a proof", mine.Status, mine.Proof)
	}
	if theirs.Status != chat.StatusReceived || theirs.Author != ann.ID || theirs.Body != "hello, room" || theirs.HLC != sent.HLC {
		t.Errorf("bob's copy: got status %v, author %s, body %q, hlc %d; want received, %s, %q, %d",
			theirs.Status, theirs.Author.Short(), theirs.Body, theirs.HLC, ann.ID.Short(), "hello, room", sent.HLC)
	}
	if !bytes.Equal(theirs.Proof.Signature, mine.Proof.Signature) || !bytes.Equal(theirs.Proof.Seqno, mine.Proof.Seqno) {
		t.Errorf("bob's proof %+v differs from ann's %+v", theirs.Proof, mine.Proof)
	}
	if err := bob.PS.VerifyProof(chat.RoomTopic(dev), ann.ID, theirs.Envelope, theirs.Proof); err != nil {
		t.Errorf("bob's copy: proof does not verify: %v", err)
	}

	// A reply sorts after what it answers, on both nodes.
	reply := sendRoom(t, bob, dev, "hello, ann")
	ann.Events.WaitFor(t, "ann storing the reply", chattest.MessageIs(reply.ID))
	for _, n := range []*chattest.Node{ann, bob} {
		ms, err := n.Svc.History(devConv, chat.HistoryQuery{})
		if err != nil {
			t.Fatal(err)
		}
		if got := bodiesOf(ms); !slices.Equal(got, []string{"hello, room", "hello, ann"}) {
			t.Errorf("%s's text messages: got %q, want the message then the reply", n.ID.Short(), got)
		}
	}
}

func TestRoomSendErrors(t *testing.T) {
	net := chattest.NewNet(t)
	ann := chattest.NewNode(t, net, chattest.WithRooms())
	joinRoom(t, ann, dev)
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	tests := []struct {
		name string
		ctx  context.Context
		room string
		body string
		want error
	}{
		{"room not joined", t.Context(), "elsewhere", "hi", chat.ErrNotJoined},
		{"empty", t.Context(), dev, "", chat.ErrEmptyMessage},
		{"only white space", t.Context(), dev, " \t\n", chat.ErrEmptyMessage},
		{"too large", t.Context(), dev, strings.Repeat("x", chat.MaxRoomMessage), chat.ErrTooLarge},
		{"cancelled context", cancelled, dev, "never sent", context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if m, err := ann.Svc.SendRoom(tt.ctx, tt.room, tt.body); !errors.Is(err, tt.want) {
				t.Errorf("got (%v, %v), want %v", m, err, tt.want)
			}
		})
	}
	if got := ann.History(devConv); len(got) != 1 {
		t.Errorf("history after failed sends: got %q, want the join line alone", bodiesOf(got))
	}
	for _, name := range []string{"Dev", "dev room", "", strings.Repeat("r", chat.MaxRoomNameLen+1)} {
		if _, err := ann.Svc.JoinRoom(t.Context(), name); !errors.Is(err, chat.ErrBadRoom) {
			t.Errorf("JoinRoom(%q): got %v, want ErrBadRoom", name, err)
		}
		if _, err := ann.Svc.LeaveRoom(t.Context(), name); !errors.Is(err, chat.ErrBadRoom) {
			t.Errorf("LeaveRoom(%q): got %v, want ErrBadRoom", name, err)
		}
	}
}

func TestRoomsNeedPubSub(t *testing.T) {
	net := chattest.NewNet(t)
	n := chattest.NewNode(t, net)
	if joined, err := n.Svc.JoinRoom(t.Context(), dev); err == nil || joined {
		t.Errorf("JoinRoom without pubsub: got (%v, %v), want an error", joined, err)
	}
	if rooms, err := n.Svc.Rooms(); err != nil || len(rooms) != 0 {
		t.Errorf("Rooms: got (%v, %v), want none", rooms, err)
	}
	if _, err := n.Svc.SendRoom(t.Context(), dev, "hi"); !errors.Is(err, chat.ErrNotJoined) {
		t.Errorf("SendRoom: got %v, want ErrNotJoined", err)
	}
	if err := n.Svc.Typing(t.Context(), dev); !errors.Is(err, chat.ErrNotJoined) {
		t.Errorf("Typing: got %v, want ErrNotJoined", err)
	}
}

// TestRoomsRememberedAcrossRestart checks that joined rooms are open again
// after a restart, and that the auto-join rooms are joined on the very
// first start only.
func TestRoomsRememberedAcrossRestart(t *testing.T) {
	net := chattest.NewNet(t)
	n := chattest.NewNode(t, net, chattest.WithRooms(), chattest.OnDisk(), chattest.WithConfig(func(c *chat.Config) { c.AutoJoin = []string{"lobby"} }))
	rooms := func() []string {
		t.Helper()
		select {
		case <-n.Svc.Started(): // the joined rooms are open
		case <-time.After(chattest.Timeout):
			t.Fatalf("the service has not started after %v", chattest.Timeout)
		}
		rooms, err := n.Svc.Rooms()
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, r := range rooms {
			names = append(names, r.Name)
		}
		return names
	}
	if got := rooms(); !slices.Equal(got, []string{"lobby"}) {
		t.Errorf("rooms on the first start: got %v, want [lobby]", got)
	}
	joinRoom(t, n, dev)
	if _, err := n.Svc.LeaveRoom(t.Context(), "lobby"); err != nil {
		t.Fatal(err)
	}
	n.Restart()
	if got := rooms(); !slices.Equal(got, []string{dev}) {
		t.Errorf("rooms after a restart: got %v, want [%s]", got, dev)
	}
	sendRoom(t, n, dev, "still here")
	if got := bodiesOf(n.History(chat.RoomConversation("lobby"))); !slices.Equal(got, []string{"+", "-"}) {
		t.Errorf("history of the room left: got %q, want its join and leave lines", got)
	}

}

// TestTypingThrottle checks that a typing notice goes out at most once
// every few seconds, and is never stored.
func TestTypingThrottle(t *testing.T) {
	// throttle is how often chat sends a typing notice at most.
	const throttle = 3 * time.Second
	synctest.Test(t, func(t *testing.T) {
		net := chattest.NewNet(t)
		ann := chattest.NewNode(t, net, chattest.WithRooms(), chattest.WithNick("ann"))
		bob := chattest.NewNode(t, net, chattest.WithRooms())
		net.Connect(ann.ID, bob.ID)
		bob.Events.WaitFor(t, "ann's nickname", chattest.PeerNickIs(ann.ID, "ann"))
		joinRoom(t, bob, dev)
		joinRoom(t, ann, dev)
		typing := func() {
			t.Helper()
			if err := ann.Svc.Typing(t.Context(), dev); err != nil {
				t.Fatal(err)
			}
			synctest.Wait()
		}
		notices := func() int { return bob.Events.Count(typingIn(dev, ann.ID)) }

		typing()
		typing()
		if n := notices(); n != 1 {
			t.Fatalf("typing notices after typing twice at once: got %d, want 1", n)
		}
		ev := bob.Events.All(typingIn(dev, ann.ID))[0]
		if ev.Peer.Nick != "ann" {
			t.Errorf("typing notice: got nick %q, want ann", ev.Peer.Nick)
		}
		time.Sleep(throttle - time.Millisecond)
		typing()
		if n := notices(); n != 1 {
			t.Errorf("typing notices just before the throttle ends: got %d, want 1", n)
		}
		time.Sleep(time.Millisecond)
		typing()
		if n := notices(); n != 2 {
			t.Errorf("typing notices once the throttle ended: got %d, want 2", n)
		}
		for _, n := range []*chattest.Node{ann, bob} {
			for _, m := range n.History(devConv) {
				if m.Kind == chat.KindTyping {
					t.Errorf("%s stored a typing notice", n.ID.Short())
				}
			}
		}
	})
}

func TestRoomUnreadAndMarkRead(t *testing.T) {
	net := chattest.NewNet(t)
	ann := chattest.NewNode(t, net, chattest.WithRooms())
	bob := chattest.NewNode(t, net, chattest.WithRooms())
	net.Connect(ann.ID, bob.ID)
	joinRoom(t, bob, dev)
	bob.Events.WaitFor(t, "ann's join line at bob", chattest.MessageIs(joinRoom(t, ann, dev).ID))
	unread := func() int {
		t.Helper()
		rooms, err := bob.Svc.Rooms()
		if err != nil || len(rooms) != 1 {
			t.Fatalf("bob's rooms: got (%v, %v), want #%s", rooms, err, dev)
		}
		n, err := bob.Svc.Unread(devConv)
		if err != nil {
			t.Fatal(err)
		}
		if n != rooms[0].Unread {
			t.Errorf("Unread says %d, Rooms says %d", n, rooms[0].Unread)
		}
		return n
	}
	receive := func(body string) *chat.Message {
		t.Helper()
		m := sendRoom(t, ann, dev, body)
		bob.Events.WaitFor(t, "bob storing "+body, chattest.MessageIs(m.ID))
		return m
	}
	reads := func() int {
		return bob.Events.Count(func(ev chat.Event) bool { return ev.Type == chat.EventRead && ev.Conversation == devConv })
	}

	if n := unread(); n != 0 {
		t.Errorf("unread with only join lines: got %d, want 0", n)
	}
	for i := range 3 {
		receive(fmt.Sprint("unread ", i))
	}
	own := sendRoom(t, bob, dev, "bob's own") // never unread for bob
	// Once ann has seen it, what she sends next sorts after it.
	ann.Events.WaitFor(t, "ann storing bob's message", chattest.MessageIs(own.ID))
	if n := unread(); n != 3 {
		t.Errorf("unread after 3 messages from ann: got %d, want 3", n)
	}

	if err := bob.Svc.MarkRead(devConv, chat.MessageID{}); err != nil {
		t.Fatal(err)
	}
	bob.Events.WaitFor(t, "the read event", func(ev chat.Event) bool { return ev.Type == chat.EventRead && ev.Conversation == devConv })
	if n := unread(); n != 0 {
		t.Errorf("unread after marking all read: got %d, want 0", n)
	}

	first := receive("later 1")
	receive("later 2")
	if n := unread(); n != 2 {
		t.Errorf("unread after 2 more: got %d, want 2", n)
	}
	if err := bob.Svc.MarkRead(devConv, first.ID); err != nil {
		t.Fatal(err)
	}
	if n := unread(); n != 1 {
		t.Errorf("unread after marking the first of them read: got %d, want 1", n)
	}
	// The marker never moves back, and not moving it is no event.
	before := reads()
	if err := bob.Svc.MarkRead(devConv, ownLine(t, bob, dev, chat.KindJoin).ID); err != nil {
		t.Fatal(err)
	}
	if n := unread(); n != 1 {
		t.Errorf("unread after marking an older message read: got %d, want 1", n)
	}
	if n := reads(); n != before {
		t.Errorf("read events after marking an older message read: got %d more", n-before)
	}
	conversations, err := bob.Svc.Conversations()
	if err != nil {
		t.Fatal(err)
	}
	if i := slices.IndexFunc(conversations, func(c chat.ConversationInfo) bool { return c.Conversation == devConv }); i < 0 || conversations[i].Unread != 1 {
		t.Errorf("conversations: got %+v, want #%s with 1 unread", conversations, dev)
	}
}

// TestRoomRetention checks a room's retention: history older than it is
// deleted once it is set, a message older than it that arrives is not
// stored, and the node's default applies to rooms without their own. It
// runs in a synctest bubble so that no sync session is under way when
// the retention changes (one that began before could store again what
// the pruning deletes, until the next pruning).
func TestRoomRetention(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var ahead atomic.Int64 // how far the nodes' clock is ahead of the bubble's
		withClock := chattest.WithConfig(func(c *chat.Config) {
			c.Now = func() time.Time { return time.Now().Add(time.Duration(ahead.Load())) }
		})
		net := chattest.NewNet(t)
		ann := chattest.NewNode(t, net, chattest.WithRooms(), withClock)
		bob := chattest.NewNode(t, net, chattest.WithRooms(), withClock)
		net.Connect(ann.ID, bob.ID)
		joinRoom(t, bob, dev)
		bob.Events.WaitFor(t, "ann's join line at bob", chattest.MessageIs(joinRoom(t, ann, dev).ID))

		start := time.Now()
		old := sendRoom(t, ann, dev, "two hours ago")
		bob.Events.WaitFor(t, "bob storing the old message", chattest.MessageIs(old.ID))
		ahead.Store(int64(2 * time.Hour))
		recent := sendRoom(t, ann, dev, "now")
		bob.Events.WaitFor(t, "bob storing the recent message", chattest.MessageIs(recent.ID))
		synctest.Wait()

		if err := bob.Svc.SetRoomRetention(dev, time.Hour); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if got := bodiesOf(bob.History(devConv)); !slices.Equal(got, []string{"now"}) {
			t.Errorf("bob's history once pruned: got %q, want the recent message alone", got)
		}
		if rooms, err := bob.Svc.Rooms(); err != nil || len(rooms) != 1 || rooms[0].Retention != time.Hour {
			t.Errorf("bob's rooms: got (%+v, %v), want #%s kept for 1h", rooms, err, dev)
		}
		if got := bodiesOf(ann.History(devConv)); !slices.Contains(got, "two hours ago") {
			t.Errorf("ann's history: got %q, want the old message kept (retention is bob's)", got)
		}

		// A member sends bob a message older than his retention, then a
		// recent one: the old one is dropped, the recent one stored.
		mallory := chattest.NewIdentity(t)
		topic, err := net.AddNode(mallory.PeerID()).PubSub(mallory).JoinTopic(chat.RoomTopic(dev), func(chat.PeerID, []byte) (chat.Verdict, *chat.Message) { return chat.Ignore, nil })
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = topic.Close() })
		net.Connect(mallory.PeerID(), bob.ID)
		now := start.Add(2 * time.Hour)
		late := chattest.Env{Author: mallory.PeerID(), Room: dev, HLC: chat.HLCFromTime(now.Add(-90 * time.Minute)), Body: "late"}.Bytes(t)
		fresh := chattest.Env{Author: mallory.PeerID(), Room: dev, HLC: chat.HLCFromTime(now), Body: "fresh"}.Bytes(t)
		for _, env := range [][]byte{late, fresh} {
			if _, err := topic.Publish(t.Context(), env); err != nil {
				t.Fatal(err)
			}
		}
		bob.Events.WaitFor(t, "bob storing the fresh message", chattest.MessageIs(chat.MessageIDOf(fresh)))
		if has, err := bob.Store.Has(chat.MessageIDOf(late)); err != nil || has {
			t.Errorf("bob holds the message past his retention: got (%v, %v), want (false, nil)", has, err)
		}

		// Back to the node's default, which keeps everything.
		if err := bob.Svc.SetRoomRetention(dev, 0); err != nil {
			t.Fatal(err)
		}
		if rooms, err := bob.Svc.Rooms(); err != nil || len(rooms) != 1 || rooms[0].Retention != 0 {
			t.Errorf("bob's rooms: got (%+v, %v), want #%s kept forever", rooms, err, dev)
		}
		if err := bob.Svc.SetRoomRetention(dev, -time.Hour); !errors.Is(err, chat.ErrInvalid) {
			t.Errorf("negative retention: got %v, want ErrInvalid", err)
		}
		if err := bob.Svc.SetRoomRetention("elsewhere", time.Hour); !errors.Is(err, chat.ErrNotJoined) {
			t.Errorf("retention of a room not joined: got %v, want ErrNotJoined", err)
		}
	})
}

// TestRoomPrunesPeriodically checks that history passing the node's
// default retention is deleted every PruneEvery, except in a room kept
// forever.
func TestRoomPrunesPeriodically(t *testing.T) {
	const keep = "keep"
	synctest.Test(t, func(t *testing.T) {
		const pruneEvery = time.Minute
		var ahead atomic.Int64 // how far the node's clock is ahead of the bubble's
		n := chattest.NewNode(t, chattest.NewNet(t), chattest.WithRooms(), chattest.WithConfig(func(c *chat.Config) {
			c.Retention = time.Hour
			c.PruneEvery = pruneEvery
			c.Now = func() time.Time { return time.Now().Add(time.Duration(ahead.Load())) }
		}))
		joinRoom(t, n, dev)
		joinRoom(t, n, keep)
		if err := n.Svc.SetRoomRetention(keep, chat.RetentionForever); err != nil {
			t.Fatal(err)
		}
		for _, room := range []string{dev, keep} {
			sendRoom(t, n, room, "old")
		}
		synctest.Wait() // the rooms' first pruning, at their start, is done
		ahead.Store(int64(2 * time.Hour))
		recent := sendRoom(t, n, dev, "recent")
		sendRoom(t, n, keep, "recent")
		synctest.Wait()
		if got := bodiesOf(n.History(devConv)); !slices.Equal(got, []string{"+", "old", "recent"}) {
			t.Fatalf("history before the next pruning: got %q, want all of it", got)
		}
		time.Sleep(pruneEvery)
		synctest.Wait()
		if got := idsOf(n.History(devConv)); !slices.Equal(got, []chat.MessageID{recent.ID}) {
			t.Errorf("history after pruning: got %q, want the recent message alone", bodiesOf(n.History(devConv)))
		}
		if got := bodiesOf(n.History(chat.RoomConversation(keep))); !slices.Equal(got, []string{"+", "old", "recent"}) {
			t.Errorf("history of the room kept forever: got %q, want all of it", got)
		}
		rooms, err := n.Svc.Rooms()
		if err != nil {
			t.Fatal(err)
		}
		var got []time.Duration
		for _, r := range rooms {
			got = append(got, r.Retention)
		}
		// By name: #dev follows the node's default, #keep has no limit.
		if !slices.Equal(got, []time.Duration{time.Hour, 0}) {
			t.Errorf("rooms' retention: got %v, want [1h 0]", got)
		}
	})
}

// publishGate stands between a node's rooms and their topics: while held,
// Publish waits for release; while failing, Publish fails.
type publishGate struct {
	mu      sync.Mutex
	held    chan struct{} // closed by release
	failing bool
}

var errPublishOff = errors.New("publishing is off")

func (g *publishGate) hold() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.held = make(chan struct{})
}

func (g *publishGate) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.held != nil {
		close(g.held)
		g.held = nil
	}
}

func (g *publishGate) setFailing(failing bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.failing = failing
}

func (g *publishGate) pass(ctx context.Context) error {
	g.mu.Lock()
	held, failing := g.held, g.failing
	g.mu.Unlock()
	if failing {
		return errPublishOff
	}
	if held != nil {
		select {
		case <-held:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// withPublishGate gives the node rooms whose publishing goes through g.
func withPublishGate(g *publishGate) chattest.Option {
	return func(n *chattest.Node) { n.Config.PubSub = &gatedPubSub{PubSub: n.Tr.PubSub(n.Identity), gate: g} }
}

type gatedPubSub struct {
	chat.PubSub
	gate *publishGate
}

func (ps *gatedPubSub) JoinTopic(name string, validate chat.Validator) (chat.Topic, error) {
	t, err := ps.PubSub.JoinTopic(name, validate)
	if err != nil {
		return nil, err
	}
	return &gatedTopic{Topic: t, gate: ps.gate}, nil
}

type gatedTopic struct {
	chat.Topic
	gate *publishGate
}

func (t *gatedTopic) Publish(ctx context.Context, data []byte) (chat.Proof, error) {
	if err := t.gate.pass(ctx); err != nil {
		return chat.Proof{}, err
	}
	return t.Topic.Publish(ctx, data)
}

// TestRoomSendBackpressure fills a room's queue (its topic does not
// publish): a sender then waits in SendRoom until its context ends, and
// gets the context's error with nothing stored.
func TestRoomSendBackpressure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gate := &publishGate{}
		gate.hold()
		n := chattest.NewNode(t, chattest.NewNet(t), withPublishGate(gate))
		t.Cleanup(gate.release) // before the node stops
		joinRoom(t, n, dev)

		ctx, cancel := context.WithCancel(t.Context())
		var queued []*chat.Message
		done := make(chan error)
		go func() {
			for i := 0; ; i++ {
				m, err := n.Svc.SendRoom(ctx, dev, fmt.Sprint("queued ", i))
				if err != nil {
					done <- err
					return
				}
				queued = append(queued, m)
			}
		}()
		synctest.Wait() // the sender waits for room in the queue
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("the waiting sender: got %v, want context.Canceled", err)
		}
		if len(queued) == 0 {
			t.Fatal("nothing was queued before the queue was full")
		}
		if m, err := n.Svc.SendRoom(ctx, dev, "too late"); !errors.Is(err, context.Canceled) {
			t.Errorf("SendRoom to a full queue with a cancelled context: got (%v, %v), want context.Canceled", m, err)
		}
		stored := n.History(devConv)
		if len(stored) != len(queued)+1 {
			t.Errorf("history: got %d messages, want the join line and the %d queued", len(stored), len(queued))
		}
		texts := n.Events.Count(func(ev chat.Event) bool { return ev.Type == chat.EventMessage && ev.Message.Kind == chat.KindText })
		if texts != len(queued) {
			t.Errorf("message events: got %d, want %d", texts, len(queued))
		}

		gate.release()
		for _, m := range queued {
			n.Events.WaitFor(t, "a queued message sent", chattest.StatusIs(m.ID, chat.StatusSent))
		}
		sent := sendRoom(t, n, dev, "after the jam")
		n.Events.WaitFor(t, "the next message sent", chattest.StatusIs(sent.ID, chat.StatusSent))
	})
}

// TestRoomRepublishAfterRestart has a node store room messages its topic
// fails to publish; the next start publishes them.
func TestRoomRepublishAfterRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gate := &publishGate{}
		net := chattest.NewNet(t)
		ann := chattest.NewNode(t, net, chattest.OnDisk(), withPublishGate(gate))
		bob := chattest.NewNode(t, net, chattest.WithRooms())
		net.Connect(ann.ID, bob.ID)
		joinRoom(t, bob, dev)

		gate.setFailing(true)
		join := joinRoom(t, ann, dev)
		stuck := []*chat.Message{join, sendRoom(t, ann, dev, "one"), sendRoom(t, ann, dev, "two")}
		synctest.Wait()
		for _, m := range stuck {
			if got, err := ann.Svc.Message(m.ID); err != nil || got.Status != chat.StatusQueued {
				t.Errorf("ann's %q before the restart: got (%v, %v), want it queued", m.Body, got, err)
			}
			if bob.Events.Count(chattest.MessageIs(m.ID)) != 0 {
				t.Errorf("bob got %q, which was never published", m.Body)
			}
		}

		ann.Stop()
		gate.setFailing(false)
		ann.Start()
		for _, m := range stuck {
			bob.Events.WaitFor(t, "bob storing a republished message", chattest.MessageIs(m.ID))
			ann.Events.WaitFor(t, "ann's message sent", chattest.StatusIs(m.ID, chat.StatusSent))
			got, err := ann.Svc.Message(m.ID)
			if err != nil || got.Status != chat.StatusSent || len(got.Proof.Signature) == 0 {
				t.Errorf("ann's %q after the restart: got (%v, %v), want it sent with a proof", m.Body, got, err)
			}
		}
		if left, err := ann.Store.Unpublished(); err != nil || len(left) != 0 {
			t.Errorf("unpublished after the restart: got (%d messages, %v), want none", len(left), err)
		}
	})
}
