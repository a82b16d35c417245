package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/parley-chat/parley/internal/api"
	"github.com/parley-chat/parley/internal/testnet"
)

// openRoomWeb opens d's web client in tab ctx with a one-time login link,
// opens #room and returns the client's origin.
func openRoomWeb(t *testing.T, ctx context.Context, d *testnet.Daemon, room string) string {
	t.Helper()
	link := strings.TrimSpace(d.MustRun("open", "--no-browser"))
	base, _, ok := strings.Cut(link, "/login?")
	if !ok {
		t.Fatalf("%s: parley open --no-browser printed %q", d.Name, link)
	}
	sel := fmt.Sprintf(`#rooms-list [data-conv="room:%s"]`, room)
	do(t, ctx, 20*time.Second, d.Name+": open the login link", chromedp.Navigate(link))
	do(t, ctx, 15*time.Second, d.Name+": the sidebar lists #"+room, chromedp.WaitVisible(chromedp.CSS(sel)))
	clickJS(t, ctx, 10*time.Second, d.Name+": open #"+room, sel)
	waitJS(t, ctx, 10*time.Second, d.Name+": #"+room+" open", fmt.Sprintf(`document.getElementById('conv-title').textContent === %q`, "#"+room))
	return base
}

// slackRich is a Slack payload with what a CI tool sends: mrkdwn text
// (bold, italic, strike, code, a link, a quote, a list, a code block),
// an attachment with a hex color, author, title, fields and a footer, one
// with a named color, and a block layout.
const slackRich = `{
  "text": "*Build 42* passed on <https://ci.example/b/42|main> _today_ ~flaky~ ` + "`make test`" + `\n> all green\n• unit\n• e2e\n` + "```go test ./...```" + `",
  "icon_emoji": ":rocket:",
  "username": "not-the-hook",
  "attachments": [
    {"color": "#36a64f", "pretext": "Deploy report", "author_name": "ci-bot", "author_link": "https://ci.example/bot",
     "title": "Release v1.2", "title_link": "https://ci.example/r/12", "text": "Shipped *everything*",
     "fields": [{"title": "Branch", "value": "main", "short": true}, {"title": "Duration", "value": "3m", "short": true},
                {"title": "Notes", "value": "_no_ regressions", "short": false}],
     "footer": "CI", "ts": 1700000000},
    {"color": "danger", "text": "one job was retried"}
  ],
  "blocks": [
    {"type": "header", "text": {"type": "plain_text", "text": "Weekly summary"}},
    {"type": "section", "text": {"type": "mrkdwn", "text": "See <https://ci.example/w|the dashboard>"},
     "fields": [{"type": "mrkdwn", "text": "*Passed*\n120"}, {"type": "mrkdwn", "text": "*Failed*\n0"}]},
    {"type": "context", "elements": [{"type": "mrkdwn", "text": "by _ci-bot_"}]},
    {"type": "divider"},
    {"type": "image", "image_url": "https://img.example/chart.png", "alt_text": "build chart"}
  ]
}`

// slackHostile tries markup and script everywhere a payload has text,
// links that are not http(s), a color that is CSS, and remote pictures.
const slackHostile = `{
  "text": "&lt;script&gt;window.pwned=1&lt;/script&gt; &lt;img src=x onerror=\"window.pwned=1\"&gt; <javascript:window.pwned=1|click me>",
  "icon_url": "https://track.example/icon.png",
  "attachments": [
    {"color": "red; background: url(https://track.example/bg.png)", "title": "&lt;img src=x onerror=alert(1)&gt;",
     "title_link": "javascript:alert(1)", "author_name": "<b>bold</b>", "author_link": "data:text/html,<script>alert(1)</script>",
     "text": "&lt;iframe src=https://track.example/&gt;&lt;/iframe&gt;",
     "fields": [{"title": "<b onmouseover=alert(1)>f</b>", "value": "&lt;svg onload=alert(1)&gt;", "short": true}],
     "image_url": "https://track.example/pic.png", "footer": "&lt;a href=javascript:alert(1)&gt;x&lt;/a&gt;"}
  ],
  "blocks": [
    {"type": "header", "text": {"type": "plain_text", "text": "<script>window.pwned=1</script>"}},
    {"type": "image", "image_url": "javascript:alert(1)", "alt_text": "x"},
    {"type": "section", "text": {"type": "plain_text", "text": "<img src=x onerror=alert(1)>"},
     "accessory": {"type": "button", "text": {"type": "plain_text", "text": "go"}, "url": "vbscript:msgbox(1)"}}
  ]
}`

// inertChecks is a JavaScript expression: message li holds no element a
// payload could have smuggled in, and every link in it is http(s) or
// mailto and opens apart from the client.
const inertChecks = `((li) => {
  if (!li) return 'no message';
  const bad = li.querySelector('script, img, iframe, svg, object, embed, b, [onerror], [onload], [onmouseover], [style*="url"]');
  if (bad) return 'found ' + bad.outerHTML;
  for (const a of li.querySelectorAll('a')) {
    if (!/^(https?:|mailto:)/i.test(a.getAttribute('href'))) return 'link ' + a.getAttribute('href');
    if (a.target !== '_blank' || a.rel !== 'noopener noreferrer') return 'link without target/rel ' + a.href;
  }
  if (window.pwned !== undefined) return 'a payload script ran';
  return 'ok';
})`

// TestWebAppMessages: Slack payloads POSTed to a real hook URL of alice's
// daemon show in bob's web client formatted: the app's name with its APP
// badge and icon, mrkdwn as elements (bold, italic, strike, code, a quote,
// a list, a code block), a link that opens apart from the client, the
// attachments as cards whose side bar has the attachment's color, fields
// two to a row, and the block layout; a hostile payload stays inert text,
// and nothing it names is fetched.
func TestWebAppMessages(t *testing.T) {
	needChromium(t)
	alice, bob := hookPair(t, "")
	h := createHook(t, alice, "#dev", "--name", "CI")

	ctx, blog := newBrowser(t)
	base := openRoomWeb(t, ctx, bob, "dev")

	for _, body := range []string{slackRich, slackHostile} {
		if code, answer, _ := hookPost(t, h.URL, "application/json", body); code != http.StatusOK || answer != "ok" {
			t.Fatalf("POST to the hook: got %d %q, want 200 ok", code, answer)
		}
	}
	var ms []api.Message
	waitUntil(t, 20*time.Second, "both app messages at bob", func() bool {
		ms = appHistory(t, bob)
		return len(ms) == 2
	})
	rich, hostile := inRoom(ms[0].ID), inRoom(ms[1].ID)
	if !strings.HasPrefix(ms[0].Text, "Build 42 passed") {
		rich, hostile = hostile, rich
	}
	waitJS(t, ctx, 15*time.Second, "both app messages in bob's page", fmt.Sprintf(`!!document.querySelector(%q) && !!document.querySelector(%q)`, rich+" .rich", hostile+" .rich"))

	// The author: the app's name, its icon, the APP badge.
	q := func(sel string) string { return fmt.Sprintf(`document.querySelector(%q)`, sel) }
	for what, cond := range map[string]string{
		"the app's name":      q(rich+" .nick .app-name") + `.textContent === 'CI'`,
		"the APP badge":       q(rich+" .nick .app-badge") + `.textContent === 'APP'`,
		"the rocket icon":     q(rich+" .nick .app-icon") + `.textContent === '🚀'`,
		"bold":                q(rich+" .rich > .rich-text strong") + `.textContent === 'Build 42'`,
		"italic":              q(rich+" .rich > .rich-text em") + `.textContent === 'today'`,
		"strike":              q(rich+" .rich > .rich-text s") + `.textContent === 'flaky'`,
		"inline code":         q(rich+" .rich > .rich-text code") + `.textContent === 'make test'`,
		"the quote":           q(rich+" .rich blockquote") + `.textContent === 'all green'`,
		"the list":            `[...document.querySelectorAll(` + fmt.Sprintf("%q", rich+" .rich ul li") + `)].map(e => e.textContent).join('|') === 'unit|e2e'`,
		"the code block":      q(rich+" .rich pre code") + `.textContent === 'go test ./...'`,
		"the link":            `(() => { const a = ` + q(rich+` .rich > .rich-text a`) + `; return a.getAttribute('href') === 'https://ci.example/b/42' && a.target === '_blank' && a.rel === 'noopener noreferrer' && a.textContent === 'main'; })()`,
		"the pretext":         q(rich+" .attachment .att-pretext") + `.textContent === 'Deploy report'`,
		"the author, linked":  q(rich+" .att-author a") + `.getAttribute('href') === 'https://ci.example/bot'`,
		"the title, linked":   `(() => { const a = ` + q(rich+" .att-title a") + `; return a.textContent === 'Release v1.2' && a.getAttribute('href') === 'https://ci.example/r/12'; })()`,
		"the attachment text": q(rich+" .att-text strong") + `.textContent === 'everything'`,
		"the footer and time": `(() => { const f = ` + q(rich+" .att-footer") + `; return f.textContent.startsWith('CI · ') && f.querySelector('time').getAttribute('datetime') === '2023-11-14T22:13:20.000Z'; })()`,
		"the header block":    q(rich+" .blk-header") + `.textContent === 'Weekly summary'`,
		"the section fields":  `[...document.querySelectorAll(` + fmt.Sprintf("%q", rich+" .blk-section .rich-field") + `)].map(e => e.textContent).join('|') === 'Passed120|Failed0'`,
		"the context":         q(rich+" .blk-context em") + `.textContent === 'ci-bot'`,
		"the divider":         `!!` + q(rich+" .blk-divider"),
		"the image as a link": `(() => { const a = ` + q(rich+" .blk-image a") + `; return a.getAttribute('href') === 'https://img.example/chart.png' && a.textContent.includes('build chart'); })()`,
		// The side bars: the hex color as given, "danger" as Slack's red.
		"the green side bar": `getComputedStyle(document.querySelectorAll(` + fmt.Sprintf("%q", rich+" .att-card") + `)[0]).borderLeftColor === 'rgb(54, 166, 79)'`,
		"the red side bar":   `getComputedStyle(document.querySelectorAll(` + fmt.Sprintf("%q", rich+" .att-card") + `)[1]).borderLeftColor === 'rgb(224, 30, 90)'`,
		// Fields: the two short ones side by side, the long one below, as wide as both.
		"the fields' layout": `(() => {
			const fs = [...document.querySelectorAll(` + fmt.Sprintf("%q", rich+" .att-card .rich-field") + `)];
			if (fs.map(f => f.querySelector('.rich-field-title').textContent).join('|') !== 'Branch|Duration|Notes') return false;
			const [a, b, c] = fs.map(f => f.getBoundingClientRect());
			return a.top === b.top && b.left > a.right && c.top >= a.bottom && c.width > a.width + b.width;
		})()`,
	} {
		if !eval[bool](t, ctx, `(() => { try { return `+cond+`; } catch (e) { return false; } })()`) {
			t.Errorf("bob's page: %s: want %s", what, cond)
		}
	}
	eval[bool](t, ctx, q(rich)+`.scrollIntoView({block: "start"}) || true`)
	screenshot(t, ctx, "web-app-messages.png")

	// The hostile payload: its markup shows as text, nothing runs, no link
	// but http(s), no color but the default.
	if got := eval[string](t, ctx, inertChecks+`(`+q(hostile)+`)`); got != "ok" {
		t.Errorf("the hostile payload is not inert: %s", got)
	}
	for _, want := range []string{`<script>window.pwned=1</script> <img src=x onerror="window.pwned=1"> click me`, "<img src=x onerror=alert(1)>", "<iframe src=https://track.example/></iframe>", "<svg onload=alert(1)>"} {
		if !eval[bool](t, ctx, fmt.Sprintf(`%s.textContent.includes(%q)`, q(hostile+" .rich"), want)) {
			t.Errorf("the hostile payload's text %q is not shown as text: %q", want, eval[string](t, ctx, q(hostile+" .rich")+".textContent"))
		}
	}
	if got := eval[string](t, ctx, `(() => { const c = `+q(hostile+" .att-card")+`; return (c.dataset.color || '') + '|' + getComputedStyle(c).borderLeftColor + '|' + c.getAttribute('style'); })()`); got != "|rgb(198, 203, 214)|null" {
		t.Errorf("the hostile color: got %s, want no color, the default side bar, no style", got)
	}
	if eval[bool](t, ctx, `!!`+q(hostile+" .nick .app-icon")) {
		t.Error("an icon_url is shown as an icon: want none (never loaded)")
	}

	// The client's own checks, with a payload no daemon would send (a peer
	// can forge one): links other than http(s) and mailto, a color that
	// is not one, markup in every text.
	forged := `(() => {
		const n = ParleyRich.bodyNode({ app: 'x', rich: {
			text: '<javascript:alert(1)|a> <data:text/html,x|b> <https://ok.example/|c>',
			attachments: [{ title: 't', title_link: 'javascript:alert(1)', author_name: 'n', author_link: 'data:text/html,x',
				color: '#12345g', image_url: 'javascript:x', text: '<b>x</b>', fields: [{ title: '<i>', value: 'v', short: 'yes' }], ts: 'soon' }],
			blocks: [{ type: 'image', image_url: 'JaVaScRiPt:alert(1)', alt_text: 'i' },
				{ type: 'section', text: { type: 'plain_text', text: '<script>x</script>' }, accessory: { type: 'button', text: { type: 'plain_text', text: 'b' }, url: ' javascript:x' } },
				{ type: 'context', elements: [{ type: 'image', image_url: 'https://pic.example/x.png', alt_text: 'alt' }] },
				{ type: 'unknown', text: { type: 'mrkdwn', text: 'skipped' } }],
		} });
		const li = document.createElement('li');
		li.append(n);
		const hrefs = [...li.querySelectorAll('a')].map(a => a.getAttribute('href')).join(' ');
		return ` + inertChecks + `(li) + ' ' + hrefs + ' ' + li.querySelectorAll('[style]').length + ' ' + li.querySelectorAll('.rich-field.short, time').length + ' ' + li.textContent.includes('skipped');
	})()`
	if got := eval[string](t, ctx, forged); got != "ok https://ok.example/ https://pic.example/x.png 0 0 false" {
		t.Errorf("a forged payload: got %q, want only the https links, no style, no short field or time, no unknown block", got)
	}

	// Privacy: nothing the payloads named was fetched (icon_url, image
	// blocks, attachment images): every request went to bob's daemon.
	requests, _ := blog.snapshot()
	for _, r := range requests {
		if !strings.HasPrefix(r, base+"/") && !strings.HasPrefix(r, "data:") {
			t.Errorf("the browser requested %s: want only %s", r, base)
		}
	}
	if errs := pageErrors(blog); len(errs) > 0 {
		t.Errorf("errors in bob's page:\n%s", strings.Join(errs, "\n"))
	}
}

// setSelect picks value in the select id, as a person's pick leaves it.
func setSelect(t *testing.T, ctx context.Context, id, value string) {
	t.Helper()
	if !eval[bool](t, ctx, fmt.Sprintf(`(() => { const e = document.getElementById(%q); if (![...e.options].some(o => o.value === %q)) return false; e.value = %q; e.dispatchEvent(new Event('change')); return true; })()`, id, value, value)) {
		t.Fatalf("browser: #%s has no option %q", id, value)
	}
}

// confirmYes answers the page's confirmation dialog with its OK button.
func confirmYes(t *testing.T, ctx context.Context, what string) {
	t.Helper()
	waitJS(t, ctx, 10*time.Second, what+": the confirmation", `document.getElementById('confirm-dialog').open`)
	clickJS(t, ctx, 10*time.Second, what+": OK", `#confirm-ok`)
	waitJS(t, ctx, 10*time.Second, what+": the confirmation closed", `!document.getElementById('confirm-dialog').open`)
}

// TestWebIntegrations drives the Integrations panel of alice's web client
// against her daemon (hooks listener on a free loopback port): a webhook
// made in the panel shows its URL once, is listed there and by the CLI,
// and posts into #dev when POSTed to; a name in use is refused inline; an
// outgoing webhook's failing deliveries are listed; a webhook deleted
// after confirmation no longer answers; a slash command is made, listed
// and deleted; a token made in the panel (read scope, #dev only) is shown
// once, listed there and by the CLI, works on the TCP API, and once
// revoked in the panel is refused.
func TestWebIntegrations(t *testing.T) {
	needChromium(t)
	alice := testnet.NewDaemon(t, "alice")
	alice.Start(append([]string{"--hooks-listen", "127.0.0.1:0"}, loopbackListen...)...)
	alice.MustRun("join", "#dev")
	ctx, blog := newBrowser(t)
	base := openRoomWeb(t, ctx, alice, "dev")

	clickJS(t, ctx, 10*time.Second, "the Integrations button", `#integrations-button`)
	waitJS(t, ctx, 10*time.Second, "the panel, webhooks first", `document.getElementById('integrations-dialog').open && !document.getElementById('integ-webhooks').hidden && !!document.querySelector('#webhooks-list .empty')`)

	// An incoming webhook into #dev.
	setSelect(t, ctx, "webhook-conv", "#dev")
	setValue(t, ctx, "webhook-name", "deploybot")
	setSelect(t, ctx, "webhook-kind", "slack")
	clickJS(t, ctx, 10*time.Second, "Create webhook", `#webhook-create`)
	waitJS(t, ctx, 15*time.Second, "the new webhook's URL, shown once", `!document.getElementById('webhook-created').hidden && document.getElementById('webhook-created-url').value.startsWith('http://127.0.0.1:') && document.getElementById('webhook-created-secret-row').hidden`)
	hookURL := eval[string](t, ctx, `document.getElementById('webhook-created-url').value`)
	waitJS(t, ctx, 10*time.Second, "deploybot listed with its URL", fmt.Sprintf(
		`(() => { const li = document.querySelector('#webhooks-list li[data-name="deploybot"]'); return !!li && li.querySelector('.integ-conv').textContent === '#dev' && li.querySelector('.copy-value').value === %q; })()`, hookURL))
	var listed []api.Webhook
	alice.RunJSON(&listed, "webhook", "list", "--json")
	if len(listed) != 1 || listed[0].Name != "deploybot" || listed[0].URL != hookURL || listed[0].Conversation != "room:dev" || listed[0].Kind != "slack" {
		t.Fatalf("webhook list --json: got %+v, want deploybot into room:dev at %s", listed, hookURL)
	}
	if code, answer, _ := hookPost(t, hookURL, "application/json", `{"text": "*deployed* from the panel's hook"}`); code != http.StatusOK || answer != "ok" {
		t.Fatalf("POST to the panel's webhook: got %d %q, want 200 ok", code, answer)
	}
	waitJS(t, ctx, 15*time.Second, "its message in #dev, as the app", `[...document.querySelectorAll('#messages .message.app')].some(li => li.querySelector('.app-name').textContent === 'deploybot' && li.querySelector('.rich strong')?.textContent === 'deployed')`)

	// The same name again: the API's refusal, inline.
	setValue(t, ctx, "webhook-name", "deploybot")
	clickJS(t, ctx, 10*time.Second, "Create webhook again", `#webhook-create`)
	waitJS(t, ctx, 10*time.Second, "the refusal under the form", `(() => { const e = document.getElementById('webhook-error'); return !e.hidden && /exists|in use/i.test(e.textContent); })()`)

	// An outgoing webhook to a receiver that fails: its deliveries say so.
	var hits atomic.Int32
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
	}))
	t.Cleanup(receiver.Close)
	setSelect(t, ctx, "webhook-kind", "outgoing")
	waitJS(t, ctx, 5*time.Second, "the outgoing fields", `!document.getElementById('webhook-url').hidden && document.getElementById('webhook-secret').hidden`)
	setValue(t, ctx, "webhook-name", "relay")
	setValue(t, ctx, "webhook-url", receiver.URL+"/hook")
	setValue(t, ctx, "webhook-triggers", "deploy, ship")
	clickJS(t, ctx, 10*time.Second, "Create the outgoing webhook", `#webhook-create`)
	waitJS(t, ctx, 15*time.Second, "its whsec_ secret, shown once", `document.getElementById('webhook-error').hidden && !document.getElementById('webhook-created').hidden && document.getElementById('webhook-created-secret').value.startsWith('whsec_')`)
	waitJS(t, ctx, 10*time.Second, "relay listed with its triggers", `document.querySelector('#webhooks-list li[data-name="relay"]')?.textContent.includes('triggers: deploy, ship')`)
	sendRoom(t, alice, "dev", "deploy the release now")
	waitUntil(t, 20*time.Second, "the receiver asked", func() bool { return hits.Load() > 0 })
	clickJS(t, ctx, 10*time.Second, "Deliveries of relay", `#webhooks-list li[data-name="relay"] .deliveries-button`)
	waitJS(t, ctx, 20*time.Second, "a failed attempt in the deliveries", `(() => {
		const row = document.querySelector('#deliveries-body tr[data-status]');
		if (!row) { document.getElementById('deliveries-refresh').click(); return false; }
		const c = row.querySelectorAll('td');
		return row.dataset.status === 'pending' && Number(c[2].textContent) >= 1 && c[3].textContent.includes('503') && c[4].textContent !== '';
	})()`)

	screenshot(t, ctx, "web-integrations.png")

	// Delete deploybot, after the confirmation: gone from the list, and
	// its URL no longer posts.
	clickJS(t, ctx, 10*time.Second, "Delete deploybot", `#webhooks-list li[data-name="deploybot"] .delete`)
	confirmYes(t, ctx, "delete deploybot")
	waitJS(t, ctx, 10*time.Second, "deploybot gone from the list", `!document.querySelector('#webhooks-list li[data-name="deploybot"]') && !!document.querySelector('#webhooks-list li[data-name="relay"]')`)
	if code, answer, _ := hookPost(t, hookURL, "application/json", `{"text": "after"}`); code != http.StatusNotFound || answer != "no_service" {
		t.Errorf("POST to the deleted webhook: got %d %q, want 404 no_service", code, answer)
	}

	// A slash command: made, listed (here and by the CLI), deleted.
	clickJS(t, ctx, 10*time.Second, "the Slash commands tab", `#tab-commands`)
	waitJS(t, ctx, 10*time.Second, "no commands yet", `!document.getElementById('integ-commands').hidden && !!document.querySelector('#commands-list .empty')`)
	setValue(t, ctx, "command-name", "deploy")
	setValue(t, ctx, "command-url", receiver.URL+"/slash")
	clickJS(t, ctx, 10*time.Second, "Create command", `#command-create`)
	waitJS(t, ctx, 10*time.Second, "/deploy listed with its token", `(() => { const li = document.querySelector('#commands-list li[data-name="/deploy"]'); return !!li && li.querySelector('.copy-value').value.length >= 16; })()`)
	var cmds []api.Command
	alice.RunJSON(&cmds, "command", "list", "--json")
	if len(cmds) != 1 || cmds[0].Name != "/deploy" || cmds[0].URL != receiver.URL+"/slash" {
		t.Errorf("command list --json: got %+v, want /deploy", cmds)
	}
	clickJS(t, ctx, 10*time.Second, "Delete /deploy", `#commands-list li[data-name="/deploy"] .delete`)
	confirmYes(t, ctx, "delete /deploy")
	waitJS(t, ctx, 10*time.Second, "/deploy gone", `!!document.querySelector('#commands-list .empty')`)

	// A read token for #dev only.
	clickJS(t, ctx, 10*time.Second, "the API tokens tab", `#tab-tokens`)
	waitJS(t, ctx, 10*time.Second, "no tokens yet", `!document.getElementById('integ-tokens').hidden && !!document.querySelector('#tokens-list .empty')`)
	setValue(t, ctx, "token-name", "ci-reader")
	setSelect(t, ctx, "token-scope", "read")
	clickJS(t, ctx, 10*time.Second, "tick #dev", `#token-convs input[data-conv="room:dev"]`)
	clickJS(t, ctx, 10*time.Second, "Create token", `#token-create`)
	waitJS(t, ctx, 15*time.Second, "the token, shown once", `!document.getElementById('token-created').hidden && /^pat_[A-Za-z0-9_-]{43}$/.test(document.getElementById('token-created-value').value)`)
	token := eval[string](t, ctx, `document.getElementById('token-created-value').value`)
	waitJS(t, ctx, 10*time.Second, "ci-reader listed", `(() => { const li = document.querySelector('#tokens-list li[data-name="ci-reader"]'); return !!li && li.dataset.scope === 'read' && li.querySelector('.integ-conv').textContent === '#dev' && li.textContent.includes('never used') && !li.textContent.includes('pat_'); })()`)
	var toks []api.TokenInfo
	alice.RunJSON(&toks, "token", "list", "--json")
	if len(toks) != 1 || toks[0].Name != "ci-reader" || toks[0].Scope != "read" || len(toks[0].Convs) != 1 || toks[0].Convs[0] != "room:dev" {
		t.Fatalf("token list --json: got %+v, want ci-reader, read, room:dev", toks)
	}
	screenshot(t, ctx, "web-integrations-tokens.png")
	tcp := tcpBase(t, alice)
	if code, body := asToken(t, token, "GET", tcp+"/api/v1/rooms", ""); code != http.StatusOK || !strings.Contains(body, `"name":"dev"`) {
		t.Fatalf("GET /api/v1/rooms with the panel's token: got %d %s, want 200 with #dev", code, body)
	}
	if code, _ := asToken(t, token, "POST", tcp+"/api/v1/messages", `{"to": "#dev", "text": "a read token cannot post"}`); code != http.StatusForbidden {
		t.Errorf("POST /messages with the read token: got %d, want 403", code)
	}

	// Revoked in the panel: refused from then on.
	clickJS(t, ctx, 10*time.Second, "Revoke ci-reader", `#tokens-list li[data-name="ci-reader"] .revoke`)
	confirmYes(t, ctx, "revoke ci-reader")
	waitJS(t, ctx, 10*time.Second, "ci-reader gone from the list", `!!document.querySelector('#tokens-list .empty')`)
	if code, _ := asToken(t, token, "GET", tcp+"/api/v1/rooms", ""); code != http.StatusUnauthorized {
		t.Errorf("GET /api/v1/rooms with the revoked token: got %d, want 401", code)
	}
	alice.RunJSON(&toks, "token", "list", "--json")
	if len(toks) != 0 {
		t.Errorf("token list --json after the revoke: got %+v, want none", toks)
	}

	// Closing the panel drops what was shown once.
	clickJS(t, ctx, 10*time.Second, "Close the panel", `#integrations-close`)
	waitJS(t, ctx, 10*time.Second, "the panel closed, the token gone from it", `!document.getElementById('integrations-dialog').open && document.getElementById('token-created-value').value === '' && document.getElementById('webhook-created-secret').value === ''`)

	requests, _ := blog.snapshot()
	for _, r := range requests {
		if !strings.HasPrefix(r, base+"/") && !strings.HasPrefix(r, "data:") {
			t.Errorf("the browser requested %s: want only %s", r, base)
		}
	}
	// The refused duplicate is the one error the page logs.
	if errs := pageErrors(blog, "/api/v1/webhooks"); len(errs) > 0 {
		t.Errorf("errors in alice's page:\n%s", strings.Join(errs, "\n"))
	}
}
