package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/api"
	"github.com/parley-chat/parley/internal/notify/notifytest"
	"github.com/parley-chat/parley/internal/testnet"
)

// TestNotifications runs two daemons; alice writes to bob while bob's CLI
// changes his notification levels and do-not-disturb. Bob's notify events
// (and, where dbus-daemon is installed, the calls to a fake notification
// server on a private session bus) show which messages notified. A
// message that must not notify is followed by one that must, from the
// same sender: the rules handle messages in the order they are stored,
// so the next notification naming the second proves the first was let
// pass silently.
func TestNotifications(t *testing.T) {
	var bus *notifytest.Server
	var prefix []string
	if _, err := exec.LookPath("dbus-daemon"); err == nil {
		addr := notifytest.StartSessionBus(t)
		bus = notifytest.Serve(t, addr)
		prefix = []string{"env", "DBUS_SESSION_BUS_ADDRESS=" + addr}
	} else {
		t.Log("dbus-daemon not installed: checking notify events only, not D-Bus")
	}
	alice := testnet.NewDaemon(t, "alice")
	bob := testnet.NewDaemon(t, "bob", prefix...)
	cfg := filepath.Join(bob.Home, "config.toml")
	b, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, append(b, []byte("notify_keywords = [\"deploy\"]\n")...), 0o600); err != nil {
		t.Fatal(err)
	}
	alice.Start(loopbackListen...)
	bob.Start(loopbackListen...)
	aliceID, bobID := alice.Identity(), bob.Identity()
	alice.MustRun("connect", bobID.Addrs[0])
	waitUntil(t, 15*time.Second, "alice and bob connected", func() bool {
		return connected(t, alice, bobID.PeerID) && connected(t, bob, aliceID.PeerID)
	})
	alice.MustRun("join", "#team")
	bob.MustRun("join", "#team")
	waitUntil(t, 15*time.Second, "both in #team", func() bool {
		return roomMembers(t, alice, "team") == 2 && roomMembers(t, bob, "team") == 2
	})

	// Bob's notify events.
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	notes := make(chan api.Event, 64)
	opened := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = bob.Client().Follow(ctx, func() { close(opened) }, func(e api.Event) error {
			if e.Type == "notify" {
				notes <- e
			}
			return nil
		})
	}()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case <-opened:
	case <-time.After(10 * time.Second):
		t.Fatal("bob's event stream did not open")
	}

	// send has alice write to, and waits until bob has it.
	send := func(to, bobsName, text string) string {
		t.Helper()
		id := strings.TrimSpace(alice.MustRun("send", to, text))
		waitUntil(t, 30*time.Second, "bob has "+text, func() bool {
			for _, m := range history(t, bob, bobsName) {
				if m.ID == id {
					return true
				}
			}
			return false
		})
		return id
	}
	// expect waits for the next notification and checks it is id's.
	expect := func(id, title, body string) {
		t.Helper()
		select {
		case e := <-notes:
			if e.ID != id || e.Title != title || e.Body != body || e.Conversation == "" {
				t.Fatalf("notify event: got %+v, want id %s, title %q, body %q", e, id, title, body)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("no notify event for %q", body)
		}
		if bus != nil {
			c := bus.Next(t, 20*time.Second)
			if c.App != "Parley" || c.Summary != title || c.Body != body {
				t.Fatalf("D-Bus notification: got %+v, want %q / %q", c, title, body)
			}
		}
	}
	dm := func(text string) string { return send("@bob", "@alice", text) }
	room := func(text string) string { return send("#team", "#team", text) }

	// The defaults: direct messages notify, room messages only with a
	// mention (here the keyword).
	expect(dm("hello bob"), "alice", "hello bob")
	room("nothing for bob")
	expect(room("the Deploy is\ndone"), "alice in #team", "the Deploy is done")

	// notify @alice none silences her direct messages.
	if out := bob.MustRun("notify", "@alice", "none"); !strings.Contains(out, "alice: none") {
		t.Errorf("notify @alice none printed %q", out)
	}
	dm("muted")
	expect(room("deploy one"), "alice in #team", "deploy one")

	// Back to all; do-not-disturb silences everything.
	bob.MustRun("notify", "@alice", "all")
	bob.MustRun("dnd", "on")
	dm("while away")
	room("deploy two")
	bob.MustRun("dnd", "off")
	expect(dm("back"), "alice", "back")

	// A room at none; at all every message notifies.
	bob.MustRun("notify", "#team", "none")
	room("deploy three")
	bob.MustRun("notify", "#team", "all")
	expect(room("plain words"), "alice in #team", "plain words")

	// dnd until a time still to come is on now.
	until := time.Now().Add(2 * time.Hour).Format("15:04")
	bob.MustRun("dnd", "until", until)
	var d api.DND
	bob.RunJSON(&d, "dnd", "--json")
	if d.Mode != "until" || !d.Active || d.Until == nil || d.Until.Local().Format("15:04") != until {
		t.Errorf("dnd until %s: got %+v", until, d)
	}
	dm("quiet please")
	bob.MustRun("dnd", "off")
	expect(dm("loud again"), "alice", "loud again")

	// Usage errors exit 2 with one line.
	for _, args := range [][]string{
		{"notify", "@alice", "loud"}, {"notify", "@alice"}, {"dnd", "until", "25:00"},
		{"dnd", "until", "7"}, {"dnd", "maybe"}, {"dnd", "on", "now"},
	} {
		r := bob.Run(args...)
		if r.Code != 2 || strings.Count(strings.TrimSpace(r.Stderr), "\n") != 0 {
			t.Errorf("parley %v: exit %d, stderr %q; want exit 2 and one line", args, r.Code, r.Stderr)
		}
	}

	// The settings survive a restart.
	bob.MustRun("dnd", "on")
	cancel()
	<-done
	if code, _ := bob.Stop(); code != 0 {
		t.Errorf("bob's daemon exited %d", code)
	}
	bob.Start(loopbackListen...)
	var s api.NotifySettings
	bob.RunJSON(&s, "notify", "--json")
	if len(s.Conversations) != 2 || s.Conversations[0].Conversation != "dm:"+aliceID.PeerID || s.Conversations[0].Level != "all" ||
		s.Conversations[1].Conversation != "room:team" || s.Conversations[1].Level != "all" {
		t.Errorf("levels after restart: got %+v", s.Conversations)
	}
	if s.DND.Mode != "on" || !s.DND.Active || len(s.Keywords) != 1 || s.Keywords[0] != "deploy" || s.Desktop != (bus != nil) {
		t.Errorf("settings after restart: got %+v", s)
	}
}
