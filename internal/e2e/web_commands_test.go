package e2e

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestWebSlashCommands: in the web client, "/deploy prod" typed into
// the composer runs alice's registered command: its ephemeral answer
// shows as a line marked as only visible to you,
// never posted; an in_channel answer shows as the command's app
// message; an answer POSTed later to the response_url shows as well.
func TestWebSlashCommands(t *testing.T) {
	needChromium(t)
	alice, _ := hookPair(t, "")
	u, forms, _ := slashServer(t, "tok3n")
	alice.MustRun("command", "create", "/deploy", "--url", u, "--token", "tok3n")

	ctx, _ := newBrowser(t)
	link := strings.TrimSpace(alice.MustRun("open", "--no-browser"))
	do(t, ctx, 20*time.Second, "open the login link", chromedp.Navigate(link))
	clickJS(t, ctx, 15*time.Second, "open #dev", `#rooms-list [data-conv="room:dev"]`)
	waitJS(t, ctx, 10*time.Second, "#dev open", `document.getElementById('conv-title').textContent === '#dev' && !document.getElementById('composer-input').disabled`)

	say := func(text string) url.Values {
		t.Helper()
		do(t, ctx, 10*time.Second, "type "+text, chromedp.SendKeys(chromedp.ID("composer-input"), text), pressEnter)
		return nextForm(t, forms)
	}
	say("/deploy prod")
	waitJS(t, ctx, 15*time.Second, "the ephemeral answer", `(() => {
		const m = document.querySelector('#messages .message.ephemeral');
		return !!m && m.querySelector('.nick').textContent === '/deploy' && m.querySelector('.only-you').textContent === 'only visible to you' &&
			m.querySelector('.text').textContent === 'Deploying prod, see the run (https://ci.example/d/1)';
	})()`)
	if v := eval[string](t, ctx, `document.getElementById('composer-input').value`); v != "" {
		t.Errorf("composer after the command: %q, want empty", v)
	}

	say("/deploy all")
	waitJS(t, ctx, 15*time.Second, "the in_channel answer as the command's message", `[...document.querySelectorAll('#messages .message:not(.ephemeral) .text')].some(e => e.textContent === 'prod is live')`)

	responseURL := say("/deploy later").Get("response_url")
	if code, body, _ := hookPost(t, responseURL, "application/json", `{"text": "rolled back"}`); code != 200 || body != "ok" {
		t.Fatalf("response_url: got %d %q, want 200 ok", code, body)
	}
	waitJS(t, ctx, 15*time.Second, "the later ephemeral answer", `[...document.querySelectorAll('#messages .message.ephemeral .text')].some(e => e.textContent === 'rolled back')`)

	// Only in this page: not in alice's history, gone after a reload.
	if out := alice.MustRun("history", "#dev"); strings.Contains(out, "Deploying") || strings.Contains(out, "rolled back") || !strings.Contains(out, "prod is live") {
		t.Errorf("alice's history:\n%s\nwant the in_channel answer and no ephemeral one", out)
	}
	do(t, ctx, 20*time.Second, "reload", chromedp.Reload())
	clickJS(t, ctx, 15*time.Second, "open #dev again", `#rooms-list [data-conv="room:dev"]`)
	waitJS(t, ctx, 15*time.Second, "#dev loaded again without the ephemeral lines", `document.getElementById('conv-title').textContent === '#dev' &&
		[...document.querySelectorAll('#messages .message .text')].some(e => e.textContent === 'prod is live') &&
		document.querySelectorAll('#messages .message.ephemeral').length === 0`)
}
