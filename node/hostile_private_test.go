package node_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"github.com/libp2p/go-libp2p/core/peer"
	"sync"
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"google.golang.org/protobuf/proto"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/crypto"
	"github.com/parley-chat/parley/internal/wire"
	"github.com/parley-chat/parley/node/nodetest"
)

// TestHostilePrivateRoom: over real GossipSub, three members share a
// private room; a fourth Parley node on the same network is in no private
// room, and an attacker that knows the room's secret topic (as a removed
// member would) subscribes to it and publishes garbage, envelopes in the
// clear, and messages sealed with keys of its own. The attacker receives
// only sealed bytes; members store nothing of it and every honest message
// arrives.
func TestHostilePrivateRoom(t *testing.T) {
	const room = "payroll"
	c := nodetest.NewCluster(t, 4, nodetest.Options{InMemory: true})
	for i := range c.Members {
		for j := i + 1; j < len(c.Members); j++ {
			c.Connect(i, j)
		}
	}
	ann := c.Members[0]
	if err := ann.Chat.CreatePrivateRoom(t.Context(), room); err != nil {
		t.Fatal(err)
	}
	for _, m := range c.Members[1:3] {
		link, _, err := ann.Chat.CreateInvite(t.Context(), room, 1, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if _, joined, err := m.Chat.JoinInvite(t.Context(), link); err != nil || !joined {
			t.Fatalf("n%d joining: (%v, %v)", m.Index, joined, err)
		}
	}
	rooms, err := ann.Store.Rooms()
	if err != nil {
		t.Fatal(err)
	}
	var secret crypto.Key
	for _, r := range rooms {
		if r.Name == room && r.Private != nil {
			secret = r.Private.Secret
		}
	}
	topic := chat.PrivateTopic(secret)
	var mu sync.Mutex
	var received []*pubsub.Message
	attacker := newTopicAttacker(t, c, 1, topic, []int{0, 1, 2}, func(_ context.Context, _ peer.ID, m *pubsub.Message) pubsub.ValidationResult {
		mu.Lock()
		received = append(received, m)
		mu.Unlock()
		return pubsub.ValidationAccept
	}, pubsub.WithMessageSignaturePolicy(pubsub.StrictSign))

	members := c.Members[:3]
	honest := map[chat.MessageID]chat.PeerID{}
	var key crypto.Key
	_, _ = rand.Read(key[:])
	for round := range 5 {
		attacker.publish(t, []byte(fmt.Sprintf("\xff\x00garbage %d", round)))
		attacker.publish(t, liveEnvelope(t, attacker.id, room, chat.KindText, fmt.Sprintf("in the clear %d", round)))
		box, err := crypto.Seal(key, liveEnvelope(t, attacker.id, room, chat.KindText, fmt.Sprintf("sealed %d", round)), nil, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		for _, epoch := range [][]byte{nil, make([]byte, 32)} {
			sealed, err := proto.Marshal(&wire.Sealed{Epoch: epoch, Box: box})
			if err != nil {
				t.Fatal(err)
			}
			attacker.publish(t, sealed)
		}
		for _, m := range members {
			msg, err := m.Chat.SendRoom(t.Context(), room, fmt.Sprintf("salary %d from n%d", round, m.Index))
			if err != nil {
				t.Fatal(err)
			}
			honest[msg.ID] = m.ID()
		}
	}
	nodetest.WaitFor(t, hostileWait, "every honest message at every member", func() bool {
		for _, m := range members {
			got := roomTexts(t, m, room)
			for id := range honest {
				if _, ok := got[id]; !ok {
					return false
				}
			}
		}
		return true
	})
	for _, m := range members {
		if got := roomTexts(t, m, room); len(got) != len(honest) {
			t.Errorf("n%d holds %d text messages, want the %d honest ones", m.Index, len(got), len(honest))
		}
	}
	if got := roomTexts(t, c.Members[3], room); len(got) != 0 {
		t.Errorf("the stranger holds %d messages of the private room", len(got))
	}
	// What the attacker saw of the members is sealed: no text in the clear.
	mu.Lock()
	defer mu.Unlock()
	fromMembers := 0
	for _, m := range received {
		if m.GetFrom() == attacker.id {
			continue
		}
		fromMembers++
		if containsText(m.Data, "salary") {
			t.Fatal("the attacker received a member's text in the clear")
		}
	}
	if fromMembers == 0 {
		t.Error("the attacker received nothing: the test shows nothing about what it can read")
	}
}

func containsText(b []byte, s string) bool {
	for i := 0; i+len(s) <= len(b); i++ {
		if string(b[i:i+len(s)]) == s {
			return true
		}
	}
	return false
}
