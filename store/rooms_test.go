package store_test

import (
	"slices"
	"testing"
	"time"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/store"
)

func TestRoomsRoundTrip(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir)
	joined := time.Date(2025, 5, 6, 7, 8, 9, 10_000_000, time.UTC)
	want := []chat.Room{
		{Name: "dev", JoinedAt: joined, Retention: 90 * 24 * time.Hour},
		{Name: "lobby", JoinedAt: joined.Add(time.Hour)}, // the node's default retention
		{Name: "ops", JoinedAt: joined, Retention: 36*time.Hour + 30*time.Minute},
	}
	for _, r := range want {
		if err := s.PutRoom(r); err != nil {
			t.Fatal(err)
		}
	}
	// PutRoom replaces: a room's retention changes.
	want[2].Retention = 2 * time.Hour
	if err := s.PutRoom(want[2]); err != nil {
		t.Fatal(err)
	}

	check := func(t *testing.T, s *store.Store, want []chat.Room) {
		t.Helper()
		got, err := s.Rooms()
		if err != nil {
			t.Fatal(err)
		}
		if !slices.EqualFunc(got, want, func(a, b chat.Room) bool {
			return a.Name == b.Name && a.JoinedAt.Equal(b.JoinedAt) && a.Retention == b.Retention
		}) {
			t.Errorf("rooms: got %+v, want %+v", got, want)
		}
	}
	t.Run("open", func(t *testing.T) { check(t, s, want) })
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openStore(t, dir)
	t.Run("reopened", func(t *testing.T) { check(t, s, want) })

	if err := s.DeleteRoom("lobby"); err != nil {
		t.Fatal(err)
	}
	t.Run("deleted", func(t *testing.T) { check(t, s, []chat.Room{want[0], want[2]}) })
}

// TestEnqueueRoomAndSetProofs follows this node's room messages from
// EnqueueRoom (stored, unpublished, offered to nobody) through a batch of
// SetProofs (published with proofs), across a restart.
func TestEnqueueRoomAndSetProofs(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir)
	self := newPeer(t)
	conv := chat.RoomConversation("dev")
	join := ownRoomMessage(t, self, "dev", baseHLC, chat.KindJoin, "")
	ms := []*chat.Message{
		join,
		ownRoomMessage(t, self, "dev", baseHLC+1, chat.KindText, "first"),
		ownRoomMessage(t, self, "dev", baseHLC+2, chat.KindText, "second"),
		ownRoomMessage(t, self, "dev", baseHLC+3, chat.KindText, "third"),
	}
	if err := s.EnqueueRoom(ms[0]); err != nil {
		t.Fatal(err)
	}
	if err := s.EnqueueRoom(ms[1:]...); err != nil {
		t.Fatal(err)
	}

	unpublished, err := s.Unpublished()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids(unpublished), ids(ms)) {
		t.Fatalf("unpublished: got %v, want %v", ids(unpublished), ids(ms))
	}
	for i := range ms {
		checkMessage(t, unpublished[i], ms[i])
	}
	items, err := s.SyncItems(conv, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 0 {
		t.Errorf("sync items before publishing: got %v, want none (nothing has a proof)", items)
	}
	members, err := s.Members("dev")
	if err != nil {
		t.Fatal(err)
	}
	if want := []chat.Member{{Peer: self, Joined: true, LastHLC: baseHLC + 3}}; !slices.Equal(members, want) {
		t.Errorf("members: got %+v, want %+v", members, want)
	}

	// One batch proves three of the four; the second stays unpublished.
	proven := []*chat.Message{published(ms[0], 1), published(ms[2], 2), published(ms[3], 3)}
	if err := s.SetProofs(proven); err != nil {
		t.Fatal(err)
	}
	if err := s.SetProofs(nil); err != nil {
		t.Errorf("SetProofs of no messages: %v", err)
	}

	check := func(t *testing.T, s *store.Store) {
		t.Helper()
		want := []*chat.Message{proven[0], ms[1], proven[1], proven[2]}
		got, err := s.Messages(conv, chat.Cursor{}, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("history: got %d messages, want %d", len(got), len(want))
		}
		for i := range want {
			checkMessage(t, got[i], want[i])
		}
		unpublished, err := s.Unpublished()
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ids(unpublished), []chat.MessageID{ms[1].ID}) {
			t.Errorf("unpublished: got %v, want [%s]", ids(unpublished), ms[1].ID)
		}
		items, err := s.SyncItems(conv, 0)
		if err != nil {
			t.Fatal(err)
		}
		wantItems := []chat.Cursor{chat.CursorOf(ms[0]), chat.CursorOf(ms[2]), chat.CursorOf(ms[3])}
		if !slices.Equal(items, wantItems) {
			t.Errorf("sync items: got %v, want %v", items, wantItems)
		}
		items, err = s.SyncItems(conv, ms[2].HLC)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(items, wantItems[1:]) {
			t.Errorf("sync items since %d: got %v, want %v", ms[2].HLC, items, wantItems[1:])
		}
	}
	t.Run("open", func(t *testing.T) { check(t, s) })
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openStore(t, dir)
	t.Run("reopened", func(t *testing.T) { check(t, s) })
}

func TestEnqueueRoomRejectsDirectMessage(t *testing.T) {
	s := openMemStore(t)
	self, peer := newPeer(t), newPeer(t)
	room := ownRoomMessage(t, self, "dev", baseHLC, chat.KindText, "hello")
	direct := outgoing(t, self, peer, baseHLC+1, "hi")
	if err := s.EnqueueRoom(room, direct); err == nil {
		t.Fatal("EnqueueRoom with a direct message: got nil error, want one")
	}
	// Nothing of the batch was written.
	for _, m := range []*chat.Message{room, direct} {
		if has, err := s.Has(m.ID); err != nil || has {
			t.Errorf("Has(%q): got (%v, %v), want (false, nil)", m.Body, has, err)
		}
	}
	if unpublished, err := s.Unpublished(); err != nil || len(unpublished) != 0 {
		t.Errorf("unpublished: got (%v, %v), want none", ids(unpublished), err)
	}
}

// TestMembers checks the member index: it follows each author's latest
// membership event or message, whatever order they arrive in.
func TestMembers(t *testing.T) {
	s := openMemStore(t)
	alice, bob, carol := newPeer(t), newPeer(t), newPeer(t)
	event := func(p chat.PeerID, h chat.HLC, kind chat.Kind) *chat.Message {
		m := ownRoomMessage(t, p, "dev", baseHLC+h, kind, "")
		if kind == chat.KindText {
			m = roomMessage(t, p, "dev", baseHLC+h, "text")
		}
		return m
	}
	// Newest first: older events must not undo newer ones.
	batch := []*chat.Message{
		event(alice, 9, chat.KindLeave),
		event(alice, 5, chat.KindText),
		event(alice, 1, chat.KindJoin),
		event(bob, 2, chat.KindJoin),
		event(bob, 7, chat.KindText),
		event(carol, 3, chat.KindLeave),
		event(carol, 4, chat.KindJoin),
	}
	if _, err := s.AddMessages(batch); err != nil {
		t.Fatal(err)
	}
	// Another room's history is not this room's.
	if _, err := s.AddMessages([]*chat.Message{roomMessage(t, newPeer(t), "dev-ops", baseHLC, "elsewhere")}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Members("dev")
	if err != nil {
		t.Fatal(err)
	}
	want := map[chat.PeerID]chat.Member{
		alice: {Peer: alice, Joined: false, LastHLC: baseHLC + 9},
		bob:   {Peer: bob, Joined: true, LastHLC: baseHLC + 7},
		carol: {Peer: carol, Joined: true, LastHLC: baseHLC + 4},
	}
	if len(got) != len(want) {
		t.Errorf("members: got %d, want %d", len(got), len(want))
	}
	for _, m := range got {
		if m != want[m.Peer] {
			t.Errorf("member %s: got %+v, want %+v", m.Peer, m, want[m.Peer])
		}
	}
}

func TestMarkersAndCountAfter(t *testing.T) {
	s := openMemStore(t)
	self, peer := newPeer(t), newPeer(t)
	conv := chat.RoomConversation("dev")
	ms := []*chat.Message{
		roomMessage(t, peer, "dev", baseHLC, "one"),
		ownRoomMessage(t, self, "dev", baseHLC+1, chat.KindText, "mine"),
		ownRoomMessage(t, peer, "dev", baseHLC+2, chat.KindJoin, ""),
		roomMessage(t, peer, "dev", baseHLC+3, "two"),
		roomMessage(t, peer, "dev", baseHLC+4, "three"),
	}
	if _, err := s.AddMessages(ms); err != nil {
		t.Fatal(err)
	}

	if got, err := s.Marker(conv); err != nil || got != (chat.Cursor{}) {
		t.Errorf("marker before any: got (%v, %v), want the zero cursor", got, err)
	}
	for _, tt := range []struct {
		after chat.Cursor
		want  int
	}{
		{chat.Cursor{}, 3}, // all text not by self
		{chat.CursorOf(ms[0]), 2},
		{chat.CursorOf(ms[3]), 1},
		{chat.CursorOf(ms[4]), 0},
	} {
		if got, err := s.CountAfter(conv, tt.after, self); err != nil || got != tt.want {
			t.Errorf("CountAfter(%v): got (%d, %v), want %d", tt.after, got, err, tt.want)
		}
	}

	mark := chat.CursorOf(ms[3])
	if err := s.SetMarker(conv, mark); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Marker(conv); err != nil || got != mark {
		t.Errorf("marker: got (%v, %v), want %v", got, err, mark)
	}
	if got, err := s.Marker(chat.RoomConversation("de")); err != nil || got != (chat.Cursor{}) {
		t.Errorf("marker of another room: got (%v, %v), want the zero cursor", got, err)
	}
}

func TestFlags(t *testing.T) {
	s := openMemStore(t)
	for _, name := range []string{"lobby joined", "lobby"} {
		if got, err := s.Flag(name); err != nil || got {
			t.Errorf("flag %q before set: got (%v, %v), want false", name, got, err)
		}
	}
	if err := s.SetFlag("lobby joined"); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Flag("lobby joined"); err != nil || !got {
		t.Errorf("flag after set: got (%v, %v), want true", got, err)
	}
	if got, err := s.Flag("lobby"); err != nil || got {
		t.Errorf("another flag: got (%v, %v), want false", got, err)
	}
}
