package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/parley-chat/parley/internal/testnet"
)

// TestWebNotify checks the web client's share of notifications: the tab
// title counts unread messages, and the node's notify events become
// browser notifications while the tab has no focus (the page's
// Notification is replaced by a recorder with permission granted).
func TestWebNotify(t *testing.T) {
	needChromium(t)
	alice := testnet.NewDaemon(t, "alice")
	bob := testnet.NewDaemon(t, "bob")
	alice.Start(loopbackListen...)
	bob.Start(loopbackListen...)
	aliceID, bobID := alice.Identity(), bob.Identity()
	alice.MustRun("connect", bobID.Addrs[0])
	waitUntil(t, 15*time.Second, "alice and bob connected", func() bool {
		return connected(t, alice, bobID.PeerID) && connected(t, bob, aliceID.PeerID)
	})

	link := strings.TrimSpace(alice.MustRun("open", "--no-browser"))
	ctx, _ := newBrowser(t)
	do(t, ctx, 20*time.Second, "open the login link", chromedp.Navigate(link))
	do(t, ctx, 15*time.Second, "the sidebar lists #lobby", chromedp.WaitVisible(`#rooms-list [data-conv="room:lobby"]`))
	waitJS(t, ctx, 10*time.Second, "#lobby open", `document.querySelector('#rooms-list [data-conv="room:lobby"]').classList.contains('active')`)
	if title := eval[string](t, ctx, `document.title`); title != "Parley" {
		t.Errorf("title with nothing unread: %q, want Parley", title)
	}
	perm := eval[string](t, ctx, `'Notification' in window ? Notification.permission : 'none'`)
	shown := eval[bool](t, ctx, `!document.getElementById('notify-button').hidden`)
	if shown != (perm == "default") {
		t.Errorf("notification permission %q: the enable button shown %v, want %v", perm, shown, perm == "default")
	}
	eval[bool](t, ctx, `(() => {
		window.__events = [];
		window.__shown = [];
		window.addEventListener('parley:notify', (e) => window.__events.push(e.detail));
		window.Notification = class {
			constructor(title, opts) { window.__shown.push({ title, body: opts.body, tag: opts.tag }); }
			close() {}
			static get permission() { return 'granted'; }
			static requestPermission() { return Promise.resolve('granted'); }
		};
		document.hasFocus = () => false;
		return true;
	})()`)

	id1 := strings.TrimSpace(bob.MustRun("send", "@alice", "first <b>news</b>"))
	bob.MustRun("send", "@alice", "second news")
	waitJS(t, ctx, 20*time.Second, "the title counts two unread", `document.title === '(2) Parley'`)
	waitJS(t, ctx, 20*time.Second, "two browser notifications", `window.__shown.length === 2`)
	if got := eval[string](t, ctx, `JSON.stringify(window.__shown[0])`); got != `{"title":"bob","body":"first <b>news</b>","tag":"`+id1+`"}` {
		t.Errorf("first browser notification: %s", got)
	}
	if got := eval[string](t, ctx, `window.__events[1].conversation`); got != "dm:"+bobID.PeerID {
		t.Errorf("notify event's conversation: %q", got)
	}

	// A muted conversation counts as unread but does not notify. The
	// rules take messages in the order they are stored: once a message
	// stored after the muted one has notified (in #lobby, set to all),
	// the muted one was let pass.
	waitUntil(t, 15*time.Second, "both in #lobby", func() bool {
		return roomMembers(t, alice, "lobby") == 2 && roomMembers(t, bob, "lobby") == 2
	})
	alice.MustRun("notify", "#lobby", "all")
	alice.MustRun("notify", "@bob", "none")
	bob.MustRun("send", "@alice", "third, muted")
	waitJS(t, ctx, 20*time.Second, "the title counts three unread", `document.title === '(3) Parley'`)
	bob.MustRun("send", "#lobby", "in the lobby")
	waitJS(t, ctx, 20*time.Second, "a third browser notification", `window.__shown.length === 3`)
	if got := eval[string](t, ctx, `JSON.stringify(window.__shown.map((n) => n.body))`); got != `["first <b>news</b>","second news","in the lobby"]` {
		t.Errorf("browser notifications: %s, want the muted message left out", got)
	}

	// Opening the conversation reads it: the count goes.
	clickJS(t, ctx, 10*time.Second, "open the DM with bob", `#dms-list [data-conv="dm:`+bobID.PeerID+`"]`)
	waitJS(t, ctx, 20*time.Second, "the title without a count", `document.title === 'Parley'`)
}
