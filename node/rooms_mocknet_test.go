package node_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/chat/chattest"
	"github.com/parley-chat/parley/node"
	"github.com/parley-chat/parley/node/nodetest"
)

// Rooms over mocknet: many members, sparse meshes, partitions, late
// joiners, restarts, replays, skewed clocks and presence (whole-history
// sync and retention: history_test.go).
//
// Pubsub is best effort; history sync is what makes delivery certain.
// Tests that need every member to converge shorten AntiEntropy (30s by
// default) and SyncSettle (2s): a member that pubsub missed, or that sits
// behind a member which got the news by sync (synced messages are not
// re-announced to neighbours), otherwise waits for its next anti-entropy
// tick. The mechanism is the same; only the bound on convergence shrinks.

// convergeChat is the chat config of tests that wait for convergence.
var convergeChat = chat.Config{AntiEntropy: time.Second, SyncSettle: 200 * time.Millisecond}

// TestMocknetRoomSparseMesh: every member of a room over a sparse mesh
// (about three links each) gets every message, in the same order. Under
// the race detector the large mesh has 25 members, not 50: 50 take
// minutes on two cores there.
func TestMocknetRoomSparseMesh(t *testing.T) {
	large := 50
	if raceEnabled {
		large = 25
	}
	for _, tc := range []struct {
		members  int
		chords   int
		perPeer  int
		inMemory bool
		timeout  time.Duration
	}{
		{members: 10, chords: 5, perPeer: 5, timeout: time.Minute},
		{members: large, chords: large / 2, perPeer: 3, inMemory: true, timeout: 3 * time.Minute},
	} {
		t.Run(fmt.Sprintf("%d members", tc.members), func(t *testing.T) {
			const room = "sparse"
			c := nodetest.NewCluster(t, tc.members, nodetest.Options{Chat: convergeChat, InMemory: tc.inMemory})
			edges := sparseGraph(tc.members, tc.chords, 7)
			connectAll(c, edges)
			start := time.Now()
			for _, m := range c.Members {
				joinRoom(t, m, room)
			}
			// Everybody talks at once.
			byMember := make([][]*chat.Message, tc.members)
			var wg sync.WaitGroup
			for i, m := range c.Members {
				wg.Go(func() {
					for k := range tc.perPeer {
						msg, err := m.Chat.SendRoom(t.Context(), room, fmt.Sprintf("n%d says %d", i, k))
						if err != nil {
							t.Errorf("n%d: send: %v", i, err)
							return
						}
						byMember[i] = append(byMember[i], msg)
					}
				})
			}
			wg.Wait()
			if t.Failed() {
				t.FailNow()
			}
			sent := slices.Concat(byMember...)
			sending := time.Since(start)
			took := waitSameHistories(t, tc.timeout, c.Members, room, len(sent)+tc.members, idsOf(sent))
			t.Logf("%d members, %d links, diameter %d, %d messages: joined and sent in %v, every member held all of them, in one order, %v later",
				tc.members, len(edges), diameter(tc.members, edges), len(sent), sending.Round(time.Millisecond), took.Round(time.Millisecond))
			checkHistories(t, c.Members, room, sent, peerIDs(c.Members))
			// Still the sparse mesh: nobody connected to anybody else on the way.
			degree := make([]int, tc.members)
			for _, e := range edges {
				degree[e.a]++
				degree[e.b]++
			}
			for i, m := range c.Members {
				if got := len(m.Host.Network().Peers()); got != degree[i] {
					t.Errorf("n%d: got %d peers connected, want its %d links", i, got, degree[i])
				}
			}
		})
	}
}

// TestMocknetRoomPartitionHeal splits a room in two, lets both halves talk,
// heals the split and expects one history everywhere within 30s: the nodes
// redial their lost peers by themselves and sync what each side missed.
//
// After a short split GossipSub's gossip (IHAVE for the last few
// heartbeats) could carry missed messages across. When the members on the
// cut links restart during the split their message caches are empty, and
// only history sync carries the other side's messages: across the healed
// links, then on to the members with no link across by their own syncs (a
// message received by sync is not announced to neighbours).
func TestMocknetRoomPartitionHeal(t *testing.T) {
	for _, tc := range []struct {
		name    string
		restart []int // members restarted during the split
	}{
		{name: "short split"},
		{name: "members restart during the split", restart: []int{0, 2, 3, 5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const room = "split"
			c := nodetest.NewCluster(t, 6, nodetest.Options{Chat: convergeChat})
			// A ring with one chord: 0-1-2 | 3-4-5, linked across by 2-3, 5-0 and 0-3.
			edges := []edge{{0, 1}, {1, 2}, {2, 3}, {3, 4}, {4, 5}, {5, 0}, {0, 3}}
			connectAll(c, edges)
			left, right := c.Members[:3], c.Members[3:]
			for _, m := range c.Members {
				joinRoom(t, m, room)
			}
			var sent []*chat.Message
			for _, m := range c.Members {
				sent = append(sent, sendRoom(t, m, room, fmt.Sprintf("n%d before the split", m.Index)))
			}
			waitSameHistories(t, 20*time.Second, c.Members, room, len(sent)+len(c.Members), idsOf(sent))

			cutApart(t, c, left, right, room)
			var leftSent, rightSent []*chat.Message
			for k := range 3 {
				for _, m := range left {
					leftSent = append(leftSent, sendRoom(t, m, room, fmt.Sprintf("n%d during the split, %d", m.Index, k)))
				}
				for _, m := range right {
					rightSent = append(rightSent, sendRoom(t, m, room, fmt.Sprintf("n%d during the split, %d", m.Index, k)))
				}
			}
			// Exactly their own side's messages: nothing crossed the split.
			before := len(sent) + len(c.Members)
			waitSameHistories(t, 20*time.Second, left, room, before+len(leftSent), idsOf(leftSent))
			waitSameHistories(t, 20*time.Second, right, room, before+len(rightSent), idsOf(rightSent))
			for _, i := range tc.restart {
				restart(t, c, c.Members[i])
			}
			// Back in the room with their neighbours on their side, before the heal.
			for _, e := range edges {
				if x, y := c.Members[e.a], c.Members[e.b]; (e.a < 3) == (e.b < 3) {
					nodetest.WaitFor(t, 20*time.Second, fmt.Sprintf("n%d and n%d to see each other in the room", e.a, e.b), func() bool {
						return sees(t, x, y, room) && sees(t, y, x, room)
					})
				}
			}

			healed := time.Now()
			for _, a := range left {
				for _, b := range right {
					c.Heal(a.Index, b.Index)
				}
			}
			sent = slices.Concat(sent, leftSent, rightSent)
			waitSameHistories(t, 30*time.Second, c.Members, room, len(sent)+len(c.Members), idsOf(sent))
			t.Logf("%d messages on the left and %d on the right during the split; every member held all %d, in one order, %v after the heal",
				len(leftSent), len(rightSent), len(sent), time.Since(healed).Round(time.Millisecond))
			checkHistories(t, c.Members, room, sent, peerIDs(c.Members))
		})
	}
}

// TestMocknetRoomLateJoinerAndRestart: a member that was never in the room
// gets its whole history by sync when it joins, and a member that was
// stopped while the room talked catches up when it starts again (same
// store on disk).
func TestMocknetRoomLateJoinerAndRestart(t *testing.T) {
	const room = "history"
	spy := newStoreSpy()
	c := nodetest.NewCluster(t, 4, nodetest.Options{Chat: convergeChat, PerMember: spy.wrap})
	m0, m1, sleeper, late := c.Members[0], c.Members[1], c.Members[2], c.Members[3]
	connectAll(c, []edge{{0, 1}, {1, 2}, {0, 2}})
	for _, m := range c.Members[:3] {
		joinRoom(t, m, room)
	}
	waitSameHistories(t, 20*time.Second, c.Members[:3], room, 3, nil)
	startSleeper := stop(t, c, sleeper)

	var sent []*chat.Message
	for k := range 100 {
		sent = append(sent, sendRoom(t, m0, room, fmt.Sprintf("n0 says %d", k)), sendRoom(t, m1, room, fmt.Sprintf("n1 says %d", k)))
	}
	waitSameHistories(t, 20*time.Second, []*nodetest.Member{m0, m1}, room, 3+len(sent), idsOf(sent))

	// The late joiner's only link is n1. Restarted, n1 has no message
	// cache for GossipSub to offer (IHAVE) the recent history from, so the
	// history can only come by sync (which the store spy checks).
	forgetGossip(t, c, m1)
	c.Connect(late.Index, m1.Index)
	start := time.Now()
	joinRoom(t, late, room)
	waitSameHistories(t, 20*time.Second, []*nodetest.Member{m0, m1, late}, room, 4+len(sent), idsOf(sent))
	t.Logf("late joiner: all %d messages, in order, %v after joining", len(sent), time.Since(start).Round(time.Millisecond))
	if n := spy.asked(late.Index, idsOf(sent)...); n != 0 {
		t.Errorf("late joiner: %d of the history's messages came over pubsub, want all by sync", n)
	}

	start = time.Now()
	startSleeper()
	waitSameHistories(t, 20*time.Second, c.Members, room, 4+len(sent), idsOf(sent))
	t.Logf("restarted member: caught up with %d messages %v after starting", len(sent), time.Since(start).Round(time.Millisecond))
	checkHistories(t, c.Members, room, sent, peerIDs(c.Members))
}

// TestMocknetRoomReplay: the author publishes the very same envelope again
// (as after a crash between publishing a message and recording its proof:
// the room outbox publishes it again at the next start). A receiver whose
// pubsub no longer remembers the message lets it through to the room's
// validator, which finds it in the store: it is stored once, announced
// once, and not relayed.
//
// GossipSub's seen cache drops a replay before the validator. Its entries
// outlive node.Config.SeenMessagesTTL by up to a minute (go-libp2p-pubsub
// v0.19 sweeps them once a minute and its Has ignores expiry), so a short
// TTL is no way to reach "expired" in a test. The receivers here are in
// that state all the same: one restarted since, the others got the message
// by sync.
func TestMocknetRoomReplay(t *testing.T) {
	const room = "replay"
	spy := newStoreSpy()
	c := nodetest.NewCluster(t, 4, nodetest.Options{Chat: convergeChat, PerMember: spy.wrap})
	author, heard, synced, far := c.Members[0], c.Members[1], c.Members[2], c.Members[3]
	c.Connect(author.Index, heard.Index)
	joinRoom(t, author, room)
	joinRoom(t, heard, room)
	msg := sendRoom(t, author, room, "said once")
	waitSameHistories(t, 20*time.Second, []*nodetest.Member{author, heard}, room, 3, []chat.MessageID{msg.ID})

	// replay has the author publish msg's envelope again: back in the room
	// outbox, it is published when the author starts, to the members of
	// the room it is linked to.
	replay := func() {
		t.Helper()
		waitPublished(t, author)
		stored, err := author.Store.Message(msg.ID)
		if err != nil {
			t.Fatal(err)
		}
		if err := author.Store.EnqueueRoom(stored); err != nil {
			t.Fatal(err)
		}
		restart(t, c, author)
	}
	// canary has the author post a message and waits until every member
	// of to holds it. The author publishes in order, so the receivers have
	// had what it published before.
	canaries := 0
	canary := func(to ...*nodetest.Member) {
		t.Helper()
		canaries++
		nodetest.WaitFor(t, 10*time.Second, "the author to be back in the room", func() bool {
			_, err := author.Chat.RoomMembers(room)
			return err == nil
		})
		m := sendRoom(t, author, room, fmt.Sprintf("canary %d", canaries))
		nodetest.WaitFor(t, 20*time.Second, "the canary to arrive", func() bool {
			for _, r := range to {
				if has, err := r.Store.Has(m.ID); err != nil || !has {
					return false
				}
			}
			return true
		})
	}

	// 1. To a receiver restarted since it got the message.
	restart(t, c, heard)
	heardEvents := chattest.NewEventLog(heard.Chat)
	before := spy.asked(heard.Index, msg.ID)
	replay()
	nodetest.WaitFor(t, 20*time.Second, "the replay to reach the restarted receiver's validator", func() bool {
		return spy.asked(heard.Index, msg.ID) > before
	})
	canary(heard)
	if n := heardEvents.Count(chattest.MessageIs(msg.ID)); n != 0 {
		t.Errorf("restarted receiver announced the replayed message %d times, want 0", n)
	}
	checkOnce(t, heard, room, msg, 4)

	// 2. To a receiver that got the message by sync, linked to one more
	// that did too: the replay must stop at the first.
	c.Connect(synced.Index, heard.Index)
	c.Connect(far.Index, synced.Index)
	syncedEvents, farEvents := chattest.NewEventLog(synced.Chat), chattest.NewEventLog(far.Chat)
	joinRoom(t, synced, room)
	joinRoom(t, far, room)
	waitSameHistories(t, 20*time.Second, []*nodetest.Member{heard, synced, far}, room, 6, []chat.MessageID{msg.ID})
	if n := spy.asked(synced.Index, msg.ID) + spy.asked(far.Index, msg.ID); n != 0 {
		t.Fatalf("the newcomers' validators saw the message %d times, want it to come by sync only", n)
	}
	// The author's only link is to synced now: that is where the replay goes.
	c.Connect(synced.Index, author.Index)
	cutApart(t, c, []*nodetest.Member{author}, []*nodetest.Member{heard}, room)
	replay()
	nodetest.WaitFor(t, 20*time.Second, "the replay to reach the newcomer's validator", func() bool {
		return spy.asked(synced.Index, msg.ID) >= 1
	})
	canary(synced, far, heard)
	if n := spy.asked(far.Index, msg.ID); n != 0 {
		t.Errorf("the replay was relayed: n%d's validator saw it %d times, want 0", far.Index, n)
	}
	for _, r := range []struct {
		m      *nodetest.Member
		events *chattest.EventLog
	}{{synced, syncedEvents}, {far, farEvents}} {
		if n := r.events.Count(chattest.MessageIs(msg.ID)); n != 1 {
			t.Errorf("n%d announced the message %d times, want once (when it came by sync)", r.m.Index, n)
		}
		checkOnce(t, r.m, room, msg, 7)
	}
	checkOnce(t, author, room, msg, 7)
}

// TestMocknetRoomClockSkew: members whose wall clocks are minutes apart
// (within MaxClockSkew) talk in rounds, each round after the previous one
// has reached everybody. Every member shows one order, each round after
// the one before (the hybrid logical clock, not the wall clocks, orders
// it), and no member's readings ever go back.
func TestMocknetRoomClockSkew(t *testing.T) {
	const room = "skew"
	offsets := []time.Duration{0, -7 * time.Minute, 3 * time.Minute, 9 * time.Minute}
	clk := newClocks()
	for i, d := range offsets {
		clk.set(i, d)
	}
	c := nodetest.NewCluster(t, len(offsets), nodetest.Options{Chat: convergeChat, PerMember: clk.hook})
	connectAll(c, []edge{{0, 1}, {1, 2}, {2, 3}, {3, 0}})
	logs := make([]*chattest.EventLog, len(c.Members))
	for i, m := range c.Members {
		logs[i] = chattest.NewEventLog(m.Chat)
		joinRoom(t, m, room)
	}
	waitSameHistories(t, 20*time.Second, c.Members, room, len(c.Members), nil)

	const rounds, perRound = 3, 2
	var sent []*chat.Message
	readings := make([][]chat.HLC, len(c.Members)) // each member's posts, in order
	for _, m := range roomHistory(t, c.Members[0], room) {
		for i, o := range c.Members {
			if m.Author == o.ID() {
				readings[i] = append(readings[i], m.HLC) // its join line
			}
		}
	}
	var round [][]*chat.Message
	for r := range rounds {
		var this []*chat.Message
		for i, m := range c.Members {
			seen := newestHLC(logs[i])
			for k := range perRound {
				msg := sendRoom(t, m, room, fmt.Sprintf("n%d, round %d, %d", i, r, k))
				if msg.HLC <= seen {
					t.Errorf("n%d (clock %v): posted at %d, not after the newest message it had been told of (%d)", i, offsets[i], msg.HLC, seen)
				}
				readings[i] = append(readings[i], msg.HLC)
				this = append(this, msg)
			}
		}
		sent = append(sent, this...)
		round = append(round, this)
		waitSameHistories(t, 20*time.Second, c.Members, room, len(c.Members)+len(sent), idsOf(sent))
		// Announced (so observed by each member's clock) before the next round.
		nodetest.WaitFor(t, 10*time.Second, "every member to have been told of the round", func() bool {
			for _, l := range logs {
				for _, msg := range this {
					if l.Count(chattest.MessageIs(msg.ID)) == 0 {
						return false
					}
				}
			}
			return true
		})
	}

	for i, hs := range readings {
		for k := 1; k < len(hs); k++ {
			if hs[k] <= hs[k-1] {
				t.Errorf("n%d (clock %v): reading %d is %d, not after %d", i, offsets[i], k, hs[k], hs[k-1])
			}
		}
	}
	for r := 1; r < len(round); r++ {
		var last chat.HLC
		for _, m := range round[r-1] {
			last = max(last, m.HLC)
		}
		for _, m := range round[r] {
			if m.HLC <= last {
				t.Errorf("%q sorts before the end of round %d", m.Body, r-1)
			}
		}
	}
	checkHistories(t, c.Members, room, sent, peerIDs(c.Members))
}

// TestMocknetRoomMembers: who is in a room (online members: the topic's
// peers and this node), what Rooms reports (members, online, unread), and
// a member that leaves: the others stop listing it once its leave line
// has arrived.
func TestMocknetRoomMembers(t *testing.T) {
	const room = "lobby"
	conv := chat.RoomConversation(room)
	c := nodetest.NewCluster(t, 3, nodetest.Options{Chat: convergeChat})
	connectAll(c, []edge{{0, 1}, {1, 2}, {0, 2}})
	a, b, leaver := c.Members[0], c.Members[1], c.Members[2]
	aEvents := chattest.NewEventLog(a.Chat)
	for _, m := range c.Members {
		joinRoom(t, m, room)
	}
	everyone := peerIDs(c.Members)
	for _, m := range c.Members {
		nodetest.WaitFor(t, 10*time.Second, fmt.Sprintf("n%d to list everyone online", m.Index), func() bool {
			return slices.Equal(onlineMembers(t, m, room), slices.Sorted(slices.Values(everyone)))
		})
	}
	waitSameHistories(t, 20*time.Second, c.Members, room, 3, nil)
	checkRooms(t, room, map[*nodetest.Member]chat.RoomInfo{
		a: {Members: 3, Online: 3}, b: {Members: 3, Online: 3}, leaver: {Members: 3, Online: 3},
	})

	var sent []*chat.Message
	for k := range 3 {
		sent = append(sent, sendRoom(t, a, room, fmt.Sprintf("a says %d", k)))
	}
	for k := range 2 {
		sent = append(sent, sendRoom(t, b, room, fmt.Sprintf("b says %d", k)))
	}
	waitSameHistories(t, 20*time.Second, c.Members, room, 3+len(sent), idsOf(sent))
	// Unread: text messages from others (join lines and one's own do not count).
	checkRooms(t, room, map[*nodetest.Member]chat.RoomInfo{
		a: {Members: 3, Online: 3, Unread: 2}, b: {Members: 3, Online: 3, Unread: 3}, leaver: {Members: 3, Online: 3, Unread: 5},
	})
	for _, m := range []*nodetest.Member{leaver, a} {
		if err := m.Chat.MarkRead(conv, chat.MessageID{}); err != nil {
			t.Fatalf("n%d: mark read: %v", m.Index, err)
		}
	}
	sent = append(sent, sendRoom(t, a, room, "a, after the others read"))
	waitSameHistories(t, 20*time.Second, c.Members, room, 3+len(sent), idsOf(sent))
	checkRooms(t, room, map[*nodetest.Member]chat.RoomInfo{
		a: {Members: 3, Online: 3, Unread: 0}, b: {Members: 3, Online: 3, Unread: 4}, leaver: {Members: 3, Online: 3, Unread: 1},
	})

	if left, err := leaver.Chat.LeaveRoom(t.Context(), room); err != nil || !left {
		t.Fatalf("leave: got %v, %v, want true, nil", left, err)
	}
	stayed := []*nodetest.Member{a, b}
	for _, m := range stayed {
		nodetest.WaitFor(t, 10*time.Second, fmt.Sprintf("n%d to stop listing the member that left", m.Index), func() bool {
			return slices.Equal(allMembers(t, m, room), slices.Sorted(slices.Values(peerIDs(stayed))))
		})
		if !slices.ContainsFunc(roomHistory(t, m, room), func(msg *chat.Message) bool {
			return msg.Kind == chat.KindLeave && msg.Author == leaver.ID()
		}) {
			t.Errorf("n%d does not list n%d any more but holds no leave line of it", m.Index, leaver.Index)
		}
	}
	checkRooms(t, room, map[*nodetest.Member]chat.RoomInfo{
		a: {Members: 2, Online: 2, Unread: 0}, b: {Members: 2, Online: 2, Unread: 4},
	})
	nodetest.WaitFor(t, 10*time.Second, "n0 to be told n2 went offline in the room", func() bool {
		return aEvents.Count(func(ev chat.Event) bool {
			return ev.Type == chat.EventPresence && ev.Room == room && ev.Peer.ID == leaver.ID() && !ev.Peer.Connected
		}) > 0
	})
	if rooms, err := leaver.Chat.Rooms(); err != nil || len(rooms) != 0 {
		t.Errorf("the member that left lists rooms %+v (err %v), want none", rooms, err)
	}
	if _, err := leaver.Chat.RoomMembers(room); !errors.Is(err, chat.ErrNotJoined) {
		t.Errorf("members of a room left: got error %v, want %v", err, chat.ErrNotJoined)
	}
}

// ---- topologies, partitions and restarts on mocknet ----

// edge is an undirected link between two members.
type edge struct{ a, b int }

// sparseGraph is a ring over n members plus chords random chords (fixed
// seed): connected, with degree 2 + 2*chords/n on average.
func sparseGraph(n, chords int, seed uint64) []edge {
	rng := rand.New(rand.NewPCG(seed, seed^0x5eed))
	have := make(map[edge]bool)
	var out []edge
	add := func(a, b int) bool {
		if a == b {
			return false
		}
		e := edge{min(a, b), max(a, b)}
		if have[e] {
			return false
		}
		have[e] = true
		out = append(out, e)
		return true
	}
	for i := range n {
		add(i, (i+1)%n)
	}
	for added := 0; added < chords; {
		if add(rng.IntN(n), rng.IntN(n)) {
			added++
		}
	}
	return out
}

// diameter is the longest shortest path, in links, between two of n
// members linked by edges.
func diameter(n int, edges []edge) int {
	next := make([][]int, n)
	for _, e := range edges {
		next[e.a] = append(next[e.a], e.b)
		next[e.b] = append(next[e.b], e.a)
	}
	longest := 0
	for from := range n {
		dist := make([]int, n)
		for i := range dist {
			dist[i] = -1
		}
		dist[from] = 0
		queue := []int{from}
		for len(queue) > 0 {
			at := queue[0]
			queue = queue[1:]
			for _, to := range next[at] {
				if dist[to] < 0 {
					dist[to] = dist[at] + 1
					longest = max(longest, dist[to])
					queue = append(queue, to)
				}
			}
		}
	}
	return longest
}

func connectAll(c *nodetest.Cluster, edges []edge) {
	for _, e := range edges {
		c.Connect(e.a, e.b)
	}
}

// cutApart cuts every link between a member of a and a member of b
// (Cluster.Cut) and waits until neither side sees the other, as a peer or
// in room (see closeConns).
func cutApart(t *testing.T, c *nodetest.Cluster, a, b []*nodetest.Member, room string) {
	t.Helper()
	open := func() []network.Conn {
		var conns []network.Conn
		for _, x := range a {
			for _, y := range b {
				conns = append(conns, x.Host.Network().ConnsToPeer(y.Host.ID())...)
				conns = append(conns, y.Host.Network().ConnsToPeer(x.Host.ID())...)
			}
		}
		return conns
	}
	cut := open()
	for _, x := range a {
		for _, y := range b {
			c.Cut(x.Index, y.Index)
		}
	}
	closeConns(t, "both sides to see the split", cut, open, func() bool {
		for _, x := range a {
			for _, y := range b {
				if sees(t, x, y, room) || sees(t, y, x, room) {
					return false
				}
			}
		}
		return true
	})
}

// sees reports whether x sees y up, as a peer or online in room.
func sees(t *testing.T, x, y *nodetest.Member, room string) bool {
	t.Helper()
	if p, ok := x.Chat.Peer(y.ID()); ok && p.Connected {
		return true
	}
	return slices.ContainsFunc(members(t, x, room), func(m chat.RoomMember) bool { return m.Peer == y.ID() && m.Online })
}

// closeConns closes the connections open returns until there are none
// left and done (if set) holds. On them and on closed it resets what
// mocknet leaves behind: a stream opened on a connection while it closes
// is never reset (mocknet's conn.NewStream does not check that the
// connection is open, and the closing connection is still listed for a
// moment), and GossipSub opens just such a stream when its stream to a
// peer breaks while the peer still looks connected. That stream would
// outlive the connection and carry the room past a cut. Real connections
// refuse new streams once closed.
func closeConns(t *testing.T, what string, closed []network.Conn, open func() []network.Conn, done func() bool) {
	t.Helper()
	nodetest.WaitFor(t, 20*time.Second, what, func() bool {
		clean := true
		for _, conn := range open() {
			_ = conn.Close()
			closed = append(closed, conn)
			clean = false
		}
		for _, conn := range closed {
			for _, s := range conn.GetStreams() {
				_ = s.Reset()
				clean = false
			}
		}
		return clean && (done == nil || done())
	})
}

// stop stops m's program the way a real one stops: its connections close,
// and its links are held back until start (nobody connects to a program
// that is not running). Member.Stop alone keeps the mocknet host and its
// connections up; a new node over them does not get its GossipSub peering
// back (the other side's pubsub saw its stream die on a connection that
// stayed up, retried once against a host with no pubsub yet, and gave
// up), so the room's topic is one-way after the restart.
func stop(t *testing.T, c *nodetest.Cluster, m *nodetest.Member) (start func()) {
	t.Helper()
	var linked []*nodetest.Member
	for _, o := range c.Members {
		if o != m && len(c.MN.LinksBetweenPeers(m.Host.ID(), o.Host.ID())) > 0 {
			linked = append(linked, o)
			if err := c.MN.UnlinkPeers(m.Host.ID(), o.Host.ID()); err != nil {
				t.Fatal(err)
			}
		}
	}
	m.Stop()
	open := func() []network.Conn {
		conns := m.Host.Network().Conns()
		for _, o := range c.Members {
			conns = append(conns, o.Host.Network().ConnsToPeer(m.Host.ID())...)
		}
		return conns
	}
	closeConns(t, fmt.Sprintf("n%d's connections to close", m.Index), nil, open, nil)
	return func() {
		t.Helper()
		m.Start(m.Options())
		for _, o := range linked {
			if _, err := c.MN.LinkPeers(m.Host.ID(), o.Host.ID()); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// restart stops and starts m (see stop).
func restart(t *testing.T, c *nodetest.Cluster, m *nodetest.Member) {
	t.Helper()
	stop(t, c, m)()
}

// waitPublished waits until m has published all its room messages (each
// has its proof), so a restart publishes nothing again.
func waitPublished(t *testing.T, m *nodetest.Member) {
	t.Helper()
	nodetest.WaitFor(t, 10*time.Second, fmt.Sprintf("n%d to have published its messages", m.Index), func() bool {
		ms, err := m.Store.Unpublished()
		if err != nil {
			t.Fatal(err)
		}
		return len(ms) == 0
	})
}

// forgetGossip restarts members once all they posted is published: a
// restarted node has no GossipSub message cache to offer recent messages
// from, so a newcomer linked only to them gets history by sync alone.
func forgetGossip(t *testing.T, c *nodetest.Cluster, members ...*nodetest.Member) {
	t.Helper()
	for _, m := range members {
		waitPublished(t, m)
		restart(t, c, m)
	}
}

// ---- rooms ----

// joinRoom has m join room, which it had not joined.
func joinRoom(t *testing.T, m *nodetest.Member, room string) {
	t.Helper()
	joined, err := m.Chat.JoinRoom(t.Context(), room)
	if err != nil {
		t.Fatalf("n%d: join #%s: %v", m.Index, room, err)
	}
	if !joined {
		t.Fatalf("n%d: join #%s: got already joined, want a new join", m.Index, room)
	}
}

func sendRoom(t *testing.T, m *nodetest.Member, room, body string) *chat.Message {
	t.Helper()
	msg, err := m.Chat.SendRoom(t.Context(), room, body)
	if err != nil {
		t.Fatalf("n%d: send to #%s: %v", m.Index, room, err)
	}
	return msg
}

// positions returns the positions of a member's published room messages,
// in order: a cheap view of its history (keys only) for polling.
func positions(t *testing.T, m *nodetest.Member, room string) []chat.Cursor {
	t.Helper()
	cs, err := m.Store.SyncItems(chat.RoomConversation(room), 0)
	if err != nil {
		t.Fatalf("n%d: %v", m.Index, err)
	}
	return cs
}

// sameHistories reports whether every member holds the same room history
// (same messages, same order), of total messages, among them every one of
// want.
func sameHistories(t *testing.T, members []*nodetest.Member, room string, total int, want []chat.MessageID) bool {
	t.Helper()
	first := positions(t, members[0], room)
	if len(first) != total {
		return false
	}
	for _, m := range members[1:] {
		if !slices.Equal(positions(t, m, room), first) {
			return false
		}
	}
	held := make(map[chat.MessageID]bool, len(first))
	for _, c := range first {
		held[c.ID] = true
	}
	for _, id := range want {
		if !held[id] {
			return false
		}
	}
	return true
}

// waitSameHistories waits until sameHistories holds and returns how long
// that took.
func waitSameHistories(t *testing.T, timeout time.Duration, members []*nodetest.Member, room string, total int, want []chat.MessageID) time.Duration {
	t.Helper()
	start := time.Now()
	done := false
	defer func() {
		if !done { // timed out: say who holds what
			t.Logf("#%s: %s", room, describeHistories(t, members, room, want))
		}
	}()
	nodetest.WaitFor(t, timeout, fmt.Sprintf("%d members to hold the same %d messages of #%s", len(members), total, room), func() bool {
		return sameHistories(t, members, room, total, want)
	})
	done = true
	return time.Since(start)
}

// describeHistories says how many messages of room each member holds, and
// how many of want it lacks.
func describeHistories(t *testing.T, members []*nodetest.Member, room string, want []chat.MessageID) string {
	t.Helper()
	var out []string
	for _, m := range members {
		held := make(map[chat.MessageID]bool)
		for _, c := range positions(t, m, room) {
			held[c.ID] = true
		}
		missing := 0
		for _, id := range want {
			if !held[id] {
				missing++
			}
		}
		unpublished, err := m.Store.Unpublished()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("n%d holds %d (%d of those wanted missing, %d of its own unpublished)", m.Index, len(held), missing, len(unpublished)))
	}
	return strings.Join(out, "; ")
}

// checkHistories checks what the members show: the same history in the
// same (HLC, ID) order everywhere, whose text messages are exactly sent
// (bodies and authors intact) and whose other lines are one join line of
// each of joined.
func checkHistories(t *testing.T, members []*nodetest.Member, room string, sent []*chat.Message, joined []chat.PeerID) {
	t.Helper()
	want := make(map[chat.MessageID]*chat.Message, len(sent))
	for _, m := range sent {
		want[m.ID] = m
	}
	var ref []chat.MessageID
	for k, m := range members {
		ms := roomHistory(t, m, room)
		ids := make([]chat.MessageID, len(ms))
		texts := 0
		var joins []chat.PeerID
		for i, msg := range ms {
			ids[i] = msg.ID
			if i > 0 && !cursorBefore(chat.CursorOf(ms[i-1]), chat.CursorOf(msg)) {
				t.Errorf("n%d: history not in (HLC, ID) order at %d", m.Index, i)
			}
			switch msg.Kind {
			case chat.KindText:
				texts++
				w, ok := want[msg.ID]
				if !ok {
					t.Errorf("n%d: holds text %s that nobody sent", m.Index, msg.ID)
					continue
				}
				if msg.Body != w.Body || msg.Author != w.Author || msg.HLC != w.HLC {
					t.Errorf("n%d: message %s: got %q by %s at %d, want %q by %s at %d", m.Index, msg.ID, msg.Body, msg.Author, msg.HLC, w.Body, w.Author, w.HLC)
				}
			case chat.KindJoin:
				joins = append(joins, msg.Author)
			default:
				t.Errorf("n%d: unexpected %v line by %s", m.Index, msg.Kind, msg.Author)
			}
		}
		if texts != len(sent) {
			t.Errorf("n%d: got %d text messages, want %d", m.Index, texts, len(sent))
		}
		slices.Sort(joins)
		wantJoins := slices.Sorted(slices.Values(joined))
		if !slices.Equal(joins, wantJoins) {
			t.Errorf("n%d: got join lines of %d members, want one of each of %d", m.Index, len(joins), len(wantJoins))
		}
		if k == 0 {
			ref = ids
		} else if !slices.Equal(ids, ref) {
			t.Errorf("n%d: history order differs from n%d's", m.Index, members[0].Index)
		}
	}
}

// checkOnce checks that m holds msg exactly once, intact, in a history of
// total messages.
func checkOnce(t *testing.T, m *nodetest.Member, room string, msg *chat.Message, total int) {
	t.Helper()
	ms := roomHistory(t, m, room)
	n := 0
	for _, x := range ms {
		if x.ID == msg.ID {
			n++
			if x.Body != msg.Body || x.HLC != msg.HLC || x.Author != msg.Author {
				t.Errorf("n%d: replayed message changed: got %q at %d, want %q at %d", m.Index, x.Body, x.HLC, msg.Body, msg.HLC)
			}
		}
	}
	if n != 1 || len(ms) != total {
		t.Errorf("n%d: holds the message %d times in %d messages, want once in %d", m.Index, n, len(ms), total)
	}
}

// onlineMembers returns the peers m lists online in room, sorted.
func onlineMembers(t *testing.T, m *nodetest.Member, room string) []chat.PeerID {
	t.Helper()
	var out []chat.PeerID
	for _, rm := range members(t, m, room) {
		if rm.Online {
			out = append(out, rm.Peer)
		}
	}
	slices.Sort(out)
	return out
}

// allMembers returns the peers m lists in room, sorted.
func allMembers(t *testing.T, m *nodetest.Member, room string) []chat.PeerID {
	t.Helper()
	var out []chat.PeerID
	for _, rm := range members(t, m, room) {
		out = append(out, rm.Peer)
	}
	slices.Sort(out)
	return out
}

func members(t *testing.T, m *nodetest.Member, room string) []chat.RoomMember {
	t.Helper()
	ms, err := m.Chat.RoomMembers(room)
	if err != nil {
		t.Fatalf("n%d: members of #%s: %v", m.Index, room, err)
	}
	return ms
}

// checkRooms checks each member's Rooms: room alone, with the members,
// online and unread counts of want.
func checkRooms(t *testing.T, room string, want map[*nodetest.Member]chat.RoomInfo) {
	t.Helper()
	for m, w := range want {
		rooms, err := m.Chat.Rooms()
		if err != nil {
			t.Fatalf("n%d: rooms: %v", m.Index, err)
		}
		if len(rooms) != 1 || rooms[0].Name != room || rooms[0].JoinedAt.IsZero() {
			t.Errorf("n%d: rooms: got %+v, want #%s alone", m.Index, rooms, room)
			continue
		}
		got := rooms[0]
		if got.Members != w.Members || got.Online != w.Online || got.Unread != w.Unread {
			t.Errorf("n%d: #%s: got %d members, %d online, %d unread, want %d, %d, %d", m.Index, room, got.Members, got.Online, got.Unread, w.Members, w.Online, w.Unread)
		}
	}
}

func cursorBefore(a, b chat.Cursor) bool {
	if a.HLC != b.HLC {
		return a.HLC < b.HLC
	}
	return slices.Compare(a.ID[:], b.ID[:]) < 0
}

func idsOf(ms []*chat.Message) []chat.MessageID {
	out := make([]chat.MessageID, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	return out
}

func peerIDs(members []*nodetest.Member) []chat.PeerID {
	out := make([]chat.PeerID, len(members))
	for i, m := range members {
		out[i] = m.ID()
	}
	return out
}

// ---- instruments: events, a store spy, adjustable clocks ----

// newestHLC returns the largest HLC among the messages l has seen stored.
func newestHLC(l *chattest.EventLog) chat.HLC {
	var h chat.HLC
	for _, ev := range l.All(func(ev chat.Event) bool { return ev.Type == chat.EventMessage }) {
		h = max(h, ev.Message.HLC)
	}
	return h
}

// storeSpy counts, per member, the messages the room's topic validator
// looked up in the store: it does that for every message of a kind that is
// kept, from another author, that reaches it over pubsub (and nothing else
// does: sync stores without asking), so the counts tell which messages
// arrived over pubsub and that a replay reached the validator.
type storeSpy struct {
	mu   sync.Mutex
	asks map[int]map[chat.MessageID]int
}

func newStoreSpy() *storeSpy { return &storeSpy{asks: make(map[int]map[chat.MessageID]int)} }

// wrap is a nodetest PerMember hook.
func (s *storeSpy) wrap(i int, c *chat.Config, _ *node.Config) {
	c.Store = spiedStore{Store: c.Store, onHas: func(id chat.MessageID) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.asks[i] == nil {
			s.asks[i] = make(map[chat.MessageID]int)
		}
		s.asks[i][id]++
	}}
}

// asked returns how often member i's validator looked up each of ids.
func (s *storeSpy) asked(i int, ids ...chat.MessageID) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, id := range ids {
		n += s.asks[i][id]
	}
	return n
}

type spiedStore struct {
	chat.Store
	onHas func(chat.MessageID)
}

func (s spiedStore) Has(id chat.MessageID) (bool, error) {
	s.onHas(id)
	return s.Store.Has(id)
}

// clocks are the members' wall clocks (chat.Config.Now), each off by an
// offset that a test may change as it goes.
type clocks struct {
	mu      sync.Mutex
	offsets map[int]time.Duration
}

func newClocks() *clocks { return &clocks{offsets: make(map[int]time.Duration)} }

func (c *clocks) set(i int, d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offsets[i] = d
}

// hook is a nodetest PerMember hook.
func (c *clocks) hook(i int, cfg *chat.Config, _ *node.Config) {
	cfg.Now = func() time.Time {
		c.mu.Lock()
		defer c.mu.Unlock()
		return time.Now().Add(c.offsets[i])
	}
}
