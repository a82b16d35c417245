package node_test

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/crypto"
	"github.com/parley-chat/parley/internal/wire"
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
		if _, err := p.chat.JoinRoom(room); err != nil {
			b.Fatal(err)
		}
	}
	// Wait until every member sees at least two others in the topic.
	deadline := time.Now().Add(30 * time.Second)
	for _, p := range peers {
		for {
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
			if online >= 3 {
				break
			}
			if time.Now().After(deadline) {
				b.Fatal("mesh did not form")
			}
			time.Sleep(10 * time.Millisecond)
		}
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
	for _, p := range peers {
		for len(p.node.PubSub().ListPeers(rawTopic)) < 2 {
			time.Sleep(10 * time.Millisecond)
		}
	}

	subs := make([]<-chan chat.Event, n)
	for i, p := range peers {
		ch, cancel := p.chat.Subscribe()
		defer cancel()
		subs[i] = ch
	}
	waitStored := func(id chat.MessageID) {
		for i := 1; i < n; i++ {
			timeout := time.After(30 * time.Second)
			for done := false; !done; {
				select {
				case e := <-subs[i]:
					done = e.Type == chat.EventMessage && e.Message.ID == id
				case <-timeout:
					b.Fatalf("p%d never stored %s", i, id)
				}
			}
		}
	}
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
		m, err := peers[0].chat.SendRoom("bench", body)
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
		m, err := peers[0].chat.SendRoom("bench", body)
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

// signedRoomMessage makes a room message with a valid author proof, as
// GossipSub would have signed it.
func signedRoomMessage(tb testing.TB, id *crypto.Identity, room string, h chat.HLC, body string, seq uint64) *chat.Message {
	tb.Helper()
	env, err := proto.MarshalOptions{Deterministic: true}.Marshal(&wire.Envelope{
		Version: 1, Author: []byte(id.PeerID()), Room: room, Hlc: uint64(h), Kind: wire.Kind_KIND_TEXT, Body: body,
	})
	if err != nil {
		tb.Fatal(err)
	}
	seqno := binary.BigEndian.AppendUint64(nil, seq)
	msg := []byte("libp2p-pubsub:")
	msg = protowire.AppendTag(msg, 1, protowire.BytesType)
	msg = protowire.AppendBytes(msg, []byte(id.PeerID()))
	msg = protowire.AppendTag(msg, 2, protowire.BytesType)
	msg = protowire.AppendBytes(msg, env)
	msg = protowire.AppendTag(msg, 3, protowire.BytesType)
	msg = protowire.AppendBytes(msg, seqno)
	msg = protowire.AppendTag(msg, 4, protowire.BytesType)
	msg = protowire.AppendString(msg, chat.RoomTopic(room))
	m, err := chat.DecodeEnvelope(env, id.Sign(msg))
	if err != nil {
		tb.Fatal(err)
	}
	m.Seqno = seqno
	m.Status = chat.StatusReceived
	m.ReceivedAt = time.Now()
	return m
}

// BenchmarkRoomSync measures one sync session of a 10,000-message room
// between two members that differ in 1% of it (50 messages only on each
// side, or 5 and 5): bytes on the wire and time, next to the size of the
// history.
func BenchmarkRoomSync(b *testing.B) {
	for _, differ := range []int{10, 100} {
		b.Run(fmt.Sprintf("differ=%d", differ), func(b *testing.B) { benchRoomSync(b, 10000, differ) })
	}
}

func benchRoomSync(b *testing.B, total, differ int) {
	for range b.N {
		b.StopTimer()
		a, c := startLoopbackPeer(b, "a"), startLoopbackPeer(b, "c")
		connectLoopback(b, a, c)
		for _, p := range []*loopbackPeer{a, c} {
			if _, err := p.chat.JoinRoom("big"); err != nil {
				b.Fatal(err)
			}
		}
		authors := make([]*crypto.Identity, 5)
		for i := range authors {
			authors[i], _ = crypto.NewIdentity(rand.Reader)
		}
		base := chat.HLCFromTime(time.Now().Add(-24 * time.Hour))
		var all []*chat.Message
		historyBytes := 0
		for i := range total {
			m := signedRoomMessage(b, authors[i%len(authors)], "big", base+chat.HLC(i)<<8, strings.Repeat("s", 200), uint64(i+1))
			m.Conversation = chat.RoomConversation("big")
			all = append(all, m)
			historyBytes += len(m.Envelope) + len(m.Signature) + len(m.Seqno)
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
			if !onlyA[i] {
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
			b.Fatalf("received %d, want %d", stats.Received, len(onlyC))
		}
		b.ReportMetric(float64(stats.BytesIn+stats.BytesOut), "wire-bytes")
		b.ReportMetric(float64(stats.BytesIn+stats.BytesOut-int64(len(onlyC)+len(onlyA))*int64(historyBytes/total)), "reconcile-bytes")
		b.ReportMetric(float64(historyBytes), "history-bytes")
		b.ReportMetric(float64(stats.Took.Milliseconds()), "sync-ms")
		b.StartTimer()
	}
}

func addAll(tb testing.TB, st *store.Store, ms []*chat.Message) {
	tb.Helper()
	for i := 0; i < len(ms); i += 500 {
		if _, err := st.AddMessages(ms[i:min(i+500, len(ms))]); err != nil {
			tb.Fatal(err)
		}
	}
}
