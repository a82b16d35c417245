package e2e

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/api"
	"github.com/parley-chat/parley/internal/testnet"
)

var loopbackListen = []string{"--no-mdns", "--listen", "/ip4/127.0.0.1/tcp/0", "--listen", "/ip4/127.0.0.1/udp/0/quic-v1"}

// waitUntil polls cond every few milliseconds until it holds or timeout
// passes, and returns how long it took.
func waitUntil(t *testing.T, timeout time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > timeout {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(start)
}

func history(t *testing.T, d *testnet.Daemon, with string) []api.Message {
	t.Helper()
	var ms []api.Message
	d.RunJSON(&ms, "history", with, "--json", "--limit", "10000")
	return ms
}

func apiHistory(t *testing.T, d *testnet.Daemon, with string) []api.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ms, err := d.Client().History(ctx, with, api.MaxHistoryLimit, "")
	if err != nil {
		t.Fatalf("%s: history: %v", d.Name, err)
	}
	return ms
}

func peer(ps []api.Peer, id string) (api.Peer, bool) {
	i := slices.IndexFunc(ps, func(p api.Peer) bool { return p.PeerID == id })
	if i < 0 {
		return api.Peer{}, false
	}
	return ps[i], true
}

func connected(t testing.TB, d *testnet.Daemon, id string) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ps, err := d.Client().Peers(ctx)
	if err != nil {
		t.Fatalf("%s: peers: %v", d.Name, err)
	}
	p, ok := peer(ps, id)
	return ok && p.Connected
}

func statusOf(ms []api.Message, id string) string {
	for _, m := range ms {
		if m.ID == id {
			return m.Status
		}
	}
	return ""
}

// allConnected reports whether every daemon of ds is connected to every
// other (ids[i] is ds[i]'s peer ID).
func allConnected(t testing.TB, ds []*testnet.Daemon, ids []string) bool {
	for i, d := range ds {
		for j := range ds {
			if i != j && !connected(t, d, ids[j]) {
				return false
			}
		}
	}
	return true
}
