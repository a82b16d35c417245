package e2e

import (
	"strings"
	"testing"
	"time"
)

// TestTUISlashCommands: in the terminal client attached to alice's
// daemon, "/deploy prod" (a command the client does not know, registered
// on the daemon) runs there: its ephemeral answer shows in #dev as a
// line marked only visible to you, and never reaches bob; its in_channel
// answer shows as the command's message; "/frobnicate" is still an
// unknown command and sends nothing.
func TestTUISlashCommands(t *testing.T) {
	alice, bob := hookPair(t, "")
	u, forms, _ := slashServer(t, "tok3n")
	alice.MustRun("command", "create", "/deploy", "--url", u, "--token", "tok3n")
	logs := func() string { return "alice's log:\n" + tailLines(alice.Log(), 30) }

	tm := startTUI(t, 120, 30, "--home", alice.Home)
	tm.waitText(20*time.Second, " alice · ", logs)
	tm.enter("/join #dev") // joined already: opens it
	tm.waitText(10*time.Second, "▸#dev", logs)

	tm.enter("/deploy prod")
	if f := nextForm(t, forms); f.Get("channel_id") != "room:dev" || f.Get("text") != "prod" {
		t.Errorf("the command's form: channel_id %q text %q, want room:dev and prod", f.Get("channel_id"), f.Get("text"))
	}
	s := tm.waitText(20*time.Second, "/deploy (only visible to you):", logs)
	if !strings.Contains(s, "Deploying prod, see the run") {
		t.Errorf("screen:\n%s\nwant the answer's text beside its mark", s)
	}
	tm.enter("/deploy all")
	nextForm(t, forms)
	tm.waitText(20*time.Second, "prod is live", logs)

	tm.enter("/frobnicate now")
	tm.waitText(10*time.Second, "unknown command /frobnicate: /help lists them", logs)

	waitUntil(t, 30*time.Second, "the in_channel answer in bob's history", func() bool { return len(appHistory(t, bob)) == 1 })
	for _, m := range history(t, bob, "#dev") {
		if strings.Contains(m.Text, "Deploying") || strings.Contains(m.Text, "frobnicate") || strings.HasPrefix(m.Text, "/deploy") {
			t.Errorf("bob got %q: an ephemeral answer or a command line was sent", m.Text)
		}
	}
	select {
	case f := <-forms:
		t.Errorf("the command got an unexpected POST: %v", f)
	default:
	}
	tm.keys("C-c")
	if code := tm.waitExit(10 * time.Second); code != 0 {
		t.Errorf("exit status after Ctrl+C: got %d, want 0", code)
	}
}
