package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/parley-chat/parley/internal/api"
	"github.com/parley-chat/parley/internal/testnet"
)

// chromiumPath finds a Chromium to drive: Debian's /usr/bin/chromium, or
// chromium on PATH.
func chromiumPath() string {
	// Debian's binary itself, not /usr/bin/chromium: that launcher is a
	// shell script whose /dev/shm check (findmnt) was seen to break on a
	// busy machine, failing the browser's start.
	for _, p := range []string{"/usr/lib/chromium/chromium", "/usr/bin/chromium"} {
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// browserLog records, from the browser's own events, every URL a tab
// requested and every script error or error log line.
type browserLog struct {
	mu       sync.Mutex
	requests []string
	errors   []string
}

func (b *browserLog) listen(ev any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		b.requests = append(b.requests, ev.Request.URL)
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		msg := d.Text
		if d.Exception != nil && d.Exception.Description != "" {
			msg += " " + d.Exception.Description
		}
		b.errors = append(b.errors, fmt.Sprintf("exception at %s:%d: %s", d.URL, d.LineNumber+1, msg))
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError {
			b.errors = append(b.errors, "console.error called")
		}
	case *cdplog.EventEntryAdded:
		if ev.Entry.Level == cdplog.EntryLevelError {
			b.errors = append(b.errors, fmt.Sprintf("log %s: %s (%s)", ev.Entry.Source, ev.Entry.Text, ev.Entry.URL))
		}
	}
}

func (b *browserLog) snapshot() (requests, errors []string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.requests), slices.Clone(b.errors)
}

// do runs browser actions with a deadline.
func do(t *testing.T, ctx context.Context, timeout time.Duration, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := chromedp.Do(c, actions...); err != nil {
		t.Fatalf("browser: %s: %v\nthe page shows:\n%s", what, err, pageText(ctx))
	}
}

// pageText is what the page shows, for failure messages.
func pageText(ctx context.Context) string {
	c, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	text, err := chromedp.Run(c, chromedp.Evaluate[string](`location.href + "\n" + document.body.innerText`))
	if err != nil {
		return "(" + err.Error() + ")"
	}
	return text
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(c, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("browser: evaluate %s: %v", expr, err)
	}
	return v
}

// waitJS polls a JavaScript condition in the page until it is true.
func waitJS(t *testing.T, ctx context.Context, timeout time.Duration, what, cond string) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if _, err := chromedp.Run(c, chromedp.Poll[bool](cond, chromedp.WithPollingInterval(25*time.Millisecond))); err != nil {
		t.Fatalf("browser: waiting for %s (%s): %v\nthe page shows:\n%s", what, cond, err, pageText(ctx))
	}
}

// clickJS clicks the element sel names, in the page: the sidebar is drawn
// again whenever the conversations change, so an element found by one
// protocol call may be gone by the next (chromedp.Click finds, then
// clicks); finding and clicking in one script cannot miss.
func clickJS(t *testing.T, ctx context.Context, timeout time.Duration, what, sel string) {
	t.Helper()
	waitJS(t, ctx, timeout, what, fmt.Sprintf(`(() => { const e = document.querySelector(%q); if (!e) return false; e.click(); return true; })()`, sel))
}

// pressEnter sends the Enter key without a char event, as a person's key
// press reaches a page whose keydown handler takes it.
var pressEnter = chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
	for _, typ := range []input.DispatchKeyEventType{input.DispatchKeyEventTypeRawKeyDown, input.DispatchKeyEventTypeKeyUp} {
		if _, err := cdp.Call(ctx, t, input.DispatchKeyEvent, input.DispatchKeyEventParams{
			Type: typ, Key: "Enter", Code: "Enter", WindowsVirtualKeyCode: 13, NativeVirtualKeyCode: 13,
		}); err != nil {
			return err
		}
	}
	return nil
})

func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(c, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("browser: screenshot: %v", err)
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(os.TempDir(), name), png, 0o644); err != nil {
		t.Logf("copy screenshot: %v", err)
	}
	t.Logf("screenshot: %s (copy in %s)", path, filepath.Join(os.TempDir(), name))
}

// noRedirects is an HTTP client for the refusal checks: it reports
// redirects instead of following them and never uses a proxy.
var noRedirects = &http.Client{
	Transport:     &http.Transport{Proxy: nil},
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	Timeout:       10 * time.Second,
}

func httpStatus(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	resp, err := noRedirects.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode, string(body)
}

func newRequest(t *testing.T, method, url, body string) *http.Request {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	return req
}

// needChromium skips the test when there is no Chromium to drive.
func needChromium(t *testing.T) string {
	t.Helper()
	chrome := chromiumPath()
	if chrome == "" {
		t.Skip("no Chromium: neither /usr/bin/chromium nor chromium on PATH; install it (apt-get install chromium) to test the web client")
	}
	return chrome
}

// newBrowser starts a headless Chromium with a fresh profile that reaches
// nothing but 127.0.0.1, and returns its tab (1024x700) and what the tab
// logs; the browser is stopped when the test ends.
func newBrowser(t *testing.T) (context.Context, *browserLog) {
	t.Helper()
	chrome := needChromium(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chrome),
		chromedp.Headless,
		chromedp.NoSandbox, // the tests run as root
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1024, 700),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-dev-shm-usage", true), // what the launcher script adds when /dev/shm is small
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-domain-reliability", true),
		chromedp.Flag("no-pings", true),
		chromedp.Flag("no-proxy-server", true),
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	blog := &browserLog{}
	ctx, cancelBrowser := chromedp.NewContext(allocCtx, chromedp.WithListener(blog.listen))
	t.Cleanup(cancelBrowser)
	if err := chromedp.Do(ctx); err != nil { // starts the browser, no deadline
		t.Fatalf("start %s: %v", chrome, err)
	}
	do(t, ctx, 10*time.Second, "set the viewport", chromedp.EmulateViewport(1024, 700))
	return ctx, blog
}

// TestWeb drives the browser client in a real Chromium against a daemon:
// log in with a one-time link, post in a room, see another node's room
// message arrive live, see a DM arrive as unread, answer it and watch it
// get delivered, compare safety numbers and mark bob verified; then check that the link, the API and the session refuse
// what they must.
func TestWeb(t *testing.T) {
	needChromium(t)
	start := time.Now()

	alice := testnet.NewDaemon(t, "alice")
	bob := testnet.NewDaemon(t, "bob")
	alice.Start(loopbackListen...)
	bob.Start(loopbackListen...)
	aliceID, bobID := alice.Identity(), bob.Identity()
	alice.MustRun("connect", bobID.Addrs[0])
	waitUntil(t, 15*time.Second, "alice and bob connected", func() bool {
		return connected(t, alice, bobID.PeerID) && connected(t, bob, aliceID.PeerID)
	})
	alice.MustRun("join", "#team")
	bob.MustRun("join", "#team")
	bob.MustRun("join", "#busy")
	waitUntil(t, 15*time.Second, "both in #team", func() bool {
		return roomMembers(t, alice, "team") == 2 && roomMembers(t, bob, "team") == 2
	})

	link := strings.TrimSpace(alice.MustRun("open", "--no-browser"))
	u, err := url.Parse(link)
	if err != nil || u.Scheme != "http" || !strings.HasPrefix(u.Host, "127.0.0.1:") || u.Path != "/login" || u.Query().Get("t") == "" {
		t.Fatalf("parley open --no-browser printed %q, want http://127.0.0.1:PORT/login?t=...", link)
	}
	base := "http://" + u.Host
	tokenBytes, err := os.ReadFile(filepath.Join(alice.Home, "api.token"))
	if err != nil {
		t.Fatal(err)
	}
	token := strings.TrimSpace(string(tokenBytes))
	if len(token) < 16 {
		t.Fatalf("api.token %q: too short to look for", token)
	}

	ctx, blog := newBrowser(t)
	browserUp := time.Now()

	// Log in: the link sets the session cookie and lands on the client.
	do(t, ctx, 20*time.Second, "open the login link", chromedp.Navigate(link))
	do(t, ctx, 15*time.Second, "the sidebar lists #team and #lobby",
		chromedp.WaitVisible(chromedp.ID("sidebar")),
		chromedp.WaitVisible(chromedp.CSS(`#rooms-list [data-conv="room:team"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#rooms-list [data-conv="room:lobby"]`)),
	)
	loggedIn := time.Since(browserUp)
	if loc := eval[string](t, ctx, `location.origin + location.pathname + location.search`); loc != base+"/" {
		t.Errorf("after login the page is %q, want %q (the one-time token must not stay in the address)", loc, base+"/")
	}
	if me := eval[string](t, ctx, `document.getElementById('me-nick').textContent`); me != "alice" {
		t.Errorf("sidebar nick: %q, want alice", me)
	}
	for _, expr := range []string{
		`document.documentElement.outerHTML`, // the page as it is now
		`fetch('/').then(r => r.text())`,     // and its files as served
		`fetch('/app.js').then(r => r.text())`,
		`fetch('/app.css').then(r => r.text())`,
	} {
		if src := eval[string](t, ctx, expr); len(src) < 100 || strings.Contains(src, token) {
			t.Errorf("%s: %d bytes, or the API token in it", expr, len(src))
		}
	}
	if c := eval[string](t, ctx, `document.cookie`); c != "" {
		t.Errorf("document.cookie = %q, want empty (the session cookie must be HttpOnly)", c)
	}
	cookies, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{base + "/"}})
	if err != nil {
		t.Fatal(err)
	}
	var session *network.Cookie
	for _, c := range cookies.Cookies {
		if c.Name == "parley_session" {
			session = c
		}
		if strings.Contains(c.Value, token) {
			t.Errorf("cookie %s holds the API token", c.Name)
		}
	}
	if session == nil || !session.HTTPOnly || session.SameSite != network.CookieSameSiteStrict {
		t.Fatalf("session cookie: got %+v, want parley_session, HttpOnly, SameSite=Strict", session)
	}

	// Post in #team from the browser; bob gets it.
	const fromBrowser = `hello from the browser <img src=x id=pwned> & "quotes"`
	clickJS(t, ctx, 10*time.Second, "open #team", `#rooms-list [data-conv="room:team"]`)
	waitJS(t, ctx, 10*time.Second, "#team open", `document.getElementById('conv-title').textContent === '#team' && !document.getElementById('composer-input').disabled`)
	do(t, ctx, 10*time.Second, "type and press Enter",
		chromedp.SendKeys(chromedp.ID("composer-input"), fromBrowser),
		pressEnter,
	)
	var sentID string
	took := waitUntil(t, 20*time.Second, "bob's #team history has the browser's message", func() bool {
		for _, m := range history(t, bob, "#team") {
			if m.Text == fromBrowser && m.From == aliceID.PeerID {
				sentID = m.ID
				return true
			}
		}
		return false
	})
	t.Logf("figure: Enter in the browser to bob's history: %v", took)
	waitJS(t, ctx, 10*time.Second, "the own message shown as sent", fmt.Sprintf(
		`(() => { const m = document.querySelector('.message.mine[data-id=%q]'); return !!m && m.dataset.status === 'sent' && m.querySelector('.text').textContent === %q; })()`,
		sentID, fromBrowser))
	if v := eval[string](t, ctx, `document.getElementById('composer-input').value`); v != "" {
		t.Errorf("composer after sending: %q, want empty", v)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll('#messages img, #pwned').length`); n != 0 {
		t.Error("message text was rendered as HTML")
	}

	// bob posts in #team: it shows up live, without a reload.
	eval[bool](t, ctx, `window.parleyNoReload = true`)
	fromBob := "hi alice, bob here (from the CLI)"
	bobMsg := sendRoom(t, bob, "team", fromBob)
	liveStart := time.Now()
	waitJS(t, ctx, 15*time.Second, "bob's room message in the timeline", fmt.Sprintf(
		`(() => { const m = document.querySelector('.message[data-id=%q]'); return !!m && m.querySelector('.nick').textContent === 'bob' && m.querySelector('.text').textContent === %q; })()`,
		bobMsg, fromBob))
	t.Logf("figure: bob's send to the browser timeline: %v", time.Since(liveStart))
	if !eval[bool](t, ctx, `window.parleyNoReload === true`) {
		t.Error("the page reloaded to show bob's message")
	}

	// bob types in #team: the indicator shows.
	tctx, tcancel := context.WithTimeout(context.Background(), 5*time.Second)
	if err := bob.Client().Typing(tctx, "#team"); err != nil {
		t.Fatalf("bob typing: %v", err)
	}
	tcancel()
	waitJS(t, ctx, 10*time.Second, "bob is typing", `document.getElementById('typing').textContent === 'bob is typing…'`)

	// The peers pane shows bob online.
	waitJS(t, ctx, 10*time.Second, "bob online in the peers pane",
		fmt.Sprintf(`!!document.querySelector('#peers-list .peer.online[data-peer=%q]')`, bobID.PeerID))

	// bob sends alice a DM: the sidebar shows it unread.
	dmText := "psst, a direct message"
	dmID := strings.TrimSpace(bob.MustRun("send", aliceID.PeerID, dmText))
	dmSel := fmt.Sprintf(`#dms-list .conv[data-conv=%q]`, "dm:"+bobID.PeerID)
	waitJS(t, ctx, 15*time.Second, "the DM unread in the sidebar", fmt.Sprintf(
		`(() => { const c = document.querySelector(%q); return !!c && c.classList.contains('unread') && c.querySelector('.badge') && c.querySelector('.badge').textContent === '1'; })()`,
		dmSel))
	screenshot(t, ctx, "parley-web.png")

	// Open the DM: it is marked read; answer it and see it delivered.
	clickJS(t, ctx, 10*time.Second, "open the DM", dmSel)
	waitJS(t, ctx, 10*time.Second, "the DM timeline", fmt.Sprintf(`!!document.querySelector('.message[data-id=%q]')`, dmID))
	waitUntil(t, 10*time.Second, "the DM marked read on alice's node", func() bool {
		c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		convs, err := alice.Client().Conversations(c)
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(convs, func(c api.Conversation) bool { return c.PeerID == bobID.PeerID })
		return i >= 0 && convs[i].Unread == 0
	})
	waitJS(t, ctx, 10*time.Second, "the unread badge gone", fmt.Sprintf(`!document.querySelector(%q + ' .badge')`, dmSel))
	reply := "got it, thanks"
	do(t, ctx, 10*time.Second, "type the reply and press Enter",
		chromedp.SendKeys(chromedp.ID("composer-input"), reply),
		pressEnter,
	)
	waitJS(t, ctx, 20*time.Second, "the reply delivered (✓✓)", fmt.Sprintf(
		`[...document.querySelectorAll('.message.mine')].some(m => m.querySelector('.text').textContent === %q && m.dataset.status === 'delivered' && m.querySelector('.state').textContent === '✓✓')`,
		reply))
	if !slices.ContainsFunc(history(t, bob, aliceID.PeerID), func(m api.Message) bool { return m.Text == reply }) {
		t.Error("bob's DM history lacks alice's reply")
	}
	// Safety numbers: the DM's button shows the number bob's CLI shows,
	// with its QR code; marking bob verified shows ✓ where he is named.
	var bobSide api.Safety
	bob.RunJSON(&bobSide, "verify", aliceID.PeerID, "--json")
	clickJS(t, ctx, 10*time.Second, "the safety number button", `#safety-button:not([hidden])`)
	waitJS(t, ctx, 10*time.Second, "the safety number, as bob sees it", fmt.Sprintf(
		`document.getElementById('safety-dialog').open && document.getElementById('safety-number').textContent === %q && document.getElementById('safety-state').textContent === 'Not verified'`,
		bobSide.SafetyNumber))
	waitJS(t, ctx, 10*time.Second, "the QR code image", `(() => { const i = document.getElementById('safety-qr'); return i.complete && i.naturalWidth === 256; })()`)
	screenshot(t, ctx, "parley-web-safety.png")
	clickJS(t, ctx, 10*time.Second, "mark verified", `#safety-verify`)
	waitJS(t, ctx, 10*time.Second, "bob verified in the dialog, the header and the peers pane", fmt.Sprintf(
		`document.getElementById('safety-state').textContent === '✓ Verified' && document.getElementById('safety-verify').hidden && document.getElementById('conv-title').textContent === 'bob ✓' && document.querySelector('#peers-list .peer[data-peer=%q] .nick').textContent === 'bob ✓'`,
		bobID.PeerID))
	clickJS(t, ctx, 10*time.Second, "close the dialog", `#safety-close`)
	waitJS(t, ctx, 10*time.Second, "the dialog closed", `!document.getElementById('safety-dialog').open`)
	var aliceSide api.Safety
	alice.RunJSON(&aliceSide, "verify", bobID.PeerID, "--json")
	if aliceSide != (api.Safety{PeerID: bobID.PeerID, SafetyNumber: bobSide.SafetyNumber, Verified: true}) {
		t.Errorf("alice's verify --json after the button: got %+v, want bob verified with %q", aliceSide, bobSide.SafetyNumber)
	}

	do(t, ctx, 10*time.Second, "resize to 800x600", chromedp.EmulateViewport(800, 600))
	screenshot(t, ctx, "parley-web-800x600.png")

	// A long room, where bob is already: join it with the form, reload,
	// page back to its start, leave it.
	const busy, page1 = 150, 100 // messages; the client's page size
	do(t, ctx, 10*time.Second, "join #busy with the form",
		chromedp.SendKeys(chromedp.ID("join-input"), "busy"),
		chromedp.Click(chromedp.ID("join-button")),
	)
	waitJS(t, ctx, 10*time.Second, "#busy open", `document.getElementById('conv-title').textContent === '#busy' && !!document.querySelector('#rooms-list [data-conv="room:busy"]')`)
	actx, acancel := context.WithTimeout(context.Background(), 30*time.Second)
	for i := 1; i <= busy; i++ {
		if _, err := alice.Client().Send(actx, "#busy", fmt.Sprintf("old message %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	acancel()
	waitJS(t, ctx, 10*time.Second, "the messages of #busy live", fmt.Sprintf(
		`document.querySelectorAll('#messages .message:not(.system)').length === %d`, busy))
	do(t, ctx, 15*time.Second, "reload", chromedp.Reload())
	waitJS(t, ctx, 10*time.Second, "the newest page of #busy after the reload", fmt.Sprintf(
		`document.getElementById('conv-title').textContent === '#busy' && document.querySelectorAll('#messages .message').length === %d && !document.getElementById('load-older').hidden`, page1))
	eval[bool](t, ctx, `document.getElementById('timeline').scrollTop = 0, true`)
	waitJS(t, ctx, 10*time.Second, "the whole of #busy after scrolling to the top", fmt.Sprintf(
		`document.querySelectorAll('#messages .message:not(.system)').length === %d && document.getElementById('load-older').hidden`, busy))
	texts := eval[[]string](t, ctx, `[...document.querySelectorAll('#messages .message:not(.system) .text')].map(e => e.textContent)`)
	for i, txt := range texts {
		if want := fmt.Sprintf("old message %d", i+1); txt != want {
			t.Fatalf("#busy message %d reads %q, want %q (oldest first, no gaps)", i, txt, want)
		}
	}
	do(t, ctx, 10*time.Second, "leave #busy", chromedp.Click(chromedp.ID("leave-button")))
	waitJS(t, ctx, 10*time.Second, "#busy gone from the sidebar", `!document.querySelector('[data-conv="room:busy"]') && document.getElementById('conv-title').textContent === '#lobby'`)
	if _, ok := roomOf(rooms(t, alice), "busy"); ok {
		t.Error("alice is still in #busy after the leave button")
	}

	// Everything the page loaded came from the daemon, and nothing failed.
	requests, errs := blog.snapshot()
	if len(requests) < 5 {
		t.Errorf("the browser made %d requests (%q): the network events are not recorded", len(requests), requests)
	}
	for _, r := range requests {
		if !strings.HasPrefix(r, base+"/") && !strings.HasPrefix(r, "data:") {
			t.Errorf("the browser requested %s: want only %s", r, base)
		}
	}
	if len(errs) > 0 {
		t.Errorf("errors in the page:\n%s", strings.Join(errs, "\n"))
	}

	// Refusals. The login link works once, in a browser ...
	fresh, cancelFresh := chromedp.NewContext(ctx, chromedp.WithNewBrowserContext())
	defer cancelFresh()
	if err := chromedp.Do(fresh); err != nil { // opens the tab, no deadline
		t.Fatal(err)
	}
	fc, fcancel := context.WithTimeout(fresh, 20*time.Second)
	resp, err := chromedp.Run(fc, chromedp.NavigateResponse(link))
	fcancel()
	if err != nil {
		t.Fatalf("browser: open the link again: %v", err)
	}
	if resp.Status != http.StatusForbidden {
		t.Errorf("the login link opened again in a fresh browser context: %d, want 403", resp.Status)
	}
	// ... a browser without the session sees the login screen ...
	do(t, fresh, 15*time.Second, "the client without a session", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.ID("login-screen")))
	screenshot(t, fresh, "parley-web-login.png")
	if txt := eval[string](t, fresh, `document.getElementById('login-screen').textContent`); !strings.Contains(txt, "Not logged in") || !strings.Contains(txt, "parley open") {
		t.Errorf("login screen says %q, want it to say to run parley open", txt)
	}
	// ... and over plain HTTP.
	if code, body := httpStatus(t, newRequest(t, "GET", link, "")); code != http.StatusForbidden {
		t.Errorf("GET the used login link: %d %q, want 403", code, body)
	}
	peersURL := base + "/api/v1/peers"
	if code, _ := httpStatus(t, newRequest(t, "GET", peersURL, "")); code != http.StatusUnauthorized {
		t.Errorf("GET /api/v1/peers without cookie or token: %d, want 401", code)
	}
	req := newRequest(t, "GET", peersURL, "")
	req.Header.Set("Authorization", "Bearer "+token)
	if code, _ := httpStatus(t, req); code != http.StatusOK {
		t.Errorf("GET /api/v1/peers with the token: %d, want 200", code)
	}
	for _, host := range []string{"evil.example:" + u.Port(), "evil.example"} {
		req := newRequest(t, "GET", peersURL, "")
		req.Host = host
		req.Header.Set("Authorization", "Bearer "+token)
		if code, _ := httpStatus(t, req); code != http.StatusForbidden {
			t.Errorf("GET /api/v1/peers with Host %q: %d, want 403", host, code)
		}
	}
	cookie := &http.Cookie{Name: session.Name, Value: session.Value}
	req = newRequest(t, "GET", peersURL, "")
	req.AddCookie(cookie)
	if code, _ := httpStatus(t, req); code != http.StatusOK {
		t.Errorf("GET /api/v1/peers with the session cookie: %d, want 200", code)
	}
	const evil = `{"to": "#team", "text": "cross-site"}`
	for _, tc := range []struct {
		origin string
		want   int
	}{
		{"http://evil.example", http.StatusForbidden},
		{"null", http.StatusForbidden},
		{"", http.StatusForbidden}, // a change without an Origin
	} {
		req := newRequest(t, "POST", base+"/api/v1/messages", evil)
		req.AddCookie(cookie)
		if tc.origin != "" {
			req.Header.Set("Origin", tc.origin)
		}
		if code, body := httpStatus(t, req); code != tc.want {
			t.Errorf("POST /api/v1/messages with the session cookie and Origin %q: %d %q, want %d", tc.origin, code, body, tc.want)
		}
	}
	req = newRequest(t, "POST", base+"/api/v1/read", `{"with": "#team"}`)
	req.AddCookie(cookie)
	req.Header.Set("Origin", base)
	if code, body := httpStatus(t, req); code != http.StatusOK {
		t.Errorf("POST /api/v1/read with the session cookie and its own Origin: %d %q, want 200", code, body)
	}
	if slices.ContainsFunc(peekRoom(t, alice, "team"), func(m api.Message) bool { return m.Text == "cross-site" }) {
		t.Error("a refused request posted a message")
	}
	t.Logf("figure: browser start to client loaded: %v; whole test: %v", loggedIn, time.Since(start))
}
