package e2e

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/testnet"
)

// TestSearchCLI drives 'parley search' against real daemons: messages
// sent and received are found with the contract's fields, newest first,
// filters narrow them, and a restart keeps the index.
func TestSearchCLI(t *testing.T) {
	alice, bob := testnet.NewDaemon(t, "alice"), testnet.NewDaemon(t, "bob")
	alice.Start(loopbackListen...)
	bob.Start(loopbackListen...)
	aliceID, bobID := alice.Identity().PeerID, bob.Identity().PeerID
	alice.MustRun("connect", bob.Identity().Addrs[0])

	first := strings.TrimSpace(alice.MustRun("send", bobID, "the deploy failed on staging"))
	second := strings.TrimSpace(alice.MustRun("send", bobID, "Deployment fixed; lunch at noon?"))
	reply := strings.TrimSpace(bob.MustRun("send", aliceID, "staging looks fine now"))
	waitUntil(t, 15*time.Second, "bob receiving alice's messages", func() bool {
		return statusOf(history(t, bob, aliceID), second) == "received"
	})
	waitUntil(t, 15*time.Second, "alice receiving bob's reply", func() bool {
		return statusOf(history(t, alice, bobID), reply) == "received"
	})

	search := func(d *testnet.Daemon, args ...string) []map[string]any {
		t.Helper()
		r := d.Run(append([]string{"search", "--json"}, args...)...)
		if r.Code != 0 {
			t.Fatalf("%s search %q: exit %d: %s", d.Name, args, r.Code, r.Stderr)
		}
		var hits []map[string]any
		if err := json.Unmarshal([]byte(r.Stdout), &hits); err != nil || hits == nil {
			t.Fatalf("%s search %q: %q is not a JSON array: %v", d.Name, args, r.Stdout, err)
		}
		return hits
	}
	ids := func(hits []map[string]any) []string {
		out := []string{}
		for _, h := range hits {
			out = append(out, h["id"].(string))
		}
		return out
	}

	hits := search(bob, "deploy")
	if len(hits) != 1 {
		t.Fatalf("bob: search deploy: got %v, want one hit", hits)
	}
	h := hits[0]
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if want := []string{"conversation", "from", "id", "sent_at", "text"}; !slices.Equal(keys, want) {
		t.Errorf("hit fields: got %v, want %v", keys, want)
	}
	if h["id"] != first || h["conversation"] != "dm:"+aliceID || h["from"] != aliceID || h["text"] != "the deploy failed on staging" {
		t.Errorf("hit: got %v, want alice's first message in the DM with her", h)
	}
	if _, err := time.Parse(time.RFC3339, h["sent_at"].(string)); err != nil {
		t.Errorf("sent_at %v is not RFC 3339", h["sent_at"])
	}

	for _, tc := range []struct {
		name string
		d    *testnet.Daemon
		args []string
		want []string
	}{
		{"prefix, newest first", bob, []string{"deplo*"}, []string{second, first}},
		{"words", alice, []string{"staging"}, []string{reply, first}},
		{"phrase", alice, []string{`"deploy failed"`}, []string{first}},
		{"from a nick", alice, []string{"staging", "--from", "@bob"}, []string{reply}},
		{"in a conversation", alice, []string{"staging", "--in", "@bob"}, []string{reply, first}},
		{"limit", alice, []string{"staging", "--limit", "1"}, []string{reply}},
		{"nothing", alice, []string{"zebra"}, []string{}},
	} {
		if got := ids(search(tc.d, tc.args...)); !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
	if r := alice.Run("search", "zebra", "--json"); r.Stdout != "[]\n" {
		t.Errorf("no match --json: got %q, want []", r.Stdout)
	}
	if r := alice.Run("search", "staging"); r.Code != 0 || !strings.Contains(r.Stdout, "<bob> staging looks fine now") {
		t.Errorf("human output: exit %d, %q; want a line naming bob with his text", r.Code, r.Stdout)
	}
	if r := alice.Run("search"); r.Code != 2 {
		t.Errorf("search without a query: exit %d, want 2", r.Code)
	}
	if r := alice.Run("search", "x", "--limit", "0"); r.Code != 2 {
		t.Errorf("search --limit 0: exit %d, want 2", r.Code)
	}

	// A restart keeps the index.
	if code, _ := bob.Stop(); code != 0 {
		t.Fatalf("bob stop: exit %d", code)
	}
	bob.Start(loopbackListen...)
	if got := ids(search(bob, "deplo*")); !slices.Equal(got, []string{second, first}) {
		t.Errorf("after restart: got %v, want %v", got, []string{second, first})
	}
}
