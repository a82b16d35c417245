package node_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/chat/chattest"
	"github.com/parley-chat/parley/crypto"
	"github.com/parley-chat/parley/node"
	"github.com/parley-chat/parley/node/nodetest"
)

// provenRoomMessage is a text message by author in room at h, with the
// proof GossipSub gives it when author publishes it with seqno, as a
// member that received it stores it.
func provenRoomMessage(tb testing.TB, author *crypto.Identity, room string, h chat.HLC, body string, seqno uint64) *chat.Message {
	tb.Helper()
	m := chattest.Env{Author: author.PeerID(), Room: room, HLC: h, Body: body}.Message(tb)
	m.Proof = nodetest.SignProof(author, chat.RoomTopic(room), m.Envelope, seqno)
	m.ReceivedAt = time.Now()
	return m
}

// writeHistory writes n text messages of room, by a few authors, spread
// evenly from `from` to `to`, with valid proofs, straight into the stores
// of members (as if they had received them long ago), and returns them in
// order.
func writeHistory(t *testing.T, room string, n int, from, to time.Time, members ...*nodetest.Member) []*chat.Message {
	t.Helper()
	authors := make([]*crypto.Identity, 4)
	for i := range authors {
		authors[i] = chattest.NewIdentity(t)
	}
	step := to.Sub(from) / time.Duration(max(n-1, 1))
	ms := make([]*chat.Message, n)
	for i := range ms {
		ms[i] = provenRoomMessage(t, authors[i%len(authors)], room, chat.HLCFromTime(from.Add(time.Duration(i)*step)), fmt.Sprintf("message %d", i), uint64(i/len(authors)+1))
	}
	for _, m := range members {
		addAll(t, m.Store, ms)
	}
	return ms
}

// pageBack reads m's text history of room with History, newest page first,
// limit messages a page, until history begins, and returns it in order.
func pageBack(t *testing.T, m *nodetest.Member, room string, limit int) []*chat.Message {
	t.Helper()
	var pages [][]*chat.Message
	var before chat.MessageID
	for {
		page, err := m.Chat.History(chat.RoomConversation(room), chat.HistoryQuery{Before: before, Limit: limit})
		if err != nil {
			t.Fatalf("n%d: history before %s: %v", m.Index, before, err)
		}
		if len(page) == 0 {
			break
		}
		if len(page) > limit {
			t.Fatalf("n%d: got a page of %d, want at most %d", m.Index, len(page), limit)
		}
		pages = append(pages, page)
		before = page[0].ID
	}
	slices.Reverse(pages)
	return slices.Concat(pages...)
}

// TestMocknetRoomWholeHistory: a member that joins a room late gets its
// whole history from a member (sync has no window: here more messages
// than the 10,000 and older than the 30 days sync once stopped at), and
// paging back through it with History reaches the first message.
//
// The session that brings it is the one opened when the two see each
// other join the topic; anti-entropy (30s) only retries a failed one.
func TestMocknetRoomWholeHistory(t *testing.T) {
	const room = "archive"
	const total = 12345
	c := nodetest.NewCluster(t, 2, nodetest.Options{InMemory: true})
	member, late := c.Members[0], c.Members[1]
	joinRoom(t, member, room)
	waitSameHistories(t, 20*time.Second, []*nodetest.Member{member}, room, 1, nil)
	now := time.Now()
	history := writeHistory(t, room, total, now.AddDate(0, 0, -90), now.Add(-time.Hour), member)

	c.Connect(late.Index, member.Index)
	start := time.Now()
	joinRoom(t, late, room)
	// Sync brings the newest first: wait for the oldest (one key to look
	// up, where comparing histories reads all of them), then compare.
	nodetest.WaitFor(t, 5*time.Minute, "the late joiner to get the first message", func() bool {
		has, err := late.Store.Has(history[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		return has
	})
	waitSameHistories(t, time.Minute, c.Members, room, total+2, idsOf(history))
	t.Logf("the late joiner held all %d messages %v after joining", total, time.Since(start).Round(time.Millisecond))

	got := pageBack(t, late, room, 1000)
	if len(got) != total {
		t.Fatalf("paging back: got %d messages, want %d", len(got), total)
	}
	if got[0].ID != history[0].ID {
		t.Errorf("paging back: the first message is %q, want %q", got[0].Body, history[0].Body)
	}
	for i := range got {
		if got[i].ID != history[i].ID || got[i].Body != history[i].Body || got[i].Author != history[i].Author {
			t.Fatalf("paging back: message %d is %q by %s, want %q by %s", i, got[i].Body, got[i].Author.Short(), history[i].Body, history[i].Author.Short())
		}
	}
}

// TestMocknetRoomRetention: history older than a member's retention
// (chat.Config.Retention, or the room's own SetRoomRetention) is neither
// synced to it nor kept by it, while members that keep everything still
// hold it; newer history syncs as usual.
func TestMocknetRoomRetention(t *testing.T) {
	const room = "retained"
	const keep = 48 * time.Hour
	c := nodetest.NewCluster(t, 3, nodetest.Options{InMemory: true, Chat: convergeChat, PerMember: func(i int, cfg *chat.Config, _ *node.Config) {
		if i == 2 {
			cfg.Retention = keep
		}
	}})
	keeper, pruner, late := c.Members[0], c.Members[1], c.Members[2]
	c.Connect(keeper.Index, pruner.Index)
	joinRoom(t, keeper, room)
	joinRoom(t, pruner, room)
	waitSameHistories(t, 20*time.Second, []*nodetest.Member{keeper, pruner}, room, 2, nil)
	now := time.Now()
	old := writeHistory(t, room, 30, now.AddDate(0, 0, -10), now.AddDate(0, 0, -3), keeper, pruner)
	fresh := writeHistory(t, room, 30, now.Add(-keep/2), now.Add(-time.Minute), keeper, pruner)

	holds := func(m *nodetest.Member, ms []*chat.Message) int {
		n := 0
		for _, msg := range ms {
			has, err := m.Store.Has(msg.ID)
			if err != nil {
				t.Fatal(err)
			}
			if has {
				n++
			}
		}
		return n
	}
	// syncBoth runs a sync session each way between a and b.
	syncBoth := func(a, b *nodetest.Member) {
		t.Helper()
		for _, p := range [][2]*nodetest.Member{{a, b}, {b, a}} {
			if _, err := p[0].Chat.SyncRoomWith(t.Context(), room, p[1].ID()); err != nil {
				t.Fatalf("n%d syncing with n%d: %v", p[0].Index, p[1].Index, err)
			}
		}
	}

	// Config.Retention: a newcomer gets the last two days only.
	c.Connect(late.Index, keeper.Index)
	joinRoom(t, late, room)
	nodetest.WaitFor(t, 20*time.Second, "the newcomer to get the fresh history", func() bool {
		return holds(late, fresh) == len(fresh)
	})
	syncBoth(late, keeper)
	if n := holds(late, old); n != 0 {
		t.Errorf("the newcomer (retention %v) holds %d of the %d older messages, want none", keep, n, len(old))
	}
	if rooms, err := late.Chat.Rooms(); err != nil || len(rooms) != 1 || rooms[0].Retention != keep {
		t.Errorf("the newcomer's rooms: got %+v (err %v), want #%s with retention %v", rooms, err, room, keep)
	}

	// SetRoomRetention: a member that held everything deletes the old
	// messages, and syncing with one that keeps them brings none back.
	if err := pruner.Chat.SetRoomRetention(room, keep); err != nil {
		t.Fatal(err)
	}
	nodetest.WaitFor(t, 20*time.Second, "the old messages to be deleted", func() bool {
		return holds(pruner, old) == 0
	})
	syncBoth(pruner, keeper)
	if n := holds(pruner, old); n != 0 {
		t.Errorf("after syncing with a member that keeps everything, the pruned member holds %d old messages again, want none", n)
	}
	if n := holds(pruner, fresh); n != len(fresh) {
		t.Errorf("the pruned member holds %d of the %d fresh messages, want all", n, len(fresh))
	}
	if n := holds(keeper, old); n != len(old) {
		t.Errorf("the member with no retention holds %d of the %d old messages, want all", n, len(old))
	}
	if rooms, err := pruner.Chat.Rooms(); err != nil || len(rooms) != 1 || rooms[0].Retention != keep {
		t.Errorf("the pruned member's rooms: got %+v (err %v), want #%s with retention %v", rooms, err, room, keep)
	}
}
