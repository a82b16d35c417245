package store_test

import (
	"fmt"
	"reflect"
	"slices"
	"testing"

	"pgregory.net/rapid"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/chat/chattest"
	"github.com/parley-chat/parley/internal/wire"
)

// op is a room message acting on target: an edit, a reaction or a
// delete, published and received.
func op(t testing.TB, from chat.PeerID, target *chat.Message, h chat.HLC, kind chat.Kind, body, emoji string, remove bool) *chat.Message {
	t.Helper()
	m := chattest.Env{Author: from, Room: target.Room, HLC: h, Kind: kind, Body: body, Raw: func(e *wire.Envelope) {
		e.Target, e.TargetHlc, e.Emoji, e.Remove = target.ID[:], uint64(target.HLC), emoji, remove
	}}.Message(t)
	m.Proof = chat.Proof{Seqno: []byte{byte(h)}, Signature: []byte{byte(h)}}
	m.ReceivedAt = h.Time()
	return m
}

// threadReply is a reply in root's thread (shown in the room too with alsoRoom).
func threadReply(t testing.TB, from chat.PeerID, root *chat.Message, h chat.HLC, body string, alsoRoom bool) *chat.Message {
	t.Helper()
	m := chattest.Env{Author: from, Room: root.Room, HLC: h, Body: body, ReplyTo: root.ID, Raw: func(e *wire.Envelope) {
		e.Thread, e.AlsoRoom = root.ID[:], alsoRoom
	}}.Message(t)
	m.Proof = chat.Proof{Seqno: []byte{byte(h)}, Signature: []byte{byte(h)}}
	m.ReceivedAt = h.Time()
	return m
}

// fromScratch is the view of target derived from every message held, as
// the code before views did it on each read: the operations on it in
// conversation order, and its replies counted.
func fromScratch(target *chat.Message, held []*chat.Message) chat.View {
	held = sortedByPosition(held)
	var ops []*chat.Message
	replies, last := 0, chat.HLC(0)
	for _, m := range held {
		switch {
		case m.Kind == chat.KindText && m.Thread == target.ID:
			replies++
			last = max(last, m.HLC)
		case m.Target == target.ID:
			ops = append(ops, m)
		}
	}
	v := chat.ApplyOperations(target, ops)
	v.Replies, v.LastReply = replies, last
	return v
}

// normal makes empty and nil slices alike, for comparing views.
func normal(v chat.View) chat.View {
	if len(v.Versions) == 0 {
		v.Versions = nil
	}
	if len(v.Mentions) == 0 {
		v.Mentions = nil
	}
	if len(v.Reactions) == 0 {
		v.Reactions = nil
	}
	for i := range v.Reactions {
		if len(v.Reactions[i].By) == 0 {
			v.Reactions[i].By = nil
		}
	}
	return v
}

// TestViewsAnyArrivalOrder: a message, its author's and another's edits,
// reactions put and taken back by three members, thread replies and
// deletes (erasing the message or an edit), stored in any order and in
// any batches, with each erase done at any point after its message came:
// the stored view always equals the view derived from scratch from the
// same messages, so every member shows the same, whatever order it got
// them in. The history page holds the message and the replies also sent
// to the room, never an operation or a reply kept to its thread.
func TestViewsAnyArrivalOrder(t *testing.T) {
	ann, bob, cat := newPeer(t), newPeer(t), newPeer(t)
	people := []chat.PeerID{ann, bob, cat}
	emojis := []string{"👍", "🎉"}
	rapid.Check(t, func(rt *rapid.T) {
		s := openMemStore(t)
		root := roomMessage(t, ann, "dev", baseHLC, "the original")
		all := []*chat.Message{root}
		n := rapid.IntRange(0, 14).Draw(rt, "operations")
		for i := range n {
			h := baseHLC + chat.HLC(10*(i+1))
			from := people[rapid.IntRange(0, 2).Draw(rt, "from")]
			var m *chat.Message
			switch rapid.IntRange(0, 3).Draw(rt, "kind") {
			case 0:
				m = op(t, from, root, h, chat.KindEdit, fmt.Sprintf("edit %d", i), "", false)
			case 1:
				m = op(t, from, root, h, chat.KindReact, "", emojis[rapid.IntRange(0, 1).Draw(rt, "emoji")], rapid.Bool().Draw(rt, "remove"))
			case 2:
				m = threadReply(t, from, root, h, fmt.Sprintf("reply %d", i), rapid.Bool().Draw(rt, "also room"))
			case 3:
				m = op(t, from, root, h, chat.KindDelete, "", "", false)
			}
			all = append(all, m)
		}
		// What gets erased: the message (if a delete of it is among
		// them), and some edits.
		erase := map[chat.MessageID]bool{}
		for _, m := range all {
			if m.Kind == chat.KindDelete {
				erase[root.ID] = true
			}
			if m.Kind == chat.KindEdit && rapid.Bool().Draw(rt, "erase edit") {
				erase[m.ID] = true
			}
		}
		order := rapid.Permutation(all).Draw(rt, "arrival order")
		var held []*chat.Message
		var erasable []chat.MessageID
		for len(order) > 0 {
			k := rapid.IntRange(1, len(order)).Draw(rt, "batch")
			if _, err := s.AddMessages(order[:k]); err != nil {
				rt.Fatal(err)
			}
			for _, m := range order[:k] {
				held = append(held, m)
				if erase[m.ID] {
					erasable = append(erasable, m.ID)
				}
			}
			order = order[k:]
			for len(erasable) > 0 && rapid.Bool().Draw(rt, "erase now") {
				if err := s.Erase(erasable[0], ann); err != nil {
					rt.Fatal(err)
				}
				erasable = erasable[1:]
			}
		}
		for _, id := range erasable {
			if err := s.Erase(id, ann); err != nil {
				rt.Fatal(err)
			}
		}
		final := make([]*chat.Message, len(held))
		for i, m := range held {
			c := *m
			if erase[m.ID] {
				c.Deleted, c.Body = true, ""
			}
			final[i] = &c
		}
		got, err := s.Views([]chat.MessageID{root.ID})
		if err != nil {
			rt.Fatal(err)
		}
		var target *chat.Message
		for _, m := range final {
			if m.ID == root.ID {
				target = m
			}
		}
		if g, w := normal(got[root.ID]), normal(fromScratch(target, final)); !reflect.DeepEqual(g, w) {
			rt.Fatalf("stored view:\n%+v\nwant, derived from scratch:\n%+v", g, w)
		}

		// The page holds lines only; the thread holds every reply.
		lines, err := s.Lines(root.Conversation, chat.Cursor{}, 100)
		if err != nil {
			rt.Fatal(err)
		}
		var wantLines, wantReplies []chat.MessageID
		for _, m := range sortedByPosition(all) {
			if m.IsLine() {
				wantLines = append(wantLines, m.ID)
			}
			if m.Thread == root.ID {
				wantReplies = append(wantReplies, m.ID)
			}
		}
		if !slices.Equal(ids(lines), wantLines) {
			rt.Fatalf("lines: got %d messages, want %d", len(lines), len(wantLines))
		}
		replies, err := s.ThreadReplies(root.ID, chat.Cursor{}, 100)
		if err != nil {
			rt.Fatal(err)
		}
		if !slices.Equal(ids(replies), wantReplies) {
			rt.Fatalf("thread: got %d replies, want %d", len(replies), len(wantReplies))
		}
		everything, err := s.Messages(root.Conversation, chat.Cursor{}, 100)
		if err != nil {
			rt.Fatal(err)
		}
		if !slices.Equal(ids(everything), ids(sortedByPosition(all))) {
			rt.Fatalf("messages: got %d, want all %d in order", len(everything), len(all))
		}
	})
}

// sortedByPosition returns ms in conversation order.
func sortedByPosition(ms []*chat.Message) []*chat.Message {
	ms = slices.Clone(ms)
	slices.SortFunc(ms, func(a, b *chat.Message) int {
		if c := chat.CursorOf(a); c.Less(chat.CursorOf(b)) {
			return -1
		}
		if chat.CursorOf(b).Less(chat.CursorOf(a)) {
			return 1
		}
		return 0
	})
	return ms
}
