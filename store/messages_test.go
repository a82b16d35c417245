package store_test

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/store"
)

func TestAddMessagesIdempotent(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			s := b.open(t)
			self, peer := newPeer(t), newPeer(t)
			m := incoming(t, self, peer, baseHLC, "hello")

			for i, want := range []bool{true, false} {
				added, err := s.AddMessages([]*chat.Message{m})
				if err != nil {
					t.Fatalf("add #%d: %v", i+1, err)
				}
				if !slices.Equal(added, []bool{want}) {
					t.Errorf("add #%d: got added %v, want [%v]", i+1, added, want)
				}
			}

			// A message already held is left as it is, even if the copy
			// offered again says otherwise.
			changed := *m
			changed.Status = chat.StatusFailed
			changed.Reason = "should not be written"
			added, err := s.AddMessages([]*chat.Message{&changed})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(added, []bool{false}) {
				t.Errorf("add of a changed copy: got added %v, want [false]", added)
			}

			got, err := s.Messages(m.Conversation, chat.Cursor{}, 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 {
				t.Fatalf("history: got %d messages, want 1", len(got))
			}
			checkMessage(t, got[0], m)
		})
	}
}

func TestAddMessagesMixedBatch(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			s := b.open(t)
			self, peer := newPeer(t), newPeer(t)
			var ms []*chat.Message
			for i := range 4 {
				ms = append(ms, incoming(t, self, peer, baseHLC+chat.HLC(i), fmt.Sprintf("message %d", i)))
			}
			if _, err := s.AddMessages([]*chat.Message{ms[0], ms[1]}); err != nil {
				t.Fatal(err)
			}

			// Held, new, held, new, and a repeat of a message new in this batch.
			batch := []*chat.Message{ms[0], ms[2], ms[1], ms[3], ms[2]}
			added, err := s.AddMessages(batch)
			if err != nil {
				t.Fatal(err)
			}
			if want := []bool{false, true, false, true, false}; !slices.Equal(added, want) {
				t.Errorf("added: got %v, want %v", added, want)
			}

			got, err := s.Messages(chat.DMConversation(peer), chat.Cursor{}, 100)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ids(got), ids(ms)) {
				t.Errorf("history: got %d messages %v, want %d messages %v", len(got), ids(got), len(ms), ids(ms))
			}
		})
	}
}

// TestAddMessagesLargeRoomBatch: a room batch larger than one transaction
// is written over several, and every message is reported new exactly
// once, also one a transaction ran out of room in the middle of (between
// its record and its member-index entry).
func TestAddMessagesLargeRoomBatch(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			s := b.open(t)
			authors := []chat.PeerID{newPeer(t), newPeer(t), newPeer(t)}
			// Bodies of varied length (a fixed sequence), so that the
			// transactions run out of room at varied points of a message.
			rnd := rand.New(rand.NewPCG(7, 7))
			ms := make([]*chat.Message, 12000)
			for i := range ms {
				ms[i] = roomMessage(t, authors[i%len(authors)], "big", baseHLC+chat.HLC(i), fmt.Sprintf("message %d %s", i, strings.Repeat("b", rnd.IntN(300))))
			}
			for start := 0; start < len(ms); start += 4000 {
				batch := ms[start : start+4000]
				added, err := s.AddMessages(batch)
				if err != nil {
					t.Fatal(err)
				}
				for i, ok := range added {
					if !ok {
						t.Fatalf("message %d of %d reported as held already, want new", start+i, len(ms))
					}
				}
				again, err := s.AddMessages(batch)
				if err != nil {
					t.Fatal(err)
				}
				if slices.Contains(again, true) {
					t.Error("the same batch again: some reported new, want none")
				}
			}
			members, err := s.Members("big")
			if err != nil {
				t.Fatal(err)
			}
			last := map[chat.PeerID]chat.HLC{}
			for _, m := range members {
				last[m.Peer] = m.LastHLC
			}
			for k, a := range authors {
				want := baseHLC + chat.HLC(len(ms)-len(authors)+k)
				if last[a] != want {
					t.Errorf("member %d: last HLC %v, want %v (its newest message)", k, last[a], want)
				}
			}
		})
	}
}

// TestAddMessagesLargeBatch adds more than fits in one Badger transaction,
// so the batch is split.
func TestAddMessagesLargeBatch(t *testing.T) {
	s := openStore(t, t.TempDir())
	self, peer := newPeer(t), newPeer(t)
	body := strings.Repeat("x", 1000)
	ms := make([]*chat.Message, 1500)
	for i := range ms {
		ms[i] = incoming(t, self, peer, baseHLC+chat.HLC(i), fmt.Sprintf("%d %s", i, body))
	}
	for round, want := range []bool{true, false} {
		added, err := s.AddMessages(ms)
		if err != nil {
			t.Fatalf("round %d: %v", round+1, err)
		}
		if len(added) != len(ms) {
			t.Fatalf("round %d: got %d results, want %d", round+1, len(added), len(ms))
		}
		for i, a := range added {
			if a != want {
				t.Fatalf("round %d: added[%d]: got %v, want %v", round+1, i, a, want)
			}
		}
	}
	got, err := s.Messages(chat.DMConversation(peer), chat.Cursor{}, 2*len(ms))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids(got), ids(ms)) {
		t.Errorf("history: got %d messages, want the %d added in order", len(got), len(ms))
	}
}

// conversationFixture is a DM conversation whose messages have tied HLCs
// and authors on both sides, with want sorted by (HLC, ID).
func conversationFixture(t *testing.T, self, peer chat.PeerID) (want []*chat.Message) {
	t.Helper()
	hlcs := []chat.HLC{5, 1, 3, 3, 3, 7, 2, 9, 9, 4, 8, 6, 1 << 16, 1<<16 + 1}
	for i, h := range hlcs {
		body := fmt.Sprintf("message %d", i)
		if i%2 == 0 {
			want = append(want, outgoing(t, self, peer, baseHLC+h, body))
		} else {
			want = append(want, incoming(t, self, peer, baseHLC+h, body))
		}
	}
	slices.SortFunc(want, func(a, b *chat.Message) int {
		return cmp.Or(cmp.Compare(a.HLC, b.HLC), bytes.Compare(a.ID[:], b.ID[:]))
	})
	return want
}

func TestMessagesOrder(t *testing.T) {
	self, peer := newPeer(t), newPeer(t)
	want := conversationFixture(t, self, peer)
	reversed := slices.Clone(want)
	slices.Reverse(reversed)
	shuffled := slices.Clone(want)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })

	tests := []struct {
		name     string
		insert   []*chat.Message
		oneByOne bool
	}{
		{"in order", want, false},
		{"reversed", reversed, false},
		{"shuffled", shuffled, false},
		{"shuffled one by one", shuffled, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openMemStore(t)
			if tt.oneByOne {
				for _, m := range tt.insert {
					if _, err := s.AddMessages([]*chat.Message{m}); err != nil {
						t.Fatal(err)
					}
				}
			} else if _, err := s.AddMessages(tt.insert); err != nil {
				t.Fatal(err)
			}
			got, err := s.Messages(chat.DMConversation(peer), chat.Cursor{}, 100)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ids(got), ids(want)) {
				t.Fatalf("order: got %v, want %v", ids(got), ids(want))
			}
			for i := range got {
				checkMessage(t, got[i], want[i])
			}
		})
	}
}

func TestMessagesPagination(t *testing.T) {
	self, peer := newPeer(t), newPeer(t)
	want := conversationFixture(t, self, peer)
	s := openStore(t, t.TempDir())
	if _, err := s.AddMessages(want); err != nil {
		t.Fatal(err)
	}
	conv := chat.DMConversation(peer)

	for _, limit := range []int{1, 3, 4, len(want) - 1, len(want), len(want) + 10} {
		t.Run(fmt.Sprintf("limit %d", limit), func(t *testing.T) {
			var pages [][]*chat.Message
			before := chat.Cursor{}
			end := len(want) // want[:end] are the messages before the cursor
			for range len(want) + 2 {
				page, err := s.Messages(conv, before, limit)
				if err != nil {
					t.Fatal(err)
				}
				if len(page) == 0 {
					break
				}
				if len(page) > limit {
					t.Fatalf("page %d: got %d messages, want at most %d", len(pages)+1, len(page), limit)
				}
				start := max(end-limit, 0)
				if !slices.Equal(ids(page), ids(want[start:end])) {
					t.Fatalf("page %d: got %v, want %v", len(pages)+1, ids(page), ids(want[start:end]))
				}
				pages = append(pages, page)
				before = chat.CursorOf(page[0])
				end = start
			}
			if end != 0 {
				t.Errorf("pages stopped with %d messages unread", end)
			}
			if wantPages := (len(want) + limit - 1) / limit; len(pages) != wantPages {
				t.Errorf("pages: got %d, want %d", len(pages), wantPages)
			}
		})
	}

	t.Run("cursor between messages", func(t *testing.T) {
		// A cursor need not be a stored message: everything that sorts
		// before (HLC, ID) is returned.
		cut := want[6].HLC
		before := chat.Cursor{HLC: cut}
		page, err := s.Messages(conv, before, 100)
		if err != nil {
			t.Fatal(err)
		}
		var wantIDs []chat.MessageID
		for _, m := range want {
			if m.HLC < cut {
				wantIDs = append(wantIDs, m.ID)
			}
		}
		if !slices.Equal(ids(page), wantIDs) {
			t.Errorf("got %v, want %v", ids(page), wantIDs)
		}
	})

	t.Run("cursor before the first", func(t *testing.T) {
		page, err := s.Messages(conv, chat.CursorOf(want[0]), 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) != 0 {
			t.Errorf("got %d messages, want none", len(page))
		}
	})

	for _, limit := range []int{0, -1} {
		t.Run(fmt.Sprintf("limit %d", limit), func(t *testing.T) {
			page, err := s.Messages(conv, chat.Cursor{}, limit)
			if err != nil {
				t.Fatal(err)
			}
			if len(page) != 0 {
				t.Errorf("got %d messages, want none", len(page))
			}
		})
	}
}

func TestConversationsIsolated(t *testing.T) {
	s := openStore(t, t.TempDir())
	self, alice, bob := newPeer(t), newPeer(t), newPeer(t)
	want := map[chat.Conversation][]*chat.Message{}
	add := func(m *chat.Message) { want[m.Conversation] = append(want[m.Conversation], m) }
	for i := range 3 {
		h := baseHLC + chat.HLC(i)
		add(outgoing(t, self, alice, h, fmt.Sprintf("to alice %d", i)))
		add(incoming(t, self, bob, h, fmt.Sprintf("from bob %d", i)))
		// "go" is a prefix of "go-nuts": their histories must not mix.
		add(roomMessage(t, alice, "go", h, fmt.Sprintf("go %d", i)))
		add(roomMessage(t, bob, "go-nuts", h, fmt.Sprintf("go-nuts %d", i)))
	}
	for _, ms := range want {
		if _, err := s.AddMessages(ms); err != nil {
			t.Fatal(err)
		}
	}
	convs := []chat.Conversation{
		chat.DMConversation(alice),
		chat.DMConversation(bob),
		chat.RoomConversation("go"),
		chat.RoomConversation("go-nuts"),
		chat.DMConversation(newPeer(t)),
		chat.RoomConversation("g"),
	}
	for _, conv := range convs {
		got, err := s.Messages(conv, chat.Cursor{}, 100)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ids(got), ids(want[conv])) {
			t.Errorf("%s: got %d messages %v, want %d messages %v", conv, len(got), ids(got), len(want[conv]), ids(want[conv]))
		}
		for _, m := range got {
			if m.Conversation != conv {
				t.Errorf("%s: got a message of %s", conv, m.Conversation)
			}
		}
	}
}

func TestMessageByID(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			s := b.open(t)
			self, peer := newPeer(t), newPeer(t)
			in := incoming(t, self, peer, baseHLC, "hello")
			out := outgoing(t, self, peer, baseHLC+1, "hi")
			room := roomMessage(t, peer, "lobby", baseHLC+2, "all")
			if _, err := s.AddMessages([]*chat.Message{in, room}); err != nil {
				t.Fatal(err)
			}
			if err := s.Enqueue(out); err != nil {
				t.Fatal(err)
			}
			for _, want := range []*chat.Message{in, out, room} {
				got, err := s.Message(want.ID)
				if err != nil {
					t.Fatalf("message %s: %v", want.ID, err)
				}
				checkMessage(t, got, want)
			}

			unknown := outgoing(t, self, peer, baseHLC+3, "never stored")
			for _, id := range []chat.MessageID{unknown.ID, {}} {
				got, err := s.Message(id)
				if !errors.Is(err, chat.ErrNotFound) {
					t.Errorf("message %s: got (%v, %v), want ErrNotFound", id, got, err)
				}
			}
		})
	}
}

func TestEnqueueOutbox(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			s := b.open(t)
			self, alice, bob := newPeer(t), newPeer(t), newPeer(t)
			toAlice := []*chat.Message{
				outgoing(t, self, alice, baseHLC+3, "third"),
				outgoing(t, self, alice, baseHLC+1, "first"),
				outgoing(t, self, alice, baseHLC+2, "second"),
			}
			toBob := outgoing(t, self, bob, baseHLC, "bob")
			for _, m := range append(slices.Clone(toAlice), toBob, toAlice[0]) {
				if err := s.Enqueue(m); err != nil {
					t.Fatalf("enqueue %q: %v", m.Body, err)
				}
			}
			// Received messages are not outgoing.
			if _, err := s.AddMessages([]*chat.Message{incoming(t, self, alice, baseHLC+4, "reply")}); err != nil {
				t.Fatal(err)
			}

			outbox, err := s.Outbox()
			if err != nil {
				t.Fatal(err)
			}
			if len(outbox) != 2 {
				t.Errorf("outbox: got %d recipients, want 2", len(outbox))
			}
			wantAlice := []*chat.Message{toAlice[1], toAlice[2], toAlice[0]}
			if !slices.Equal(ids(outbox[alice]), ids(wantAlice)) {
				t.Errorf("outbox of alice: got %v, want %v (oldest first)", ids(outbox[alice]), ids(wantAlice))
			}
			for i, m := range outbox[alice] {
				checkMessage(t, m, wantAlice[i])
			}
			if !slices.Equal(ids(outbox[bob]), []chat.MessageID{toBob.ID}) {
				t.Errorf("outbox of bob: got %v, want [%s]", ids(outbox[bob]), toBob.ID)
			}

			// An enqueued message is also history.
			hist, err := s.Messages(chat.DMConversation(alice), chat.Cursor{}, 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(hist) != 4 {
				t.Errorf("history of alice: got %d messages, want 4", len(hist))
			}
		})
	}
}

func TestEnqueueRejectsRoomMessage(t *testing.T) {
	s := openMemStore(t)
	m := roomMessage(t, newPeer(t), "lobby", baseHLC, "hello")
	if err := s.Enqueue(m); err == nil {
		t.Error("enqueue of a room message: got nil error, want one")
	}
	outbox, err := s.Outbox()
	if err != nil {
		t.Fatal(err)
	}
	if len(outbox) != 0 {
		t.Errorf("outbox: got %d recipients, want none", len(outbox))
	}
}

func TestSetStatus(t *testing.T) {
	tests := []struct {
		name   string
		status chat.Status
		reason string
	}{
		{"delivered", chat.StatusDelivered, ""},
		{"failed", chat.StatusFailed, "rejected by the recipient: not addressed to this peer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openStore(t, t.TempDir())
			self, peer := newPeer(t), newPeer(t)
			done := outgoing(t, self, peer, baseHLC, "done")
			waiting := outgoing(t, self, peer, baseHLC+1, "waiting")
			for _, m := range []*chat.Message{done, waiting} {
				if err := s.Enqueue(m); err != nil {
					t.Fatal(err)
				}
			}
			err := s.SetStatus([]chat.StatusUpdate{{Message: done, Status: tt.status, Reason: tt.reason}})
			if err != nil {
				t.Fatal(err)
			}

			got, err := s.Message(done.ID)
			if err != nil {
				t.Fatal(err)
			}
			want := *done
			want.Status, want.Reason = tt.status, tt.reason
			checkMessage(t, got, &want)

			outbox, err := s.Outbox()
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ids(outbox[peer]), []chat.MessageID{waiting.ID}) {
				t.Errorf("outbox: got %v, want only [%s]", ids(outbox[peer]), waiting.ID)
			}
			if got, err := s.Message(waiting.ID); err != nil || got.Status != chat.StatusQueued {
				t.Errorf("untouched message: got (%v, %v), want status queued", got, err)
			}
		})
	}
}

// TestSetStatusAfterReopen records outcomes for messages as Outbox returns
// them after a restart, which is how a restarted node delivers.
func TestSetStatusAfterReopen(t *testing.T) {
	dir := t.TempDir()
	self, peer := newPeer(t), newPeer(t)
	want := []*chat.Message{
		outgoing(t, self, peer, baseHLC, "first"),
		outgoing(t, self, peer, baseHLC+1, "second"),
	}
	s := openStore(t, dir)
	for _, m := range want {
		if err := s.Enqueue(m); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openStore(t, dir)
	outbox, err := s.Outbox()
	if err != nil {
		t.Fatal(err)
	}
	pending := outbox[peer]
	if !slices.Equal(ids(pending), ids(want)) {
		t.Fatalf("outbox after reopen: got %v, want %v", ids(pending), ids(want))
	}
	err = s.SetStatus([]chat.StatusUpdate{
		{Message: pending[0], Status: chat.StatusDelivered},
		{Message: pending[1], Status: chat.StatusFailed, Reason: "rejected by the recipient"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if outbox, err := s.Outbox(); err != nil || len(outbox) != 0 {
		t.Errorf("outbox after SetStatus: got (%v, %v), want empty", outbox, err)
	}
	delivered, failed := *want[0], *want[1]
	delivered.Status = chat.StatusDelivered
	failed.Status, failed.Reason = chat.StatusFailed, "rejected by the recipient"
	got, err := s.Messages(chat.DMConversation(peer), chat.Cursor{}, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("history: got %d messages, want 2", len(got))
	}
	checkMessage(t, got[0], &delivered)
	checkMessage(t, got[1], &failed)
}

func TestOutboxAndStatusesSurviveReopen(t *testing.T) {
	dir := t.TempDir()
	self, peer := newPeer(t), newPeer(t)
	delivered := outgoing(t, self, peer, baseHLC, "delivered")
	failed := outgoing(t, self, peer, baseHLC+1, "failed")
	queued := outgoing(t, self, peer, baseHLC+2, "queued")
	received := incoming(t, self, peer, baseHLC+3, "received")

	s := openStore(t, dir)
	for _, m := range []*chat.Message{delivered, failed, queued} {
		if err := s.Enqueue(m); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.AddMessages([]*chat.Message{received}); err != nil {
		t.Fatal(err)
	}
	updates := []chat.StatusUpdate{
		{Message: delivered, Status: chat.StatusDelivered},
		{Message: failed, Status: chat.StatusFailed, Reason: "rejected by the recipient"},
	}
	if err := s.SetStatus(updates); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openStore(t, dir)
	outbox, err := s.Outbox()
	if err != nil {
		t.Fatal(err)
	}
	if len(outbox) != 1 || !slices.Equal(ids(outbox[peer]), []chat.MessageID{queued.ID}) {
		t.Errorf("outbox after reopen: got %v, want {%s: [%s]}", outbox, peer, queued.ID)
	}
	wantDelivered, wantFailed := *delivered, *failed
	wantDelivered.Status = chat.StatusDelivered
	wantFailed.Status, wantFailed.Reason = chat.StatusFailed, "rejected by the recipient"
	want := []*chat.Message{&wantDelivered, &wantFailed, queued, received}
	got, err := s.Messages(chat.DMConversation(peer), chat.Cursor{}, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("history after reopen: got %d messages, want %d", len(got), len(want))
	}
	for i := range want {
		checkMessage(t, got[i], want[i])
	}
}

// TestOutboxSkipsOrphanEntry checks that an outbox entry whose message is
// missing does not break the outbox.
func TestOutboxSkipsOrphanEntry(t *testing.T) {
	s := openMemStore(t)
	self, peer := newPeer(t), newPeer(t)
	kept := outgoing(t, self, peer, baseHLC, "kept")
	orphan := outgoing(t, self, peer, baseHLC+1, "orphan")
	if err := s.Enqueue(kept); err != nil {
		t.Fatal(err)
	}
	if err := store.PutOutboxEntry(s, peer, orphan.HLC, orphan.ID); err != nil {
		t.Fatal(err)
	}
	outbox, err := s.Outbox()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids(outbox[peer]), []chat.MessageID{kept.ID}) {
		t.Errorf("outbox: got %v, want [%s]", ids(outbox[peer]), kept.ID)
	}
}

func TestConcurrentAddMessages(t *testing.T) {
	const (
		writers  = 8
		messages = 60
		span     = 24 // messages each writer adds; neighbours overlap
	)
	s := openStore(t, t.TempDir())
	self, peer := newPeer(t), newPeer(t)
	all := make([]*chat.Message, messages)
	for i := range all {
		all[i] = incoming(t, self, peer, baseHLC+chat.HLC(i), fmt.Sprintf("message %d", i))
	}

	var (
		mu    sync.Mutex
		added = make(map[chat.MessageID]int)
		wg    sync.WaitGroup
	)
	for w := range writers {
		wg.Go(func() {
			var mine []*chat.Message
			for i := range span {
				mine = append(mine, all[(w*messages/writers+i)%messages])
			}
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			rng.Shuffle(len(mine), func(i, j int) { mine[i], mine[j] = mine[j], mine[i] })
			for len(mine) > 0 {
				n := min(1+rng.IntN(5), len(mine))
				batch := mine[:n]
				mine = mine[n:]
				ok, err := s.AddMessages(batch)
				if err != nil {
					t.Errorf("writer %d: %v", w, err)
					return
				}
				mu.Lock()
				for i, a := range ok {
					if a {
						added[batch[i].ID]++
					}
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()

	for i, m := range all {
		if added[m.ID] != 1 {
			t.Errorf("message %d: reported added %d times, want once", i, added[m.ID])
		}
	}
	got, err := s.Messages(chat.DMConversation(peer), chat.Cursor{}, 2*messages)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids(got), ids(all)) {
		t.Errorf("history: got %d messages, want each of the %d once, in order", len(got), len(all))
	}
}

// TestLargeMessage stores a message as large as chat lets through (a body
// just under chat.DefaultMaxFrame) in both kinds of store.
func TestLargeMessage(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			s := b.open(t)
			self, peer := newPeer(t), newPeer(t)
			in := incoming(t, self, peer, baseHLC, strings.Repeat("é", (chat.DefaultMaxFrame-200)/2))
			out := outgoing(t, self, peer, baseHLC+1, strings.Repeat("x", chat.DefaultMaxFrame-200))
			if _, err := s.AddMessages([]*chat.Message{in}); err != nil {
				t.Fatalf("add: %v", err)
			}
			if err := s.Enqueue(out); err != nil {
				t.Fatalf("enqueue: %v", err)
			}
			for _, want := range []*chat.Message{in, out} {
				got, err := s.Message(want.ID)
				if err != nil {
					t.Fatal(err)
				}
				checkMessage(t, got, want)
			}
		})
	}
}
