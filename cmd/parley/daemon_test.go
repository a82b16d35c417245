package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/chat/chattest"
	"github.com/parley-chat/parley/crypto"
	"github.com/parley-chat/parley/internal/api"
)

// waitTimeout bounds every wait for something to happen.
const waitTimeout = 20 * time.Second

// safeDaemon are the daemon flags of every test: loopback only, no mDNS,
// no DHT.
var safeDaemon = []string{"daemon", "--no-mdns", "--no-dht", "--listen", "/ip4/127.0.0.1/tcp/0"}

// daemon is `parley daemon` running in a goroutine of the test.
type daemon struct {
	home   string
	stderr *syncBuffer
	cancel context.CancelFunc
	done   chan error
}

// startDaemon runs the daemon for home and waits until `id --json`
// answers; it returns that identity. The daemon is stopped when the test
// ends if the test has not stopped it.
func startDaemon(t *testing.T, home string) (*daemon, map[string]any) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	d := &daemon{home: home, stderr: &syncBuffer{}, cancel: cancel, done: make(chan error, 1)}
	go func() {
		d.done <- run(ctx, append([]string{"--home", home}, safeDaemon...), strings.NewReader(""), &syncBuffer{}, d.stderr)
	}()
	t.Cleanup(func() {
		if err := d.stop(); err != nil {
			t.Errorf("daemon: %v", err)
		}
	})

	deadline := time.Now().Add(waitTimeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		r := parley(t.Context(), "", "--home", home, "id", "--json")
		if r.code == exitOK {
			var id map[string]any
			if err := json.Unmarshal([]byte(r.stdout), &id); err != nil {
				t.Fatalf("id --json: %q: %v", r.stdout, err)
			}
			return d, id
		}
		select {
		case err := <-d.done:
			d.done <- err // for stop
			t.Fatalf("daemon exited before answering: %v; stderr:\n%s", err, d.stderr)
		case <-tick.C:
		}
		if time.Now().After(deadline) {
			t.Fatalf("daemon did not answer `id --json` within %v (last: exit %d, %q); stderr:\n%s", waitTimeout, r.code, r.stderr, d.stderr)
		}
	}
}

// stop cancels the daemon's context and returns what run returned; it is
// an error if that takes more than 5 seconds.
func (d *daemon) stop() error {
	d.cancel()
	select {
	case err := <-d.done:
		d.done <- err // later calls see the same
		return err
	case <-time.After(5 * time.Second):
		return errors.New("run did not return within 5s of cancel")
	}
}

func TestDaemonEndToEnd(t *testing.T) {
	home := testHome(t)
	initRun := parley(t.Context(), "", "--home", home, "init", "--nick", "alice")
	if initRun.code != exitOK {
		t.Fatalf("init: exit %d: %s", initRun.code, initRun.stderr)
	}
	d, id := startDaemon(t, home)

	peerID, _ := id["peer_id"].(string)
	if peerID == "" || !strings.Contains(initRun.stdout, peerID) {
		t.Errorf("peer_id: got %#v, want the one init printed (%q)", id["peer_id"], initRun.stdout)
	}
	if id["nick"] != "alice" {
		t.Errorf("nick: got %#v, want alice", id["nick"])
	}
	addrs, _ := id["addrs"].([]any)
	if len(addrs) == 0 {
		t.Errorf("addrs: got %#v, want the loopback address", id["addrs"])
	}
	for _, a := range addrs {
		s, _ := a.(string)
		if !strings.HasPrefix(s, "/ip4/127.0.0.1/tcp/") || !strings.HasSuffix(s, "/p2p/"+peerID) {
			t.Errorf("addr %#v: want /ip4/127.0.0.1/tcp/PORT/p2p/%s", a, peerID)
		}
	}
	if id["mdns"] != false || id["dht"] != "off" {
		t.Errorf("discovery: got mdns %#v, dht %#v; want false, off", id["mdns"], id["dht"])
	}

	// A peer that is not online: messages to it are queued.
	bob := randomPeer(t)

	t.Run("commands against the daemon", func(t *testing.T) {
		for _, tc := range []struct {
			name       string
			stdin      string
			args       []string
			wantCode   int
			wantStdout *regexp.Regexp
		}{
			{name: "id", args: []string{"id"}, wantCode: exitOK, wantStdout: regexp.MustCompile(`(?s)peer id: +` + peerID + `\n.*nick: +alice\n.*mDNS off, DHT off`)},
			{name: "peers json empty", args: []string{"peers", "--json"}, wantCode: exitOK, wantStdout: regexp.MustCompile(`^\[\]\n$`)},
			{name: "history json empty", args: []string{"history", bob, "--json"}, wantCode: exitOK, wantStdout: regexp.MustCompile(`^\[\]\n$`)},
			{name: "send to unknown nick", args: []string{"send", "@nobody", "hi"}, wantCode: exitFailure},
			{name: "history of unknown nick", args: []string{"history", "@nobody"}, wantCode: exitFailure},
			{name: "send to self", args: []string{"send", peerID, "hi me"}, wantCode: exitUsage},
			{name: "send empty text", args: []string{"send", bob, ""}, wantCode: exitUsage},
			{name: "send empty stdin", args: []string{"send", bob, "-"}, stdin: "\n", wantCode: exitUsage},
			{name: "connect to junk", args: []string{"connect", "junk"}, wantCode: exitUsage},
			{name: "history before a bad ID", args: []string{"history", bob, "--before", "xyz"}, wantCode: exitUsage},
			{name: "second daemon", args: safeDaemon, wantCode: exitFailure},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := parley(t.Context(), tc.stdin, append([]string{"--home", home}, tc.args...)...)
				if r.code != tc.wantCode {
					t.Fatalf("exit: got %d (stdout %q, stderr %q), want %d", r.code, r.stdout, r.stderr, tc.wantCode)
				}
				if tc.wantCode != exitOK {
					if tc.name == "second daemon" {
						// The refused daemon logs to stderr before its one-line error.
						if !strings.Contains(r.stderr, "another parley process") {
							t.Errorf("stderr: got %q, want it to mention another parley process", r.stderr)
						}
						return
					}
					oneLine(t, "stderr", r.stderr)
					return
				}
				if !tc.wantStdout.MatchString(r.stdout) {
					t.Errorf("stdout: got %q, want it to match %s", r.stdout, tc.wantStdout)
				}
			})
		}
	})

	t.Run("send and history", func(t *testing.T) {
		sent := parley(t.Context(), "hello from stdin\n\n", "--home", home, "send", bob, "-")
		if sent.code != exitOK {
			t.Fatalf("send: exit %d: %s", sent.code, sent.stderr)
		}
		msgID := strings.TrimSpace(sent.stdout)
		if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(msgID) {
			t.Fatalf("send stdout: got %q, want a message ID", sent.stdout)
		}
		second := parley(t.Context(), "", "--home", home, "send", bob, "second")
		if second.code != exitOK {
			t.Fatalf("second send: exit %d: %s", second.code, second.stderr)
		}

		r := parley(t.Context(), "", "--home", home, "history", bob, "--json")
		if r.code != exitOK {
			t.Fatalf("history: exit %d: %s", r.code, r.stderr)
		}
		var ms []api.Message
		if err := json.Unmarshal([]byte(r.stdout), &ms); err != nil {
			t.Fatalf("history --json %q: %v", r.stdout, err)
		}
		texts := make([]string, len(ms))
		for i, m := range ms {
			texts[i] = m.Text
			if m.From != peerID || m.To != bob || m.Status != "queued" {
				t.Errorf("message %d: got %+v, want queued from %s to %s", i, m, peerID, bob)
			}
		}
		if want := []string{"hello from stdin", "second"}; !slices.Equal(texts, want) {
			t.Errorf("history texts: got %q, want %q (oldest first, trailing newlines trimmed)", texts, want)
		}

		r = parley(t.Context(), "", "--home", home, "history", bob, "--limit", "1", "--json")
		if err := json.Unmarshal([]byte(r.stdout), &ms); r.code != exitOK || err != nil || len(ms) != 1 || ms[0].Text != "second" {
			t.Errorf("history --limit 1: got exit %d, %q; want the newest message only", r.code, r.stdout)
		}
		r = parley(t.Context(), "", "--home", home, "history", bob, "--before", ms[0].ID, "--json")
		if err := json.Unmarshal([]byte(r.stdout), &ms); r.code != exitOK || err != nil || len(ms) != 1 || ms[0].ID != msgID {
			t.Errorf("history --before: got exit %d, %q; want the first message only", r.code, r.stdout)
		}

		r = parley(t.Context(), "", "--home", home, "history", bob)
		if r.code != exitOK || !strings.Contains(r.stdout, "<alice (you)> hello from stdin  [queued]") {
			t.Errorf("history: got exit %d, %q; want a line for the queued message", r.code, r.stdout)
		}
		r = parley(t.Context(), "", "--home", home, "peers")
		if r.code != exitOK || !strings.Contains(r.stdout, bob) {
			t.Errorf("peers: got exit %d, %q; want the peer written to", r.code, r.stdout)
		}
	})

	t.Run("rooms and retention", func(t *testing.T) {
		// #lobby is joined as the node starts, while its API already answers.
		chattest.WaitFor(t, waitTimeout, "#lobby", func() bool {
			r := parley(t.Context(), "", "--home", home, "rooms", "--json")
			return strings.Contains(r.stdout, `"name":"lobby"`)
		})
		if r := parley(t.Context(), "", "--home", home, "join", "#dev"); r.code != exitOK || r.stdout != "joined #dev\n" {
			t.Fatalf("join: got exit %d, %q, %q; want joined #dev", r.code, r.stdout, r.stderr)
		}
		for _, tc := range []struct {
			name       string
			args       []string
			wantCode   int
			wantStdout string
			wantStderr string
		}{
			{name: "show", args: []string{"retention", "#dev"}, wantStdout: "#dev keeps its history forever\n"},
			{name: "set days", args: []string{"retention", "#dev", "90d"}, wantStdout: "#dev keeps its history for 90d\n"},
			{name: "show again", args: []string{"retention", "dev"}, wantStdout: "#dev keeps its history for 90d\n"},
			{name: "other rooms keep theirs", args: []string{"retention", "#lobby"}, wantStdout: "#lobby keeps its history forever\n"},
			{name: "set weeks", args: []string{"retention", "#lobby", "2w"}, wantStdout: "#lobby keeps its history for 14d\n"},
			{name: "set hours", args: []string{"retention", "#lobby", "36h"}, wantStdout: "#lobby keeps its history for 36h0m0s\n"},
			{name: "set forever", args: []string{"retention", "#lobby", "forever"}, wantStdout: "#lobby keeps its history forever\n"},
			{name: "show a room not joined", args: []string{"retention", "#nowhere"}, wantCode: exitFailure, wantStderr: "parley: not in #nowhere: join it first (parley --home " + home + " join '#nowhere')\n"},
			{name: "set a room not joined", args: []string{"retention", "#nowhere", "1d"}, wantCode: exitFailure, wantStderr: "parley: not in room: #nowhere (join it first)\n"},
			{name: "rooms", args: []string{"rooms"}, wantStdout: "ROOM    MEMBERS  ONLINE  UNREAD\n#dev    1        1       0\n#lobby  1        1       0\n"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := parley(t.Context(), "", append([]string{"--home", home}, tc.args...)...)
				if r.code != tc.wantCode || r.stdout != tc.wantStdout || r.stderr != tc.wantStderr {
					t.Errorf("parley %q: got exit %d, stdout %q, stderr %q; want %d, %q, %q", tc.args, r.code, r.stdout, r.stderr, tc.wantCode, tc.wantStdout, tc.wantStderr)
				}
			})
		}

		r := parley(t.Context(), "", "--home", home, "retention", "#dev", "--json")
		var room api.Room
		if err := json.Unmarshal([]byte(r.stdout), &room); r.code != exitOK || err != nil || room.Name != "dev" || room.Retention != "90d" || strings.Count(r.stdout, "\n") != 1 {
			t.Errorf("retention --json: got exit %d, %q; want one JSON line for #dev with retention 90d", r.code, r.stdout)
		}
		r = parley(t.Context(), "", "--home", home, "retention", "#dev", "7d", "--json")
		if err := json.Unmarshal([]byte(r.stdout), &room); r.code != exitOK || err != nil || room.Retention != "7d" {
			t.Errorf("retention 7d --json: got exit %d, %q; want #dev with retention 7d", r.code, r.stdout)
		}
		r = parley(t.Context(), "", "--home", home, "rooms", "--json")
		var rooms []api.Room
		if err := json.Unmarshal([]byte(r.stdout), &rooms); r.code != exitOK || err != nil || len(rooms) != 2 ||
			rooms[0].Name != "dev" || rooms[0].Retention != "7d" || rooms[1].Name != "lobby" || rooms[1].Retention != "forever" {
			t.Errorf("rooms --json: got exit %d, %q; want #dev kept 7d and #lobby forever", r.code, r.stdout)
		}
	})

	t.Run("tail", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		var stdout, stderr syncBuffer
		tailed := make(chan error, 1)
		go func() {
			tailed <- run(ctx, []string{"--home", home, "tail", "--json"}, strings.NewReader(""), &stdout, &stderr)
		}()
		// tail subscribes at some point after it starts; send until one of
		// the messages shows up.
		deadline := time.Now().Add(waitTimeout)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for !strings.Contains(stdout.String(), `"text":"tailed"`) {
			if time.Now().After(deadline) {
				t.Fatalf("tail printed no message within %v: stdout %q, stderr %q", waitTimeout, stdout.String(), stderr.String())
			}
			if r := parley(t.Context(), "", "--home", home, "send", bob, "tailed"); r.code != exitOK {
				t.Fatalf("send: exit %d: %s", r.code, r.stderr)
			}
			<-tick.C
		}
		line, _, _ := strings.Cut(stdout.String(), "\n")
		var e api.Event
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("tail --json line %q: %v", line, err)
		}
		cancel()
		select {
		case err := <-tailed:
			if err != nil {
				t.Errorf("tail after cancel: got %v, want nil", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("tail did not return within 5s of cancel")
		}
	})

	if err := d.stop(); err != nil {
		t.Fatalf("daemon: got %v, want nil", err)
	}
	if !strings.Contains(d.stderr.String(), "stopped") {
		t.Errorf("daemon stderr: got %q, want it to log that it stopped", d.stderr.String())
	}
	if _, err := os.Stat(filepath.Join(home, "api.sock")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("API socket after the daemon stopped: got %v, want it removed", err)
	}
	if r := parley(t.Context(), "", "--home", home, "peers"); r.code != exitFailure || !strings.Contains(r.stderr, "daemon") {
		t.Errorf("peers after the daemon stopped: got exit %d, %q; want 1 naming the daemon", r.code, r.stderr)
	}
}

func TestDaemonFirstStartCreatesIdentity(t *testing.T) {
	home := testHome(t)
	d, id := startDaemon(t, home)
	fi, err := os.Stat(filepath.Join(home, "identity.key"))
	if err != nil {
		t.Fatalf("identity.key after the first start: %v", err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("identity.key mode: got %v, want 0600", fi.Mode().Perm())
	}
	nick, _ := id["nick"].(string)
	if err := chat.ValidateNick(nick); err != nil {
		t.Errorf("default nick: %v", err)
	}
	if !strings.Contains(d.stderr.String(), "created a new identity") {
		t.Errorf("daemon stderr: got %q, want it to say it created an identity", d.stderr.String())
	}
	if err := d.stop(); err != nil {
		t.Fatalf("daemon: got %v, want nil", err)
	}
	// init now refuses: the identity exists.
	if r := parley(t.Context(), "", "--home", home, "init", "--nick", "alice"); r.code != exitFailure {
		t.Errorf("init after the first start: got exit %d (%q), want %d", r.code, r.stderr, exitFailure)
	}
}

func randomPeer(t *testing.T) string {
	t.Helper()
	id, err := crypto.NewIdentity(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return id.PeerID().String()
}
