package store_test

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/store"
)

// countKeys returns how many keys each table holds.
func countKeys(t *testing.T, s *store.Store) map[string]int {
	t.Helper()
	out := map[string]int{}
	for name, tag := range map[string]byte{
		"messages":    store.TagMessage,
		"index":       store.TagIndex,
		"unpublished": store.TagUnpublished,
		"outbox":      store.TagOutbox,
	} {
		n, err := store.CountKeys(s, tag)
		if err != nil {
			t.Fatal(err)
		}
		out[name] = n
	}
	return out
}

func TestDeleteBefore(t *testing.T) {
	const (
		n     = 2500 // more than two transactions' worth
		bound = 2200 // messages 0..2199 go: two full batches and part of a third
	)
	if bound <= 2*store.DeleteBatch {
		t.Fatalf("deleteBatch is %d: the test no longer spans several batches", store.DeleteBatch)
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			s := b.open(t)
			self, peer := newPeer(t), newPeer(t)
			dev := chat.RoomConversation("dev")
			var old, kept, keptUnpublished []*chat.Message
			for i := range n {
				h := baseHLC + chat.HLC(i)
				var m *chat.Message
				if i%10 == 0 { // every tenth is this node's, never published
					m = ownRoomMessage(t, self, "dev", h, chat.KindText, fmt.Sprintf("mine %d", i))
					if err := s.EnqueueRoom(m); err != nil {
						t.Fatal(err)
					}
				} else {
					m = roomMessage(t, peer, "dev", h, fmt.Sprintf("theirs %d", i))
				}
				switch {
				case i < bound:
					old = append(old, m)
				case i%10 == 0:
					keptUnpublished = append(keptUnpublished, m)
					kept = append(kept, m)
				default:
					kept = append(kept, m)
				}
			}
			var theirs []*chat.Message
			for _, m := range append(slices.Clone(old), kept...) {
				if m.Author == peer {
					theirs = append(theirs, m)
				}
			}
			if _, err := s.AddMessages(theirs); err != nil {
				t.Fatal(err)
			}
			// Other conversations with messages just as old: a room whose
			// name starts with "dev", and a DM in the outbox.
			devOps := []*chat.Message{roomMessage(t, peer, "dev-ops", baseHLC, "ops")}
			dmOut := outgoing(t, self, peer, baseHLC+1, "dm")
			if _, err := s.AddMessages(devOps); err != nil {
				t.Fatal(err)
			}
			if err := s.Enqueue(dmOut); err != nil {
				t.Fatal(err)
			}
			before := countKeys(t, s)

			deleted, err := s.DeleteBefore(dev, baseHLC+bound)
			if err != nil {
				t.Fatal(err)
			}
			if deleted != len(old) {
				t.Errorf("deleted: got %d, want %d", deleted, len(old))
			}

			check := func(t *testing.T) {
				t.Helper()
				got, err := s.Messages(dev, chat.Cursor{}, 2*n)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(ids(got), ids(kept)) {
					t.Errorf("history of dev: got %d messages, want the %d newer ones", len(got), len(kept))
				}
				for _, m := range old {
					if has, err := s.Has(m.ID); err != nil || has {
						t.Fatalf("Has(%q): got (%v, %v), want false", m.Body, has, err)
					}
					if _, err := s.Message(m.ID); !errors.Is(err, chat.ErrNotFound) {
						t.Fatalf("Message(%q): got %v, want ErrNotFound", m.Body, err)
					}
				}
				for _, m := range kept {
					if has, err := s.Has(m.ID); err != nil || !has {
						t.Fatalf("Has(%q): got (%v, %v), want true", m.Body, has, err)
					}
				}
				unpublished, err := s.Unpublished()
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(ids(unpublished), ids(keptUnpublished)) {
					t.Errorf("unpublished: got %d, want the %d newer ones", len(unpublished), len(keptUnpublished))
				}
				items, err := s.SyncItems(dev, 0)
				if err != nil {
					t.Fatal(err)
				}
				if want := len(kept) - len(keptUnpublished); len(items) != want || items[0].HLC < baseHLC+bound {
					t.Errorf("sync items: got %d from %v, want %d from HLC %d", len(items), items[0], want, baseHLC+bound)
				}
				if got, err := s.Messages(devOps[0].Conversation, chat.Cursor{}, 10); err != nil || !slices.Equal(ids(got), ids(devOps)) {
					t.Errorf("history of dev-ops: got (%v, %v), want it untouched", ids(got), err)
				}
				outbox, err := s.Outbox()
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(ids(outbox[peer]), []chat.MessageID{dmOut.ID}) {
					t.Errorf("outbox: got %v, want [%s]", ids(outbox[peer]), dmOut.ID)
				}
				// No key of a deleted message is left behind.
				oldUnpublished := bound / 10
				want := map[string]int{
					"messages":    before["messages"] - len(old),
					"index":       before["index"] - len(old),
					"unpublished": before["unpublished"] - oldUnpublished,
					"outbox":      before["outbox"],
				}
				if got := countKeys(t, s); !maps.Equal(got, want) {
					t.Errorf("keys: got %v, want %v (before: %v)", got, want, before)
				}
				// The member index keeps what it learnt.
				members, err := s.Members("dev")
				if err != nil {
					t.Fatal(err)
				}
				if len(members) != 2 {
					t.Errorf("members of dev: got %d, want 2", len(members))
				}
			}
			check(t)

			// Again: nothing more to delete.
			if deleted, err := s.DeleteBefore(dev, baseHLC+bound); err != nil || deleted != 0 {
				t.Errorf("second DeleteBefore: got (%d, %v), want (0, nil)", deleted, err)
			}
			check(t)
			// A bound below everything deletes nothing.
			if deleted, err := s.DeleteBefore(dev, baseHLC); err != nil || deleted != 0 {
				t.Errorf("DeleteBefore below the oldest: got (%d, %v), want (0, nil)", deleted, err)
			}
			if deleted, err := s.DeleteBefore(chat.RoomConversation("empty"), baseHLC+n); err != nil || deleted != 0 {
				t.Errorf("DeleteBefore of an empty room: got (%d, %v), want (0, nil)", deleted, err)
			}
			check(t)
		})
	}
}

// TestSetProofsAfterDelete: a message this node published late (a
// previous run's, republished) may be deleted by retention before its
// proof is recorded. Recording the proof must not bring it back.
func TestSetProofsAfterDelete(t *testing.T) {
	s := openMemStore(t)
	self := newPeer(t)
	conv := chat.RoomConversation("dev")
	old := ownRoomMessage(t, self, "dev", baseHLC, chat.KindText, "old")
	fresh := ownRoomMessage(t, self, "dev", baseHLC+10, chat.KindText, "fresh")
	if err := s.EnqueueRoom(old, fresh); err != nil {
		t.Fatal(err)
	}
	if deleted, err := s.DeleteBefore(conv, baseHLC+5); err != nil || deleted != 1 {
		t.Fatalf("DeleteBefore: got (%d, %v), want (1, nil)", deleted, err)
	}
	if err := s.SetProofs([]*chat.Message{published(old, 1), published(fresh, 2)}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Messages(conv, chat.Cursor{}, 10)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids(got), []chat.MessageID{fresh.ID}) {
		t.Fatalf("history: got %v, want only [%s] (the deleted message came back)", ids(got), fresh.ID)
	}
	checkMessage(t, got[0], published(fresh, 2))
	if items, err := s.SyncItems(conv, 0); err != nil || !slices.Equal(items, []chat.Cursor{chat.CursorOf(fresh)}) {
		t.Errorf("sync items: got (%v, %v), want only the fresh message", items, err)
	}
}
