package e2e

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/api"
	"github.com/parley-chat/parley/internal/testnet"
)

// TestKillReceiverDuringStream kills the receiving daemon with SIGKILL while
// 1,000 direct messages stream to it, then restarts it: every message the
// sender saw acknowledged must be in the receiver's history, and the outbox
// delivers the rest, each exactly once.
func TestKillReceiverDuringStream(t *testing.T) {
	const total = 1000
	a, b := testnet.NewDaemon(t, "sender"), testnet.NewDaemon(t, "receiver")
	a.Start(loopbackListen...)
	b.Start(loopbackListen...)
	aID, bID := a.Identity().PeerID, b.Identity().PeerID
	a.MustRun("connect", b.Identity().Addrs[0])

	// Count deliveries on the sender's event stream.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	delivered := map[string]bool{}
	killAt := make(chan struct{})
	streaming := make(chan struct{})
	go func() {
		defer close(streaming)
		_ = a.Client().Events(ctx, func(e api.Event) error {
			if e.Status != nil && e.Status.Status == "delivered" {
				mu.Lock()
				delivered[e.Status.ID] = true
				if len(delivered) == 200 {
					close(killAt)
				}
				mu.Unlock()
			}
			return nil
		})
	}()

	// Send 1,000 messages through the sender's API.
	sentIDs := make([]string, 0, total)
	sendDone := make(chan error, 1)
	go func() {
		cl := a.Client()
		for i := range total {
			m, err := cl.Send(ctx, bID, fmt.Sprintf("message %04d", i))
			if err != nil {
				sendDone <- err
				return
			}
			mu.Lock()
			sentIDs = append(sentIDs, m.ID)
			mu.Unlock()
		}
		sendDone <- nil
	}()
	select {
	case <-killAt:
	case <-time.After(60 * time.Second):
		t.Fatal("200 deliveries never happened")
	}
	b.Kill()
	mu.Lock()
	atKill := len(delivered)
	mu.Unlock()
	t.Logf("killed the receiver with %d of %d delivered", atKill, total)
	if err := <-sendDone; err != nil {
		t.Fatalf("send: %v", err)
	}

	// Once the sender sees the receiver gone, no acknowledgement can come:
	// snapshot what it believes is delivered.
	waitUntil(t, 20*time.Second, "sender sees the receiver down", func() bool { return !connected(t, a, bID) })
	acked := map[string]bool{}
	for _, m := range apiHistory(t, a, bID) {
		if m.Status == "delivered" {
			acked[m.ID] = true
		}
	}
	if len(acked) >= total {
		t.Fatalf("all %d delivered before the kill took effect: the test did not exercise a crash", total)
	}

	// Restart the receiver: its history must hold every acknowledged message.
	b.Start(loopbackListen...)
	got := map[string]int{}
	for _, m := range apiHistory(t, b, aID) {
		got[m.ID]++
	}
	missing := 0
	for id := range acked {
		if got[id] == 0 {
			missing++
		}
	}
	if missing > 0 {
		t.Fatalf("%d messages the sender saw acknowledged are missing from the restarted receiver", missing)
	}
	t.Logf("after restart, before redelivery: receiver holds %d, sender saw %d acknowledged", len(got), len(acked))

	// The receiver redials the sender (a known peer); the outbox drains.
	took := waitUntil(t, 60*time.Second, "all delivered after restart", func() bool {
		n := 0
		for _, m := range apiHistory(t, a, bID) {
			if m.Status == "delivered" {
				n++
			}
		}
		return n == total
	})
	t.Logf("outbox drained %v after the restart", took)
	got = map[string]int{}
	ms := apiHistory(t, b, aID)
	for _, m := range ms {
		got[m.ID]++
	}
	if len(ms) != total || len(got) != total {
		t.Fatalf("receiver history: %d entries, %d distinct; want %d of each", len(ms), len(got), total)
	}
	for _, id := range sentIDs {
		if got[id] != 1 {
			t.Errorf("message %s stored %d times at the receiver, want once", id, got[id])
		}
	}
	cancel()
	<-streaming
}
