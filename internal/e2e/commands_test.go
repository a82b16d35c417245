package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/api"
)

// slashServer is a slash command's server on loopback: it checks the
// verification token, hands on each form, and answers by the text.
func slashServer(t *testing.T, token string) (u string, forms <-chan url.Values, release func()) {
	t.Helper()
	got := make(chan url.Values, 16)
	unblock := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil || r.PostForm.Get("token") != token {
			http.Error(w, "bad token", http.StatusUnauthorized)
			return
		}
		got <- r.PostForm
		switch r.PostForm.Get("text") {
		case "prod":
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"text": "Deploying *prod*, see <https://ci.example/d/1|the run>"}`)
		case "all":
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"response_type": "in_channel", "text": "prod is live"}`)
		case "later":
		case "boom":
			http.Error(w, "boom", http.StatusInternalServerError)
		case "slow":
			select {
			case <-unblock:
			case <-r.Context().Done():
			}
		}
	}))
	var once bool
	release = func() {
		if !once {
			once = true
			close(unblock)
		}
	}
	t.Cleanup(func() {
		release()
		srv.Close()
	})
	return srv.URL, got, release
}

func nextForm(t *testing.T, forms <-chan url.Values) url.Values {
	t.Helper()
	select {
	case f := <-forms:
		return f
	case <-time.After(30 * time.Second):
		t.Fatal("the command server got no POST")
		return nil
	}
}

// TestSlashCommandsEndToEnd: with a command registered on alice's
// daemon, `parley send '#dev' '/deploy prod'` POSTs Slack's fields to the
// command and prints its ephemeral answer, which never reaches bob nor
// any history; an in_channel answer, given at once or later through
// response_url, appears in bob's history as the command's app message; a
// failing or silent command exits 1 saying why.
func TestSlashCommandsEndToEnd(t *testing.T) {
	alice, bob := hookPair(t, "")
	u, forms, release := slashServer(t, "tok3n")
	alice.MustRun("command", "create", "/deploy", "--url", u, "--token", "tok3n")

	r := alice.Run("send", "#dev", "/deploy prod")
	want := "Deploying prod, see the run (https://ci.example/d/1)"
	if r.Code != 0 || strings.TrimSpace(r.Stdout) != want {
		t.Fatalf("send /deploy prod: exit %d, stdout %q, stderr %q; want exit 0 and %q", r.Code, r.Stdout, r.Stderr, want)
	}
	f := nextForm(t, forms)
	self := alice.Identity()
	for k, v := range map[string]string{"command": "/deploy", "text": "prod", "channel_id": "room:dev", "channel_name": "dev", "user_id": self.PeerID, "user_name": self.Nick} {
		if f.Get(k) != v {
			t.Errorf("form %s: got %q, want %q", k, f.Get(k), v)
		}
	}
	if !strings.HasPrefix(f.Get("response_url"), "http://127.0.0.1:") || !strings.Contains(f.Get("response_url"), "/commands/response/") {
		t.Errorf("response_url %q: want one on alice's hooks listener", f.Get("response_url"))
	}

	if r := alice.Run("send", "#dev", "/deploy all"); r.Code != 0 || strings.TrimSpace(r.Stdout) != "prod is live" {
		t.Fatalf("send /deploy all: exit %d, stdout %q, stderr %q", r.Code, r.Stdout, r.Stderr)
	}
	nextForm(t, forms)
	if r := alice.Run("send", "#dev", "/deploy later"); r.Code != 0 || r.Stdout != "" {
		t.Fatalf("send /deploy later: exit %d, stdout %q, stderr %q; want exit 0 and nothing printed", r.Code, r.Stdout, r.Stderr)
	}
	later := nextForm(t, forms).Get("response_url")
	if code, body, _ := hookPost(t, later, "application/json", `{"response_type": "in_channel", "text": "rolled back"}`); code != 200 || body != "ok" {
		t.Fatalf("response_url: got %d %q, want 200 ok", code, body)
	}

	var ms []api.Message
	waitUntil(t, 30*time.Second, "both in_channel answers in bob's history", func() bool {
		ms = appHistory(t, bob)
		return len(ms) == 2
	})
	for i, text := range []string{"prod is live", "rolled back"} {
		if m := ms[i]; m.App != "/deploy" || m.Text != text || m.From != self.PeerID {
			t.Errorf("bob's answer %d: app %q from %s text %q; want /deploy from alice saying %q", i, m.App, m.From, m.Text, text)
		}
	}
	for who, d := range map[string]interface{ MustRun(...string) string }{"alice": alice, "bob": bob} {
		if out := d.MustRun("history", "#dev"); strings.Contains(out, "Deploying") || strings.Contains(out, "/deploy prod") {
			t.Errorf("%s's history shows the ephemeral answer or the command:\n%s", who, out)
		}
	}

	for _, tt := range []struct{ text, want string }{
		{"boom", "500"},
		{"slow", "no answer within 3s"},
	} {
		r := alice.Run("send", "#dev", "/deploy "+tt.text)
		if r.Code != 1 || !strings.Contains(r.Stderr, tt.want) || strings.Count(strings.TrimSpace(r.Stderr), "\n") != 0 {
			t.Errorf("send /deploy %s: exit %d, stderr %q; want exit 1 and one line saying %q", tt.text, r.Code, r.Stderr, tt.want)
		}
		nextForm(t, forms)
	}
	release()

	// A /word that is no registered command is sent as text.
	if r := alice.Run("send", "#dev", "/shrug ok"); r.Code != 0 || len(strings.TrimSpace(r.Stdout)) < 20 {
		t.Errorf("send /shrug ok: exit %d, stdout %q; want a message ID", r.Code, r.Stdout)
	}
	waitUntil(t, 30*time.Second, "/shrug ok in bob's history", func() bool {
		for _, m := range history(t, bob, "#dev") {
			if m.Text == "/shrug ok" {
				return true
			}
		}
		return false
	})
}

// npmPackage is the folder of a test's npm package under testdata (its
// package.json, package-lock.json and scripts), with module installed:
// as CI installs it (npm ci), or installed into a copy now; the test is
// skipped without node or npm, or when the registry cannot be reached.
func npmPackage(t *testing.T, name, module string, files ...string) (node, dir string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed: " + module + " cannot run (install Node.js and npm)")
	}
	dir, err = filepath.Abs(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", filepath.FromSlash(module))); err == nil {
		return node, dir
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		t.Skip(module + " is not installed and npm is absent: run npm ci in internal/e2e/testdata/" + name)
	}
	tmp := t.TempDir()
	for _, f := range append([]string{"package.json", "package-lock.json"}, files...) {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(tmp, f), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(npm, "ci", "--no-audit", "--no-fund")
	cmd.Dir = tmp
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Skipf("npm ci of %s failed (no registry?): %v\n%s", module, err, out)
	}
	return node, tmp
}

// TestSlashCommandBolt: a slash command written with Slack's own
// framework, Bolt (npm @slack/bolt), reads the fields alice's daemon
// POSTs as Slack's (the verification token, the user, the channel, the
// response_url), answers with ack(), which `parley send` prints, and
// posts an in_channel answer with respond() through the response_url,
// which bob gets as the command's app message.
func TestSlashCommandBolt(t *testing.T) {
	node, dir := npmPackage(t, "slack-bolt", "@slack/bolt", "command.js")
	alice, bob := hookPair(t, "")
	cmd := exec.Command(node, "command.js", "tok3n")
	cmd.Dir = dir
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan map[string]json.RawMessage, 16)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var m map[string]json.RawMessage
			if json.Unmarshal(sc.Bytes(), &m) == nil {
				lines <- m
			}
		}
	}()
	t.Cleanup(func() {
		_ = stdin.Close() // the command exits when its standard input closes
		for range lines {
		}
		if err := cmd.Wait(); err != nil {
			t.Errorf("node command.js: %v", err)
		}
	})
	next := func(key string) json.RawMessage {
		t.Helper()
		select {
		case m, ok := <-lines:
			if !ok {
				t.Fatalf("node command.js exited before printing %s", key)
			}
			if m[key] == nil {
				t.Fatalf("node command.js printed %v, want %s", m, key)
			}
			return m[key]
		case <-time.After(60 * time.Second):
			t.Fatalf("node command.js printed no %s", key)
			return nil
		}
	}
	var port int
	if err := json.Unmarshal(next("port"), &port); err != nil || port == 0 {
		t.Fatalf("port: %v", err)
	}
	alice.MustRun("command", "create", "/deploy", "--url", fmt.Sprintf("http://127.0.0.1:%d/slack/events", port), "--token", "tok3n")

	self := alice.Identity()
	r := alice.Run("send", "#dev", "/deploy prod")
	if want := "Deploying prod for @" + self.PeerID; r.Code != 0 || strings.TrimSpace(r.Stdout) != want {
		t.Fatalf("send /deploy prod: exit %d, stdout %q, stderr %q; want exit 0 and %q", r.Code, r.Stdout, r.Stderr, want)
	}
	var fields map[string]string
	if err := json.Unmarshal(next("command"), &fields); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{"token": "tok3n", "command": "/deploy", "text": "prod", "user_id": self.PeerID, "user_name": self.Nick, "channel_id": "room:dev", "channel_name": "dev", "team_id": self.PeerID} {
		if fields[k] != v {
			t.Errorf("Bolt read %s = %q, want %q", k, fields[k], v)
		}
	}
	if !strings.Contains(fields["response_url"], "/commands/response/") || fields["trigger_id"] == "" {
		t.Errorf("Bolt read response_url %q, trigger_id %q", fields["response_url"], fields["trigger_id"])
	}
	if got := string(next("respond")); got != `"ok"` {
		t.Fatalf("respond(): %s, want ok", got)
	}
	var ms []api.Message
	waitUntil(t, 30*time.Second, "Bolt's in_channel answer in bob's history", func() bool {
		ms = appHistory(t, bob)
		return len(ms) == 1
	})
	if m := ms[0]; m.App != "/deploy" || m.Text != "prod is live (deployed by "+self.Nick+")" || m.From != self.PeerID {
		t.Errorf("bob's message: app %q from %s text %q", m.App, m.From, m.Text)
	}
}

// nextEphemeral waits for the next ephemeral event on lines.
func nextEphemeral(t *testing.T, lines <-chan string) api.Event {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("the event stream ended")
			}
			var ev api.Event
			if err := json.Unmarshal([]byte(l), &ev); err != nil {
				t.Fatalf("event %q: %v", l, err)
			}
			if ev.Type == "ephemeral" {
				return ev
			}
		case <-deadline:
			t.Fatal("no ephemeral event")
		}
	}
}

// TestSlashCommandScopedTokens: a bot's send token limited to #ops runs
// a command in #ops (on the TCP API) and gets its ephemeral answers, but
// not another conversation's; it cannot run one in #dev; a read token
// runs none.
func TestSlashCommandScopedTokens(t *testing.T) {
	alice, _ := hookPair(t, "")
	alice.MustRun("join", "#ops")
	u, forms, _ := slashServer(t, "tok3n")
	alice.MustRun("command", "create", "/deploy", "--url", u, "--token", "tok3n")
	base := tcpBase(t, alice)
	bot := createToken(t, alice, "--name", "bot", "--scope", "send", "--conv", "#ops").Token
	reader := createToken(t, alice, "--name", "reader", "--scope", "read").Token
	lines, stop := openEvents(t, base, bot)
	defer stop()

	run := func(token, to string) (int, string) {
		t.Helper()
		return asToken(t, token, http.MethodPost, base+"/api/v1/messages", fmt.Sprintf(`{"to": %q, "text": "/deploy prod"}`, to))
	}
	if code, body := run(bot, "#dev"); code != http.StatusForbidden {
		t.Errorf("bot in #dev: got %d %s, want 403", code, body)
	}
	if code, body := run(reader, "#ops"); code != http.StatusForbidden {
		t.Errorf("read token: got %d %s, want 403", code, body)
	}
	code, body := run(bot, "#ops")
	var a api.CommandAnswer
	if code != http.StatusOK || json.Unmarshal([]byte(body), &a) != nil || a.Command != "/deploy" || a.ResponseType != "ephemeral" || !strings.HasPrefix(a.Text, "Deploying prod") {
		t.Fatalf("bot in #ops: got %d %s, want 200 and the ephemeral answer", code, body)
	}
	if f := nextForm(t, forms); f.Get("channel_id") != "room:ops" {
		t.Errorf("bot's invocation: channel_id %q, want room:ops", f.Get("channel_id"))
	}
	if e := nextEphemeral(t, lines); e.Conversation != "room:ops" || e.Command != "/deploy" {
		t.Errorf("bot's stream: got %+v, want #ops's answer", e)
	}

	// alice's own answer in #dev never reaches the bot's stream: the next
	// ephemeral event it gets is its own second one, in #ops.
	if r := alice.Run("send", "#dev", "/deploy prod"); r.Code != 0 {
		t.Fatalf("alice's /deploy: exit %d %s", r.Code, r.Stderr)
	}
	nextForm(t, forms)
	if code, body := run(bot, "#ops"); code != http.StatusOK {
		t.Fatalf("bot again: %d %s", code, body)
	}
	nextForm(t, forms)
	if e := nextEphemeral(t, lines); e.Conversation != "room:ops" {
		t.Errorf("bot's stream carried %+v, want only #ops's answers", e)
	}
}
