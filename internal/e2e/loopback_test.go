package e2e

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/testnet"
)

// TestCLIContract checks the interface contract of one node: init, id,
// errors and exit codes, and a clean exit on SIGTERM.
func TestCLIContract(t *testing.T) {
	a := testnet.NewDaemon(t, "alice")
	key := filepath.Join(a.Home, "identity.key")
	before, err := os.ReadFile(key)
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(key); fi.Mode().Perm() != 0o600 {
		t.Errorf("identity.key mode: got %o, want 600", fi.Mode().Perm())
	}
	if r := a.Run("init", "--nick", "other"); r.Code == 0 {
		t.Errorf("second init: exit 0, want non-zero")
	}
	if after, _ := os.ReadFile(key); !bytes.Equal(before, after) {
		t.Error("second init changed the key")
	}

	// Without a daemon: a one-line error that says what to do, exit 1.
	r := a.Run("peers", "--json")
	if r.Code != 1 || !strings.Contains(r.Stderr, "daemon") || strings.Count(strings.TrimSpace(r.Stderr), "\n") != 0 {
		t.Errorf("peers without daemon: exit %d, stderr %q; want 1 and one line about the daemon", r.Code, r.Stderr)
	}

	ready := a.Start(loopbackListen...)
	t.Logf("figure: process start to API ready: %v", ready)

	id := a.Identity()
	if id.Nick != "alice" || !strings.HasPrefix(id.PeerID, "12D3KooW") || len(id.Addrs) == 0 {
		t.Fatalf("id --json: got %+v", id)
	}
	for _, addr := range id.Addrs {
		if !strings.HasPrefix(addr, "/ip4/") || !strings.HasSuffix(addr, "/p2p/"+id.PeerID) {
			t.Errorf("address %q: want /ip4/.../p2p/%s", addr, id.PeerID)
		}
	}
	if ps := a.Peers(); len(ps) != 0 {
		t.Errorf("peers of a lone node: got %+v, want []", ps)
	}

	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unknown nick", []string{"send", "@nobody", "hi"}, 1, "unknown peer"},
		{"bad peer ID", []string{"send", "12D3KooWnotapeer", "hi"}, 1, "peer"},
		{"bad multiaddr", []string{"connect", "/ip4/999.1.1.1/tcp/1"}, 2, "multiaddr"},
		{"multiaddr without peer", []string{"connect", "/ip4/127.0.0.1/tcp/1"}, 2, "/p2p/"},
		{"unknown command", []string{"bogus"}, 2, "unknown command"},
		{"missing argument", []string{"send", "@x"}, 2, "usage"},
		{"message to self", []string{"send", id.PeerID, "hi"}, 2, "yourself"},
		{"too large", []string{"send", "12D3KooWA4ZCTR5eMwyAwGPbfxQTVk9XnYgz4PEa4b2Smxf4wHWA", strings.Repeat("x", 70000)}, 2, "too large"},
		{"bad limit", []string{"history", "@x", "--limit", "0"}, 2, "limit"},
	} {
		r := a.Run(tc.args...)
		if r.Code != tc.code || !strings.Contains(r.Stderr, tc.want) || strings.Count(strings.TrimSpace(r.Stderr), "\n") != 0 {
			t.Errorf("%s: exit %d, stderr %q; want exit %d and one line containing %q", tc.name, r.Code, r.Stderr, tc.code, tc.want)
		}
	}

	rss := a.RSS()
	t.Logf("figure: idle daemon RSS: %.1f MB", float64(rss)/(1<<20))
	code, took := a.Stop()
	if code != 0 || took > 5*time.Second {
		t.Errorf("SIGTERM: exit %d after %v, want 0 within 5s", code, took)
	}
	t.Logf("figure: SIGTERM to exit: %v", took)
}

// TestLoopbackThreeDaemons runs three daemons on 127.0.0.1 without mDNS,
// connects them by hand and sends direct messages between them.
func TestLoopbackThreeDaemons(t *testing.T) {
	ds := []*testnet.Daemon{testnet.NewDaemon(t, "alice"), testnet.NewDaemon(t, "bob"), testnet.NewDaemon(t, "carol")}
	ids := make([]string, len(ds))
	for i, d := range ds {
		d.Start(loopbackListen...)
		ids[i] = d.Identity().PeerID
	}
	// alice -> bob, bob -> carol, carol -> alice: each connect exits 0 once connected.
	for i, d := range ds {
		next := ds[(i+1)%len(ds)]
		addr := next.Identity().Addrs[0]
		out := d.MustRun("connect", addr)
		if !strings.Contains(out, ids[(i+1)%len(ds)]) {
			t.Errorf("connect output %q does not name the peer", out)
		}
	}
	for i, d := range ds {
		waitUntil(t, 15*time.Second, d.Name+" knows both peers with nicks", func() bool {
			ps := d.Peers()
			if len(ps) != 2 {
				return false
			}
			for _, p := range ps {
				if p.PeerID == ids[i] || !p.Connected || p.Nick == "" {
					return false
				}
			}
			return true
		})
	}

	// Everyone sends to everyone, by peer ID and by @nick.
	type sent struct {
		from, to int
		id, text string
	}
	var all []sent
	for i, d := range ds {
		for j := range ds {
			if i == j {
				continue
			}
			text := d.Name + " to " + ds[j].Name
			to := ids[j]
			if j == (i+1)%len(ds) {
				to = "@" + ds[j].Name
			}
			msgID := strings.TrimSpace(d.MustRun("send", to, text))
			all = append(all, sent{i, j, msgID, text})
		}
	}
	for _, s := range all {
		from, to := ds[s.from], ds[s.to]
		waitUntil(t, 15*time.Second, "delivery of "+s.text, func() bool {
			return statusOf(history(t, from, ids[s.to]), s.id) == "delivered"
		})
		got := history(t, to, ids[s.from])
		n := 0
		for _, m := range got {
			if m.ID == s.id {
				n++
				if m.From != ids[s.from] || m.Text != s.text || m.Status != "received" {
					t.Errorf("%s's copy of %q: got %+v", to.Name, s.text, m)
				}
				if _, err := time.Parse(time.RFC3339, m.SentAt); err != nil {
					t.Errorf("sent_at %q is not RFC 3339", m.SentAt)
				}
			}
		}
		if n != 1 {
			t.Errorf("%s has %q %d times, want once", to.Name, s.text, n)
		}
	}

	// Text from standard input.
	id := strings.TrimSpace(runInput(t, ds[0], "line one\nline two\n", "send", "@bob", "-"))
	waitUntil(t, 15*time.Second, "stdin message delivered", func() bool {
		return statusOf(history(t, ds[0], ids[1]), id) == "delivered"
	})
	got := history(t, ds[1], "@alice")
	if last := got[len(got)-1]; last.ID != id || last.Text != "line one\nline two" {
		t.Errorf("stdin message at bob: got %+v", last)
	}
}

func runInput(t *testing.T, d *testnet.Daemon, stdin string, args ...string) string {
	t.Helper()
	r := d.RunInput(stdin, args...)
	if r.Code != 0 {
		t.Fatalf("%s: parley %v: exit %d: %s", d.Name, args, r.Code, r.Stderr)
	}
	return r.Stdout
}
