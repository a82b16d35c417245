package e2e

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/testnet"
)

// TestRetentionCLI sets a room's retention with the CLI on two daemons on
// 127.0.0.1 (no mDNS): each node keeps its own setting, the config's
// retention is the default of rooms without one, rooms --json shows it,
// it survives a restart, and the room keeps working.
func TestRetentionCLI(t *testing.T) {
	const room = "dev"
	alice, bob := testnet.NewDaemon(t, "alice"), testnet.NewDaemon(t, "bob")
	// bob's node keeps room history for 30 days unless a room says otherwise.
	cfg, err := os.OpenFile(filepath.Join(bob.Home, "config.toml"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cfg.WriteString("retention = \"30d\"\n"); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Close(); err != nil {
		t.Fatal(err)
	}
	for _, d := range []*testnet.Daemon{alice, bob} {
		d.Start(loopbackListen...)
		waitLobby(t, d)
	}
	alice.MustRun("connect", bob.Identity().Addrs[0])
	for _, d := range []*testnet.Daemon{alice, bob} {
		d.MustRun("join", "#"+room)
	}

	retentions := func(d *testnet.Daemon) map[string]string {
		out := map[string]string{}
		for _, r := range rooms(t, d) {
			out[r.Name] = r.Retention
		}
		return out
	}
	for _, tc := range []struct {
		d    *testnet.Daemon
		want map[string]string
	}{
		{alice, map[string]string{room: "forever", "lobby": "forever"}},
		{bob, map[string]string{room: "30d", "lobby": "30d"}},
	} {
		if got := retentions(tc.d); !maps.Equal(got, tc.want) {
			t.Errorf("%s: rooms --json retention: got %v, want %v", tc.d.Name, got, tc.want)
		}
	}

	for _, tc := range []struct {
		d    *testnet.Daemon
		args []string
		want string
	}{
		{alice, []string{"retention", "#" + room}, "#dev keeps its history forever\n"},
		{alice, []string{"retention", "#" + room, "90d"}, "#dev keeps its history for 90d\n"},
		{bob, []string{"retention", "#" + room}, "#dev keeps its history for 30d\n"},
		{bob, []string{"retention", "#lobby", "2w"}, "#lobby keeps its history for 14d\n"},
	} {
		if got := tc.d.MustRun(tc.args...); got != tc.want {
			t.Errorf("%s: parley %q: got %q, want %q", tc.d.Name, tc.args, got, tc.want)
		}
	}
	for _, tc := range []struct {
		d    *testnet.Daemon
		want map[string]string
	}{
		{alice, map[string]string{room: "90d", "lobby": "forever"}},
		{bob, map[string]string{room: "30d", "lobby": "14d"}},
	} {
		if got := retentions(tc.d); !maps.Equal(got, tc.want) {
			t.Errorf("%s: rooms --json retention after the change: got %v, want %v", tc.d.Name, got, tc.want)
		}
	}
	for _, args := range [][]string{{"retention", "#nowhere"}, {"retention", "#nowhere", "1d"}} {
		if r := alice.Run(args...); r.Code != 1 || r.Stdout != "" {
			t.Errorf("parley %q: got exit %d, stdout %q, stderr %q; want 1 and one line", args, r.Code, r.Stdout, r.Stderr)
		}
	}
	if r := alice.Run("retention", "#"+room, "soon"); r.Code != 2 {
		t.Errorf("retention soon: got exit %d, stderr %q; want 2", r.Code, r.Stderr)
	}

	// The room still carries messages: new ones are inside any retention.
	msg := sendRoom(t, alice, room, "kept")
	waitUntil(t, 15*time.Second, "bob holds alice's message", func() bool {
		return slices.Contains(messageIDs(peekRoom(t, bob, room)), msg)
	})

	// The setting is the node's own and survives a restart.
	if code, _ := alice.Stop(); code != 0 {
		t.Fatalf("alice: exit %d after SIGTERM\n%s", code, alice.Log())
	}
	alice.Start(loopbackListen...)
	// The API answers as the node starts; the rooms open meanwhile.
	waitUntil(t, 15*time.Second, "alice's rooms open again", func() bool { return len(rooms(t, alice)) == 2 })
	if got, want := retentions(alice), map[string]string{room: "90d", "lobby": "forever"}; !maps.Equal(got, want) {
		t.Errorf("alice after a restart: got %v, want %v", got, want)
	}
	if got := alice.MustRun("retention", "#"+room, "forever"); got != "#dev keeps its history forever\n" {
		t.Errorf("retention forever: got %q", got)
	}
}
