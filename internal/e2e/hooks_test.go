package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/api"
	"github.com/parley-chat/parley/internal/testnet"
)

// hookPair starts alice (hosting hooks on a free loopback port, with
// hookConfig added to her config) and bob, connected, both in #dev.
func hookPair(t testing.TB, hookConfig string) (alice, bob *testnet.Daemon) {
	t.Helper()
	alice, bob = testnet.NewDaemon(t, "alice"), testnet.NewDaemon(t, "bob")
	if hookConfig != "" {
		cfg := filepath.Join(alice.Home, "config.toml")
		old, err := os.ReadFile(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(cfg, append(old, hookConfig...), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	alice.Start(append([]string{"--hooks-listen", "127.0.0.1:0"}, loopbackListen...)...)
	bob.Start(loopbackListen...)
	alice.MustRun("connect", bob.Identity().Addrs[0])
	for _, d := range []*testnet.Daemon{alice, bob} {
		d.MustRun("join", "#dev")
	}
	members := func(d *testnet.Daemon) int {
		var rs []api.Room
		d.RunJSON(&rs, "rooms", "--json")
		for _, r := range rs {
			if r.Name == "dev" {
				return r.Members
			}
		}
		return -1
	}
	deadline := time.Now().Add(20 * time.Second)
	for members(alice) != 2 || members(bob) != 2 {
		if time.Now().After(deadline) {
			t.Fatal("alice and bob never saw each other in #dev")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return alice, bob
}

// createHook runs webhook create --json and returns what it printed.
func createHook(t *testing.T, d *testnet.Daemon, args ...string) api.Webhook {
	t.Helper()
	var h api.Webhook
	d.RunJSON(&h, append([]string{"webhook", "create"}, append(args, "--json")...)...)
	return h
}

// hookPost POSTs body to a hook URL and returns the status and body.
func hookPost(t testing.TB, u, contentType, body string) (int, string, http.Header) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	req.Close = true // no idle connection outlives the test
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Errorf("POST %s: %v", u, err)
		return 0, "", nil
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// appHistory is d's #dev history (history --json, as the contract says)
// of app messages.
func appHistory(t *testing.T, d *testnet.Daemon) []api.Message {
	t.Helper()
	var out []api.Message
	for _, m := range history(t, d, "#dev") {
		if m.App != "" {
			out = append(out, m)
		}
	}
	return out
}

// TestWebhookEndToEnd: a webhook made with the CLI reports a loopback
// URL; a Slack payload with attachments and blocks, and a form-encoded
// one, POSTed to alice appear in bob's history --json with "app" and the
// text rendered plain with links kept; malformed and oversized bodies get
// Slack's errors and post nothing; the CLI's exit codes hold.
func TestWebhookEndToEnd(t *testing.T) {
	alice, bob := hookPair(t, "")
	h := createHook(t, alice, "#dev", "--name", "CI")
	if !strings.HasPrefix(h.URL, "http://127.0.0.1:") || !strings.Contains(h.URL, "/hooks/") || h.Name != "CI" || h.Kind != "slack" || h.Conversation != "room:dev" {
		t.Fatalf("webhook create --json: got %+v, want a loopback URL into room:dev", h)
	}
	out := createHook(t, alice, "#dev", "--name", "relay", "--outgoing", "http://127.0.0.1:9/out", "--trigger", "deploy")
	if !strings.HasPrefix(out.Secret, "whsec_") || out.URL != "http://127.0.0.1:9/out" {
		t.Errorf("outgoing webhook: got %+v, want its URL and a whsec_ secret", out)
	}
	for _, tt := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"duplicate name", []string{"webhook", "create", "#dev", "--name", "CI"}, 1, "already exists"},
		{"room not joined", []string{"webhook", "create", "#ops", "--name", "x"}, 2, "join it first"},
		{"unknown peer", []string{"webhook", "create", "@nobody", "--name", "x"}, 2, "nobody"},
		{"no name", []string{"webhook", "create", "#dev"}, 2, "--name"},
		{"two kinds", []string{"webhook", "create", "#dev", "--name", "x", "--github", "--gitlab"}, 2, "pick one"},
		{"unknown hook", []string{"webhook", "delete", "nope"}, 1, "not found"},
		{"command without url", []string{"command", "create", "/deploy"}, 2, "--url"},
	} {
		r := alice.Run(tt.args...)
		if r.Code != tt.code || !strings.Contains(r.Stderr, tt.want) || strings.Count(strings.TrimSpace(r.Stderr), "\n") != 0 {
			t.Errorf("%s: exit %d, stderr %q; want exit %d and one line saying %q", tt.name, r.Code, r.Stderr, tt.code, tt.want)
		}
	}
	var cmd api.Command
	alice.RunJSON(&cmd, "command", "create", "/deploy", "--url", "http://127.0.0.1:9/deploy", "--json")
	var cmds []api.Command
	alice.RunJSON(&cmds, "command", "list", "--json")
	if cmd.Name != "/deploy" || cmd.Token == "" || len(cmds) != 1 || cmds[0].Name != "/deploy" {
		t.Errorf("command create/list: got %+v and %+v", cmd, cmds)
	}

	payload := `{
	  "text": "*Build 7* of <https://ci.example/b/7|parley> passed",
	  "icon_emoji": ":white_check_mark:",
	  "attachments": [{"color": "good", "title": "Test report", "title_link": "https://ci.example/b/7/tests",
	    "fields": [{"title": "Branch", "value": "main", "short": true}], "footer": "CI"}],
	  "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "_3 minutes_"}}, {"type": "divider"}]
	}`
	if code, body, _ := hookPost(t, h.URL, "application/json", payload); code != http.StatusOK || body != "ok" {
		t.Fatalf("Slack POST: got %d %q, want 200 ok", code, body)
	}
	form := url.Values{"payload": {`{"text":"form <https://x.example/f|post>"}`}}.Encode()
	if code, body, _ := hookPost(t, h.URL, "application/x-www-form-urlencoded", form); code != http.StatusOK || body != "ok" {
		t.Fatalf("form POST: got %d %q, want 200 ok", code, body)
	}
	for _, tt := range []struct {
		name, ct, body string
		code           int
		want           string
	}{
		{"malformed JSON", "application/json", `{"text": "x"`, 400, "invalid_payload"},
		{"malformed form", "application/x-www-form-urlencoded", "payload=%7B", 400, "invalid_payload"},
		{"no text", "application/json", `{"attachments":[{"color":"danger"}]}`, 400, "no_text"},
		{"oversized", "application/json", `{"text":"` + strings.Repeat("a", 1<<20) + `"}`, 413, "request_too_large"},
	} {
		if code, body, _ := hookPost(t, h.URL, tt.ct, tt.body); code != tt.code || body != tt.want {
			t.Errorf("%s: got %d %q, want %d %q", tt.name, code, body, tt.code, tt.want)
		}
	}
	if code, body, _ := hookPost(t, h.URL, "application/json", `{"text":"last"}`); code != 200 || body != "ok" {
		t.Fatalf("last POST: %d %q", code, body)
	}

	var ms []api.Message
	waitUntil(t, 30*time.Second, "the hook messages in bob's history", func() bool {
		ms = appHistory(t, bob)
		return len(ms) == 3
	})
	want := "Build 7 of parley (https://ci.example/b/7) passed\nTest report (https://ci.example/b/7/tests)\nBranch: main\nCI\n3 minutes\n――――――――――"
	if m := ms[0]; m.App != "CI" || m.Text != want || m.AppIcon != ":white_check_mark:" || m.Kind != "text" || m.From != alice.Identity().PeerID {
		t.Errorf("bob's hook message: app %q icon %q kind %q from %s text %q; want app CI from alice, text %q", m.App, m.AppIcon, m.Kind, m.From, m.Text, want)
	}
	var rich struct {
		Attachments []map[string]any `json:"attachments"`
		Blocks      []map[string]any `json:"blocks"`
	}
	if err := json.Unmarshal(ms[0].Rich, &rich); err != nil || len(rich.Attachments) != 1 || len(rich.Blocks) != 2 {
		t.Errorf("bob's rich payload %s: %v; want the attachment and both blocks", ms[0].Rich, err)
	}
	if ms[1].Text != "form post (https://x.example/f)" || ms[2].Text != "last" {
		t.Errorf("bob's other hook messages: %q, %q", ms[1].Text, ms[2].Text)
	}
	if n := len(appHistory(t, alice)); n != 3 {
		t.Errorf("alice holds %d hook messages, want 3 (the bad POSTs posted nothing)", n)
	}

	var hs []api.Webhook
	alice.RunJSON(&hs, "webhook", "list", "--json")
	if len(hs) != 2 || hs[0].URL != h.URL {
		t.Errorf("webhook list: got %+v", hs)
	}
	alice.MustRun("webhook", "delete", "CI")
	if code, body, _ := hookPost(t, h.URL, "application/json", `{"text":"gone"}`); code != 404 || body != "no_service" {
		t.Errorf("a deleted hook: got %d %q, want 404 no_service", code, body)
	}
	// Bob hosts no listener: his webhook has no URL yet, and says why.
	if r := bob.Run("webhook", "create", "#dev", "--name", "b"); r.Code != 0 || !strings.Contains(r.Stdout, "--hooks-listen") {
		t.Errorf("a webhook without a listener: exit %d, %q", r.Code, r.Stdout)
	}
}

// TestWebhookBurstLosesNothing: 1,000 POSTs from 50 callers at once; a
// caller told 429 retries after Retry-After, as Slack's callers do. Every
// message reaches the other member, each once.
func TestWebhookBurstLosesNothing(t *testing.T) {
	const total, callers = 1000, 50
	alice, bob := hookPair(t, "hooks_rate = 500\nhooks_burst = 100\nhooks_queue = 200\n")
	h := createHook(t, alice, "#dev", "--name", "burst")
	var wg sync.WaitGroup
	var mu sync.Mutex
	limited := 0
	start := time.Now()
	for c := range callers {
		wg.Go(func() {
			for i := c; i < total; i += callers {
				body := `{"text":"burst ` + strconv.Itoa(i) + `"}`
				for {
					code, _, hdr := hookPost(t, h.URL, "application/json", body)
					if code == http.StatusOK {
						break
					}
					if code != http.StatusTooManyRequests {
						t.Errorf("POST %d: %d", i, code)
						return
					}
					mu.Lock()
					limited++
					mu.Unlock()
					secs, _ := strconv.Atoi(hdr.Get("Retry-After"))
					time.Sleep(time.Duration(secs) * time.Second) // the caller's backoff, as told
				}
			}
		})
	}
	wg.Wait()
	accepted := time.Since(start)
	var ms []api.Message
	waitUntil(t, 2*time.Minute, "every burst message at bob", func() bool {
		ms = appHistory(t, bob)
		return len(ms) >= total
	})
	seen := map[string]bool{}
	for _, m := range ms {
		if seen[m.Text] {
			t.Errorf("%q twice at bob", m.Text)
		}
		seen[m.Text] = true
	}
	for i := range total {
		if !seen["burst "+strconv.Itoa(i)] {
			t.Errorf("burst %d never reached bob", i)
		}
	}
	t.Logf("%d POSTs accepted in %v (%.0f/s), %d answers 429 retried; all at bob after %v", total, accepted.Round(time.Millisecond), float64(total)/accepted.Seconds(), limited, time.Since(start).Round(time.Millisecond))
}

// TestWebhookSlackNodeClient drives a hook with Slack's official Node
// client, @slack/webhook's IncomingWebhook: its sends are answered ok and
// posted; a send to an unknown hook fails with 404 no_service.
func TestWebhookSlackNodeClient(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed: Slack's @slack/webhook client cannot run (install Node.js and npm)")
	}
	dir, err := filepath.Abs(filepath.Join("testdata", "slack-webhook"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@slack", "webhook")); err != nil {
		npm, err := exec.LookPath("npm")
		if err != nil {
			t.Skip("@slack/webhook is not installed and npm is absent: run npm ci in internal/e2e/testdata/slack-webhook")
		}
		tmp := t.TempDir()
		for _, f := range []string{"package.json", "package-lock.json", "send.js"} {
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
			t.Skipf("npm ci of @slack/webhook failed (no registry?): %v\n%s", err, out)
		}
		dir = tmp
	}
	alice, bob := hookPair(t, "")
	h := createHook(t, alice, "#dev", "--name", "deploys")
	cmd := exec.Command(node, "send.js", h.URL)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node send.js: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	want := []string{`{"ok":true,"text":"ok"}`, `{"ok":true,"text":"ok"}`}
	if len(lines) != 3 || lines[0] != want[0] || lines[1] != want[1] {
		t.Fatalf("IncomingWebhook.send answers:\n%s\nwant two ok, then the unknown hook's error", out)
	}
	var bad struct {
		OK     bool   `json:"ok"`
		Status int    `json:"status"`
		Body   string `json:"body"`
	}
	if err := json.Unmarshal([]byte(lines[2]), &bad); err != nil || bad.OK || bad.Status != 404 || bad.Body != "no_service" {
		t.Errorf("send to an unknown hook: %s; want it to fail with 404 no_service", lines[2])
	}
	var ms []api.Message
	waitUntil(t, 30*time.Second, "both Node client messages at bob", func() bool {
		ms = appHistory(t, bob)
		return len(ms) == 2
	})
	wantTexts := []string{
		"plain hello from @slack/webhook",
		"Deploy #9 (https://ci.example/d/9) finished\nChanges (https://ci.example/d/9/changes)\nEnv: prod\nDeploy finished\n――――――――――",
	}
	for i, m := range ms {
		if m.App != "deploys" || m.Text != wantTexts[i] || m.AppIcon != ":rocket:" {
			t.Errorf("message %d at bob: app %q icon %q text %q; want app deploys, :rocket:, %q", i, m.App, m.AppIcon, m.Text, wantTexts[i])
		}
	}
}
