package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/app"
	"github.com/parley-chat/parley/internal/doctor"
)

// everyCheck is what doctor always reports (plus "peer NAME" lines).
var everyCheck = []string{"daemon", "identity", "listen", "multicast", "peers", "clock", "disk", "store", "hooks"}

// doctorJSON runs doctor --json for home and checks its shape: a JSON
// list of {check, ok, detail, fix}, every check present, exit 1 exactly
// when one failed.
func doctorJSON(t *testing.T, home string) (map[string]doctor.Check, result) {
	t.Helper()
	r := parley(t.Context(), "", "--home", home, "doctor", "--json")
	var raw []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &raw); err != nil {
		t.Fatalf("doctor --json: %q: %v", r.stdout, err)
	}
	got := map[string]doctor.Check{}
	failed := false
	for _, c := range raw {
		name, _ := c["check"].(string)
		ok, isBool := c["ok"].(bool)
		detail, _ := c["detail"].(string)
		fix, isString := c["fix"].(string)
		if len(c) != 4 || name == "" || !isBool || detail == "" || !isString || (ok != (fix == "")) {
			t.Errorf("check %v: want exactly check, ok (a boolean), detail, and fix (empty exactly when ok)", c)
		}
		got[name] = doctor.Check{Check: name, OK: ok, Detail: detail, Fix: fix}
		failed = failed || !ok
	}
	for _, name := range everyCheck {
		if _, ok := got[name]; !ok {
			t.Errorf("no %q check in %s", name, r.stdout)
		}
	}
	if want := map[bool]int{true: exitFailure, false: exitOK}[failed]; r.code != want {
		t.Errorf("exit %d, want %d (a check failed: %v); stderr %q", r.code, want, failed, r.stderr)
	}
	return got, r
}

func TestDoctorWithoutDaemon(t *testing.T) {
	home := testHome(t)
	if r := parley(t.Context(), "", "--home", home, "init", "--nick", "alice"); r.code != exitOK {
		t.Fatalf("init: %s", r.stderr)
	}
	got, r := doctorJSON(t, home)
	if r.code != exitFailure {
		t.Errorf("exit %d, want 1", r.code)
	}
	if c := got["daemon"]; c.OK || !strings.Contains(c.Detail, "not running") || !strings.Contains(c.Fix, "parley --home "+home+" daemon") {
		t.Errorf("daemon: got %+v, want not running with how to start it", c)
	}
	if c := got["identity"]; !c.OK {
		t.Errorf("identity (checked here without a daemon): got %+v", c)
	}
	for _, name := range []string{"peers", "clock", "store"} {
		if c := got[name]; c.OK || !strings.Contains(c.Detail, "daemon is not running") {
			t.Errorf("%s: got %+v, want not checked because the daemon is not running", name, c)
		}
	}
	if c := got["disk"]; !strings.Contains(c.Detail, "free of") {
		t.Errorf("disk (checked here): got %+v", c)
	}
	// Text: a line per check, the fix under a failed one, one error line.
	r = parley(t.Context(), "", "--home", home, "doctor")
	if r.code != exitFailure || !strings.Contains(r.stdout, "FAIL  daemon: not running for ") || !strings.Contains(r.stdout, "      fix: start it: parley --home "+home+" daemon") {
		t.Errorf("text: exit %d, stdout %q", r.code, r.stdout)
	}
	oneLine(t, "doctor stderr", r.stderr)
}

// TestDoctorRunningDaemon: against running daemons on 127.0.0.1 doctor
// reports every check; a peer that stops is reported unreachable with the
// reason (connection refused) and what to do; the identity file's mode
// and the webhook listener are checked.
func TestDoctorRunningDaemon(t *testing.T) {
	alice, bob := testHome(t), testHome(t)
	for home, nick := range map[string]string{alice: "alice", bob: "bob"} {
		if r := parley(t.Context(), "", "--home", home, "init", "--nick", nick); r.code != exitOK {
			t.Fatalf("init: %s", r.stderr)
		}
	}
	// The daemon's webhook listener, on a port it picks: doctor dials
	// the address the daemon reports it bound.
	cfg, err := app.LoadConfig(filepath.Join(alice, "config.toml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg.HooksListen = "127.0.0.1:0"
	if err := cfg.Save(filepath.Join(alice, "config.toml")); err != nil {
		t.Fatal(err)
	}

	_, aliceID := startDaemon(t, alice)
	bobD, bobID := startDaemon(t, bob)
	addrs, _ := bobID["addrs"].([]any)
	if r := parley(t.Context(), "", "--home", alice, "connect", addrs[0].(string)); r.code != exitOK {
		t.Fatalf("connect: %s", r.stderr)
	}

	got, _ := doctorJSON(t, alice)
	for _, name := range []string{"daemon", "identity", "listen", "peers", "clock", "store", "hooks"} {
		if !got[name].OK {
			t.Errorf("%s: got %+v, want ok", name, got[name])
		}
	}
	if c := got["identity"]; !strings.Contains(c.Detail, aliceID["peer_id"].(string)) {
		t.Errorf("identity: got %+v, want the peer ID", c)
	}
	if c := got["listen"]; !strings.Contains(c.Detail, "/ip4/127.0.0.1/tcp/") {
		t.Errorf("listen: got %+v, want the bound address", c)
	}
	if c := got["multicast"]; !c.OK || !strings.Contains(c.Detail, "mDNS is off") {
		t.Errorf("multicast with --no-mdns: got %+v", c)
	}
	if c := got["peers"]; !strings.Contains(c.Detail, "1 online: bob") {
		t.Errorf("peers: got %+v", c)
	}
	if c := got["clock"]; !strings.Contains(c.Detail, "bob's clock agrees") {
		t.Errorf("clock: got %+v, want bob's clock measured", c)
	}
	if c := got["hooks"]; !strings.Contains(c.Detail, "answers at 127.0.0.1:") || strings.Contains(c.Detail, "127.0.0.1:0") {
		t.Errorf("hooks: got %+v", c)
	}

	// Bob stops: alice's doctor says why he is unreachable.
	if err := bobD.stop(); err != nil {
		t.Fatal(err)
	}
	var peer doctor.Check
	deadline := time.Now().Add(waitTimeout)
	for {
		got, _ = doctorJSON(t, alice)
		peer = got["peer bob"]
		if strings.Contains(peer.Detail, "connection refused") || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if peer.OK || !strings.Contains(peer.Detail, "nothing listens at its address") || !strings.Contains(peer.Detail, "connection refused") || !strings.Contains(peer.Fix, "start Parley") {
		t.Errorf("peer bob after he stopped: got %+v, want unreachable: connection refused, with a fix", peer)
	}
	if c := got["peers"]; c.OK || !strings.Contains(c.Detail, "0 online") {
		t.Errorf("peers after bob stopped: got %+v", c)
	}

	// The key file becomes readable by others. (A webhook listener that
	// stops answering is internal/doctor's TestHooks.)
	key := filepath.Join(alice, "identity.key")
	if err := os.Chmod(key, 0o644); err != nil {
		t.Fatal(err)
	}
	got, _ = doctorJSON(t, alice)
	if c := got["identity"]; c.OK || c.Fix != "chmod 600 "+key {
		t.Errorf("identity at mode 0644: got %+v", c)
	}
}
