package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/testnet"
)

// TestLANDiscoveryAndCablePull runs three daemons in network namespaces on
// one bridge. They find each other by mDNS (no connect, no bootstrap). Then
// one node's cable is pulled, it is sent a direct message, and the cable is
// plugged back: the message is delivered, once.
func TestLANDiscoveryAndCablePull(t *testing.T) {
	lan := testnet.NewLAN(t, 3)
	names := []string{"ann", "ben", "cat"}
	ds := make([]*testnet.Daemon, 3)
	ids := make([]string, 3)
	for i := range ds {
		ds[i] = testnet.NewDaemon(t, names[i], lan.Exec(i+1)...)
	}
	start := time.Now()
	for i, d := range ds {
		d.Start()
		ids[i] = d.Identity().PeerID
	}
	allConnected := func() bool {
		for i, d := range ds {
			ps := d.Peers()
			if len(ps) != 2 {
				return false
			}
			for _, p := range ps {
				if p.PeerID == ids[i] || !p.Connected || p.Connections != 1 {
					return false
				}
			}
		}
		return true
	}
	waitUntil(t, 30*time.Second, "every pair connected by mDNS, one connection each", allConnected)
	t.Logf("figure: mDNS discovery, three daemons started to every pair connected (one connection per pair): %v", time.Since(start))
	for i, d := range ds {
		for _, a := range d.Identity().Addrs {
			if strings.Contains(a, "10.77.0.") && !strings.Contains(a, lan.Addr(i+1)) {
				t.Errorf("%s advertises a foreign address %s", d.Name, a)
			}
		}
	}

	ann, cat := ds[0], ds[2]
	lan.Cut(3)
	cut := time.Now()
	waitUntil(t, 30*time.Second, "ann sees cat gone", func() bool { return !connected(t, ann, ids[2]) })
	t.Logf("figure: cable pulled to peer seen gone: %v", time.Since(cut))

	msgID := strings.TrimSpace(ann.MustRun("send", "@cat", "are you there?"))
	if st := statusOf(history(t, ann, ids[2]), msgID); st != "queued" {
		t.Errorf("status while cut off: got %q, want queued", st)
	}
	lan.Restore(3)
	restored := time.Now()
	waitUntil(t, 30*time.Second, "ann and cat reconnected", func() bool { return connected(t, ann, ids[2]) })
	t.Logf("figure: cable plugged back to reconnected: %v", time.Since(restored))
	waitUntil(t, 30*time.Second, "delivery after the cable is back", func() bool {
		return statusOf(history(t, ann, ids[2]), msgID) == "delivered"
	})
	n := 0
	for _, m := range history(t, cat, ids[0]) {
		if m.ID == msgID {
			n++
		}
	}
	if n != 1 {
		t.Errorf("cat holds the message %d times, want once", n)
	}
}

// TestLANAddressArrivesLate starts a node before its LAN address exists
// (a late DHCP lease). mDNS binds and advertises at start, so the node must
// restart it when its addresses change; then the other node finds it.
func TestLANAddressArrivesLate(t *testing.T) {
	lan := testnet.NewLAN(t, 2)
	a := testnet.NewDaemon(t, "early", lan.Exec(1)...)
	b := testnet.NewDaemon(t, "late", lan.Exec(2)...)
	lan.DelAddr(2)
	a.Start()
	b.Start()
	aID, bID := a.Identity().PeerID, b.Identity().PeerID
	for _, addr := range b.Identity().Addrs {
		if strings.Contains(addr, lan.Addr(2)) {
			t.Fatalf("late node has its LAN address before it was given: %s", addr)
		}
	}
	lan.AddAddr(2)
	given := time.Now()
	waitUntil(t, 60*time.Second, "the late node is found and connected", func() bool {
		return connected(t, a, bID) && connected(t, b, aID)
	})
	t.Logf("figure: address given to connected: %v", time.Since(given))
	waitUntil(t, 30*time.Second, "the late node restarts mDNS on its new address", func() bool {
		return strings.Contains(b.Log(), "restarting mDNS")
	})
	t.Logf("figure: address given to mDNS restarted: %v", time.Since(given))
}
