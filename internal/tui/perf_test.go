package tui

import (
	"fmt"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/parley-chat/parley/internal/api"
)

// bigRoom is the size of the large room of the performance tests.
const bigRoom = 10000

// bigWorld has #big with bigRoom messages as the second conversation.
func bigWorld() *fakeBackend {
	fb := newFakeBackend()
	fb.setConvs(room("lobby", 0), room("big", 0), dm(bobID, "bob", true, 0))
	fb.setHistory("#big", roomHistory("big", bigRoom))
	return fb
}

// TestOpenLargeRoomShowsNewestPage measures the time from the key that
// opens a 10,000-message room to the frame that shows its newest message:
// Update, the history command (the newest page of 200, as the API
// answers) and View.
func TestOpenLargeRoomShowsNewestPage(t *testing.T) {
	fb := bigWorld()
	h := newHarness(t, fb, 120, 30)
	newest := "message 9999"

	start := time.Now()
	h.send(keyCtrlN)
	frame := h.m.View().Content
	took := time.Since(start)

	if !strings.Contains(frame, newest) {
		t.Fatalf("frame after opening #big:\n%s\nwant %q", stripANSI(frame), newest)
	}
	if got := len(h.m.tl["room:big"].msgs); got != pageSize {
		t.Errorf("loaded: got %d messages, want one page of %d", got, pageSize)
	}
	t.Logf("open a %d-message room: newest message on screen after %v", bigRoom, took)
	if took > 2*time.Second {
		t.Errorf("opening took %v, want under 2s", took)
	}
}

// TestFrameTimeWithWholeRoomLoaded pages through the whole 10,000-message
// room and measures a key press plus a frame then, which is what every
// key costs while reading old history.
func TestFrameTimeWithWholeRoomLoaded(t *testing.T) {
	fb := bigWorld()
	h := newHarness(t, fb, 120, 30)
	h.send(keyCtrlN)
	tl := h.m.tl["room:big"]
	start := time.Now()
	for i := 0; !tl.atStart; i++ {
		if i > 10*bigRoom {
			t.Fatal("never reached the start of #big")
		}
		// Jump to the top and load the next page, as holding PgUp does.
		tl.scroll = 1 << 30
		h.send(keyPgUp)
	}
	paging := time.Since(start)
	if got := len(tl.msgs); got != bigRoom {
		t.Fatalf("loaded: got %d messages, want %d", got, bigRoom)
	}
	start = time.Now()
	const keys = 20
	for range keys {
		h.send(textKey('x'))
		_ = h.m.View()
	}
	perKey := time.Since(start) / keys
	t.Logf("paging through %d messages (%d pages): %v; then a key press and its frame: %v", bigRoom, bigRoom/pageSize, paging, perKey)
	if perKey > 2*time.Second {
		t.Errorf("a key press with the whole room loaded took %v, want under 2s", perKey)
	}
}

// TestTypingWhileOlderPageLoads shows that while an older page is on its
// way (its command blocked in the backend, as on a slow node), keys typed
// into the composer are handled at once.
func TestTypingWhileOlderPageLoads(t *testing.T) {
	fb := bigWorld()
	h := newHarness(t, fb, 120, 30)
	h.send(keyCtrlN)

	fb.mu.Lock()
	fb.historyGate = make(chan struct{})
	fb.historyEntered = make(chan string, 1)
	fb.mu.Unlock()
	var load tea.Cmd
	for i := 0; load == nil; i++ {
		if i > 100 {
			t.Fatal("PgUp never reached the top")
		}
		load = h.update(keyPgUp)
	}
	// Bubble Tea runs commands off the event loop; so does the test.
	result := make(chan tea.Msg, 1)
	go func() { result <- load() }()
	select {
	case before := <-fb.historyEntered:
		if want := h.m.tl["room:big"].msgs[0].ID; before != want {
			t.Errorf("HistoryAll before: got %q, want the oldest loaded %q", before, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the history command never reached the backend")
	}

	const text = "typing while the past loads"
	start := time.Now()
	for _, r := range text {
		cmd := h.update(textKey(r))
		h.run(cmd) // typing notices only: the history gate does not block them
		_ = h.m.View()
	}
	took := time.Since(start)
	if got := h.m.input.Value(); got != text {
		t.Fatalf("composer while loading: got %q, want %q", got, text)
	}
	if got := h.timelineText()[0]; !strings.Contains(got, "loading…") {
		t.Errorf("header while loading: got %q, want loading…", got)
	}
	t.Logf("%d keys and frames while a page loads: %v (%v a key)", len(text), took, took/time.Duration(len(text)))

	close(fb.historyGate)
	select {
	case msg := <-result:
		h.send(msg)
	case <-time.After(10 * time.Second):
		t.Fatal("the history command did not finish after the gate opened")
	}
	if got := len(h.m.tl["room:big"].msgs); got != 2*pageSize {
		t.Errorf("loaded after the page came: got %d, want %d", got, 2*pageSize)
	}
	if got := h.m.input.Value(); got != text {
		t.Errorf("composer after the page came: got %q, want %q", got, text)
	}
}

func BenchmarkOpenLargeRoom(b *testing.B) {
	fb := bigWorld()
	for b.Loop() {
		h := newHarness(b, fb, 120, 30)
		h.send(keyCtrlN)
		_ = h.m.View()
	}
}

func BenchmarkViewNewestPage(b *testing.B) {
	h := newHarness(b, bigWorld(), 120, 30)
	h.send(keyCtrlN)
	for b.Loop() {
		_ = h.m.View()
	}
}

func BenchmarkKeyWithWholeRoomLoaded(b *testing.B) {
	fb := newFakeBackend()
	h := newHarness(b, fb, 120, 30)
	tl := h.m.timeline("room:lobby")
	tl.msgs, tl.loaded, tl.atStart = roomHistory("lobby", bigRoom), true, true
	for b.Loop() {
		h.send(textKey('x'))
		_ = h.m.View()
	}
}

// BenchmarkMessageEventWholeRoomLoaded is one incoming message in a room
// whose 10,000 messages are loaded: merge, refresh and a frame.
func BenchmarkMessageEventWholeRoomLoaded(b *testing.B) {
	fb := newFakeBackend()
	h := newHarness(b, fb, 120, 30)
	tl := h.m.timeline("room:lobby")
	tl.msgs, tl.loaded, tl.atStart = roomHistory("lobby", bigRoom), true, true
	i := 0
	for b.Loop() {
		i++
		msg := textMsg("new"+string(rune(i)), "room:lobby", bobID, "live", t0.Add(time.Duration(i)*time.Millisecond))
		h.send(EventMsg(api.Event{Type: "message", Message: &msg}))
		_ = h.m.View()
	}
}

// threadWorld has #big's newest message as the root of a thread of
// replies replies.
func threadWorld(replies int) *fakeBackend {
	fb := bigWorld()
	ms := roomHistory("big", bigRoom)
	root := &ms[len(ms)-1]
	root.Replies = replies
	rs := make([]api.Message, replies)
	start := t0.Add(-30 * time.Second)
	for i := range rs {
		from := bobID
		if i%2 == 1 {
			from = carolID
		}
		rs[i] = textMsg(fmt.Sprintf("t%05d", i), "room:big", from, fmt.Sprintf("reply %d", i), start.Add(time.Duration(i)*time.Millisecond))
		rs[i].ReplyTo, rs[i].Thread = root.ID, root.ID
	}
	root.LastReplyAt = rs[len(rs)-1].SentAt
	fb.setHistory("#big", ms)
	fb.setThread(root.ID, rs)
	return fb
}

// BenchmarkOpenThread opens a thread of 1,000 replies (the room already
// open): from the command to the frame with its newest reply.
func BenchmarkOpenThread(b *testing.B) {
	fb := threadWorld(1000)
	h := newHarness(b, fb, 120, 30)
	h.send(keyCtrlN)
	for b.Loop() {
		h.m.closeThread()
		clear(h.m.lineCache) // cold: as the first time it opens
		h.run(h.m.command("/thread 1"))
		if frame := h.m.View().Content; !strings.Contains(frame, "reply 999") {
			b.Fatalf("frame after /thread:\n%s\nwant reply 999", stripANSI(frame))
		}
	}
}

// decoratedWorld is bigWorld whose newest 50 messages carry reactions,
// edits and reply counts, and quote each other.
func decoratedWorld() *fakeBackend {
	fb := newFakeBackend()
	fb.setConvs(room("lobby", 0), room("big", 0), dm(bobID, "bob", true, 0))
	ms := roomHistory("big", bigRoom)
	for i := len(ms) - 50; i < len(ms); i++ {
		m := &ms[i]
		m.Edited, m.Versions = true, []api.Version{{Text: "before", SentAt: m.SentAt}}
		m.Reactions = []api.Reaction{{Emoji: "👍", By: []string{bobID, selfID}}, {Emoji: "🎉", By: []string{carolID}}}
		m.Replies, m.LastReplyAt = 3, m.SentAt
		m.ReplyTo = ms[i-1].ID
		m.Mentions = []string{selfID}
	}
	fb.setHistory("#big", ms)
	return fb
}

// BenchmarkOpenDecoratedRoom is BenchmarkOpenLargeRoom with the newest
// 50 messages decorated.
func BenchmarkOpenDecoratedRoom(b *testing.B) {
	fb := decoratedWorld()
	for b.Loop() {
		h := newHarness(b, fb, 120, 30)
		h.send(keyCtrlN)
		_ = h.m.View()
	}
}

// BenchmarkViewDecoratedPage is a frame of that room, its lines cached.
func BenchmarkViewDecoratedPage(b *testing.B) {
	h := newHarness(b, decoratedWorld(), 120, 30)
	h.send(keyCtrlN)
	for b.Loop() {
		_ = h.m.View()
	}
}
