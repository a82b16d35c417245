package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
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
