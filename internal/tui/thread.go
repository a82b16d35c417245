package tui

import (
	"context"
	"fmt"
	"slices"

	tea "charm.land/bubbletea/v2"

	"github.com/parley-chat/parley/internal/api"
)

// threadPageSize is how many replies a thread page loads: the newest
// when it opens, older ones when scrolled up past the top.
const threadPageSize = 50

// threadView is an open thread (/thread): its root and replies in place
// of the timeline; what is written there goes into the thread.
type threadView struct {
	root    string
	conv    string
	msgs    []api.Message // the root, then the replies loaded, in order
	loading bool          // the newest page is loading
	older   bool          // an older page is loading
	atStart bool          // the oldest reply is loaded
	oldest  string        // the ID of the oldest reply loaded: where the previous page ends
	scroll  int           // lines scrolled up from the bottom
	also    bool          // replies go to the room too (/also)
	// seek is a reply a search jumped to, until it is loaded and in
	// view; seekPages counts the older pages loaded for it.
	seek      string
	seekPages int
}

// threadMsg is a page of a thread as the node answered it: its root,
// then replies; older marks a page scrolled up to.
type threadMsg struct {
	root  string
	msgs  []api.Message
	older bool
	err   error
}

// threadCommand runs /thread N: the thread of message N (its own, or the
// one it is a reply in).
func (m *Model) threadCommand(line string) tea.Cmd {
	msg, _, ok := m.refArgs(line, "/thread N", false)
	if !ok {
		return nil
	}
	root := msg.ID
	if msg.Thread != "" {
		root = msg.Thread
	}
	return m.openThread(root, msg.Conversation, "")
}

// openThread shows the thread of root (in conv), with the message
// highlight marked.
func (m *Model) openThread(root, conv, highlight string) tea.Cmd {
	m.thread = &threadView{root: root, conv: conv, loading: true, seek: highlight}
	m.search, m.showHelp, m.refs, m.highlight = nil, false, nil, highlight
	m.input.Placeholder = "Reply in the thread  (Esc: back to " + m.convName(conv) + " · /also: to the room too)"
	return m.loadThread(root)
}

// loadThread loads the newest page of the thread of root (opening it,
// or again after the event stream reopened).
func (m *Model) loadThread(root string) tea.Cmd {
	return m.loadThreadPage(root, "", false)
}

// loadThreadPage loads the replies of root's thread before the reply
// before (the newest if ""); older marks a page scrolled up to.
func (m *Model) loadThreadPage(root, before string, older bool) tea.Cmd {
	return m.ask(func(ctx context.Context) (tea.Msg, error) {
		ms, err := m.be.ThreadPage(ctx, root, threadPageSize, before)
		return threadMsg{root: root, msgs: ms, older: older, err: err}, nil
	})
}

// gotThread shows a loaded page of a thread, with replies that came
// meanwhile; while a reply a search jumped to is not loaded, it asks for
// the page before.
func (m *Model) gotThread(r threadMsg) tea.Cmd {
	th := m.thread
	if th == nil || th.root != r.root {
		return nil // closed, or another opened since
	}
	defer m.syncRefs()
	if r.older {
		th.older = false
		if r.err != nil {
			// Kept open: scrolling up tries again.
			th.seek = ""
			m.setStatus(r.err.Error(), true)
			return nil
		}
	} else {
		th.loading = false
		if r.err != nil {
			m.thread = nil
			m.setPlaceholder()
			m.setStatus(r.err.Error(), true)
			return nil
		}
	}
	// The page is the root, then up to a page of replies.
	if replies := max(0, len(r.msgs)-1); replies < threadPageSize {
		th.atStart = true
	}
	if len(r.msgs) > 1 && (r.older || th.oldest == "") {
		th.oldest = r.msgs[1].ID
	}
	if len(th.msgs) == 0 {
		th.msgs = r.msgs // in order, as the node keeps it
	} else {
		th.msgs = mergeMessages(r.msgs, th.msgs)
	}
	return m.seekInThread()
}

// seekInThread brings the reply a search jumped to into view once the
// open thread holds it (scrolled to it when older pages were loaded for
// it), loading older pages until it does.
func (m *Model) seekInThread() tea.Cmd {
	th := m.thread
	if th == nil || th.seek == "" || th.loading || th.older {
		return nil
	}
	if i := slices.IndexFunc(th.msgs, func(msg api.Message) bool { return msg.ID == th.seek }); i >= 0 {
		th.seek = ""
		if th.seekPages > 0 {
			lines, starts := m.renderMsgs(th.msgs, m.timelineWidth(), th.root, -1)
			body := m.timelineHeight() - 1
			end := min(len(lines), starts[i]+max(body/2, 1))
			th.scroll = max(0, len(lines)-end)
		}
		return nil
	}
	if th.atStart || th.oldest == "" || th.seekPages >= maxJumpPages {
		th.seek = ""
		m.setStatus("that reply is not in the thread here any more", true)
		return nil
	}
	th.seekPages++
	th.older = true
	return m.loadThreadPage(th.root, th.oldest, true)
}

// closeThread goes back to the conversation (Esc).
func (m *Model) closeThread() {
	m.thread, m.refs, m.highlight = nil, nil, ""
	m.setPlaceholder()
}

// setPlaceholder says in the empty composer where its text goes.
func (m *Model) setPlaceholder() {
	m.input.Placeholder = ""
	if m.cur != "" {
		m.input.Placeholder = "Message " + m.convName(m.cur) + "  (/help for commands)"
	}
}

// alsoCommand runs /also: thread replies go to the room too, or no more.
func (m *Model) alsoCommand() {
	if m.thread == nil {
		m.setStatus("/also works in a thread: /thread N opens one", true)
		return
	}
	m.thread.also = !m.thread.also
	if m.thread.also {
		m.setStatus("replies in this thread go to "+m.convName(m.thread.conv)+" too", false)
	} else {
		m.setStatus("replies stay in the thread", false)
	}
}

// sendInThread posts text as a reply in the open thread.
func (m *Model) sendInThread(text string) tea.Cmd {
	th := m.thread
	th.scroll = 0
	req := api.ReplyRequest{Text: text, Thread: true, AlsoRoom: th.also}
	return m.ask(func(ctx context.Context) (tea.Msg, error) {
		_, err := m.be.Reply(ctx, th.root, req)
		return nil, err
	})
}

// threadReply takes a new reply in a thread: into the open thread if it
// is that one; the root is fetched anew for its count.
func (m *Model) threadReply(msg api.Message) tea.Cmd {
	if m.thread != nil && m.thread.root == msg.Thread {
		m.thread.msgs = mergeMessages(m.thread.msgs, []api.Message{msg})
	}
	return m.refetch(msg.Thread)
}

// threadLines renders the open thread as h lines: a header, then the
// root and its replies, the newest at the bottom.
func (m *Model) threadLines(w, h int) []string {
	th := m.thread
	header := m.th.title.Render("Thread in " + m.convName(th.conv))
	switch {
	case th.loading:
		header += m.th.dim.Render("  loading…")
	case len(th.msgs) > 0:
		n := th.replies()
		note := fmt.Sprintf("  %d replies", n)
		if n == 1 {
			note = "  1 reply"
		}
		if th.also {
			note += " · /also: to the room too"
		}
		switch {
		case th.older:
			note += " · loading…"
		case !th.atStart:
			note += " · PgUp: older"
		}
		header += m.th.dim.Render(note + " · Esc: back")
	}
	lines, _ := m.renderMsgs(th.msgs, w, th.root, th.scroll+h-1)
	return bottomUp(header, lines, th.scroll, h)
}

// replies is how many replies the thread has: as its root counts them,
// or as many as are loaded when that is more (a reply that came since).
func (th *threadView) replies() int {
	n := len(th.msgs) - 1
	for _, msg := range th.msgs {
		if msg.ID == th.root {
			return max(n, msg.Replies)
		}
	}
	return n
}

// scrollThread moves the open thread by lines (positive: up); at the top
// it loads the previous page of replies.
func (m *Model) scrollThread(lines int) tea.Cmd {
	th := m.thread
	all, _ := m.renderMsgs(th.msgs, m.timelineWidth(), th.root, -1)
	maxScroll := max(0, len(all)-(m.timelineHeight()-1))
	th.scroll = min(max(0, th.scroll+lines), maxScroll)
	if lines > 0 && th.scroll == maxScroll && !th.atStart && !th.loading && !th.older && th.oldest != "" {
		th.older = true
		return m.loadThreadPage(th.root, th.oldest, true)
	}
	return nil
}
