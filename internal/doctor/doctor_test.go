package doctor

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/crypto"
	"github.com/parley-chat/parley/internal/api"
)

func TestMulticast(t *testing.T) {
	lo := Interface{Name: "lo", Up: true, Loopback: true, Multicast: false, IPv4: []string{"127.0.0.1"}}
	eth := Interface{Name: "eth0", Up: true, Multicast: true, IPv4: []string{"10.0.0.5"}}
	noMC := Interface{Name: "eth1", Up: true, IPv4: []string{"10.1.0.5"}}
	down := Interface{Name: "wlan0", Multicast: true, IPv4: []string{"10.2.0.5"}}
	noV4 := Interface{Name: "eth2", Up: true, Multicast: true}
	tests := []struct {
		name   string
		ifs    []Interface
		mdns   bool
		ok     bool
		detail string
		fix    string
	}{
		{"a good interface", []Interface{lo, eth, noMC}, true, true, "mDNS can work on eth0 (10.0.0.5); not on eth1 (no MULTICAST flag)", ""},
		{"no multicast flag", []Interface{lo, noMC, down}, true, false, "eth1 has no MULTICAST flag", "ip link set dev eth1 multicast on"},
		{"loopback only", []Interface{lo}, true, false, "mDNS cannot find anyone here", "connect this machine to a network"},
		{"down and no IPv4 do not count", []Interface{lo, down, noV4}, true, false, "mDNS cannot find anyone here", "connect this machine"},
		{"mDNS off", []Interface{lo}, false, true, "mDNS is off", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Multicast(tt.ifs, tt.mdns)
			if c.Check != "multicast" || c.OK != tt.ok || !strings.Contains(c.Detail, tt.detail) || !strings.Contains(c.Fix, tt.fix) || (c.OK && c.Fix != "") {
				t.Errorf("got %+v, want ok %v, detail with %q, fix with %q", c, tt.ok, tt.detail, tt.fix)
			}
		})
	}
}

func TestDisk(t *testing.T) {
	th := DefaultThresholds()
	const gib = 1 << 30
	tests := []struct {
		free, total uint64
		err         error
		ok          bool
	}{
		{50 * gib, 100 * gib, nil, true},
		{gib / 2, 100 * gib, nil, false}, // under 1 GiB
		{4 * gib, 100 * gib, nil, false}, // under 5%
		{2 * gib, 10 * gib, nil, true},   // 20%
		{0, 0, errors.New("boom"), false},
	}
	for _, tt := range tests {
		c := Disk("/home", tt.free, tt.total, tt.err, th)
		if c.OK != tt.ok || (!c.OK && c.Fix == "") {
			t.Errorf("free %d of %d (err %v): got %+v, want ok %v", tt.free, tt.total, tt.err, c, tt.ok)
		}
	}
	free, total, err := DiskSpace(filepath.Join(t.TempDir(), "not", "made", "yet"))
	if err != nil || total == 0 || free > total {
		t.Errorf("DiskSpace of a path not made yet: got %d of %d, %v; want its parent's", free, total, err)
	}
}

func TestExplainPeers(t *testing.T) {
	at := time.Now()
	seen := at.Add(-time.Minute)
	tests := []struct {
		reason string
		addrs  []string
		why    string
		fix    string
	}{
		{"[/ip4/127.0.0.1/tcp/1] dial tcp4 127.0.0.1:1: connect: connection refused", []string{"a"}, "nothing listens at its address", "ask them to start Parley"},
		{"[/ip4/10.0.0.9/tcp/7714] dial tcp4 10.0.0.9:7714: i/o timeout", []string{"a"}, "no answer at its address", "firewall"},
		{"dial tcp4 10.0.0.9:7714: connect: no route to host", []string{"a"}, "on no network this machine reaches", "same network"},
		{"stopped answering pings (3 missed in a row): context deadline exceeded", []string{"a"}, "went silent", "redials by itself"},
		{"failed to negotiate security protocol: peer id mismatch: expected X, but remote key matches Y", []string{"a"}, "another node answers", "current address"},
		{"connection lost", []string{"a"}, "its connection closed", "redials"},
		{"something new", []string{"a"}, "dialling it failed", "keeps redialling"},
		{"", nil, "no address known", "parley connect"},
	}
	for _, tt := range tests {
		p := api.Peer{PeerID: "12D3KooWx", Display: "bob", LastSeen: &seen, LastError: tt.reason, Addrs: tt.addrs}
		if tt.reason != "" {
			p.LastErrorAt = &at
		}
		cs := Peers([]api.Peer{p})
		if len(cs) != 2 || cs[0].Check != "peers" || cs[0].OK || cs[1].Check != "peer bob" || cs[1].OK {
			t.Fatalf("%q: got %+v, want a failing peers check and a failing peer bob", tt.reason, cs)
		}
		c := cs[1]
		if !strings.Contains(c.Detail, tt.why) || !strings.Contains(c.Detail, tt.reason) || !strings.Contains(c.Fix, tt.fix) {
			t.Errorf("%q: got %+v, want detail with %q and the reason, fix with %q", tt.reason, c, tt.why, tt.fix)
		}
	}
	cs := Peers([]api.Peer{{PeerID: "a", Display: "ann", Connected: true}})
	if len(cs) != 1 || !cs[0].OK || !strings.Contains(cs[0].Detail, "1 online: ann") {
		t.Errorf("one online peer: got %+v", cs)
	}
	if cs := Peers(nil); len(cs) != 1 || cs[0].OK {
		t.Errorf("no peers: got %+v, want one failing check", cs)
	}
}

func TestClock(t *testing.T) {
	ms := func(d time.Duration) *int64 { v := d.Milliseconds(); return &v }
	peers := []api.Peer{
		{Display: "ann", ClockSkewMs: ms(300 * time.Millisecond)},
		{Display: "ben"}, // not measured
	}
	if c := Clock(peers, 2*time.Minute); !c.OK || !strings.Contains(c.Detail, "ann's clock agrees") {
		t.Errorf("small skew: got %+v", c)
	}
	peers = append(peers, api.Peer{Display: "cat", ClockSkewMs: ms(-3 * time.Minute)})
	c := Clock(peers, 2*time.Minute)
	if c.OK || !strings.Contains(c.Detail, "cat's clock is 3m0s behind") || !strings.Contains(c.Fix, "timedatectl set-ntp true") {
		t.Errorf("3 minutes behind: got %+v", c)
	}
	if c := Clock(nil, time.Minute); !c.OK {
		t.Errorf("nothing measured: got %+v, want ok", c)
	}
}

func TestIdentity(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "identity.key")
	if c := Identity(key, "", "parley init"); c.OK || !strings.Contains(c.Fix, "parley init") {
		t.Errorf("missing: got %+v", c)
	}
	id, err := crypto.CreateIdentityFile(key, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if c := Identity(key, id.PeerID().String(), "x"); !c.OK || !strings.Contains(c.Detail, id.PeerID().String()) {
		t.Errorf("good key: got %+v", c)
	}
	if c := Identity(key, "12D3KooWsomeoneelse", "x"); c.OK || !strings.Contains(c.Detail, "the daemon runs as") {
		t.Errorf("another daemon identity: got %+v", c)
	}
	if err := os.Chmod(key, 0o644); err != nil {
		t.Fatal(err)
	}
	if c := Identity(key, "", "x"); c.OK || c.Fix != "chmod 600 "+key {
		t.Errorf("mode 0644: got %+v", c)
	}
	if err := os.Chmod(key, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if c := Identity(key, "", "x"); c.OK || !strings.Contains(c.Detail, "not a PEM") {
		t.Errorf("garbage: got %+v", c)
	}
}

func TestListen(t *testing.T) {
	// A port another program holds.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	d := api.Diagnosis{Listen: []api.ListenState{
		{Addr: "/ip4/127.0.0.1/tcp/x", Network: "tcp", Host: "127.0.0.1", Port: port},
		{Addr: "/ip4/127.0.0.1/udp/0/quic-v1", Network: "udp", Host: "127.0.0.1", Bound: []string{"/ip4/127.0.0.1/udp/4242/quic-v1"}},
	}}
	c := ListenRunning(d, 7714, PortFree)
	if c.OK || !strings.Contains(c.Detail, "is taken by another program") || !strings.Contains(c.Detail, "listening on /ip4/127.0.0.1/udp/4242/quic-v1") || !strings.Contains(c.Fix, "ss -lnp") {
		t.Errorf("taken port: got %+v", c)
	}
	d.Listen = d.Listen[1:]
	d.ListenDefault = true
	if c := ListenRunning(d, 7714, PortFree); !c.OK || !strings.Contains(c.Detail, "port 7714 was taken") {
		t.Errorf("default port moved: got %+v", c)
	}
	ports := []Port{{Network: "tcp", Host: "127.0.0.1", Port: port}}
	if c := ListenStopped(ports, false, PortFree); c.OK || !strings.Contains(c.Detail, "taken by another program") {
		t.Errorf("stopped, configured port taken: got %+v", c)
	}
	if c := ListenStopped(ports, true, PortFree); !c.OK || !strings.Contains(c.Detail, "free ports instead") {
		t.Errorf("stopped, default port taken: got %+v", c)
	}
}

func TestHooks(t *testing.T) {
	if c := Hooks("", true, DialTCP); !c.OK {
		t.Errorf("off: got %+v", c)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	wild := net.JoinHostPort("0.0.0.0", itoa(port))
	if c := Hooks(wild, true, DialTCP); !c.OK || !strings.Contains(c.Detail, "127.0.0.1:"+itoa(port)) {
		t.Errorf("listening: got %+v", c)
	}
	if c := Hooks(wild, false, DialTCP); c.OK || !strings.Contains(c.Detail, "daemon not running") {
		t.Errorf("no daemon: got %+v", c)
	}
	_ = l.Close()
	if c := Hooks(wild, true, DialTCP); c.OK || !strings.Contains(c.Detail, "nothing answers") {
		t.Errorf("closed: got %+v", c)
	}
	if c := Hooks("127.0.0.1:0", true, func(context.Context, string) error { return nil }); c.OK {
		t.Errorf("port 0: got %+v, want a failure (no bound port)", c)
	}
}

func TestOutput(t *testing.T) {
	cs := []Check{pass("a", "fine"), fail("b", "broken", "mend it")}
	var b bytes.Buffer
	if err := WriteJSON(&b, cs); err != nil {
		t.Fatal(err)
	}
	var got []map[string]any
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	want := []map[string]any{
		{"check": "a", "ok": true, "detail": "fine", "fix": ""},
		{"check": "b", "ok": false, "detail": "broken", "fix": "mend it"},
	}
	if len(got) != 2 {
		t.Fatalf("got %v", got)
	}
	for i := range want {
		if len(got[i]) != 4 {
			t.Errorf("check %d: got keys %v, want exactly check, ok, detail, fix", i, got[i])
		}
		for k, v := range want[i] {
			if got[i][k] != v {
				t.Errorf("check %d %s: got %#v, want %#v", i, k, got[i][k], v)
			}
		}
	}
	b.Reset()
	if err := WriteText(&b, cs); err != nil {
		t.Fatal(err)
	}
	if want := "ok    a: fine\nFAIL  b: broken\n      fix: mend it\n"; b.String() != want {
		t.Errorf("text: got %q, want %q", b.String(), want)
	}
	if Failed(cs) != 1 {
		t.Errorf("Failed: got %d, want 1", Failed(cs))
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
