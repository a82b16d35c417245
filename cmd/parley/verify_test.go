package main

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/parley-chat/parley/chat/chattest"
	"github.com/parley-chat/parley/crypto"
	"github.com/parley-chat/parley/internal/api"
)

// initDaemon initialises a home with a nickname and starts its daemon;
// it returns the home and the node's peer ID and first address.
func initDaemon(t *testing.T, nick string) (home, peerID, addr string) {
	t.Helper()
	home = testHome(t)
	if r := parley(t.Context(), "", "--home", home, "init", "--nick", nick); r.code != exitOK {
		t.Fatalf("init %s: exit %d: %s", nick, r.code, r.stderr)
	}
	_, id := startDaemon(t, home)
	peerID, _ = id["peer_id"].(string)
	addrs, _ := id["addrs"].([]any)
	if len(addrs) == 0 {
		t.Fatalf("%s: no address in %v", nick, id)
	}
	addr, _ = addrs[0].(string)
	return home, peerID, addr
}

func TestVerify(t *testing.T) {
	home, alice, _ := initDaemon(t, "alice")
	// bob is known to alice's node (she wrote to him) but not online.
	bob := randomPeer(t)
	if r := parley(t.Context(), "", "--home", home, "send", bob, "hi"); r.code != exitOK {
		t.Fatalf("send: exit %d: %s", r.code, r.stderr)
	}
	aliceID, _ := crypto.ParsePeerID(alice)
	bobID, _ := crypto.ParsePeerID(bob)
	digits, err := crypto.SafetyNumber(aliceID, bobID)
	if err != nil {
		t.Fatal(err)
	}
	number := crypto.FormatSafetyNumber(digits)

	r := parley(t.Context(), "", "--home", home, "verify", bob, "--json")
	if want := `{"peer_id":"` + bob + `","safety_number":"` + number + `","verified":false}` + "\n"; r.code != exitOK || r.stdout != want {
		t.Errorf("verify --json: got exit %d, %q (stderr %q); want %q", r.code, r.stdout, r.stderr, want)
	}

	r = parley(t.Context(), "", "--home", home, "verify", bob)
	if r.code != exitOK || !strings.Contains(r.stdout, "\n    "+number+"\n") || !strings.Contains(r.stdout, "Not verified") ||
		!strings.Contains(r.stdout, "parley --home "+home+" verify "+bob+" --confirm") {
		t.Errorf("verify: got exit %d, %q; want the number on a line of its own and how to confirm it", r.code, r.stdout)
	}
	if r.stderr != "" {
		t.Errorf("verify stderr: got %q, want nothing (no QR code when it is no terminal)", r.stderr)
	}

	r = parley(t.Context(), "", "--home", home, "verify", bob, "--confirm", "--json")
	var s api.Safety
	if err := json.Unmarshal([]byte(r.stdout), &s); r.code != exitOK || err != nil || s != (api.Safety{PeerID: bob, SafetyNumber: number, Verified: true}) {
		t.Errorf("verify --confirm --json: got exit %d, %q; want bob verified", r.code, r.stdout)
	}
	r = parley(t.Context(), "", "--home", home, "verify", bob)
	if r.code != exitOK || !strings.Contains(r.stdout, "Verified.") {
		t.Errorf("verify after --confirm: got exit %d, %q; want it verified", r.code, r.stdout)
	}
	r = parley(t.Context(), "", "--home", home, "peers")
	if want := regexp.MustCompile(`(?m)^NAME +PEER ID +STATE +LAST SEEN\n` + regexp.QuoteMeta(crypto.Short(bob)) + ` ✓ +` + bob + ` +offline `); r.code != exitOK || !want.MatchString(r.stdout) {
		t.Errorf("peers: got exit %d, %q; want bob marked ✓", r.code, r.stdout)
	}

	for _, tc := range []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"unknown nick", []string{"verify", "@nobody"}, exitFailure, "unknown peer @nobody"},
		{"never seen", []string{"verify", randomPeer(t), "--confirm"}, exitFailure, "never seen"},
		{"not a peer", []string{"verify", "xyz", "--json"}, exitFailure, "unknown peer"},
		{"oneself", []string{"verify", alice}, exitUsage, "own peer ID"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := parley(t.Context(), "", append([]string{"--home", home}, tc.args...)...)
			if r.code != tc.wantCode || r.stdout != "" {
				t.Fatalf("got exit %d, stdout %q, stderr %q; want exit %d and no output", r.code, r.stdout, r.stderr, tc.wantCode)
			}
			oneLine(t, "stderr", r.stderr)
			if !strings.Contains(r.stderr, tc.wantErr) {
				t.Errorf("stderr: got %q, want it to say %q", r.stderr, tc.wantErr)
			}
		})
	}
}

// TestSharedNickname has two peers call themselves sam: every list names
// them apart, and @sam is refused with both candidates on one line.
func TestSharedNickname(t *testing.T) {
	home, alice, _ := initDaemon(t, "alice")
	var sams, samHomes []string
	for _, nick := range []string{"sam", "Sam"} {
		samHome, id, addr := initDaemon(t, nick)
		if r := parley(t.Context(), "", "--home", home, "connect", addr); r.code != exitOK {
			t.Fatalf("connect %s: exit %d: %s", nick, r.code, r.stderr)
		}
		sams, samHomes = append(sams, id), append(samHomes, samHome)
	}
	shown := []string{"sam (" + crypto.Short(sams[0]) + ")", "Sam (" + crypto.Short(sams[1]) + ")"}
	chattest.WaitFor(t, waitTimeout, "both sams named apart", func() bool {
		r := parley(t.Context(), "", "--home", home, "peers")
		return strings.Contains(r.stdout, shown[0]+"  ") && strings.Contains(r.stdout, shown[1]+"  ")
	})

	for _, args := range [][]string{{"verify", "@sam"}, {"verify", "@SAM", "--json"}, {"send", "@sam", "hi"}, {"history", "@sam"}} {
		r := parley(t.Context(), "", append([]string{"--home", home}, args...)...)
		if r.code != exitFailure || r.stdout != "" {
			t.Errorf("%q: got exit %d, stdout %q; want %d and nothing", args, r.code, r.stdout, exitFailure)
			continue
		}
		oneLine(t, strings.Join(args, " "), r.stderr)
		for i, s := range shown {
			if !strings.Contains(r.stderr, s+" = "+sams[i]) {
				t.Errorf("%q: got %q, want it to name %q = %s", args, r.stderr, s, sams[i])
			}
		}
	}

	// By peer ID it works, and a message from one sam names him apart.
	if r := parley(t.Context(), "", "--home", home, "verify", sams[1], "--json"); r.code != exitOK {
		t.Errorf("verify by peer ID: exit %d: %s", r.code, r.stderr)
	}
	if r := parley(t.Context(), "", "--home", samHomes[0], "send", alice, "it is me"); r.code != exitOK {
		t.Fatalf("send from sam: exit %d: %s", r.code, r.stderr)
	}
	chattest.WaitFor(t, waitTimeout, "sam's message, named apart", func() bool {
		r := parley(t.Context(), "", "--home", home, "history", sams[0])
		return strings.Contains(r.stdout, "<"+shown[0]+"> it is me\n")
	})
}
