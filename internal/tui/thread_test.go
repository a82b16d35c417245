package tui

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/parley-chat/parley/internal/api"
)

// longThreadWorld is #lobby with one root whose thread has n replies,
// one a second after it.
func longThreadWorld(n int) (*fakeBackend, []api.Message) {
	fb := newFakeBackend()
	start := t0.Add(-time.Hour)
	root := textMsg("root0000", "room:lobby", bobID, "the release plan", start)
	root.Replies = n
	fb.setHistory("#lobby", []api.Message{root})
	replies := make([]api.Message, n)
	for i := range replies {
		r := textMsg(fmt.Sprintf("tr%05d", i), "room:lobby", carolID, fmt.Sprintf("reply %d", i), start.Add(time.Duration(i+1)*time.Second))
		r.ReplyTo, r.Thread = root.ID, root.ID
		replies[i] = r
	}
	fb.setThread(root.ID, replies)
	return fb, replies
}

// TestThreadPages: a thread opens with its newest page of replies;
// PgUp past the top loads the page before it (one load at a time, the
// view kept where the reader was) until the first reply, and then the
// root shows at the top.
func TestThreadPages(t *testing.T) {
	fb, replies := longThreadWorld(120)
	h := newHarness(t, fb, 80, 24)
	h.enter("/thread 1")
	th := h.m.thread
	if th == nil {
		t.Fatalf("no thread open; status %q", h.statusLine())
	}
	if got, want := fb.callsOf("ThreadPage"), [][]string{{"root0000", "50", ""}}; !slices.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("ThreadPage calls: got %q, want %q", got, want)
	}
	if got := len(th.msgs); got != 1+threadPageSize {
		t.Fatalf("loaded: got %d messages, want the root and %d replies", got, threadPageSize)
	}
	tl := h.timelineText()
	if got, want := tl[0], "Thread in #lobby  120 replies · PgUp: older · Esc: back"; got != want {
		t.Errorf("header: got %q, want %q", got, want)
	}
	if got := tl[len(tl)-1]; !strings.HasSuffix(got, "carol: reply 119") {
		t.Errorf("last line: got %q, want the newest reply", got)
	}

	// PgUp scrolls; at the top it returns the load command, which has not
	// run yet: Update does not wait for the node.
	var load tea.Cmd
	for i := 0; load == nil; i++ {
		if i > 100 {
			t.Fatal("PgUp never reached the top of the thread")
		}
		load = h.update(keyPgUp)
	}
	if got := len(fb.callsOf("ThreadPage")); got != 1 {
		t.Fatalf("ThreadPage calls before running the command: got %d, want 1", got)
	}
	if got := h.timelineText()[0]; !strings.Contains(got, "loading…") {
		t.Errorf("header while loading: got %q, want loading…", got)
	}
	if cmd := h.update(keyPgUp); cmd != nil {
		t.Errorf("PgUp while an older page loads: got a command, want none")
	}
	row := func() int {
		return slices.IndexFunc(h.timelineText(), func(l string) bool { return strings.HasSuffix(l, "carol: reply 70") })
	}
	before := row()
	h.run(load)
	calls := fb.callsOf("ThreadPage")
	if got, want := calls[len(calls)-1], []string{"root0000", "50", replies[70].ID}; !slices.Equal(got, want) {
		t.Fatalf("ThreadPage: got %q, want %q (the page before the oldest reply loaded)", got, want)
	}
	if got := len(th.msgs); got != 1+2*threadPageSize {
		t.Fatalf("loaded: got %d messages, want the root and %d replies", got, 2*threadPageSize)
	}
	// The view stays where the reader was (the oldest reply of the first
	// page on the same row; the root moved above the new page).
	if got := row(); before < 1 || got != before {
		t.Errorf("reply 70 after loading: on row %d, want row %d as before", got, before)
	}
	if got := h.timelineText()[1]; !strings.HasSuffix(got, "carol: reply 68") {
		t.Errorf("top after loading: got %q, want reply 68 from the page loaded", got)
	}

	// The last page (20 replies) marks the start: the root shows on top,
	// and PgUp there loads nothing more.
	for range 200 {
		if cmd := h.update(keyPgUp); cmd != nil {
			h.run(cmd)
		}
	}
	if got := len(th.msgs); got != 1+len(replies) || !th.atStart {
		t.Fatalf("after paging to the start: got %d messages (at start %v), want %d (true)", got, th.atStart, 1+len(replies))
	}
	if got := len(fb.callsOf("ThreadPage")); got != 3 {
		t.Errorf("ThreadPage calls: got %d, want 3 (120 replies, pages of 50)", got)
	}
	tl = h.timelineText()
	if got, want := tl[0], "Thread in #lobby  120 replies · Esc: back"; got != want {
		t.Errorf("header at the start: got %q, want %q", got, want)
	}
	if !hasLine(tl[:4], "bob: the release plan") || !hasLine(tl[:5], "carol: reply 0") {
		t.Errorf("top at the start: got %q, want the root, then reply 0", tl[:5])
	}
	for i, msg := range th.msgs[1:] {
		if msg.ID != replies[i].ID {
			t.Fatalf("reply %d: got %s, want %s (in order, no gaps or repeats)", i, msg.ID, replies[i].ID)
		}
	}
}

// TestThreadOlderPageFails: a failed older page keeps the thread open and
// says why; the next PgUp at the top tries again.
func TestThreadOlderPageFails(t *testing.T) {
	fb, _ := longThreadWorld(60)
	h := newHarness(t, fb, 80, 24)
	h.enter("/thread 1")
	fb.failNext("ThreadPage", fmt.Errorf("node busy"))
	for range 100 {
		if cmd := h.update(keyPgUp); cmd != nil {
			h.run(cmd)
			break
		}
	}
	if h.m.thread == nil || !strings.Contains(h.statusLine(), "node busy") {
		t.Fatalf("after a failed page: thread %v, status %q; want the thread open and the error shown", h.m.thread != nil, h.statusLine())
	}
	if cmd := h.update(keyPgUp); cmd == nil {
		t.Fatal("PgUp after a failed page: got no command, want the page asked again")
	} else {
		h.run(cmd)
	}
	if got := len(h.m.thread.msgs); got != 61 || !h.m.thread.atStart {
		t.Errorf("after trying again: got %d messages (at start %v), want 61 (true)", got, h.m.thread.atStart)
	}
}

// TestThreadJumpToOlderReply: a search hit in a thread, older than its
// newest page, opens the thread with the pages before loaded until the
// hit is there, in view and marked.
func TestThreadJumpToOlderReply(t *testing.T) {
	fb, replies := longThreadWorld(120)
	h := newHarness(t, fb, 80, 24)
	h.run(h.m.openThread("root0000", "room:lobby", replies[3].ID))
	want := [][]string{{"root0000", "50", ""}, {"root0000", "50", replies[70].ID}, {"root0000", "50", replies[20].ID}}
	if got := fb.callsOf("ThreadPage"); !slices.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("ThreadPage calls: got %q, want %q", got, want)
	}
	if !hasLine(h.timelineText(), "carol: reply 3 ◀") {
		t.Errorf("thread: got %q, want reply 3 in view, marked", h.timelineText())
	}
	// A hit in the newest page loads nothing more and stays at the bottom.
	fb2, replies2 := longThreadWorld(120)
	h2 := newHarness(t, fb2, 80, 24)
	h2.run(h2.m.openThread("root0000", "room:lobby", replies2[118].ID))
	if got := len(fb2.callsOf("ThreadPage")); got != 1 || h2.m.thread.scroll != 0 || !hasLine(h2.timelineText(), "carol: reply 118 ◀") {
		t.Errorf("hit in the newest page: %d pages, scroll %d, timeline %q; want 1, 0 and the hit marked", got, h2.m.thread.scroll, h2.timelineText())
	}
}
