package node_test

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	lcrypto "github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	mocknet "github.com/libp2p/go-libp2p/p2p/net/mock"
	ma "github.com/multiformats/go-multiaddr"
	"google.golang.org/protobuf/proto"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/chat/chattest"
	"github.com/parley-chat/parley/node/nodetest"
)

// These tests put a hostile member into a room of honest Parley nodes on
// mocknet (members have 100.64.x.y addresses, so GossipSub's IP scoring
// applies). Attackers are GossipSub peers of their own on the cluster's
// mocknet, or (for what no pubsub instance will send) hand-written
// GossipSub RPCs.

const hostileWait = 30 * time.Second

// hostileKey returns a fresh Ed25519 libp2p key (Parley peer IDs inline
// Ed25519 keys; a room envelope's author must be one).
func hostileKey(t *testing.T) lcrypto.PrivKey {
	t.Helper()
	key, _, err := lcrypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// hostileHost adds a host at 100.64.200.n to the cluster's mocknet and
// connects it to the members named by targets.
func hostileHost(t *testing.T, c *nodetest.Cluster, n int, key lcrypto.PrivKey, targets []int) host.Host {
	t.Helper()
	h, err := c.MN.AddPeer(key, ma.StringCast(fmt.Sprintf("/ip4/100.64.200.%d/tcp/4001", n)))
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range targets {
		m := c.Members[i]
		if _, err := c.MN.LinkPeers(h.ID(), m.Host.ID()); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		err := h.Connect(ctx, peer.AddrInfo{ID: m.Host.ID(), Addrs: m.Host.Addrs()})
		cancel()
		if err != nil {
			t.Fatalf("connect the attacker to n%d: %v", i, err)
		}
	}
	return h
}

// pubsubAttacker is a GossipSub instance of its own in the room's topic.
type pubsubAttacker struct {
	key   lcrypto.PrivKey
	id    peer.ID
	topic *pubsub.Topic
}

// newPubsubAttacker starts GossipSub with opts on a new host connected to
// targets and joins the room's topic; validate (if set) is its topic
// validator. Everything stops when the test ends.
func newPubsubAttacker(t *testing.T, c *nodetest.Cluster, n int, room string, targets []int, validate pubsub.ValidatorEx, opts ...pubsub.Option) *pubsubAttacker {
	t.Helper()
	return newTopicAttacker(t, c, n, chat.RoomTopic(room), targets, validate, opts...)
}

// newTopicAttacker is newPubsubAttacker for any topic.
func newTopicAttacker(t *testing.T, c *nodetest.Cluster, n int, topicName string, targets []int, validate pubsub.ValidatorEx, opts ...pubsub.Option) *pubsubAttacker {
	t.Helper()
	key := hostileKey(t)
	h := hostileHost(t, c, n, key, targets)
	ctx, cancel := context.WithCancel(context.Background())
	ps, err := pubsub.NewGossipSub(ctx, h, opts...)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if validate != nil {
		if err := ps.RegisterTopicValidator(topicName, validate, pubsub.WithValidatorInline(true)); err != nil {
			cancel()
			t.Fatal(err)
		}
	}
	topic, err := ps.Join(topicName)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	sub, err := topic.Subscribe()
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // drain what arrives
		defer wg.Done()
		for {
			if _, err := sub.Next(ctx); err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		sub.Cancel()
		cancel()
		wg.Wait()
		_ = h.Close()
	})
	a := &pubsubAttacker{key: key, id: h.ID(), topic: topic}
	nodetest.WaitFor(t, hostileWait, "the attacker to see its targets in the topic", func() bool {
		in := topic.ListPeers()
		for _, i := range targets {
			if !containsPeer(in, c.Members[i].Host.ID()) {
				return false
			}
		}
		return true
	})
	return a
}

func containsPeer(ps []peer.ID, p peer.ID) bool {
	for _, q := range ps {
		if q == p {
			return true
		}
	}
	return false
}

// publish publishes data; the attacker's own pubsub accepts anything.
func (a *pubsubAttacker) publish(t *testing.T, data []byte, opts ...pubsub.PubOpt) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := a.topic.Publish(ctx, data, opts...); err != nil {
		t.Fatalf("attacker publish: %v", err)
	}
}

// rawAttacker speaks GossipSub by hand: it subscribes to the room's topic
// and sends pubsub messages it builds itself, such as ones whose
// signature does not verify (a pubsub instance refuses to publish those).
type rawAttacker struct {
	id    peer.ID
	topic string
	out   map[peer.ID]network.Stream
}

var meshsubProtocols = []protocol.ID{"/meshsub/1.3.0", "/meshsub/1.2.0", "/meshsub/1.1.0", "/meshsub/1.0.0"}

func newRawAttacker(t *testing.T, c *nodetest.Cluster, n int, room string, targets []int) *rawAttacker {
	t.Helper()
	h := hostileHost(t, c, n, hostileKey(t), nil)
	// Accept (and ignore) the pubsub streams the members open to us, so
	// that they take us for a pubsub peer.
	for _, p := range meshsubProtocols {
		h.SetStreamHandler(p, func(s network.Stream) {
			_, _ = io.Copy(io.Discard, s)
			_ = s.Reset()
		})
	}
	a := &rawAttacker{id: h.ID(), topic: chat.RoomTopic(room), out: make(map[peer.ID]network.Stream)}
	t.Cleanup(func() {
		for _, s := range a.out {
			_ = s.Reset()
		}
		_ = h.Close()
	})
	for _, i := range targets {
		m := c.Members[i]
		if _, err := c.MN.LinkPeers(h.ID(), m.Host.ID()); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		if err := h.Connect(ctx, peer.AddrInfo{ID: m.Host.ID(), Addrs: m.Host.Addrs()}); err != nil {
			cancel()
			t.Fatalf("connect the raw attacker to n%d: %v", i, err)
		}
		s, err := h.NewStream(ctx, m.Host.ID(), meshsubProtocols...)
		cancel()
		if err != nil {
			t.Fatalf("open a pubsub stream to n%d: %v", i, err)
		}
		a.out[m.Host.ID()] = s
		a.send(t, &pb.RPC{Subscriptions: []*pb.RPC_SubOpts{{Subscribe: proto.Bool(true), Topicid: proto.String(a.topic)}}})
	}
	return a
}

// send writes one RPC to every target.
func (a *rawAttacker) send(t *testing.T, rpc *pb.RPC) {
	t.Helper()
	b, err := proto.Marshal(rpc)
	if err != nil {
		t.Fatal(err)
	}
	b = append(binary.AppendUvarint(nil, uint64(len(b))), b...)
	for p, s := range a.out {
		if _, err := s.Write(b); err != nil {
			t.Logf("raw attacker write to %s: %v", p, err)
		}
	}
}

// liveEnvelope is a room envelope by author stamped now, as a member
// would post it.
func liveEnvelope(t *testing.T, author peer.ID, room string, kind chat.Kind, body string) []byte {
	t.Helper()
	return chattest.Env{Author: chat.PeerID(author), Room: room, HLC: chat.HLCFromTime(time.Now()), Kind: kind, Body: body}.Bytes(t)
}

// joinAll makes every member join room.
func joinAll(t *testing.T, c *nodetest.Cluster, room string) {
	t.Helper()
	for _, m := range c.Members {
		if _, err := m.Chat.JoinRoom(t.Context(), room); err != nil {
			t.Fatal(err)
		}
	}
}

// roomTexts returns the IDs and authors of the text messages member m holds in room.
func roomTexts(t *testing.T, m *nodetest.Member, room string) map[chat.MessageID]chat.PeerID {
	t.Helper()
	ms, err := m.Chat.History(chat.RoomConversation(room), chat.HistoryQuery{Limit: chat.MaxHistoryLimit})
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[chat.MessageID]chat.PeerID, len(ms))
	for _, msg := range ms {
		if msg.Kind == chat.KindText {
			out[msg.ID] = msg.Author
		}
	}
	return out
}

// waitDelivered waits until every member holds every message of sent.
func waitDelivered(t *testing.T, c *nodetest.Cluster, room string, sent map[chat.MessageID]chat.PeerID, also func()) {
	t.Helper()
	nodetest.WaitFor(t, hostileWait, "every honest message at every honest member", func() bool {
		if also != nil {
			also()
		}
		for _, m := range c.Members {
			got := roomTexts(t, m, room)
			for id := range sent {
				if _, ok := got[id]; !ok {
					return false
				}
			}
		}
		return true
	})
}

// honestScores checks that the members connected in a ring (i, i+1) score
// each other at least 0, wherever GossipSub has a score for them yet; it
// returns how many scores it saw.
func honestScores(t *testing.T, c *nodetest.Cluster) int {
	t.Helper()
	seen := 0
	n := len(c.Members)
	for i, m := range c.Members {
		for _, j := range []int{(i + 1) % n, (i + n - 1) % n} {
			s, ok := m.Node.Score(c.Members[j].ID())
			if !ok {
				continue
			}
			seen++
			if s < 0 {
				t.Fatalf("n%d scores honest n%d %.1f, want >= 0", i, j, s)
			}
		}
	}
	return seen
}

// connectRing connects members i and i+1 (and the last to the first).
func connectRing(c *nodetest.Cluster) {
	for i := range c.Members {
		c.Connect(i, (i+1)%len(c.Members))
	}
}

// waitScored waits until each target member has a GossipSub score for
// the attacker: it is a tracked peer, whose misdeeds count.
func waitScored(t *testing.T, c *nodetest.Cluster, attacker peer.ID, targets []int) {
	t.Helper()
	nodetest.WaitFor(t, hostileWait, "the targets to score the attacker", func() bool {
		for _, i := range targets {
			if _, ok := c.Members[i].Node.Score(chat.PeerID(attacker)); !ok {
				return false
			}
		}
		return true
	})
}

// waitNegative waits until every target scores the attacker below 0,
// checking the honest scores on the way.
func waitNegative(t *testing.T, c *nodetest.Cluster, attacker peer.ID, targets []int) {
	t.Helper()
	nodetest.WaitFor(t, hostileWait, fmt.Sprintf("the attacker %s scored below 0 by n%v", attacker.ShortString(), targets), func() bool {
		honestScores(t, c)
		for _, i := range targets {
			if s, _ := c.Members[i].Node.Score(chat.PeerID(attacker)); s >= 0 {
				return false
			}
		}
		return true
	})
	for _, i := range targets {
		s, _ := c.Members[i].Node.Score(chat.PeerID(attacker))
		t.Logf("n%d scores attacker %s at %.1f", i, attacker.ShortString(), s)
	}
}

// holdHonestScores samples the honest members' scores of each other for
// a few score refreshes (GossipSub reports scores once a second).
func holdHonestScores(t *testing.T, c *nodetest.Cluster, d time.Duration) {
	t.Helper()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	end := time.After(d)
	samples, seen := 0, 0
	for {
		select {
		case <-tick.C:
			samples++
			seen += honestScores(t, c)
		case <-end:
			if seen == 0 {
				t.Fatal("no honest member had a score for its neighbours")
			}
			t.Logf("honest scores >= 0 in %d samples (%d scores)", samples, seen)
			return
		}
	}
}

func TestHostileRoomMember(t *testing.T) {
	const room = "hostile"
	c := nodetest.NewCluster(t, 5, nodetest.Options{InMemory: true})
	connectRing(c)
	joinAll(t, c, room)

	signer := newPubsubAttacker(t, c, 1, room, []int{0, 2}, nil, pubsub.WithMessageSignaturePolicy(pubsub.StrictSign))
	unsigned := newPubsubAttacker(t, c, 2, room, []int{1, 3}, nil, pubsub.WithMessageSignaturePolicy(pubsub.StrictNoSign))
	forger := newRawAttacker(t, c, 3, room, []int{2, 4})
	waitScored(t, c, signer.id, []int{0, 2})
	waitScored(t, c, unsigned.id, []int{1, 3})
	waitScored(t, c, forger.id, []int{2, 4})

	honest := make(map[chat.MessageID]chat.PeerID)
	victim := c.Members[1].ID()
	for round := range 10 {
		// (1) garbage
		signer.publish(t, []byte(fmt.Sprintf("\xff\x00garbage %d", round)))
		// (2) a well-formed envelope with someone else as author
		signer.publish(t, liveEnvelope(t, peer.ID(victim), room, chat.KindText, fmt.Sprintf("forged %d", round)))
		// (3) a message over chat.MaxRoomMessage (under pubsub's own cap)
		signer.publish(t, liveEnvelope(t, signer.id, room, chat.KindText, strings.Repeat("x", chat.MaxRoomMessage)+fmt.Sprint(round)))
		// a kind that is not in the protocol, and typing with a body
		signer.publish(t, liveEnvelope(t, signer.id, room, chat.Kind(99), fmt.Sprint(round)))
		signer.publish(t, liveEnvelope(t, signer.id, room, chat.KindTyping, fmt.Sprint(round)))
		// (4) no signature at all
		unsigned.publish(t, liveEnvelope(t, unsigned.id, room, chat.KindText, fmt.Sprintf("unsigned %d", round)))
		// (4) signatures that do not verify: by the forger in the name of
		// an honest member, and by the forger as itself over other bytes
		env := liveEnvelope(t, peer.ID(victim), room, chat.KindText, fmt.Sprintf("bad signature %d", round))
		seq := binary.BigEndian.AppendUint64(nil, uint64(round+1))
		sig := make([]byte, 64)
		_, _ = rand.Read(sig)
		own := liveEnvelope(t, forger.id, room, chat.KindText, fmt.Sprintf("resigned %d", round))
		forger.send(t, &pb.RPC{Publish: []*pb.Message{
			{From: []byte(victim), Data: env, Seqno: seq, Topic: proto.String(forger.topic), Signature: sig},
			{From: []byte(forger.id), Data: own, Seqno: seq, Topic: proto.String(forger.topic), Signature: sig},
		}})

		for i, m := range c.Members {
			msg, err := m.Chat.SendRoom(t.Context(), room, fmt.Sprintf("honest %d from n%d", round, i))
			if err != nil {
				t.Fatal(err)
			}
			honest[msg.ID] = m.ID()
		}
	}

	waitDelivered(t, c, room, honest, func() { honestScores(t, c) })
	waitNegative(t, c, signer.id, []int{0, 2})
	waitNegative(t, c, unsigned.id, []int{1, 3})
	waitNegative(t, c, forger.id, []int{2, 4})
	holdHonestScores(t, c, 2500*time.Millisecond)

	for _, m := range c.Members {
		got := roomTexts(t, m, room)
		for id, author := range got {
			if _, ok := honest[id]; !ok {
				t.Errorf("n%d stored %s by %s, which no honest member sent", m.Index, id, author.Short())
			}
		}
		if len(got) != len(honest) {
			t.Errorf("n%d holds %d text messages, want %d", m.Index, len(got), len(honest))
		}
	}
}

// TestHostileRoomFlood: a member that floods the room with valid messages
// (its own, signed) past RoomRate/RoomBurst is ignored beyond the limit
// and penalised, while the honest members are not.
func TestHostileRoomFlood(t *testing.T) {
	const room = "flood"
	const burst, flood = 20, 300
	c := nodetest.NewCluster(t, 4, nodetest.Options{InMemory: true, Chat: chat.Config{RoomRate: 5, RoomBurst: burst}})
	connectRing(c)
	joinAll(t, c, room)
	targets := []int{0, 2}
	flooder := newPubsubAttacker(t, c, 1, room, targets, nil, pubsub.WithMessageSignaturePolicy(pubsub.StrictSign))
	waitScored(t, c, flooder.id, targets)

	honest := make(map[chat.MessageID]chat.PeerID)
	start := time.Now()
	for i := range flood {
		flooder.publish(t, liveEnvelope(t, flooder.id, room, chat.KindText, fmt.Sprintf("flood %d", i)))
		if i%60 == 0 { // the honest members talk meanwhile, well within the limit
			for j, m := range c.Members {
				msg, err := m.Chat.SendRoom(t.Context(), room, fmt.Sprintf("honest %d from n%d", i, j))
				if err != nil {
					t.Fatal(err)
				}
				honest[msg.ID] = m.ID()
			}
		}
	}
	took := time.Since(start)

	waitDelivered(t, c, room, honest, func() { honestScores(t, c) })
	waitNegative(t, c, flooder.id, targets)
	holdHonestScores(t, c, 2500*time.Millisecond)

	// Each member lets through at most a burst and the refill; members
	// relay what they let through, and sync may spread it further: allow
	// one allowance per directly connected member.
	allowed := len(targets) * (burst + int(5*(took+hostileWait).Seconds()))
	for _, m := range c.Members {
		n := 0
		for _, author := range roomTexts(t, m, room) {
			if author == chat.PeerID(flooder.id) {
				n++
			}
		}
		t.Logf("n%d holds %d of the %d flood messages (sent in %v)", m.Index, n, flood, took.Round(time.Millisecond))
		if n >= flood/2 || n > allowed {
			t.Errorf("n%d holds %d of %d flood messages, want at most %d", m.Index, n, flood, min(allowed, flood/2-1))
		}
	}
}

// TestHostileRoomReplay: an attacker that republishes an honest member's
// envelope under its own signature must neither stop the real message
// nor cost its author. The attacker's copy reaches y first (x's link to y
// is slow); y rejects it (its author is not its signer). GossipSub's
// message ID hashes the signer with the data (node/pubsub.go
// WithMessageIdFn), so the copy's ID is not the real message's: the real
// one is neither dropped as a duplicate nor counted as an invalid
// delivery against x, who forwards it.
func TestHostileRoomReplay(t *testing.T) {
	const room = "replay"
	// No anti-entropy: this is about live delivery.
	c := nodetest.NewCluster(t, 2, nodetest.Options{InMemory: true, Chat: chat.Config{AntiEntropy: time.Hour, SyncSettle: time.Hour}})
	x, y := c.Members[0], c.Members[1]
	for _, l := range c.MN.LinksBetweenPeers(x.Host.ID(), y.Host.ID()) {
		l.SetOptions(mocknet.LinkOptions{Latency: 150 * time.Millisecond})
	}
	c.Connect(0, 1)
	joinAll(t, c, room)

	var (
		mu       sync.Mutex
		replayed bool
	)
	replay := make(chan []byte, 1)
	// The attacker relays nothing of others', and republishes the first
	// text message it sees from x as its own.
	validate := func(_ context.Context, _ peer.ID, m *pubsub.Message) pubsub.ValidationResult {
		if m.GetFrom() != x.Host.ID() {
			return pubsub.ValidationAccept
		}
		mu.Lock()
		defer mu.Unlock()
		if env, err := chat.DecodeEnvelope(m.Data); !replayed && err == nil && env.Kind == chat.KindText {
			replayed = true
			replay <- m.Data
		}
		return pubsub.ValidationIgnore
	}
	attacker := newPubsubAttacker(t, c, 1, room, []int{0, 1}, validate, pubsub.WithMessageSignaturePolicy(pubsub.StrictSign))
	waitScored(t, c, attacker.id, []int{0, 1})
	nodetest.WaitFor(t, hostileWait, "y to score x", func() bool { _, ok := y.Node.Score(x.ID()); return ok })

	first, err := x.Chat.SendRoom(t.Context(), room, "first")
	if err != nil {
		t.Fatal(err)
	}
	select {
	case data := <-replay:
		attacker.publish(t, data)
	case <-time.After(hostileWait):
		t.Fatal("the attacker never saw x's message")
	}
	second, err := x.Chat.SendRoom(t.Context(), room, "second")
	if err != nil {
		t.Fatal(err)
	}
	// Only live delivery can bring them (anti-entropy is an hour away);
	// GossipSub validates messages in parallel, so they may come in either
	// order.
	nodetest.WaitFor(t, hostileWait, "y to receive x's messages live, the first one too (the attacker's rejected copy must not stop it)", func() bool {
		got := roomTexts(t, y, room)
		_, ok1 := got[first.ID]
		_, ok2 := got[second.ID]
		return ok1 && ok2
	})
	waitNegative(t, c, attacker.id, []int{1})
	// Scores are refreshed once a second: sample a few refreshes.
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for range 12 {
		<-tick.C
		if s, ok := y.Node.Score(x.ID()); ok && s < 0 {
			t.Fatalf("y scores honest x %.1f, want >= 0: the attacker's rejected copy cost x", s)
		}
	}
}
