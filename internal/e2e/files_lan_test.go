package e2e

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/testnet"
)

// TestLANFiles: four daemons in network namespaces on one bridge (they
// find each other by mDNS). One shares a 64 MiB file in a room of four;
// the other three fetch it; the sharer goes offline once one of them has
// it all, and the other two still complete, from members. Every saved
// copy has the original's SHA-256.
func TestLANFiles(t *testing.T) {
	lan := testnet.NewLAN(t, 4)
	names := []string{"ann", "ben", "cat", "dan"}
	ds := make([]*testnet.Daemon, len(names))
	ids := make([]string, len(names))
	for i, n := range names {
		ds[i] = testnet.NewDaemon(t, n, lan.Exec(i+1)...)
		// On demand, so the test decides who fetches when.
		withConfig(t, ds[i], "auto_join = []\nauto_download = \"0\"\n")
		ds[i].Start()
		ids[i] = ds[i].Identity().PeerID
	}
	waitUntil(t, 30*time.Second, "every pair connected by mDNS", func() bool { return allConnected(t, ds, ids) })
	for _, d := range ds {
		d.MustRun("join", "#builds")
	}
	waitUntil(t, 30*time.Second, "four members in #builds everywhere", func() bool {
		for _, d := range ds {
			if roomMembers(t, d, "builds") != 4 {
				return false
			}
		}
		return true
	})
	path, sum := writeRandom(t, t.TempDir(), "build.tar", 64<<20)
	ann := ds[0]
	id := share(t, ann, path, "#builds")
	for _, d := range ds[1:] {
		waitUntil(t, 30*time.Second, "the message at "+d.Name, func() bool { return len(filesOf(t, d, "#builds", id)) == 1 })
	}

	get := func(d *testnet.Daemon) (string, error) {
		r := d.Run("get", id, "--out", t.TempDir(), "--timeout", "3m")
		if r.Code != 0 {
			return "", fmt.Errorf("%s: get: exit %d: %s", d.Name, r.Code, r.Stderr)
		}
		return strings.TrimSpace(r.Stdout), nil
	}
	first, err := get(ds[1])
	if err != nil {
		t.Fatal(err)
	}
	if got := sha256File(t, first); got != sum {
		t.Fatalf("ben's copy: sha256 %s, want %s", got, sum)
	}
	ann.Stop()
	var wg sync.WaitGroup
	for _, d := range ds[2:] {
		wg.Go(func() {
			p, err := get(d)
			if err != nil {
				t.Error(err)
				return
			}
			if got := sha256File(t, p); got != sum {
				t.Errorf("%s's copy: sha256 %s, want %s", d.Name, got, sum)
			}
		})
	}
	wg.Wait()
}
