package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/parley-chat/parley/internal/api"
	"github.com/parley-chat/parley/internal/testnet"
)

// inRoom is the selector of message id in the room's timeline.
func inRoom(id string) string { return fmt.Sprintf(`#messages .message[data-id=%q]`, id) }

// inThread is the selector of message id in the thread panel.
func inThread(id string) string { return fmt.Sprintf(`#thread-messages .message[data-id=%q]`, id) }

// flashedInView is a condition: the message sel names is highlighted as
// jumped to, and wholly inside its scrolling list (box).
func flashedInView(sel, box string) string {
	return fmt.Sprintf(`(() => {
		const m = document.querySelector(%q);
		if (!m || !m.classList.contains('flash')) return false;
		const r = m.getBoundingClientRect(), b = document.getElementById(%q).getBoundingClientRect();
		return r.height > 0 && r.top >= b.top && r.bottom <= b.bottom;
	})()`, sel, box)
}

// apiMessage reads one message from d's API.
func apiMessage(t *testing.T, d *testnet.Daemon, id string) api.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, err := d.Client().Message(ctx, id)
	if err != nil {
		t.Fatalf("%s: message %s: %v", d.Name, id, err)
	}
	return m
}

// waitHeld waits until d holds message id.
func waitHeld(t *testing.T, d *testnet.Daemon, id string) {
	t.Helper()
	waitUntil(t, 20*time.Second, d.Name+" holding "+id[:8], func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err := d.Client().Message(ctx, id)
		return err == nil
	})
}

// TestWebRelations drives threads, reactions, edits, deletes, mentions,
// quoting replies and search in the web client: alice and bob each in a
// browser, in #team. alice replies in a thread to bob's message, reacts
// (bob's reaction through the API counts live), edits and deletes her
// own messages (bob's page follows live), quotes bob, and finds messages
// with the search box, one so old that the page loads older history to
// show it.
func TestWebRelations(t *testing.T) {
	needChromium(t)
	alice := testnet.NewDaemon(t, "alice")
	bob := testnet.NewDaemon(t, "bob")
	alice.Start(loopbackListen...)
	bob.Start(loopbackListen...)
	alice.MustRun("connect", bob.Identity().Addrs[0])
	alice.MustRun("join", "#team")
	bob.MustRun("join", "#team")
	waitUntil(t, 20*time.Second, "both in #team", func() bool {
		return roomMembers(t, alice, "team") == 2 && roomMembers(t, bob, "team") == 2
	})

	// An old message of bob's, buried under 120 newer ones: more than the
	// client's first page.
	const oldText = "the zebra crossing design doc is in the wiki"
	old := sendRoom(t, bob, "team", oldText)
	waitHeld(t, alice, old)
	actx, acancel := context.WithTimeout(context.Background(), 60*time.Second)
	for i := 1; i <= 120; i++ {
		if _, err := alice.Client().Send(actx, "#team", fmt.Sprintf("filler %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	acancel()
	const rootText = "please review the release plan"
	root := sendRoom(t, bob, "team", rootText)
	waitHeld(t, alice, root)

	ctx, alog := newBrowser(t)
	bctx, blog := newBrowser(t)
	loginBrowser(t, ctx, alice)
	loginBrowser(t, bctx, bob)
	for _, c := range []context.Context{ctx, bctx} {
		waitJS(t, c, 15*time.Second, "bob's message in #team", `!!document.querySelector(`+fmt.Sprintf("%q", inRoom(root))+`)`)
	}
	if eval[bool](t, ctx, `!!document.querySelector(`+fmt.Sprintf("%q", inRoom(old))+`)`) {
		t.Fatal("the old message is on the first page: the search below would not need paging")
	}

	// A thread: "Thread" on bob's message opens the panel; the reply goes
	// there, not to the room; the room counts it, at alice and at bob.
	clickJS(t, ctx, 10*time.Second, "Thread on bob's message", inRoom(root)+" .act-thread")
	waitJS(t, ctx, 10*time.Second, "the thread panel with bob's message", fmt.Sprintf(
		`!document.getElementById('thread-pane').hidden && document.querySelector(%q + ' .text')?.textContent === %q`, inThread(root), rootText))
	const threadText = "on it, checking the upstream changelog"
	do(t, ctx, 10*time.Second, "type in the thread and press Enter",
		chromedp.SendKeys(chromedp.ID("thread-input"), threadText),
		pressEnter,
	)
	waitJS(t, ctx, 15*time.Second, "the reply in the thread panel", fmt.Sprintf(
		`[...document.querySelectorAll('#thread-messages .message.mine .text')].some(e => e.textContent === %q) && document.getElementById('thread-title').textContent === 'Thread · 1 reply'`, threadText))
	for _, c := range []context.Context{ctx, bctx} {
		waitJS(t, c, 15*time.Second, "1 reply under bob's message", fmt.Sprintf(
			`(() => { const s = document.querySelector(%q + ' .thread-summary'); return !!s && s.textContent.startsWith('1 reply, last at '); })()`, inRoom(root)))
		if n := eval[int](t, c, fmt.Sprintf(`[...document.querySelectorAll('#messages .text')].filter(e => e.textContent === %q).length`, threadText)); n != 0 {
			t.Errorf("the thread-only reply is in the room's timeline (%d times)", n)
		}
	}
	var thread []api.Message
	waitUntil(t, 15*time.Second, "bob's history --thread with alice's reply", func() bool {
		bob.RunJSON(&thread, "history", "#team", "--thread", root, "--json")
		return len(thread) == 2
	})
	if thread[0].ID != root || thread[1].Text != threadText || thread[1].Thread != root || thread[1].AlsoRoom {
		t.Errorf("bob's thread: got %+v, want bob's message, then alice's reply in its thread only", thread)
	}
	threadReply := thread[1].ID
	// bob opens the thread from the count and sees the reply.
	clickJS(t, bctx, 10*time.Second, "bob: open the thread from the count", inRoom(root)+" .thread-summary")
	waitJS(t, bctx, 10*time.Second, "bob: the reply in the thread panel", fmt.Sprintf(
		`document.querySelector(%q + ' .text')?.textContent === %q`, inThread(threadReply), threadText))
	clickJS(t, bctx, 10*time.Second, "bob: close the thread", `#thread-close`)
	waitJS(t, bctx, 10*time.Second, "bob: the thread panel closed", `document.getElementById('thread-pane').hidden`)

	// A reaction from the picker: a chip with 1, highlighted; bob's own
	// reaction through the API makes it 2, live.
	clickJS(t, ctx, 10*time.Second, "React on bob's message", inRoom(root)+" .act-react")
	clickJS(t, ctx, 10*time.Second, "👍 in the picker", inRoom(root)+` .picker .pick[data-emoji="👍"]`)
	chip := inRoom(root) + ` .reaction[data-emoji="👍"]`
	waitJS(t, ctx, 15*time.Second, "the 👍 chip with 1, mine", fmt.Sprintf(
		`(() => { const c = document.querySelector(%q); return !!c && c.textContent === '👍 1' && c.classList.contains('mine') && !document.querySelector(%q); })()`, chip, inRoom(root)+" .picker"))
	waitJS(t, bctx, 15*time.Second, "bob: the 👍 chip with 1, not his", fmt.Sprintf(
		`(() => { const c = document.querySelector(%q); return !!c && c.textContent === '👍 1' && !c.classList.contains('mine'); })()`, chip))
	rctx, rcancel := context.WithTimeout(context.Background(), 10*time.Second)
	if _, err := bob.Client().React(rctx, root, "👍"); err != nil {
		t.Fatalf("bob react: %v", err)
	}
	rcancel()
	waitJS(t, ctx, 15*time.Second, "the 👍 chip with 2", fmt.Sprintf(
		`(() => { const c = document.querySelector(%q); return !!c && c.textContent === '👍 2' && c.title.includes('alice') && c.title.includes('bob'); })()`, chip))
	waitJS(t, bctx, 15*time.Second, "bob: the 👍 chip with 2, his too", fmt.Sprintf(
		`(() => { const c = document.querySelector(%q); return !!c && c.textContent === '👍 2' && c.classList.contains('mine'); })()`, chip))
	// Clicking the chip takes alice's back.
	clickJS(t, ctx, 10*time.Second, "the 👍 chip", chip)
	waitJS(t, ctx, 15*time.Second, "the 👍 chip with 1, not mine", fmt.Sprintf(
		`(() => { const c = document.querySelector(%q); return !!c && c.textContent === '👍 1' && !c.classList.contains('mine'); })()`, chip))

	// Editing her own message: the inline editor; the new text and the
	// edited mark (with the earlier text) at alice and, live, at bob.
	ownID := sendFromBrowser(t, ctx, "lunch at noon?")
	waitJS(t, bctx, 15*time.Second, "bob: alice's message", fmt.Sprintf(`!!document.querySelector(%q)`, inRoom(ownID)))
	if n := eval[int](t, ctx, fmt.Sprintf(`document.querySelectorAll(%q).length`, inRoom(root)+" .act-edit")); n != 0 {
		t.Error("bob's message offers alice an Edit button")
	}
	clickJS(t, ctx, 10*time.Second, "Edit on her message", inRoom(ownID)+" .act-edit")
	waitJS(t, ctx, 10*time.Second, "the editor, focused", fmt.Sprintf(
		`document.activeElement === document.querySelector(%q + ' .edit-input')`, inRoom(ownID)))
	eval[bool](t, ctx, `(() => { document.activeElement.value = 'lunch at one?'; return true; })()`)
	do(t, ctx, 10*time.Second, "Enter saves the edit", pressEnter)
	edited := fmt.Sprintf(`(() => {
		const m = document.querySelector(%q);
		return !!m && !m.querySelector('.editor') && m.querySelector('.text')?.textContent === 'lunch at one?' &&
			!!m.querySelector('.edited')?.title.includes('lunch at noon?') &&
			[...m.querySelectorAll('.versions .version-text')].map(e => e.textContent).join('|') === 'lunch at noon?';
	})()`, inRoom(ownID))
	waitJS(t, ctx, 15*time.Second, "the edited text and mark", edited)
	waitJS(t, bctx, 15*time.Second, "bob: the edited text and mark, live", edited)
	if m := apiMessage(t, bob, ownID); !m.Edited || m.Text != "lunch at one?" {
		t.Errorf("bob's node: edited %v, text %q; want the edit", m.Edited, m.Text)
	}

	// Read receipts: bob has the room open, so his browser marks it read;
	// alice's page shows who has seen her message, live.
	waitJS(t, ctx, 15*time.Second, "seen by 1 under her message", fmt.Sprintf(`(() => {
		const s = document.querySelector(%q + ' .seen');
		return !!s && s.textContent === 'seen by 1' && s.title.includes('bob');
	})()`, inRoom(ownID)))
	// The first message's toolbar sits inside its row: the scrolling list
	// would clip it above.
	if top := eval[string](t, ctx, `getComputedStyle(document.querySelector('#messages > .message, #messages > .day + .message').querySelector('.actions')).top`); top != "2px" {
		t.Errorf("the first message's toolbar: top %s, want 2px (inside the row)", top)
	}

	// Deleting her own message: confirmed, then a tombstone everywhere.
	doomed := sendFromBrowser(t, ctx, "oops, wrong room")
	waitJS(t, bctx, 15*time.Second, "bob: the doomed message", fmt.Sprintf(`!!document.querySelector(%q)`, inRoom(doomed)))
	clickJS(t, ctx, 10*time.Second, "Delete on her message", inRoom(doomed)+" .act-delete")
	waitJS(t, ctx, 10*time.Second, "the confirmation", `document.getElementById('confirm-dialog').open`)
	clickJS(t, ctx, 10*time.Second, "confirm the delete", `#confirm-ok`)
	tomb := fmt.Sprintf(`(() => {
		const m = document.querySelector(%q);
		return !!m && m.classList.contains('deleted') && m.querySelector('.text.tombstone')?.textContent === 'message deleted' && !m.querySelector('.actions') && !m.textContent.includes('oops');
	})()`, inRoom(doomed))
	waitJS(t, ctx, 15*time.Second, "the tombstone", tomb)
	waitJS(t, bctx, 15*time.Second, "bob: the tombstone, live", tomb)
	if m := apiMessage(t, bob, doomed); !m.Deleted || m.Text != "" {
		t.Errorf("bob's node: deleted %v, text %q; want it erased", m.Deleted, m.Text)
	}

	// A mention of alice stands out; she quotes it; the quote jumps back.
	const pingText = "@alice ping about the plan"
	ping := sendRoom(t, bob, "team", pingText)
	waitJS(t, ctx, 15*time.Second, "the mention highlighted", fmt.Sprintf(
		`(() => { const m = document.querySelector(%q); return !!m && m.classList.contains('mention') && m.querySelector('.text .at.me')?.textContent === '@alice' && m.querySelector('.text').textContent === %q; })()`,
		inRoom(ping), pingText))
	if eval[bool](t, bctx, fmt.Sprintf(`(() => { const m = document.querySelector(%q); return !m || m.classList.contains('mention'); })()`, inRoom(ping))) {
		t.Error("bob's page: his own mention of alice missing or highlighted as mentioning him")
	}
	clickJS(t, ctx, 10*time.Second, "Reply on the mention", inRoom(ping)+" .act-reply")
	waitJS(t, ctx, 10*time.Second, "the reply bar", fmt.Sprintf(
		`!document.getElementById('reply-bar').hidden && document.getElementById('reply-text').textContent === %q`, pingText))
	quoted := sendFromBrowser(t, ctx, "pong")
	waitJS(t, ctx, 10*time.Second, "the quote above the reply", fmt.Sprintf(
		`(() => { const q = document.querySelector(%q + ' .quote'); return !!q && q.querySelector('.quote-nick').textContent === 'bob' && q.querySelector('.quote-text').textContent === %q && document.getElementById('reply-bar').hidden; })()`,
		inRoom(quoted), pingText))
	if m := apiMessage(t, alice, quoted); m.ReplyTo != ping {
		t.Errorf("the quoting reply's reply_to: got %q, want %q", m.ReplyTo, ping)
	}
	clickJS(t, ctx, 10*time.Second, "the quote", inRoom(quoted)+" .quote")
	waitJS(t, ctx, 10*time.Second, "the quoted message highlighted in view", flashedInView(inRoom(ping), "timeline"))

	// Search: the hit names the room, the author and the text; clicking an
	// old one loads older pages until it is there, and shows it.
	search := func(q, id string) string {
		t.Helper()
		eval[bool](t, ctx, `(() => { document.getElementById('search-input').value = ''; return true; })()`)
		do(t, ctx, 10*time.Second, "search "+q,
			chromedp.SendKeys(chromedp.ID("search-input"), q),
			pressEnter,
		)
		hit := fmt.Sprintf(`#search-list .search-hit[data-id=%q]`, id)
		waitJS(t, ctx, 15*time.Second, "the hit for "+q, fmt.Sprintf(`!document.getElementById('search-results').hidden && !!document.querySelector(%q)`, hit))
		return hit
	}
	hit := search("zebra", old)
	if got := eval[string](t, ctx, fmt.Sprintf(
		`(() => { const h = document.querySelector(%q); return [h.querySelector('.hit-conv').textContent, h.querySelector('.hit-nick').textContent, h.querySelector('.hit-text').textContent].join('|'); })()`, hit)); got != "#team|bob|"+oldText {
		t.Errorf("the hit shows %q, want #team|bob|%s", got, oldText)
	}
	clickJS(t, ctx, 10*time.Second, "the old hit", hit)
	waitJS(t, ctx, 20*time.Second, "the old message highlighted in view", flashedInView(inRoom(old), "timeline"))
	if n := eval[int](t, ctx, `document.querySelectorAll('#messages .message').length`); n <= 100 {
		t.Errorf("after the jump the timeline holds %d messages: the old page was not loaded", n)
	}
	if !eval[bool](t, ctx, `document.getElementById('search-results').hidden`) {
		t.Error("the results stay open after a hit was picked")
	}
	// A thread-only reply opens in its thread.
	hit = search("upstream", threadReply)
	clickJS(t, ctx, 10*time.Second, "the thread reply's hit", hit)
	waitJS(t, ctx, 20*time.Second, "the thread reply highlighted in the thread panel", flashedInView(inThread(threadReply), "thread-list"))

	screenshot(t, ctx, "parley-web-relations.png")
	for name, l := range map[string]*browserLog{"alice": alog, "bob": blog} {
		if _, errs := l.snapshot(); len(errs) > 0 {
			t.Errorf("errors in %s's page:\n%s", name, strings.Join(errs, "\n"))
		}
	}
	if !slices.ContainsFunc(apiHistory(t, bob, "#team"), func(m api.Message) bool { return m.ID == quoted }) {
		t.Error("bob's history lacks alice's quoting reply")
	}
}

// sendFromBrowser types text into the composer, presses Enter and
// returns the ID of the own message that appears.
func sendFromBrowser(t *testing.T, ctx context.Context, text string) string {
	t.Helper()
	do(t, ctx, 10*time.Second, "type "+text+" and press Enter",
		chromedp.SendKeys(chromedp.ID("composer-input"), text),
		pressEnter,
	)
	find := fmt.Sprintf(`[...document.querySelectorAll('#messages .message.mine')].find(m => m.querySelector('.text') && m.querySelector('.text').textContent === %q)`, text)
	waitJS(t, ctx, 15*time.Second, "the own message "+text, "!!"+find)
	return eval[string](t, ctx, find+".dataset.id")
}
