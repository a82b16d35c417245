package tui

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/api"
)

// relWorld is #lobby with a thread, an edit, a delete, reactions, a
// reply sent to the room too and a mention of this node.
//
//	#6 r1 bob    "can someone review the outbox?"  (root: 2 replies)
//	#5 r2 me     "on it, after lunch" (edited)
//	#4 r3 carol  "nice work"  👍 bob, me  🎉 carol
//	#3 r4 bob    (deleted)
//	#2 r5 carol  "I can help" (in r1's thread, also in the room)
//	#1 r6 bob    "@me ping"  (mentions me)
//
// The thread of r1 also holds t1, a reply from me only in the thread.
func relWorld() *fakeBackend {
	fb := newFakeBackend()
	at := func(min int) time.Time { return saturday.Add(time.Duration(min) * time.Minute) }
	r1 := textMsg("r1aaaaaa", "room:lobby", bobID, "can someone review the outbox?\nit is long", at(0))
	r1.Replies, r1.LastReplyAt = 2, at(10).Format(time.RFC3339Nano)
	r2 := textMsg("r2bbbbbb", "room:lobby", selfID, "on it, after lunch", at(1))
	r2.Edited, r2.Versions = true, []api.Version{{Text: "on it", SentAt: at(1).Format(time.RFC3339Nano)}}
	r3 := textMsg("r3cccccc", "room:lobby", carolID, "nice work", at(2))
	r3.Reactions = []api.Reaction{{Emoji: "👍", By: []string{bobID, selfID}}, {Emoji: "🎉", By: []string{carolID}}}
	r4 := textMsg("r4dddddd", "room:lobby", bobID, "", at(3))
	r4.Deleted = true
	r5 := textMsg("r5eeeeee", "room:lobby", carolID, "I can help", at(4))
	r5.ReplyTo, r5.Thread, r5.AlsoRoom = r1.ID, r1.ID, true
	r6 := textMsg("r6ffffff", "room:lobby", bobID, "@me ping", at(5))
	r6.Mentions = []string{selfID}
	fb.setHistory("#lobby", []api.Message{r1, r2, r3, r4, r5, r6})
	t1 := textMsg("t1gggggg", "room:lobby", selfID, "only in the thread", at(10))
	t1.ReplyTo, t1.Thread = r1.ID, r1.ID
	fb.setThread(r1.ID, []api.Message{r5, t1})
	return fb
}

func TestDecorationsRender(t *testing.T) {
	h := newHarness(t, relWorld(), 100, 30)
	tl := h.timelineText()
	for _, want := range []string{
		"14:02 bob: can someone review the outbox?",
		"↳ 2 replies, last at 14:12",
		"14:03 me: on it, after lunch (edited)",
		"👍 2  🎉 1",
		"14:05 bob: message deleted",
		"↪ bob: can someone review the outbox?",
		"14:06 carol: I can help",
		"14:07 bob: » @me ping", // without colour, » marks a message naming this node
	} {
		if !hasLine(tl, want) {
			t.Errorf("timeline: got %q, want a line with %q", tl, want)
		}
	}
	if hasLine(tl, "only in the thread") {
		t.Errorf("timeline: got %q, want no thread-only reply", tl)
	}
	if hasLine(tl, "outbox? it is long") {
		t.Errorf("timeline: got %q, want only the quoted message's first line in the quote", tl)
	}

	// In colour, the message naming this node stands out, and @nick
	// words are styled.
	c := newHarnessColor(t, relWorld(), 100, 30, true)
	content := c.m.View().Content
	if want := c.m.th.mention.Render("» @me ping"); !strings.Contains(content, want) {
		t.Errorf("colour frame: want the mention styled as %q", want)
	}
}

func TestMessageNumbersWhileTyping(t *testing.T) {
	h := newHarness(t, relWorld(), 100, 30)
	h.typeText("/reply ")
	tl := h.timelineText()
	for _, want := range []string{"   #1 bob: » @me ping", "   #6 bob: can someone", "   #3 bob: message deleted"} {
		if !hasLine(tl, want) {
			t.Errorf("while typing /reply: got %q, want a line with %q", tl, want)
		}
	}
	// A message arriving meanwhile shifts no number.
	live := textMsg("r7hhhhhh", "room:lobby", carolID, "late news", saturday.Add(6*time.Minute))
	h.event(api.Event{Type: "message", Message: &live})
	h.typeText("1 pong")
	h.send(keyEnter)
	if got := h.fb.callsOf("Reply"); len(got) != 1 || got[0][0] != "r6ffffff" {
		t.Fatalf("Reply calls: got %q, want one to r6ffffff (#1 when typing began)", got)
	}
	if hasLine(h.timelineText(), "#1") {
		t.Errorf("after Enter: got %q, want the times back", h.timelineText())
	}
}

func TestRelationCommands(t *testing.T) {
	tests := []struct {
		name     string
		line     string
		want     []string // the call: method, then its arguments
		wantStat string
		wantErr  bool
		compose  string // the composer after the command
		again    bool   // Enter once more on what the command left in the composer
	}{
		{name: "reply by number", line: "/reply 6 looking now", want: []string{"Reply", "r1aaaaaa", "looking now", "false", "false"}},
		{name: "reply by ID prefix", line: "/reply r3cc thanks", want: []string{"Reply", "r3cccccc", "thanks", "false", "false"}},
		{name: "reply without text", line: "/reply 2", wantStat: "usage: /reply N text", wantErr: true},
		{name: "reply to nothing", line: "/reply 99 hi", wantStat: "no message 99 here", wantErr: true},
		{name: "edit", line: "/edit 5 on it now", want: []string{"Edit", "r2bbbbbb", "on it now"}, wantStat: "edited"},
		{name: "edit another's", line: "/edit 1 hijack", wantStat: "not your message", wantErr: true},
		{name: "edit fills the composer", line: "/edit 5", compose: "/edit 5 on it, after lunch", wantStat: "edit the text"},
		{name: "delete asks first", line: "/delete 5", compose: "/delete 5", wantStat: "“on it, after lunch” for everyone? Enter again"},
		{name: "delete on the second Enter", line: "/delete 5", again: true, want: []string{"Delete", "r2bbbbbb"}, wantStat: "deleted for everyone"},
		{name: "delete a deleted one", line: "/delete 3", wantStat: "already deleted"},
		{name: "react", line: "/react 4 🎉", want: []string{"React", "r3cccccc", "🎉"}, wantStat: "reacted 🎉"},
		{name: "react without emoji", line: "/react 4", wantStat: "usage: /react N emoji", wantErr: true},
		{name: "also outside a thread", line: "/also", wantStat: "/also works in a thread", wantErr: true},
		{name: "search without words", line: "/search", wantStat: "usage: /search", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fb := relWorld()
			h := newHarness(t, fb, 100, 30)
			h.enter(tt.line)
			if tt.again {
				h.send(keyEnter)
			}
			var got []string
			for _, method := range []string{"Reply", "Edit", "Delete", "React"} {
				for _, args := range fb.callsOf(method) {
					got = append(append(got, method), args...)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("calls: got %q, want %q", got, tt.want)
			}
			if !strings.Contains(h.m.status, tt.wantStat) || h.m.statusErr != tt.wantErr {
				t.Errorf("status: got %q (error %v), want %q (error %v)", h.m.status, h.m.statusErr, tt.wantStat, tt.wantErr)
			}
			if got := h.m.input.Value(); got != tt.compose {
				t.Errorf("composer: got %q, want %q", got, tt.compose)
			}
			if len(fb.callsOf("Send")) > 0 {
				t.Errorf("a command was sent as a message: %q", fb.callsOf("Send"))
			}
		})
	}
}

func TestCommandErrorShowsInStatus(t *testing.T) {
	fb := relWorld()
	h := newHarness(t, fb, 100, 30)
	fb.failNext("Edit", &api.Error{Status: 403, Code: api.CodeForbidden, Message: "not your message"})
	h.enter("/edit 5 again")
	if !h.m.statusErr || !strings.Contains(h.m.status, "not your message") {
		t.Errorf("status: got %q (error %v), want the node's refusal", h.m.status, h.m.statusErr)
	}
}

func TestThreadView(t *testing.T) {
	fb := relWorld()
	h := newHarness(t, fb, 100, 30)
	h.enter("/thread 2") // a reply in r1's thread opens r1's thread
	if got, want := fb.callsOf("ThreadPage"), [][]string{{"r1aaaaaa", "50", ""}}; !slices.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("ThreadPage calls: got %q, want %q (the newest page of r1aaaaaa's thread)", got, want)
	}
	tl := h.timelineText()
	for _, want := range []string{"Thread in #lobby  2 replies · Esc: back", "bob: can someone review the outbox?", "carol: I can help", "me: only in the thread"} {
		if !hasLine(tl, want) {
			t.Errorf("thread: got %q, want a line with %q", tl, want)
		}
	}
	if hasLine(tl, "↪") || hasLine(tl, "replies, last at") {
		t.Errorf("thread: got %q, want replies to the root unquoted and no count under it", tl)
	}

	// What is written goes into the thread; /also sends it to the room too.
	h.enter("in the thread")
	h.enter("/also")
	h.enter("to both")
	want := [][]string{{"r1aaaaaa", "in the thread", "true", "false"}, {"r1aaaaaa", "to both", "true", "true"}}
	if got := fb.callsOf("Reply"); !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("Reply calls: got %q, want %q", got, want)
	}
	if len(fb.callsOf("Send")) > 0 {
		t.Errorf("Send calls in a thread: %q", fb.callsOf("Send"))
	}
	// /react N in the thread names the thread's messages.
	h.enter("/react 1 👀")
	if got := fb.callsOf("React"); len(got) != 1 || got[0][0] != "t1gggggg" {
		t.Errorf("React in the thread: got %q, want t1gggggg", got)
	}

	h.send(keyEsc)
	if h.m.thread != nil || !hasLine(h.timelineText(), "bob: » @me ping") {
		t.Errorf("after Esc: got %q, want the room again", h.timelineText())
	}
}

func TestThreadReplyEvent(t *testing.T) {
	fb := relWorld()
	h := newHarness(t, fb, 100, 30)
	h.enter("/thread 6")

	reply := textMsg("t2iiiiii", "room:lobby", bobID, "thread only news", saturday.Add(11*time.Minute))
	reply.ReplyTo, reply.Thread = "r1aaaaaa", "r1aaaaaa"
	fb.change("r1aaaaaa", func(m *api.Message) { m.Replies, m.LastReplyAt = 3, reply.SentAt })
	h.event(api.Event{Type: "message", Message: &reply})

	if !hasLine(h.timelineText(), "bob: thread only news") {
		t.Errorf("thread: got %q, want the new reply", h.timelineText())
	}
	if got := fb.callsOf("Message"); len(got) != 1 || got[0][0] != "r1aaaaaa" {
		t.Errorf("Message calls: got %q, want the root fetched anew", got)
	}
	h.send(keyEsc)
	tl := h.timelineText()
	if hasLine(tl, "thread only news") {
		t.Errorf("timeline: got %q, want no thread-only reply", tl)
	}
	if !hasLine(tl, "↳ 3 replies, last at 14:13") {
		t.Errorf("timeline: got %q, want the root's new count", tl)
	}
	if got := len(h.m.tl["room:lobby"].msgs); got != 6 {
		t.Errorf("timeline: got %d messages, want 6", got)
	}

	// A reply sent to the room too shows there, quoting its root.
	also := textMsg("t3jjjjjj", "room:lobby", carolID, "for everyone", saturday.Add(12*time.Minute))
	also.ReplyTo, also.Thread, also.AlsoRoom = "r1aaaaaa", "r1aaaaaa", true
	h.event(api.Event{Type: "message", Message: &also})
	if !hasLine(h.timelineText(), "carol: for everyone") {
		t.Errorf("timeline: got %q, want the reply sent to the room too", h.timelineText())
	}
}

func TestOperationEventsRerenderTarget(t *testing.T) {
	tests := []struct {
		name   string
		op     api.Message
		change func(*api.Message)
		want   string
	}{
		{"edit", api.Message{Kind: "edit", Target: "r3cccccc", Text: "great work"},
			func(m *api.Message) { m.Text, m.Edited = "great work", true }, "carol: great work (edited)"},
		{"delete", api.Message{Kind: "delete", Target: "r3cccccc"},
			func(m *api.Message) { m.Text, m.Deleted, m.Reactions = "", true, nil }, "carol: message deleted"},
		{"react", api.Message{Kind: "react", Target: "r3cccccc", Emoji: "👍"},
			func(m *api.Message) { m.Reactions[0].By = append(m.Reactions[0].By, carolID) }, "👍 3  🎉 1"},
		{"take back", api.Message{Kind: "react", Target: "r3cccccc", Emoji: "🎉", Remove: true},
			func(m *api.Message) { m.Reactions = m.Reactions[:1] }, "👍 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fb := relWorld()
			h := newHarness(t, fb, 100, 30)
			before := len(h.timelineText())
			fb.change("r3cccccc", tt.change)
			op := tt.op
			op.ID, op.From, op.Conversation, op.Room, op.SentAt = "op1", carolID, "room:lobby", "lobby", saturday.Add(9*time.Minute).Format(time.RFC3339Nano)
			h.event(api.Event{Type: "message", Message: &op})
			tl := h.timelineText()
			if !hasLine(tl, tt.want) {
				t.Errorf("timeline: got %q, want a line with %q", tl, tt.want)
			}
			if tt.name == "take back" && hasLine(tl, "🎉") {
				t.Errorf("timeline: got %q, want 🎉 gone", tl)
			}
			if got := len(h.m.tl["room:lobby"].msgs); got != 6 {
				t.Errorf("timeline: got %d messages, want 6 (no line for the %s)", got, tt.name)
			}
			if len(tl) != before {
				t.Errorf("timeline height changed: %d, want %d", len(tl), before)
			}
		})
	}
}

func TestOperationOnUnknownMessageIsQuiet(t *testing.T) {
	fb := relWorld()
	h := newHarness(t, fb, 100, 30)
	op := api.Message{ID: "op2", Kind: "react", Target: "gone0000", Emoji: "👍", From: bobID, Conversation: "room:lobby"}
	h.event(api.Event{Type: "message", Message: &op})
	if h.m.statusErr {
		t.Errorf("status: got error %q, want none for a message not held", h.m.status)
	}
}

func TestSearchJumpsToMessage(t *testing.T) {
	fb := bigWorld()
	ms := roomHistory("big", 1000)
	ms[100].Text = "needle in the haystack"
	fb.setHistory("#big", ms)
	h := newHarness(t, fb, 100, 30)

	h.enter("/search needle")
	if got := fb.callsOf("Search"); len(got) != 1 || !slices.Equal(got[0], []string{"needle", "", "", "50"}) {
		t.Fatalf("Search calls: got %q", got)
	}
	tl := h.timelineText()
	if !hasLine(tl, "Search: needle  1 found") || !hasLine(tl, "▸#big  bob  ") || !hasLine(tl, "needle in the haystack") {
		t.Fatalf("results: got %q, want the hit with its conversation and author", tl)
	}
	h.send(keyEnter)
	if got, want := h.m.cur, "room:big"; got != want {
		t.Fatalf("open conversation: got %q, want %q", got, want)
	}
	tl = h.timelineText()
	if !hasLine(tl, "needle in the haystack ◀") {
		t.Errorf("after the jump: got %q, want the message in view, marked", tl)
	}
	if got := len(fb.callsOf("HistoryAll")); got < 5 {
		t.Errorf("HistoryAll calls: got %d, want the pages back to message 100", got)
	}
	h.send(keyEsc)
	if hasLine(h.timelineText(), "◀") {
		t.Errorf("after Esc: got %q, want the mark gone", h.timelineText())
	}
}

func TestSearchResultsKeys(t *testing.T) {
	fb := relWorld()
	h := newHarness(t, fb, 100, 30)
	h.enter("/search o") // several hits, newest first
	if h.m.search == nil || len(h.m.search.hits) < 2 {
		t.Fatalf("search: got %+v, want several hits", h.m.search)
	}
	h.send(keyDown)
	if got := h.m.search.sel; got != 1 {
		t.Errorf("after ↓: selected %d, want 1", got)
	}
	h.send(keyEsc)
	if h.m.search != nil {
		t.Errorf("after Esc: results still shown")
	}
	h.enter("/search nothing-like-it")
	if !hasLine(h.timelineText(), "Nothing found") {
		t.Errorf("no hits: got %q", h.timelineText())
	}
	fb.failNext("Search", errors.New("search index unavailable"))
	h.send(keyEsc)
	h.enter("/search x")
	if !h.m.statusErr || !strings.Contains(h.m.status, "unavailable") {
		t.Errorf("status: got %q, want the error", h.m.status)
	}
}

func TestSearchJumpIntoThread(t *testing.T) {
	fb := relWorld()
	h := newHarness(t, fb, 100, 30)
	h.m.search = &searchView{query: "only", hits: []api.SearchHit{{ID: "t1gggggg", Conversation: "room:lobby", From: selfID, Text: "only in the thread"}}}
	h.send(keyEnter)
	if h.m.thread == nil || h.m.thread.root != "r1aaaaaa" {
		t.Fatalf("thread: got %+v, want r1aaaaaa's open", h.m.thread)
	}
	if !hasLine(h.timelineText(), "me: only in the thread ◀") {
		t.Errorf("thread: got %q, want the reply marked", h.timelineText())
	}
}

func TestNumbersAfterSwitchingWhileTyping(t *testing.T) {
	fb := relWorld()
	fb.setHistory("#dev", roomHistory("dev", 3))
	h := newHarness(t, fb, 100, 30)
	h.typeText("/react ")
	h.send(keyCtrlN) // #dev, loaded only now
	if !hasLine(h.timelineText(), "   #1 bob: message 2") {
		t.Errorf("#dev while typing /react: got %q, want its messages numbered", h.timelineText())
	}
	h.typeText("3 👍")
	h.send(keyEnter)
	if got := fb.callsOf("React"); len(got) != 1 || got[0][0] != "m00000" {
		t.Errorf("React: got %q, want #3 of #dev, m00000", got)
	}
}

func TestResyncReloadsOpenThread(t *testing.T) {
	fb := relWorld()
	h := newHarness(t, fb, 100, 30)
	h.enter("/thread 6")
	fb.change("t1gggggg", func(m *api.Message) { m.Text, m.Edited = "said while the stream was down", true })
	h.send(resyncMsg{})
	if !hasLine(h.timelineText(), "me: said while the stream was down (edited)") {
		t.Errorf("thread after resync: got %q, want the edit", h.timelineText())
	}
}

func TestReceiptEventReloadsNewestPage(t *testing.T) {
	fb := relWorld()
	h := newHarness(t, fb, 100, 30)
	before := len(fb.callsOf("HistoryAll"))
	h.event(api.Event{Type: "receipt", Conversation: "room:lobby", ID: "r6ffffff"})
	if got := fb.callsOf("HistoryAll")[before:]; len(got) != 1 || !slices.Equal(got[0], []string{"#lobby", "200", "", "true"}) {
		t.Errorf("HistoryAll after a receipt: got %q, want the newest page again", got)
	}
	h.event(api.Event{Type: "receipt", Conversation: "room:dev", ID: "x"}) // not loaded: nothing
	if got := len(fb.callsOf("HistoryAll")); got != before+1 {
		t.Errorf("HistoryAll calls: got %d, want %d", got, before+1)
	}
	if got := ticks("read"); got != "✓✓ read" {
		t.Errorf("ticks(read): got %q", got)
	}
}

func TestSeenByOnOwnRoomMessages(t *testing.T) {
	fb := relWorld()
	h := newHarness(t, fb, 100, 30)
	fb.change("r2bbbbbb", func(m *api.Message) { m.SeenBy = []string{bobID, carolID} })
	fb.change("r6ffffff", func(m *api.Message) { m.SeenBy = []string{selfID} }) // bob's: no count shown
	h.event(api.Event{Type: "receipt", Conversation: "room:lobby", ID: "r2bbbbbb"})
	text := h.timelineText()
	if !hasLine(text, "14:03 me: on it, after lunch (edited) · seen by 2") {
		t.Errorf("own message after receipts: got %q, want seen by 2", text)
	}
	if !hasLine(text, "14:07 bob: » @me ping") {
		t.Errorf("another's message: got %q, want no seen count", text)
	}
}

// TestDeleteConfirmation: /delete asks before erasing for everyone; Esc
// or other text in between keeps the message.
func TestDeleteConfirmation(t *testing.T) {
	fb := relWorld()
	h := newHarness(t, fb, 100, 30)
	h.enter("/delete 5")
	h.send(keyEsc)
	if h.m.input.Value() != "" || !strings.Contains(h.m.status, "kept") {
		t.Errorf("after Esc: composer %q, status %q; want it empty and the message kept", h.m.input.Value(), h.m.status)
	}
	h.enter("/delete 5")
	h.m.input.SetValue("never mind")
	h.send(keyEnter)
	h.enter("/delete 5") // asks again: the earlier question was answered by other text
	if got := fb.callsOf("Delete"); len(got) != 0 {
		t.Fatalf("Delete calls: got %q, want none before a confirming Enter", got)
	}
	h.send(keyEnter)
	if got := fb.callsOf("Delete"); len(got) != 1 || got[0][0] != "r2bbbbbb" {
		t.Fatalf("Delete calls: got %q, want one for r2bbbbbb", got)
	}
}
