package node_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/chat/chattest"
	"github.com/parley-chat/parley/crypto"
	"github.com/parley-chat/parley/node/nodetest"
	"github.com/parley-chat/parley/store"
)

// benchRoomMesh starts n loopback peers connected in a ring with chords
// (each peer has 4 neighbours) and joins them all to room.
func benchRoomMesh(b *testing.B, n int, room string) []*loopbackPeer {
	b.Helper()
	peers := make([]*loopbackPeer, n)
	for i := range peers {
		peers[i] = startLoopbackPeer(b, fmt.Sprintf("p%d", i))
	}
	for i := range peers {
		connectLoopback(b, peers[i], peers[(i+1)%n])
		connectLoopback(b, peers[i], peers[(i+3)%n])
	}
	for _, p := range peers {
		if _, err := p.chat.JoinRoom(context.Background(), room); err != nil {
			b.Fatal(err)
		}
	}
	for i, p := range peers {
		nodetest.WaitFor(b, 30*time.Second, fmt.Sprintf("p%d to see at least two others in the room", i), func() bool {
			ms, err := p.chat.RoomMembers(room)
			if err != nil {
				b.Fatal(err)
			}
			online := 0
			for _, m := range ms {
				if m.Online {
					online++
				}
			}
			return online >= 3
		})
	}
	return peers
}

// BenchmarkRoomDelivery10 measures, on 10 members in one process (real
// hosts on loopback TCP, a sparse mesh), the time from publishing a room
// message on one member to it being stored at every other member, next to
// raw GossipSub (signed, no validator, no store) on the same hosts and
// connections.
func BenchmarkRoomDelivery10(b *testing.B) {
	const n = 10
	peers := benchRoomMesh(b, n, "bench")
	body := strings.Repeat("r", 200)

	// Raw pubsub on the same hosts.
	const rawTopic = "/parley-bench/raw"
	rawSubs := make([]*pubsub.Subscription, n)
	var rawPub *pubsub.Topic
	for i, p := range peers {
		t, err := p.node.PubSub().Join(rawTopic)
		if err != nil {
			b.Fatal(err)
		}
		if i == 0 {
			rawPub = t
		}
		if rawSubs[i], err = t.Subscribe(); err != nil {
			b.Fatal(err)
		}
	}
	// Wait until the raw topic's mesh reaches every member. GossipSub
	// relays a message along mesh links only, and a member that joined
	// before it saw a neighbour's subscription grafts that neighbour only
	// at its next heartbeat (1s). A message published before then reaches
	// the publisher's own neighbours (flood publishing) and whatever part
	// of the mesh exists, and the others never get it: gossip goes only to
	// topic peers outside the mesh, and with 4 neighbours each (fewer than
	// D_lo) every neighbour is in the mesh after that heartbeat. Mesh links
	// then stay (nothing prunes a mesh below D_hi), so once one probe has
	// reached every member, every later message does too. Topic peers
	// (ListPeers) say nothing about the mesh.
	rawReached := func(data []byte, within time.Duration) bool {
		ctx, cancel := context.WithTimeout(context.Background(), within)
		defer cancel()
		for _, s := range rawSubs[1:] {
			for {
				m, err := s.Next(ctx)
				if err != nil {
					return false
				}
				if string(m.Data) == string(data) {
					break
				}
			}
		}
		return true
	}
	meshDeadline := time.Now().Add(30 * time.Second)
	for probe := 0; ; probe++ {
		data := []byte(fmt.Sprintf("probe-%d", probe))
		if err := rawPub.Publish(context.Background(), data); err != nil {
			b.Fatal(err)
		}
		if rawReached(data, 2*pubsub.GossipSubHeartbeatInterval) {
			break
		}
		if time.Now().After(meshDeadline) {
			b.Fatalf("raw: no probe reached every member within 30s (%d probes)", probe+1)
		}
	}

	subs := make([]<-chan chat.Event, n)
	for i, p := range peers {
		ch, cancel := p.chat.Subscribe()
		defer cancel()
		subs[i] = ch
	}
	waitStored := func(id chat.MessageID) { waitStoredBy(b, subs[1:], id) }
	waitRaw := func(data []byte) {
		for i := 1; i < n; i++ {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			for {
				m, err := rawSubs[i].Next(ctx)
				if err != nil {
					b.Fatalf("raw: p%d: %v", i, err)
				}
				if string(m.Data) == string(data) {
					break
				}
			}
			cancel()
		}
	}
	// Warm up.
	for i := range 20 {
		m, err := peers[0].chat.SendRoom(context.Background(), "bench", body)
		if err != nil {
			b.Fatal(err)
		}
		waitStored(m.ID)
		data := []byte(fmt.Sprintf("%s-%d", body, i))
		if err := rawPub.Publish(context.Background(), data); err != nil {
			b.Fatal(err)
		}
		waitRaw(data)
	}
	room := make([]time.Duration, 0, b.N)
	raw := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		t0 := time.Now()
		data := []byte(fmt.Sprintf("%s-raw-%d", body, i))
		if err := rawPub.Publish(context.Background(), data); err != nil {
			b.Fatal(err)
		}
		waitRaw(data)
		raw = append(raw, time.Since(t0))

		t0 = time.Now()
		m, err := peers[0].chat.SendRoom(context.Background(), "bench", body)
		if err != nil {
			b.Fatal(err)
		}
		waitStored(m.ID)
		room = append(room, time.Since(t0))
	}
	b.StopTimer()
	reportLatencies(b, "raw", raw)
	reportLatencies(b, "room", room)
	slices.Sort(raw)
	slices.Sort(room)
	b.ReportMetric(float64(room[len(room)/2])/float64(raw[len(raw)/2]), "room/raw-p50")
	b.ReportMetric(float64(room[len(room)*99/100])/float64(raw[len(raw)*99/100]), "room/raw-p99")
}

// waitStoredBy reads each subscription in turn until it reports message
// id stored.
func waitStoredBy(b *testing.B, subs []<-chan chat.Event, id chat.MessageID) {
	b.Helper()
	for i, sub := range subs {
		timeout := time.After(30 * time.Second)
		for done := false; !done; {
			select {
			case e := <-sub:
				done = e.Type == chat.EventMessage && e.Message.ID == id
			case <-timeout:
				b.Fatalf("subscriber %d of %d never saw %s stored", i+1, len(subs), id)
			}
		}
	}
}

// BenchmarkRoomDeliveryPrivate10 is BenchmarkRoomDelivery10 for a private
// room: on the same 10 members and mesh, it measures a private room's
// message (sealed with the sender key of the current epoch, opened by
// every member) from publishing to stored at every other member,
// alternating with a public room's, and reports both and their ratio.
// The admin sends: members joined by invite hold every epoch's key
// (history "join" gives each the epochs from its join on).
func BenchmarkRoomDeliveryPrivate10(b *testing.B) {
	const n = 10
	ctx := context.Background()
	peers := benchRoomMesh(b, n, "bench")
	body := strings.Repeat("r", 200)
	admin := peers[0].chat
	if err := admin.CreatePrivateRoom(ctx, "payroll"); err != nil {
		b.Fatal(err)
	}
	for i, p := range peers[1:] {
		link, _, err := admin.CreateInvite(ctx, "payroll", 1, time.Hour)
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := p.chat.JoinInvite(ctx, link); err != nil {
			b.Fatalf("p%d joining by invite: %v", i+1, err)
		}
	}
	for i, p := range peers {
		nodetest.WaitFor(b, 30*time.Second, fmt.Sprintf("p%d to list every member and see two online", i), func() bool {
			ms, err := p.chat.RoomMembers("payroll")
			if err != nil {
				b.Fatal(err)
			}
			online := 0
			for _, m := range ms {
				if m.Online {
					online++
				}
			}
			return len(ms) == n && online >= 3
		})
	}
	subs := make([]<-chan chat.Event, n)
	for i, p := range peers {
		ch, cancel := p.chat.Subscribe()
		defer cancel()
		subs[i] = ch
	}
	send := func(room string) {
		m, err := admin.SendRoom(ctx, room, body)
		if err != nil {
			b.Fatal(err)
		}
		waitStoredBy(b, subs[1:], m.ID)
	}
	// Warm up: the meshes form, the members get the epochs' keys.
	for range 20 {
		send("bench")
		send("payroll")
	}
	public := make([]time.Duration, 0, b.N)
	private := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		send("bench")
		public = append(public, time.Since(t0))
		t0 = time.Now()
		send("payroll")
		private = append(private, time.Since(t0))
	}
	b.StopTimer()
	reportLatencies(b, "public", public)
	reportLatencies(b, "private", private)
	b.ReportMetric(float64(private[len(private)/2])/float64(public[len(public)/2]), "private/public-p50")
	b.ReportMetric(float64(private[len(private)*99/100])/float64(public[len(public)*99/100]), "private/public-p99")
}

// BenchmarkRoomSync measures one sync session of a 10,000-message room
// (the whole history: sync has no window) between two members that differ
// in a few messages (half only on each side), and the session that brings
// the whole history to a newcomer: bytes on the wire and time, next to the
// size of the history.
func BenchmarkRoomSync(b *testing.B) {
	for _, differ := range []int{10, 100} {
		b.Run(fmt.Sprintf("differ=%d", differ), func(b *testing.B) { benchRoomSync(b, 10000, differ, false) })
	}
	b.Run("newcomer", func(b *testing.B) { benchRoomSync(b, 10000, 0, true) })
}

// benchRoomSync syncs a room of total messages from a with c. Either c is
// a newcomer that holds none of them, or the two differ in differ
// messages: every other one of those only a holds, the rest only c.
func benchRoomSync(b *testing.B, total, differ int, newcomer bool) {
	authors := make([]*crypto.Identity, 5)
	for i := range authors {
		authors[i] = chattest.NewIdentity(b)
	}
	body := strings.Repeat("s", 200)
	for range b.N {
		b.StopTimer()
		a, c := quietSyncPair(b, "big")
		base := chat.HLCFromTime(time.Now().Add(-24 * time.Hour))
		all := make([]*chat.Message, total)
		historyBytes := 0
		for i := range all {
			all[i] = provenRoomMessage(b, authors[i%len(authors)], "big", base+chat.HLC(i)<<8, body, uint64(i+1))
			historyBytes += len(all[i].Envelope) + len(all[i].Proof.Signature) + len(all[i].Proof.Seqno)
		}
		onlyA, onlyC := map[int]bool{}, map[int]bool{}
		for i := range differ {
			k := (i * 97) % total
			if i%2 == 0 {
				onlyA[k] = true
			} else {
				onlyC[k] = true
			}
		}
		var forA, forC []*chat.Message
		for i, m := range all {
			if !onlyC[i] {
				forA = append(forA, m)
			}
			if !onlyA[i] && !newcomer {
				forC = append(forC, m)
			}
		}
		addAll(b, a.store, forA)
		addAll(b, c.store, forC)
		b.StartTimer()
		stats, err := a.chat.SyncRoomWith(context.Background(), "big", c.chat.Self())
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		if stats.Received != len(onlyC) {
			b.Fatalf("a received %d, want %d", stats.Received, len(onlyC))
		}
		moved := len(onlyA) + len(onlyC)
		if newcomer {
			moved = total
			nodetest.WaitFor(b, 30*time.Second, "the newcomer to store the history", func() bool {
				n, err := c.store.SyncItems(chat.RoomConversation("big"), 0)
				return err == nil && len(n) >= total
			})
		}
		b.ReportMetric(float64(stats.BytesIn+stats.BytesOut), "wire-bytes")
		b.ReportMetric(float64(stats.BytesIn+stats.BytesOut-int64(moved)*int64(historyBytes/total)), "reconcile-bytes")
		b.ReportMetric(float64(historyBytes), "history-bytes")
		b.ReportMetric(float64(stats.Stages), "stages")
		b.ReportMetric(float64(stats.FirstStage.Microseconds())/1000, "first-stage-ms")
		b.ReportMetric(float64(stats.Took.Microseconds())/1000, "sync-ms")
	}
}

// quietSyncPair starts two connected loopback peers in room whose
// automatic syncs are over: the one opened when they see each other join
// the topic has ended, and the others (anti-entropy, after live traffic,
// the other side's check that the join was synced) are an hour away. Whatever a test then writes into their stores changes
// hands only by the syncs it runs.
func quietSyncPair(b *testing.B, room string) (a, c *loopbackPeer) {
	b.Helper()
	var watches [2]*syncWatch
	peers := make([]*loopbackPeer, 2)
	for i, nick := range []string{"a", "c"} {
		peers[i] = startLoopbackPeer(b, nick, func(cfg *chat.Config) {
			watches[i] = &syncWatch{Transport: cfg.Transport}
			cfg.Transport = watches[i]
			cfg.AntiEntropy, cfg.SyncSettle = time.Hour, time.Hour
		})
		if _, err := peers[i].chat.JoinRoom(context.Background(), room); err != nil {
			b.Fatal(err)
		}
	}
	a, c = peers[0], peers[1]
	connectLoopback(b, a, c)
	conv := chat.RoomConversation(room)
	nodetest.WaitFor(b, 30*time.Second, "the join sync to end with both join lines on both sides", func() bool {
		opened := int64(0)
		for _, w := range watches {
			if w.open.Load() != 0 {
				return false
			}
			opened += w.opened.Load()
		}
		if opened == 0 {
			return false
		}
		ia, err := a.store.SyncItems(conv, 0)
		if err != nil {
			b.Fatal(err)
		}
		ic, err := c.store.SyncItems(conv, 0)
		if err != nil {
			b.Fatal(err)
		}
		return len(ia) == 2 && slices.Equal(ia, ic)
	})
	return a, c
}

// syncWatch is a transport that counts the sync sessions it opens, and
// those still open.
type syncWatch struct {
	chat.Transport
	opened, open atomic.Int64
}

func (w *syncWatch) OpenStream(ctx context.Context, p chat.PeerID, protocol string) (chat.Stream, error) {
	s, err := w.Transport.OpenStream(ctx, p, protocol)
	if err != nil || protocol != chat.SyncProtocol {
		return s, err
	}
	w.opened.Add(1)
	w.open.Add(1)
	return &watchedStream{Stream: s, ended: func() { w.open.Add(-1) }}, nil
}

// watchedStream calls ended once, when it is closed or reset.
type watchedStream struct {
	chat.Stream
	once  sync.Once
	ended func()
}

func (s *watchedStream) Close() error {
	s.once.Do(s.ended)
	return s.Stream.Close()
}

func (s *watchedStream) Reset() error {
	s.once.Do(s.ended)
	return s.Stream.Reset()
}

func addAll(tb testing.TB, st *store.Store, ms []*chat.Message) {
	tb.Helper()
	for i := 0; i < len(ms); i += 500 {
		if _, err := st.AddMessages(ms[i:min(i+500, len(ms))]); err != nil {
			tb.Fatal(err)
		}
	}
}
