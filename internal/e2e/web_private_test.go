package e2e

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/parley-chat/parley/internal/api"
	"github.com/parley-chat/parley/internal/testnet"
)

// loginWeb opens d's web client in the browser tab ctx with a one-time
// login link and waits for the sidebar; it returns the client's origin.
func loginWeb(t *testing.T, ctx context.Context, d *testnet.Daemon) string {
	t.Helper()
	link := strings.TrimSpace(d.MustRun("open", "--no-browser"))
	u, err := url.Parse(link)
	if err != nil || u.Host == "" {
		t.Fatalf("%s: parley open --no-browser printed %q", d.Name, link)
	}
	do(t, ctx, 10*time.Second, "set the viewport", chromedp.EmulateViewport(1024, 700))
	do(t, ctx, 20*time.Second, d.Name+": open the login link", chromedp.Navigate(link))
	do(t, ctx, 15*time.Second, d.Name+": the sidebar", chromedp.WaitVisible(chromedp.ID("sidebar")),
		chromedp.WaitVisible(chromedp.CSS(`#rooms-list [data-conv="room:lobby"]`)))
	return "http://" + u.Host
}

// setValue puts text into an input by script, as typing would leave it.
func setValue(t *testing.T, ctx context.Context, id, text string) {
	t.Helper()
	eval[bool](t, ctx, fmt.Sprintf(`(() => { const e = document.getElementById(%q); e.value = %q; e.dispatchEvent(new Event('input')); return true; })()`, id, text))
}

// pageErrors are the errors a tab logged, less those the test caused on
// purpose: the browser logs every refused request (here: the refused
// invite links) as an error.
func pageErrors(b *browserLog, expected ...string) []string {
	_, errs := b.snapshot()
	var out []string
	for _, e := range errs {
		ok := false
		for _, x := range expected {
			ok = ok || strings.Contains(e, x)
		}
		if !ok {
			out = append(out, e)
		}
	}
	return out
}

// TestWebPrivateRoom drives private rooms through the browser client of
// two real daemons: alice creates a private room with the form, makes an
// invite in the dialog (its link read off the field, its QR code
// loaded), revokes it and makes another; bob's browser is refused a
// forged and the revoked link with the API's reasons, and joins with the
// good one; bob posts, alice reads it; alice changes who may invite,
// promotes bob (once cancelled) and removes him with the member list's
// buttons; bob's page gets an admin's buttons, then shows the room
// removed and stops his posting.
func TestWebPrivateRoom(t *testing.T) {
	needChromium(t)
	const room = "vault"
	roomSel := `#rooms-list [data-conv="room:vault"]`
	alice := testnet.NewDaemon(t, "alice")
	bob := testnet.NewDaemon(t, "bob")
	alice.Start(loopbackListen...)
	bob.Start(loopbackListen...)
	aliceID, bobID := alice.Identity(), bob.Identity()
	alice.MustRun("connect", bobID.Addrs[0])
	waitUntil(t, 15*time.Second, "alice and bob connected", func() bool {
		return connected(t, alice, bobID.PeerID) && connected(t, bob, aliceID.PeerID)
	})

	a, logA := newBrowser(t)
	b, logB := newBrowser(t)
	baseA := loginWeb(t, a, alice)
	loginWeb(t, b, bob)

	// alice creates the private room with the form: it opens, locked, with
	// her an admin who may invite.
	eval[bool](t, a, `document.getElementById('create-private').checked = true`)
	setValue(t, a, "create-input", "#"+room)
	clickJS(t, a, 10*time.Second, "the create button", `#create-button`)
	waitJS(t, a, 15*time.Second, "#vault open, locked, alice its admin", fmt.Sprintf(
		`document.getElementById('conv-title').textContent === '#vault' && !document.getElementById('conv-lock').hidden && !document.getElementById('invite-button').hidden && !document.getElementById('settings-button').hidden && !!document.querySelector(%q) && !!document.querySelector('#members-list .member[data-peer=%q][data-role="admin"] .role-badge')`,
		roomSel+`.private .lock`, aliceID.PeerID))
	r, ok := roomOf(rooms(t, alice), room)
	if !ok || !r.Private || r.Role != "admin" || r.Invite != "admins" {
		t.Fatalf("alice's #%s after the form: %+v (found %v), want private, alice admin, invites by admins", room, r, ok)
	}
	if lock := eval[string](t, a, `document.querySelector('#rooms-list [data-conv="room:lobby"] .lock') ? 'lock' : ''`); lock != "" {
		t.Error("#lobby (public) has a lock mark")
	}

	// The invite dialog: an invite for one use within an hour, its link
	// and its QR code; revoked; then another.
	clickJS(t, a, 10*time.Second, "the invite button", `#invite-button:not([hidden])`)
	waitJS(t, a, 10*time.Second, "the invite dialog", `document.getElementById('invite-dialog').open`)
	setValue(t, a, "invite-uses", "1")
	setValue(t, a, "invite-expires", "1h")
	makeInvite := func(not string) string {
		t.Helper()
		clickJS(t, a, 10*time.Second, "create invite", `#invite-create:not(:disabled)`)
		waitJS(t, a, 15*time.Second, "an invite link and its QR code", fmt.Sprintf(
			`(() => { const v = document.getElementById('invite-link').value; const q = document.getElementById('invite-qr'); return v.startsWith('parley://invite/') && v !== %q && !document.getElementById('invite-result').hidden && q.complete && q.naturalWidth > 0 && q.src.endsWith(encodeURIComponent(v)); })()`,
			not))
		return eval[string](t, a, `document.getElementById('invite-link').value`)
	}
	revoked := makeInvite("")
	if meta := eval[string](t, a, `document.getElementById('invite-meta').textContent`); !strings.Contains(meta, "once") {
		t.Errorf("invite meta: %q, want it to say the link works once", meta)
	}
	screenshot(t, a, "parley-web-invite.png")
	clickJS(t, a, 10*time.Second, "copy", `#invite-copy`)
	waitJS(t, a, 10*time.Second, "copied, or the link selected to copy", `(() => { const s = document.getElementById('invite-state').textContent; const i = document.getElementById('invite-link'); return s === 'Link copied' || (s.startsWith('Press Ctrl+C') && document.activeElement === i && i.selectionEnd - i.selectionStart === i.value.length); })()`)
	clickJS(t, a, 10*time.Second, "revoke", `#invite-revoke:not([hidden])`)
	waitJS(t, a, 15*time.Second, "the invite revoked", `document.getElementById('invite-state').textContent.startsWith('Revoked') && document.getElementById('invite-revoke').hidden`)
	link := makeInvite(revoked)
	clickJS(t, a, 10*time.Second, "close the dialog", `#invite-close`)
	waitJS(t, a, 10*time.Second, "the dialog closed", `!document.getElementById('invite-dialog').open`)

	// bob's browser: a forged link and the revoked one are refused, each
	// with the API's reason; the good one lets him in.
	for _, tc := range []struct{ link, status, says string }{
		{"parley://invite/AAAA", "403", "forged"},
		{revoked, "410", "revoked"},
	} {
		setValue(t, b, "link-input", tc.link)
		clickJS(t, b, 10*time.Second, "join by link", `#link-button:not(:disabled)`)
		waitJS(t, b, 20*time.Second, "the refusal of "+tc.link, fmt.Sprintf(
			`(() => { const e = document.getElementById('link-error'); return !e.hidden && e.dataset.status === %q && e.textContent.includes(%q) && e.textContent.includes('Could not join'); })()`,
			tc.status, tc.says))
	}
	if _, ok := roomOf(rooms(t, bob), room); ok {
		t.Fatal("bob is in the room after the refused links")
	}
	setValue(t, b, "link-input", link)
	clickJS(t, b, 10*time.Second, "join by link", `#link-button:not(:disabled)`)
	waitJS(t, b, 30*time.Second, "#vault open at bob's, locked, postable", fmt.Sprintf(
		`document.getElementById('conv-title').textContent === '#vault' && !document.getElementById('conv-lock').hidden && !!document.querySelector(%q) && !document.getElementById('composer-input').disabled && document.getElementById('link-error').hidden && document.getElementById('invite-button').hidden && document.getElementById('settings-button').hidden`,
		roomSel+`.private`))

	// bob posts with the composer; alice reads it.
	const hello = "hello from bob's browser"
	do(t, b, 10*time.Second, "bob types and presses Enter", chromedp.SendKeys(chromedp.ID("composer-input"), hello), pressEnter)
	waitJS(t, a, 20*time.Second, "bob's message in alice's timeline", fmt.Sprintf(
		`[...document.querySelectorAll('#messages .message[data-from=%q] .text')].some(e => e.textContent === %q)`, bobID.PeerID, hello))

	// alice's settings dialog: every member may invite from now on.
	clickJS(t, a, 10*time.Second, "the settings button", `#settings-button:not([hidden])`)
	waitJS(t, a, 10*time.Second, "the settings dialog, as the room is", `document.getElementById('settings-dialog').open && document.getElementById('settings-history').value === 'join' && document.getElementById('settings-invite').value === 'admins'`)
	eval[bool](t, a, `document.getElementById('settings-invite').value = 'members', true`)
	clickJS(t, a, 10*time.Second, "save", `#settings-save:not(:disabled)`)
	waitJS(t, a, 15*time.Second, "the settings dialog closed", `!document.getElementById('settings-dialog').open`)
	if r, _ := roomOf(rooms(t, alice), room); r.Invite != "members" || r.History != "join" {
		t.Errorf("alice's #%s after saving the settings: %+v, want invite members, history join", room, r)
	}

	// The member list: bob, a member, with Promote and Remove for alice.
	bobRow := fmt.Sprintf(`#members-list .member[data-peer=%q]`, bobID.PeerID)
	waitJS(t, a, 15*time.Second, "bob in alice's member list, with the admin's buttons", fmt.Sprintf(
		`(() => { const m = document.querySelector(%q); return !!m && m.dataset.role === 'member' && !m.querySelector('.role-badge') && !!m.querySelector('button.promote') && !!m.querySelector('button.remove'); })()`, bobRow))
	if n := eval[int](t, b, `document.querySelectorAll('#members-list button').length`); n != 0 {
		t.Errorf("bob, a member, sees %d member buttons, want none", n)
	}

	// Promote asks first: cancelled, nothing changes; confirmed, bob is an
	// admin in alice's list, and his own page gives him the admin's
	// buttons.
	clickJS(t, a, 10*time.Second, "promote bob", bobRow+` button.promote`)
	waitJS(t, a, 10*time.Second, "the promote confirmation", `document.getElementById('confirm-dialog').open && document.getElementById('confirm-text').textContent.startsWith('Make bob an admin')`)
	clickJS(t, a, 10*time.Second, "cancel", `#confirm-cancel`)
	waitJS(t, a, 10*time.Second, "the confirmation closed", `!document.getElementById('confirm-dialog').open`)
	if requests, _ := logA.snapshot(); slices.ContainsFunc(requests, func(r string) bool { return strings.HasSuffix(r, "/promote") }) {
		t.Fatal("a cancelled promotion was sent to alice's daemon")
	}
	clickJS(t, a, 10*time.Second, "promote bob", bobRow+` button.promote`)
	waitJS(t, a, 10*time.Second, "the promote confirmation", `document.getElementById('confirm-dialog').open`)
	clickJS(t, a, 10*time.Second, "confirm", `#confirm-ok`)
	waitJS(t, a, 20*time.Second, "bob an admin in alice's member list", fmt.Sprintf(
		`(() => { const m = document.querySelector(%q); return !document.getElementById('confirm-dialog').open && !!m && m.dataset.role === 'admin' && !!m.querySelector('.role-badge') && !m.querySelector('button.promote') && !!m.querySelector('button.remove'); })()`, bobRow))
	waitJS(t, b, 30*time.Second, "bob's page: an admin's invite and settings buttons", fmt.Sprintf(
		`!document.getElementById('invite-button').hidden && !document.getElementById('settings-button').hidden && document.querySelector('#members-list .member[data-peer=%q]').dataset.role === 'admin'`, bobID.PeerID))

	screenshot(t, a, "parley-web-private.png")
	clickJS(t, a, 10*time.Second, "remove bob", bobRow+` button.remove`)
	// Remove asks first, then bob (an admin now) is out.
	waitJS(t, a, 10*time.Second, "the confirmation", `document.getElementById('confirm-dialog').open && document.getElementById('confirm-text').textContent.startsWith('Remove bob')`)
	clickJS(t, a, 10*time.Second, "confirm", `#confirm-ok`)
	waitJS(t, a, 20*time.Second, "bob gone from alice's member list", fmt.Sprintf(`!document.getElementById('confirm-dialog').open && !document.querySelector(%q) && !!document.querySelector('#members-list .member')`, bobRow))

	// bob's page: the room marked removed, the composer off, and why.
	waitJS(t, b, 30*time.Second, "#vault removed at bob's", fmt.Sprintf(
		`!!document.querySelector(%q) && document.getElementById('conv-title').textContent === '#vault' && document.getElementById('composer-input').disabled && document.getElementById('send-button').disabled && !document.getElementById('removed-note').hidden && document.getElementById('removed-note').textContent.includes('removed')`,
		roomSel+`.removed`))
	screenshot(t, b, "parley-web-removed.png")
	if r, ok := roomOf(rooms(t, bob), room); !ok || !r.Removed {
		t.Errorf("bob's #%s: %+v (found %v), want removed", room, r, ok)
	}

	// Timelines show text, join and leave lines only (no membership ops),
	// though the history the page reads holds ops.
	var all []api.Message
	alice.RunJSON(&all, "history", "#"+room, "--json", "--all", "--limit", "10000")
	if !slices.ContainsFunc(all, func(m api.Message) bool { return m.Kind == "op" }) {
		t.Errorf("alice's history of #%s with --all has no op message: the timeline check below checks nothing", room)
	}
	for name, ctx := range map[string]context.Context{"alice": a, "bob": b} {
		kinds := eval[[]string](t, ctx, `[...document.querySelectorAll('#messages .message')].map(m => m.dataset.kind)`)
		for _, k := range kinds {
			if k != "text" && k != "join" && k != "leave" {
				t.Errorf("%s's timeline shows a %q message", name, k)
			}
		}
	}

	// Nothing went wrong in either page but the refused links, and alice's
	// QR code came from her daemon.
	if errs := pageErrors(logA); len(errs) > 0 {
		t.Errorf("errors in alice's page:\n%s", strings.Join(errs, "\n"))
	}
	if errs := pageErrors(logB, "/api/v1/invites/accept"); len(errs) > 0 {
		t.Errorf("errors in bob's page:\n%s", strings.Join(errs, "\n"))
	}
	requests, _ := logA.snapshot()
	for _, r := range requests {
		if !strings.HasPrefix(r, baseA+"/") && !strings.HasPrefix(r, "data:") {
			t.Errorf("alice's browser requested %s: want only %s", r, baseA)
		}
	}
}
