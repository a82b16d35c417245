package chat_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/chat/chattest"
	"github.com/parley-chat/parley/crypto"
	"github.com/parley-chat/parley/internal/wire"
)

// This file tests history sync sessions (/parley/sync/2.0.0) between real
// Services with real stores on a chattest.Net: histories are written
// straight into the stores, then one member calls SyncRoomWith. Hostile
// peers are stubs on the Net that write their side of a session by hand.
// The pure parts (reconciler, stage bounds) are tested in
// reconcile_test.go; the decoders are fuzzed in sync_fuzz_test.go.

const syncRoom = "lobby"

var syncConv = chat.RoomConversation(syncRoom)

// ---- histories ----

// syncIdentity is a fixed identity: the same key for every seed byte.
func syncIdentity(seed byte) *crypto.Identity {
	return crypto.IdentityFromKey(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize)))
}

// syncAuthors are the fixed authors of generated histories.
func syncAuthors() []*crypto.Identity {
	return []*crypto.Identity{syncIdentity(1), syncIdentity(2), syncIdentity(3)}
}

// syncMessage returns a text message of room by author with the proof its
// publication would carry.
func syncMessage(t testing.TB, author *crypto.Identity, room string, h chat.HLC, body string, seq uint64) *chat.Message {
	t.Helper()
	m := chattest.Env{Author: author.PeerID(), Room: room, HLC: h, Body: body}.Message(t)
	m.Proof = chattest.Prove(author, chat.RoomTopic(room), m.Envelope, seq)
	return m
}

// syncHistory returns n text messages of syncRoom, oldest first, one
// millisecond apart from start, by the syncAuthors in turn, each with its
// proof. The same arguments give the same messages.
func syncHistory(t testing.TB, start time.Time, n int) []*chat.Message {
	t.Helper()
	authors := syncAuthors()
	ms := make([]*chat.Message, n)
	for i := range ms {
		h := chat.HLCFromTime(start.Add(time.Duration(i) * time.Millisecond))
		ms[i] = chattest.Env{Author: authors[i%len(authors)].PeerID(), Room: syncRoom, HLC: h, Body: fmt.Sprintf("message %d", i)}.Message(t)
	}
	// Signing is most of the cost (far more under -race): spread it.
	var wg sync.WaitGroup
	workers := runtime.GOMAXPROCS(0)
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				ms[i].Proof = chattest.Prove(authors[i%len(authors)], chat.RoomTopic(syncRoom), ms[i].Envelope, uint64(i/len(authors)+1))
			}
		})
	}
	wg.Wait()
	return ms
}

// recentHistory is syncHistory ending about now.
func recentHistory(t testing.TB, n int) []*chat.Message {
	return syncHistory(t, time.Now().Add(-time.Hour), n)
}

// syncBigRoomSize is the size of the busy room the big tests share.
const syncBigRoomSize = 25000

// syncBigRoom is the history of a busy room, made once per test binary
// (signing it takes seconds under -race) and shared, read only, by the
// tests that need a big room, with the proofs it carries (see
// provenPubSub).
var syncBigRoom struct {
	once   sync.Once
	ms     []*chat.Message
	proven map[string]bool
}

// syncBigRoomHistory returns the big room's history and the keys of its
// proofs, making them on first use.
func syncBigRoomHistory(t testing.TB) ([]*chat.Message, map[string]bool) {
	t.Helper()
	syncBigRoom.once.Do(func() {
		ms := syncHistory(t, time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), syncBigRoomSize)
		proven := make(map[string]bool, len(ms))
		for _, m := range ms {
			proven[syncProofKey(chat.RoomTopic(syncRoom), m.Author, m.Envelope, m.Proof)] = true
		}
		syncBigRoom.ms, syncBigRoom.proven = ms, proven
	})
	return syncBigRoom.ms, syncBigRoom.proven
}

func syncProofKey(topic string, author chat.PeerID, data []byte, p chat.Proof) string {
	return strings.Join([]string{topic, string(author), string(p.Seqno), string(p.Signature), string(data)}, "\x00")
}

// provenPubSub is a node's chattest PubSub that takes the proofs of the
// big room's history as valid without checking their signatures again
// (syncHistory made each with its author's key); every other proof is
// checked. An Ed25519 check takes most of a millisecond under -race: a
// 25,000-message sync would spend half a minute in them there. The
// benchmarks check every proof.
type provenPubSub struct {
	*chattest.PubSub
	proven map[string]bool
}

func (ps provenPubSub) VerifyProof(topic string, author chat.PeerID, data []byte, proof chat.Proof) error {
	if ps.proven[syncProofKey(topic, author, data, proof)] {
		return nil
	}
	return ps.PubSub.VerifyProof(topic, author, data, proof)
}

// withProven gives the node a provenPubSub (on a network of its own, as
// newSyncNode does).
func withProven(proven map[string]bool) chattest.Option {
	return func(n *chattest.Node) {
		n.Config.PubSub = provenPubSub{PubSub: n.Config.PubSub.(*chattest.PubSub), proven: proven}
	}
}

// ---- members ----

// syncNode is a member of syncRoom whose store reports which messages the
// service stored.
type syncNode struct {
	*chattest.Node

	mu      sync.Mutex
	arrived []chat.Cursor        // messages the service stored, in order
	offered map[chat.Cursor]bool // messages the service handed the store, new or not
}

// syncStore is a node's store as its syncNode watches it.
type syncStore struct {
	chat.Store
	n *syncNode
}

func (s syncStore) AddMessages(ms []*chat.Message) ([]bool, error) {
	added, err := s.Store.AddMessages(ms)
	if err == nil {
		s.n.mu.Lock()
		for i, m := range ms {
			s.n.offered[chat.CursorOf(m)] = true
			if added[i] {
				s.n.arrived = append(s.n.arrived, chat.CursorOf(m))
			}
		}
		s.n.mu.Unlock()
	}
	return added, err
}

// waitStored waits until the service has stored ms (the server of a
// session may still be storing the opener's last turn when the opener is
// done).
func (n *syncNode) waitStored(t testing.TB, ms []*chat.Message) {
	t.Helper()
	chattest.WaitFor(t, 0, fmt.Sprintf("%d messages stored", len(ms)), func() bool {
		n.mu.Lock()
		defer n.mu.Unlock()
		for _, m := range ms {
			if !n.offered[chat.CursorOf(m)] {
				return false
			}
		}
		return true
	})
}

// arrivals returns the positions of the messages the service stored, in
// the order it stored them.
func (n *syncNode) arrivals() []chat.Cursor {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.arrived)
}

// newSyncNode starts a node that has joined syncRoom (without a join line)
// and syncs only when the test says so: its pubsub is on a network of its
// own, so members linked on net meet in the room's topic never, and
// start no session by themselves; streams, sync sessions among them, go
// over net.
func newSyncNode(t testing.TB, net *chattest.Net, opts ...chattest.Option) *syncNode {
	t.Helper()
	sn := &syncNode{offered: make(map[chat.Cursor]bool)}
	alone := chattest.NewNet(t)
	opts = append([]chattest.Option{func(n *chattest.Node) {
		n.Config.PubSub = alone.AddNode(n.ID).PubSub(n.Identity)
		n.Config.AntiEntropy = time.Hour
	}}, opts...)
	opts = append(opts, chattest.WithStore(func(st chat.Store) chat.Store {
		if err := st.PutRoom(chat.Room{Name: syncRoom, JoinedAt: time.Now()}); err != nil {
			t.Fatalf("put room: %v", err)
		}
		return syncStore{Store: st, n: sn}
	}))
	sn.Node = chattest.NewNode(t, net, opts...)
	sn.Tr.WaitServing(t, chat.SyncProtocol)
	chattest.WaitFor(t, 0, "the room open", func() bool {
		rooms, err := sn.Svc.Rooms()
		return err == nil && slices.ContainsFunc(rooms, func(r chat.RoomInfo) bool { return r.Name == syncRoom })
	})
	return sn
}

// add writes ms straight into the node's store, as history it holds.
func (n *syncNode) add(t testing.TB, ms []*chat.Message) {
	t.Helper()
	if len(ms) == 0 {
		return
	}
	if _, err := n.Store.AddMessages(ms); err != nil {
		t.Fatalf("add history: %v", err)
	}
}

// items returns the positions the node holds in syncRoom.
func (n *syncNode) items(t testing.TB) []chat.Cursor {
	t.Helper()
	cs, err := n.Store.SyncItems(syncConv, 0)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// checkHolds fails the test unless the node holds exactly want.
func (n *syncNode) checkHolds(t testing.TB, who string, want []*chat.Message) {
	t.Helper()
	got, w := n.items(t), syncCursors(want)
	if slices.Equal(got, w) {
		return
	}
	held := make(map[chat.Cursor]bool, len(got))
	for _, c := range got {
		held[c] = true
	}
	missing := 0
	for _, c := range w {
		if !held[c] {
			missing++
		}
	}
	t.Fatalf("%s holds %d messages, want %d (%d of them missing)", who, len(got), len(w), missing)
}

// syncPair starts two members of syncRoom holding histories a and b, and
// links them.
func syncPair(t testing.TB, a, b []*chat.Message, optsA, optsB []chattest.Option) (*syncNode, *syncNode) {
	t.Helper()
	net := chattest.NewNet(t)
	na, nb := newSyncNode(t, net, optsA...), newSyncNode(t, net, optsB...)
	na.add(t, a)
	nb.add(t, b)
	net.Connect(na.ID, nb.ID)
	return na, nb
}

// syncCursors returns the positions of ms, sorted.
func syncCursors(ms []*chat.Message) []chat.Cursor {
	out := make([]chat.Cursor, len(ms))
	for i, m := range ms {
		out[i] = chat.CursorOf(m)
	}
	slices.SortFunc(out, syncCompare)
	return out
}

func syncCompare(a, b chat.Cursor) int {
	if a.HLC != b.HLC {
		if a.HLC < b.HLC {
			return -1
		}
		return 1
	}
	return bytes.Compare(a.ID[:], b.ID[:])
}

// syncUnion returns the messages of the sets, each once.
func syncUnion(sets ...[]*chat.Message) []*chat.Message {
	seen := make(map[chat.MessageID]bool)
	var out []*chat.Message
	for _, set := range sets {
		for _, m := range set {
			if !seen[m.ID] {
				seen[m.ID] = true
				out = append(out, m)
			}
		}
	}
	return out
}

// syncWithout returns ms less the messages of drop.
func syncWithout(ms, drop []*chat.Message) []*chat.Message {
	gone := make(map[chat.MessageID]bool, len(drop))
	for _, m := range drop {
		gone[m.ID] = true
	}
	return slices.DeleteFunc(slices.Clone(ms), func(m *chat.Message) bool { return gone[m.ID] })
}

// syncStageLimits are the stage limits of a session, newest stage first;
// the last repeats.
var syncStageLimits = []int{64, 1024, 4096}

// syncStagesOf returns, for a session where one side holds history (oldest
// first) and the other nothing, the stage of each message: the newest 64
// are in stage 0, the 1,024 below in stage 1, then 4,096 at a time.
func syncStagesOf(history []*chat.Message) (map[chat.Cursor]int, int) {
	stage := make(map[chat.Cursor]int, len(history))
	end, k := len(history), 0
	for ; end > 0; k++ {
		start := max(0, end-syncStageLimits[min(k, len(syncStageLimits)-1)])
		for _, m := range history[start:end] {
			stage[chat.CursorOf(m)] = k
		}
		end = start
	}
	return stage, k
}

// ---- sessions ----

func TestSyncIdenticalHistories(t *testing.T) {
	big, _ := syncBigRoomHistory(t)
	tests := []struct {
		name           string
		history        []*chat.Message
		opener, server []chattest.Option
	}{
		{"25,000 messages, kept forever", big, nil, nil},
		{
			// Members that keep the same time reckon their floors a moment
			// apart: the server's floor is the later one.
			"3,000 messages, both keep 30 days, the server a second ahead", recentHistory(t, 3000),
			[]chattest.Option{chattest.WithConfig(func(c *chat.Config) { c.Retention = 30 * 24 * time.Hour })},
			[]chattest.Option{chattest.WithConfig(func(c *chat.Config) {
				c.Retention = 30 * 24 * time.Hour
				c.Now = func() time.Time { return time.Now().Add(time.Second) }
			})},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opener, server := syncPair(t, tt.history, tt.history, tt.opener, tt.server)
			stats, err := opener.Svc.SyncRoomWith(t.Context(), syncRoom, server.ID)
			if err != nil {
				t.Fatalf("SyncRoomWith: %v", err)
			}
			t.Logf("%+v", stats)
			if stats.Stages != 0 || stats.Received != 0 {
				t.Fatalf("got %d stages, %d messages received; want 0 and 0: the summaries match", stats.Stages, stats.Received)
			}
			// One round trip: the opener's first frame, the server's equal.
			if stats.BytesOut > 200 || stats.BytesIn > 10 {
				t.Fatalf("%d bytes out, %d in: want one small frame each way", stats.BytesOut, stats.BytesIn)
			}
		})
	}
}

// TestSyncLateJoiner: a member that holds nothing syncs a room of 25,000
// messages with one that holds them all, in one session, newest stage
// first: the newest 64 (a client's first page) arrive before anything
// else, and every stage's messages before any older one.
func TestSyncLateJoiner(t *testing.T) {
	history, proven := syncBigRoomHistory(t)
	joiner, member := syncPair(t, nil, history, []chattest.Option{withProven(proven)}, nil)
	stats, err := joiner.Svc.SyncRoomWith(t.Context(), syncRoom, member.ID)
	if err != nil {
		t.Fatalf("SyncRoomWith: %v", err)
	}
	t.Logf("%+v", stats)
	joiner.checkHolds(t, "the joiner", history)
	stageOf, stages := syncStagesOf(history)
	if stats.Stages != stages {
		t.Errorf("stages: got %d, want %d", stats.Stages, stages)
	}
	if stats.FirstStage <= 0 || stats.FirstStage >= stats.Took {
		t.Errorf("the first stage took %v of %v", stats.FirstStage, stats.Took)
	}
	arrived := joiner.arrivals()
	if newest := syncCursors(history[len(history)-64:]); len(arrived) < 64 || !slices.Equal(syncSorted(arrived[:64]), newest) {
		t.Fatal("the first 64 messages stored are not the newest 64")
	}
	for i := 1; i < len(arrived); i++ {
		if stageOf[arrived[i]] < stageOf[arrived[i-1]] {
			t.Fatalf("message %d stored (of stage %d) after one of stage %d: stages arrive out of order", i, stageOf[arrived[i]], stageOf[arrived[i-1]])
		}
	}
}

// syncSorted returns cs sorted.
func syncSorted(cs []chat.Cursor) []chat.Cursor {
	out := slices.Clone(cs)
	slices.SortFunc(out, syncCompare)
	return out
}

// TestSyncOnePercent: two members of a 25,000-message room, each missing
// a different 0.5% of it, converge in one session.
func TestSyncOnePercent(t *testing.T) {
	history, _ := syncBigRoomHistory(t)
	rng := rand.New(rand.NewPCG(1, 2))
	picked := rng.Perm(len(history))[:len(history)/100]
	var lackA, lackB []*chat.Message
	for i, k := range picked {
		if i%2 == 0 {
			lackA = append(lackA, history[k])
		} else {
			lackB = append(lackB, history[k])
		}
	}
	a, b := syncPair(t, syncWithout(history, lackA), syncWithout(history, lackB), nil, nil)
	stats, err := a.Svc.SyncRoomWith(t.Context(), syncRoom, b.ID)
	if err != nil {
		t.Fatalf("SyncRoomWith: %v", err)
	}
	t.Logf("%+v", stats)
	a.checkHolds(t, "the opener", history)
	b.waitStored(t, lackB)
	b.checkHolds(t, "the server", history)
	if stats.Received != len(lackA) {
		t.Errorf("received: got %d, want %d", stats.Received, len(lackA))
	}
	if got := len(b.arrivals()); got != len(lackB) {
		t.Errorf("the server stored %d, want %d", got, len(lackB))
	}
	// The messages themselves are about 170 bytes on the wire each; the
	// rest is reconciliation, a small part of sending the history.
	if onWire := stats.BytesIn + stats.BytesOut; onWire > 300<<10 {
		t.Errorf("%d bytes on the wire to exchange %d messages of a %d-message room", onWire, len(picked), len(history))
	}
}

// TestSyncOneSided covers who holds what: the opener, the server, both.
func TestSyncOneSided(t *testing.T) {
	history := syncHistory(t, time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC), 600)
	var even, odd []*chat.Message
	for i, m := range history {
		if i%2 == 0 {
			even = append(even, m)
		} else {
			odd = append(odd, m)
		}
	}
	tests := []struct {
		name           string
		opener, server []*chat.Message
	}{
		{"both empty", nil, nil},
		{"only the opener holds messages", history, nil},
		{"only the server holds messages", nil, history},
		{"each holds what the other lacks", even, odd},
		{"a shared past, news on both sides", syncUnion(history[:400], even[200:]), syncUnion(history[:400], odd[200:])},
		{"the opener holds one more", history, history[:599]},
		{"the server holds one more", history[1:], history},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opener, server := syncPair(t, tt.opener, tt.server, nil, nil)
			stats, err := opener.Svc.SyncRoomWith(t.Context(), syncRoom, server.ID)
			if err != nil {
				t.Fatalf("SyncRoomWith: %v", err)
			}
			all := syncUnion(tt.opener, tt.server)
			opener.checkHolds(t, "the opener", all)
			server.waitStored(t, syncWithout(all, tt.server))
			server.checkHolds(t, "the server", all)
			if want := len(all) - len(tt.opener); stats.Received != want {
				t.Errorf("received: got %d, want %d", stats.Received, want)
			}
			if want := len(all) - len(tt.server); len(server.arrivals()) != want {
				t.Errorf("the server stored %d, want %d", len(server.arrivals()), want)
			}
			if equal := len(all) == len(tt.opener) && len(all) == len(tt.server); equal != (stats.Stages == 0) {
				t.Errorf("%d stages for histories that are equal: %v", stats.Stages, equal)
			}
		})
	}
}

// TestSyncBigRoomWhoeverOpens: a room with more than 10,000 messages
// syncs in one session whichever side holds them opens it.
func TestSyncBigRoomWhoeverOpens(t *testing.T) {
	history, proven := syncBigRoomHistory(t)
	history = history[:12000]
	opts := []chattest.Option{withProven(proven)}
	t.Run("the member who holds them", func(t *testing.T) {
		opener, server := syncPair(t, history, nil, opts, opts)
		if _, err := opener.Svc.SyncRoomWith(t.Context(), syncRoom, server.ID); err != nil {
			t.Fatalf("SyncRoomWith: %v", err)
		}
		server.waitStored(t, history)
		server.checkHolds(t, "the server", history)
	})
	t.Run("the member who lacks them", func(t *testing.T) {
		opener, server := syncPair(t, nil, history, opts, opts)
		if _, err := opener.Svc.SyncRoomWith(t.Context(), syncRoom, server.ID); err != nil {
			t.Fatalf("SyncRoomWith: %v", err)
		}
		opener.checkHolds(t, "the opener", history)
	})
}

// TestSyncRetention: members that keep history for different times sync
// down to the later of their floors only: nothing older is exchanged, and
// neither stores a message past its own retention.
func TestSyncRetention(t *testing.T) {
	const day = 24 * time.Hour
	now := time.Now()
	authors := syncAuthors()
	seq := uint64(0)
	aged := func(who string, ages ...time.Duration) (out map[time.Duration][]*chat.Message) {
		out = make(map[time.Duration][]*chat.Message)
		for _, age := range ages {
			for i := range 5 {
				seq++
				h := chat.HLCFromTime(now.Add(-age + time.Duration(i)*time.Minute))
				out[age] = append(out[age], syncMessage(t, authors[i%3], syncRoom, h, fmt.Sprintf("%s, %v old, %d", who, age, i), seq))
			}
		}
		return out
	}
	ages := []time.Duration{day, 5 * day, 15 * day, 25 * day}
	common, short, long := aged("both", ages...), aged("the one keeping 10 days", ages...), aged("the one keeping 20 days", ages...)
	all := func(m map[time.Duration][]*chat.Message, ages ...time.Duration) (out []*chat.Message) {
		for _, age := range ages {
			out = append(out, m[age]...)
		}
		return out
	}
	// What each holds: all it ever got, whatever its retention (pruning
	// runs later; sync must not rely on it).
	shortHolds := syncUnion(all(common, ages...), all(short, ages...))
	longHolds := syncUnion(all(common, ages...), all(long, ages...))
	keep := func(d time.Duration) []chattest.Option {
		return []chattest.Option{chattest.WithConfig(func(c *chat.Config) { c.Retention = d })}
	}
	for _, shortOpens := range []bool{true, false} {
		t.Run(fmt.Sprintf("the one keeping less opens: %v", shortOpens), func(t *testing.T) {
			s, l := syncPair(t, shortHolds, longHolds, keep(10*day), keep(20*day))
			opener, server := s, l
			if !shortOpens {
				opener, server = l, s
			}
			stats, err := opener.Svc.SyncRoomWith(t.Context(), syncRoom, server.ID)
			if err != nil {
				t.Fatalf("SyncRoomWith: %v", err)
			}
			// Only what is newer than 10 days moves, both ways.
			given := all(long, day, 5*day) // what the server gets
			if shortOpens {
				given = all(short, day, 5*day)
			}
			server.waitStored(t, given)
			s.checkHolds(t, "the one keeping 10 days", syncUnion(shortHolds, all(long, day, 5*day)))
			l.checkHolds(t, "the one keeping 20 days", syncUnion(longHolds, all(short, day, 5*day)))
			if stats.Received != 10 {
				t.Errorf("received: got %d, want 10", stats.Received)
			}
		})
	}

	// A peer that sends what is past a member's retention anyway.
	old := all(long, 15*day, 25*day)
	t.Run("a server that sends old messages", func(t *testing.T) {
		net := chattest.NewNet(t)
		opener := newSyncNode(t, net, keep(10*day)...)
		opener.add(t, all(common, day))
		stub := newSyncStub(t, net, opener)
		done := stub.serve(func(w *syncWire) error {
			if _, err := w.recvTurn(); err != nil {
				return err
			}
			if err := w.send(&wire.SyncFrame{Stage: &wire.SyncStage{Last: true}, Ranges: syncNothingHeld(), Messages: syncRoomMessages(old)}); err != nil {
				return err
			}
			_, err := w.recvTurn() // what the opener gives
			return err
		})
		_, err := opener.Svc.SyncRoomWith(t.Context(), syncRoom, stub.id)
		syncWaitDone(t, done)
		if err != nil {
			t.Fatalf("SyncRoomWith: %v", err)
		}
		opener.checkHolds(t, "the opener", all(common, day))
	})
	t.Run("an opener that sends old messages", func(t *testing.T) {
		net := chattest.NewNet(t)
		server := newSyncNode(t, net, keep(10*day)...)
		server.add(t, all(common, day))
		w := newSyncStub(t, net, server).open(t)
		if err := w.send(syncOpenStage(0)); err != nil {
			t.Fatal(err)
		}
		if _, err := w.recvTurn(); err != nil {
			t.Fatal(err)
		}
		if err := w.send(&wire.SyncFrame{Messages: syncRoomMessages(old)}); err != nil {
			t.Fatal(err)
		}
		if err := w.finish(); err != nil {
			t.Fatalf("the session ended with %v, want a close", err)
		}
		server.checkHolds(t, "the server", all(common, day))
	})
}

// ---- hostile peers ----

// syncStub is a peer on the Net that is not a Service: a test writes its
// side of sync sessions by hand.
type syncStub struct {
	id chat.PeerID
	tr *chattest.Transport
	to chat.PeerID
}

// newSyncStub adds a stub to net, linked to member.
func newSyncStub(t testing.TB, net *chattest.Net, member *syncNode) *syncStub {
	t.Helper()
	id := chattest.NewIdentity(t)
	s := &syncStub{id: id.PeerID(), tr: net.AddNode(id.PeerID()), to: member.ID}
	net.Connect(member.ID, s.id)
	return s
}

// serve answers the sync session opened to the stub with script; the
// channel returned closes when the script has returned.
func (s *syncStub) serve(script func(w *syncWire) error) <-chan struct{} {
	done := make(chan struct{})
	var once sync.Once
	s.tr.SetStreamHandler(chat.SyncProtocol, func(_ chat.PeerID, st chat.Stream) {
		defer once.Do(func() { close(done) })
		w := newSyncWire(st)
		if err := script(w); err != nil {
			_ = st.Reset()
			return
		}
		_ = st.Close()
	})
	return done
}

// open opens a sync session to the member, as its opener.
func (s *syncStub) open(t testing.TB) *syncWire {
	t.Helper()
	st, err := s.tr.OpenStream(t.Context(), s.to, chat.SyncProtocol)
	if err != nil {
		t.Fatalf("open a sync stream: %v", err)
	}
	t.Cleanup(func() { _ = st.Reset() })
	return newSyncWire(st)
}

func syncWaitDone(t testing.TB, done <-chan struct{}) {
	t.Helper()
	select {
	case <-done:
	case <-time.After(chattest.Timeout):
		t.Fatalf("the stub's session still runs after %v", chattest.Timeout)
	}
}

// syncWire frames a stub's side of a session.
type syncWire struct {
	st      chat.Stream
	r       *bufio.Reader
	written int64
}

func newSyncWire(st chat.Stream) *syncWire {
	// A test that goes wrong fails instead of hanging.
	_ = st.SetReadDeadline(time.Now().Add(chattest.Timeout))
	_ = st.SetWriteDeadline(time.Now().Add(chattest.Timeout))
	return &syncWire{st: st, r: bufio.NewReader(st)}
}

func (w *syncWire) send(f *wire.SyncFrame) error {
	b, err := proto.Marshal(f)
	if err != nil {
		return err
	}
	n, err := w.st.Write(chattest.Frame(b))
	w.written += int64(n)
	return err
}

func (w *syncWire) recv() (*wire.SyncFrame, error) {
	n, err := binary.ReadUvarint(w.r)
	if err != nil {
		return nil, err
	}
	if n > 1<<20 {
		return nil, fmt.Errorf("a frame of %d bytes", n)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(w.r, b); err != nil {
		return nil, err
	}
	var f wire.SyncFrame
	if err := proto.Unmarshal(b, &f); err != nil {
		return nil, err
	}
	return &f, nil
}

// recvTurn reads frames up to one without more.
func (w *syncWire) recvTurn() ([]*wire.SyncFrame, error) {
	var turn []*wire.SyncFrame
	for {
		f, err := w.recv()
		if err != nil {
			return turn, err
		}
		turn = append(turn, f)
		if !f.More {
			return turn, nil
		}
	}
}

// finish ends the stub's writing and reads what the member still sends
// until it ends the session: nil if it closed the stream, its error (for
// a reset, chattest.ErrStreamReset) otherwise.
func (w *syncWire) finish() error {
	if cw, ok := w.st.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
	for {
		if _, err := w.recv(); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}

// syncOpenStage is a stub opener's frame opening stage i of a session in
// which it holds nothing.
func syncOpenStage(i int, upper ...*wire.SyncPosition) *wire.SyncFrame {
	f := &wire.SyncFrame{Stage: &wire.SyncStage{Limit: uint32(syncStageLimits[min(i, len(syncStageLimits)-1)])}}
	if i == 0 {
		f.Room, f.Summary = syncRoom, []byte("not a summary of anything held")
	}
	if len(upper) > 0 {
		f.Stage.Upper = upper[0]
	}
	return f
}

// syncNothingHeld is a turn's ranges saying "I hold nothing in the window".
func syncNothingHeld() []*wire.SyncRange {
	return []*wire.SyncRange{{Payload: &wire.SyncRange_Ids{Ids: &wire.IdList{}}}}
}

func syncRoomMessages(ms []*chat.Message) []*wire.RoomMessage {
	out := make([]*wire.RoomMessage, len(ms))
	for i, m := range ms {
		out[i] = &wire.RoomMessage{Envelope: m.Envelope, Seqno: m.Proof.Seqno, Signature: m.Proof.Signature}
	}
	return out
}

// syncBadMessages are messages no member may accept from a sync session,
// each with the reason.
func syncBadMessages(t testing.TB) map[string]*wire.RoomMessage {
	t.Helper()
	author := syncIdentity(7)
	h := chat.HLCFromTime(time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC))
	good := syncMessage(t, author, syncRoom, h, "hello", 1)
	forged := syncRoomMessages([]*chat.Message{good})[0]
	forged.Signature = slices.Clone(forged.Signature)
	forged.Signature[5] ^= 1
	otherTopic := syncRoomMessages([]*chat.Message{good})[0]
	otherTopic.Signature = chattest.Prove(author, chat.RoomTopic("kitchen"), good.Envelope, 1).Signature
	kitchen := syncMessage(t, author, "kitchen", h, "wrong room", 2)
	typing := chattest.Env{Author: author.PeerID(), Room: syncRoom, HLC: h, Kind: chat.KindTyping}.Bytes(t)
	dm := chattest.Env{Author: author.PeerID(), To: syncIdentity(8).PeerID(), HLC: h, Body: "psst"}.Bytes(t)
	prove := func(env []byte) *wire.RoomMessage {
		p := chattest.Prove(author, chat.RoomTopic(syncRoom), env, 3)
		return &wire.RoomMessage{Envelope: env, Seqno: p.Seqno, Signature: p.Signature}
	}
	big := syncMessage(t, author, syncRoom, h, strings.Repeat("x", chat.MaxRoomMessage), 4)
	return map[string]*wire.RoomMessage{
		"a forged proof":                forged,
		"a proof for another room":      otherTopic,
		"a message of another room":     syncRoomMessages([]*chat.Message{kitchen})[0],
		"a typing notice":               prove(typing),
		"a direct message":              prove(dm),
		"an envelope that is not one":   prove([]byte("not an envelope")),
		"a message over MaxRoomMessage": syncRoomMessages([]*chat.Message{big})[0],
	}
}

// wantProtocolError fails the test unless err ends a session for breaking
// the protocol.
func wantProtocolError(t testing.TB, err error) {
	t.Helper()
	if err == nil || !strings.Contains(err.Error(), "sync protocol violation") {
		t.Fatalf("the session ended with %v, want a sync protocol violation", err)
	}
}

// TestSyncHostileServer: a server that breaks the protocol ends the
// session with an error, and the opener stores nothing it should not.
func TestSyncHostileServer(t *testing.T) {
	history := recentHistory(t, 100)
	valid := syncRoomMessages(history[:1])[0]
	type script func(t *testing.T, w *syncWire) error
	answer := func(f *wire.SyncFrame) script {
		return func(_ *testing.T, w *syncWire) error {
			if _, err := w.recvTurn(); err != nil {
				return err
			}
			return w.send(f)
		}
	}
	tests := map[string]script{
		"more wants than a stage holds": answer(&wire.SyncFrame{Stage: &wire.SyncStage{Lower: syncPosition(history[36])}, Ranges: syncNothingHeld(), Want: syncPrefixes(4097)}),
		"more ranges than a turn holds": answer(&wire.SyncFrame{Stage: &wire.SyncStage{Lower: syncPosition(history[36])}, Ranges: syncSkips(1<<14 + 1)}),
		"more messages than a stage holds": func(_ *testing.T, w *syncWire) error {
			if _, err := w.recvTurn(); err != nil {
				return err
			}
			f := &wire.SyncFrame{Stage: &wire.SyncStage{Lower: syncPosition(history[36])}, Ranges: syncNothingHeld(), More: true}
			for sent := 0; sent <= 4096; sent += 1000 {
				f.Messages = slices.Repeat([]*wire.RoomMessage{valid}, 1000)
				if err := w.send(f); err != nil {
					return err
				}
				f = &wire.SyncFrame{More: true}
			}
			return w.send(&wire.SyncFrame{})
		},
		// The opener holds 100: its proposal is its 64th newest.
		"a window below the proposal": answer(&wire.SyncFrame{Stage: &wire.SyncStage{Lower: syncPosition(history[35])}, Ranges: syncNothingHeld()}),
		"a window to the start":       answer(&wire.SyncFrame{Stage: &wire.SyncStage{Last: true}, Ranges: syncNothingHeld()}),
		"a position of 31 bytes":      answer(&wire.SyncFrame{Stage: &wire.SyncStage{Lower: &wire.SyncPosition{Hlc: uint64(history[50].HLC), Id: history[50].ID[:31]}}, Ranges: syncNothingHeld()}),
		"no stage":                    answer(&wire.SyncFrame{Ranges: syncNothingHeld()}),
		"a window at its end": func(_ *testing.T, w *syncWire) error {
			// The first stage as it should be; the second one empty.
			first, err := w.recvTurn()
			if err != nil {
				return err
			}
			lower := first[0].Stage.Lower
			if err := w.send(&wire.SyncFrame{Stage: &wire.SyncStage{Lower: lower}, Ranges: syncNothingHeld()}); err != nil {
				return err
			}
			for {
				turn, err := w.recvTurn()
				if err != nil {
					return err
				}
				if s := turn[0].Stage; s != nil {
					return w.send(&wire.SyncFrame{Stage: &wire.SyncStage{Lower: s.Upper}, Ranges: syncNothingHeld()})
				}
			}
		},
		"a stage that never ends": func(_ *testing.T, w *syncWire) error {
			// Whatever the opener says, the window's fingerprint differs.
			if _, err := w.recvTurn(); err != nil {
				return err
			}
			f := &wire.SyncFrame{Stage: &wire.SyncStage{Lower: syncPosition(history[36])}}
			for {
				f.Ranges = []*wire.SyncRange{{Payload: &wire.SyncRange_Fingerprint{Fingerprint: make([]byte, 16)}}}
				if err := w.send(f); err != nil {
					return err
				}
				if _, err := w.recvTurn(); err != nil {
					return err
				}
				f = &wire.SyncFrame{}
			}
		},
	}
	for name, m := range syncBadMessages(t) {
		tests["a turn with "+name] = answer(&wire.SyncFrame{Stage: &wire.SyncStage{Lower: syncPosition(history[36])}, Ranges: syncNothingHeld(), Messages: []*wire.RoomMessage{valid, m}})
	}
	for name, script := range tests {
		t.Run(name, func(t *testing.T) {
			net := chattest.NewNet(t)
			opener := newSyncNode(t, net)
			opener.add(t, history[1:])
			stub := newSyncStub(t, net, opener)
			done := stub.serve(func(w *syncWire) error { return script(t, w) })
			ctx, cancel := context.WithTimeout(t.Context(), chattest.Timeout)
			defer cancel()
			_, err := opener.Svc.SyncRoomWith(ctx, syncRoom, stub.id)
			syncWaitDone(t, done)
			wantProtocolError(t, err)
			// What the opener may have stored is the one valid message.
			if got := opener.items(t); !slices.Equal(got, syncCursors(history)) && !slices.Equal(got, syncCursors(history[1:])) {
				t.Fatalf("the opener holds %d messages after the session, want %d or %d", len(got), len(history)-1, len(history))
			}
		})
	}
}

// syncPosition returns m's position as a stage bound.
func syncPosition(m *chat.Message) *wire.SyncPosition {
	return &wire.SyncPosition{Hlc: uint64(m.HLC), Id: m.ID[:]}
}

// syncPrefixes returns n distinct ID prefixes.
func syncPrefixes(n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = binary.BigEndian.AppendUint64(nil, uint64(i))
	}
	return out
}

// syncSkips returns n ranges that say "equal", with increasing bounds.
func syncSkips(n int) []*wire.SyncRange {
	out := make([]*wire.SyncRange, n)
	for i := range out {
		out[i] = &wire.SyncRange{UpperHlc: uint64(i + 1), Payload: &wire.SyncRange_Fingerprint{Fingerprint: make([]byte, 16)}}
	}
	return out
}

// TestSyncEndlessTurn: a server that answers with one endless turn of
// messages (frames with more = true) does not make the opener read and
// hold all of it: the opener takes each frame's messages as it comes, and
// a turn never carries more than a stage's worth.
func TestSyncEndlessTurn(t *testing.T) {
	history := recentHistory(t, 100)
	junk := &wire.RoomMessage{Envelope: bytes.Repeat([]byte{0x0a}, 1000), Seqno: []byte{1}, Signature: make([]byte, 64)}
	valid := syncRoomMessages(history[:1])[0]
	frameOf := func(m *wire.RoomMessage) int { return (512 << 10) / proto.Size(m) }
	tests := []struct {
		name     string
		message  *wire.RoomMessage
		most     int64 // bytes the opener may read before it stops
		protocol bool
	}{
		// The first frame tells: the opener stops there (plus what the
		// stream buffers).
		{"of junk", junk, 2 << 20, true},
		// Messages the opener may take, but not more than a stage holds.
		{"of one valid message", valid, 4097*int64(proto.Size(valid)+4) + 2<<20, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			net := chattest.NewNet(t)
			opener := newSyncNode(t, net)
			opener.add(t, history[1:])
			stub := newSyncStub(t, net, opener)
			var written atomic.Int64
			done := stub.serve(func(w *syncWire) error {
				defer func() { written.Store(w.written) }()
				if _, err := w.recvTurn(); err != nil {
					return err
				}
				batch := slices.Repeat([]*wire.RoomMessage{tt.message}, frameOf(tt.message))
				f := &wire.SyncFrame{Stage: &wire.SyncStage{Lower: syncPosition(history[36])}, Ranges: syncNothingHeld(), More: true}
				for w.written < 64<<20 {
					f.Messages = batch
					if err := w.send(f); err != nil {
						return err
					}
					f = &wire.SyncFrame{More: true}
				}
				return w.send(&wire.SyncFrame{})
			})
			_, err := opener.Svc.SyncRoomWith(t.Context(), syncRoom, stub.id)
			syncWaitDone(t, done)
			wantProtocolError(t, err)
			t.Logf("the server wrote %d bytes before the opener stopped reading", written.Load())
			if got := written.Load(); got > tt.most {
				t.Fatalf("the opener read %d bytes of one turn, want at most %d", got, tt.most)
			}
		})
	}
}

// TestSyncHostileOpener: an opener that breaks the protocol gets its
// session reset, and the server stores nothing it should not.
func TestSyncHostileOpener(t *testing.T) {
	history := recentHistory(t, 100)
	// firstStage opens the first stage and reads the server's turn; it
	// returns the window's lower bound.
	firstStage := func(t *testing.T, w *syncWire) *wire.SyncPosition {
		t.Helper()
		if err := w.send(syncOpenStage(0)); err != nil {
			t.Fatal(err)
		}
		turn, err := w.recvTurn()
		if err != nil {
			t.Fatalf("the server's first turn: %v", err)
		}
		if turn[0].Stage == nil || turn[0].Stage.Lower == nil || turn[0].Stage.Last {
			t.Fatalf("the server's first stage: got %v, want one above the start", turn[0].Stage)
		}
		return turn[0].Stage.Lower
	}
	// nextStage ends the first stage with an empty turn, then opens the
	// next one with f.
	nextStage := func(f func(lower *wire.SyncPosition) *wire.SyncFrame) func(t *testing.T, w *syncWire) {
		return func(t *testing.T, w *syncWire) {
			lower := firstStage(t, w)
			if err := w.send(&wire.SyncFrame{}); err != nil {
				t.Fatal(err)
			}
			if err := w.send(f(lower)); err != nil {
				t.Fatal(err)
			}
		}
	}
	shifted := func(p *wire.SyncPosition, d int64) *wire.SyncPosition {
		return &wire.SyncPosition{Hlc: uint64(int64(p.Hlc) + d), Id: p.Id}
	}
	send := func(f *wire.SyncFrame) func(t *testing.T, w *syncWire) {
		return func(t *testing.T, w *syncWire) {
			if err := w.send(f); err != nil {
				t.Fatal(err)
			}
		}
	}
	tests := []struct {
		name   string
		script func(t *testing.T, w *syncWire)
		ok     bool
	}{
		{"an honest first stage", func(t *testing.T, w *syncWire) { firstStage(t, w); _ = w.send(&wire.SyncFrame{}) }, true},
		{"an honest second stage", func(t *testing.T, w *syncWire) {
			nextStage(func(lower *wire.SyncPosition) *wire.SyncFrame { return syncOpenStage(1, lower) })(t, w)
			if _, err := w.recvTurn(); err != nil {
				t.Fatalf("the server's second turn: %v", err)
			}
			_ = w.send(&wire.SyncFrame{})
		}, true},
		{"a room the server has not joined", send(&wire.SyncFrame{Room: "kitchen", Stage: &wire.SyncStage{Limit: 64}}), false},
		{"no stage", send(&wire.SyncFrame{Room: syncRoom}), false},
		{"a first stage with an end", send(syncOpenStage(0, syncPosition(history[50]))), false},
		{"a stage that goes back to the end", nextStage(func(*wire.SyncPosition) *wire.SyncFrame { return syncOpenStage(1) }), false},
		{"a stage that goes back", nextStage(func(lower *wire.SyncPosition) *wire.SyncFrame { return syncOpenStage(1, shifted(lower, 1)) }), false},
		{"a stage that skips ahead", nextStage(func(lower *wire.SyncPosition) *wire.SyncFrame { return syncOpenStage(1, shifted(lower, -1)) }), false},
		{"a proposal at its stage's end", nextStage(func(lower *wire.SyncPosition) *wire.SyncFrame {
			f := syncOpenStage(1, lower)
			f.Stage.Lower = lower
			return f
		}), false},
		{"more wants than a stage holds", func(t *testing.T, w *syncWire) {
			firstStage(t, w)
			_ = w.send(&wire.SyncFrame{Ranges: syncNothingHeld(), Want: syncPrefixes(4097)})
		}, false},
	}
	for name, m := range syncBadMessages(t) {
		tests = append(tests, struct {
			name   string
			script func(t *testing.T, w *syncWire)
			ok     bool
		}{"a turn with " + name, func(t *testing.T, w *syncWire) {
			firstStage(t, w)
			_ = w.send(&wire.SyncFrame{Messages: []*wire.RoomMessage{m}})
		}, false})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			net := chattest.NewNet(t)
			server := newSyncNode(t, net)
			server.add(t, history)
			w := newSyncStub(t, net, server).open(t)
			tt.script(t, w)
			if tt.ok {
				if err := w.finish(); err != nil {
					t.Fatalf("the session ended with %v, want a close", err)
				}
			} else if f, err := w.recv(); f != nil || !errors.Is(err, chattest.ErrStreamReset) {
				t.Fatalf("the server answered %v (%v), want a reset", f, err)
			}
			server.checkHolds(t, "the server", history)
		})
	}
}

// ---- benchmarks ----

// BenchmarkSyncLateJoiner: a member that holds nothing syncs a room of
// 25,000 messages. It reports the time to the newest stage (the newest 64
// messages, a client's first page), the time to all of them, and the
// bytes on the wire. Every proof is checked.
func BenchmarkSyncLateJoiner(b *testing.B) {
	history, _ := syncBigRoomHistory(b)
	var first, all time.Duration
	var bytesOnWire int64
	for b.Loop() {
		b.StopTimer()
		joiner, member := syncPair(b, nil, history, nil, nil)
		b.StartTimer()
		stats, err := joiner.Svc.SyncRoomWith(b.Context(), syncRoom, member.ID)
		if err != nil {
			b.Fatalf("SyncRoomWith: %v", err)
		}
		b.StopTimer()
		if got := len(joiner.items(b)); got != len(history) {
			b.Fatalf("the joiner holds %d messages, want %d", got, len(history))
		}
		first += stats.FirstStage
		all += stats.Took
		bytesOnWire += stats.BytesIn + stats.BytesOut
		joiner.Stop()
		member.Stop()
		b.StartTimer()
	}
	n := float64(b.N)
	b.ReportMetric(float64(first.Milliseconds())/n, "ms-to-newest-64")
	b.ReportMetric(float64(all.Milliseconds())/n, "ms-to-all")
	b.ReportMetric(float64(bytesOnWire)/n, "wire-bytes")
}

// BenchmarkSyncOnePercent: two members of a 100,000-message room, each
// missing a different 0.5% of it, converge in one session. It reports the
// time that takes and the bytes on the wire.
func BenchmarkSyncOnePercent(b *testing.B) {
	const size = 100000
	history := syncHistory(b, time.Date(2025, 2, 3, 4, 5, 6, 0, time.UTC), size)
	rng := rand.New(rand.NewPCG(3, 4))
	picked := rng.Perm(size)[:size/100]
	var lackA, lackB []*chat.Message
	for i, k := range picked {
		if i%2 == 0 {
			lackA = append(lackA, history[k])
		} else {
			lackB = append(lackB, history[k])
		}
	}
	var took time.Duration
	var bytesOnWire int64
	var stages int
	for b.Loop() {
		b.StopTimer()
		a, c := syncPair(b, syncWithout(history, lackA), syncWithout(history, lackB), nil, nil)
		b.StartTimer()
		stats, err := a.Svc.SyncRoomWith(b.Context(), syncRoom, c.ID)
		if err != nil {
			b.Fatalf("SyncRoomWith: %v", err)
		}
		b.StopTimer()
		if got := len(a.items(b)); got != size {
			b.Fatalf("the opener holds %d messages, want %d", got, size)
		}
		if got := len(c.items(b)); got != size {
			b.Fatalf("the server holds %d messages, want %d", got, size)
		}
		took += stats.Took
		bytesOnWire += stats.BytesIn + stats.BytesOut
		stages += stats.Stages
		a.Stop()
		c.Stop()
		b.StartTimer()
	}
	n := float64(b.N)
	b.ReportMetric(float64(took.Milliseconds())/n, "ms-to-converge")
	b.ReportMetric(float64(bytesOnWire)/n, "wire-bytes")
	b.ReportMetric(float64(stages)/n, "stages")
}
