package store_test

import (
	"reflect"
	"slices"
	"testing"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/store"
)

// TestMigrateV1: a store written in schema version 1 (every message of a
// room in one range, thread replies in the 'T' index, no views) opens as
// version 2: a page holds only lines, the message shows its edit,
// reactions and replies from its view, the thread lists its replies,
// the operations index holds only operations, and what arrives after
// the migration keeps the view current. Opening it again changes nothing.
func TestMigrateV1(t *testing.T) {
	dir := t.TempDir()
	ann, bob := newPeer(t), newPeer(t)
	root := roomMessage(t, ann, "dev", baseHLC, "the original")
	other := roomMessage(t, bob, "dev", baseHLC+5, "another message")
	all := []*chat.Message{
		root, other,
		op(t, ann, root, baseHLC+10, chat.KindEdit, "the original, fixed", "", false),
		op(t, bob, root, baseHLC+20, chat.KindReact, "", "👍", false),
		threadReply(t, bob, root, baseHLC+30, "in the thread", false),
		threadReply(t, ann, root, baseHLC+40, "in the thread and the room", true),
		op(t, bob, other, baseHLC+50, chat.KindReact, "", "🎉", false),
	}
	s, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range all {
		if err := store.PutV1Message(s, m); err != nil {
			t.Fatal(err)
		}
	}
	if err := store.SetSchemaVersion(s, 1); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	check := func(s *store.Store) {
		t.Helper()
		lines, err := s.Lines(root.Conversation, chat.Cursor{}, 50)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := ids(lines), []chat.MessageID{root.ID, other.ID, all[5].ID}; !slices.Equal(got, want) {
			t.Errorf("lines: got %x, want %x", got, want)
		}
		everything, err := s.Messages(root.Conversation, chat.Cursor{}, 50)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := ids(everything), ids(sortedByPosition(all)); !slices.Equal(got, want) {
			t.Errorf("messages: got %d, want all %d in order", len(got), len(want))
		}
		views, err := s.Views([]chat.MessageID{root.ID, other.ID})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range []*chat.Message{root, other} {
			if g, w := normal(views[m.ID]), normal(fromScratch(m, all)); !reflect.DeepEqual(g, w) {
				t.Errorf("view of %q: got %+v, want %+v", m.Body, g, w)
			}
		}
		if v := views[root.ID]; !v.Edited || v.Body != "the original, fixed" || v.Replies != 2 || len(v.Reactions) != 1 {
			t.Errorf("view of the root: got %+v, want edited, 2 replies, 1 reaction", v)
		}
		replies, err := s.ThreadReplies(root.ID, chat.Cursor{}, 50)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := ids(replies), []chat.MessageID{all[4].ID, all[5].ID}; !slices.Equal(got, want) {
			t.Errorf("thread: got %x, want %x", got, want)
		}
		ops, err := s.Related(root.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := ids(ops), []chat.MessageID{all[2].ID, all[3].ID}; !slices.Equal(got, want) {
			t.Errorf("operations on the root: got %x, want %x", got, want)
		}
		for tag, want := range map[byte]int{store.TagRelated: 3, store.TagThread: 2, store.TagView: 2} {
			if n, err := store.CountKeys(s, tag); err != nil || n != want {
				t.Errorf("table %q: got %d keys (%v), want %d", tag, n, err, want)
			}
		}
		for _, m := range all {
			got, err := s.Message(m.ID)
			if err != nil {
				t.Fatalf("message %q after the migration: %v", m.Body, err)
			}
			checkMessage(t, got, m)
		}
	}
	s = openStore(t, dir)
	check(s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openStore(t, dir)
	check(s)

	// What arrives now keeps the view current.
	late := op(t, ann, root, baseHLC+60, chat.KindReact, "", "👍", false)
	if _, err := s.AddMessages([]*chat.Message{late}); err != nil {
		t.Fatal(err)
	}
	views, err := s.Views([]chat.MessageID{root.ID})
	if err != nil {
		t.Fatal(err)
	}
	if r := views[root.ID].Reactions; len(r) != 1 || len(r[0].By) != 2 {
		t.Errorf("reactions after a new one: got %+v, want 👍 by two", r)
	}
}
