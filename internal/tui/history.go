package tui

import (
	"context"
	"slices"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/parley-chat/parley/internal/api"
)

// pageSize is how many messages a history page loads.
const pageSize = 200

// timeline is the loaded part of one conversation.
type timeline struct {
	msgs    []api.Message
	loaded  bool
	loading bool
	atStart bool   // the first message of the conversation is loaded
	oldest  string // the ID of the oldest message loaded, shown or not: where the previous page ends
	scroll  int    // lines scrolled up from the bottom
}

func (m *Model) timeline(conv string) *timeline {
	t, ok := m.tl[conv]
	if !ok {
		t = &timeline{}
		m.tl[conv] = t
	}
	return t
}

// loadHistory loads a page of conv: its newest messages, or those before
// the message ID before; older marks the page as one scrolled up to.
func (m *Model) loadHistory(conv, before string, older bool) tea.Cmd {
	return m.ask(func(ctx context.Context) (tea.Msg, error) {
		ms, err := m.be.HistoryAll(ctx, withOf(conv), pageSize, before, true)
		return historyMsg{conv: conv, msgs: ms, older: older, err: err}, nil
	})
}

func (m *Model) gotHistory(h historyMsg) tea.Cmd {
	t := m.timeline(h.conv)
	t.loading = false
	if h.err != nil {
		if m.jump != nil && m.jump.conv == h.conv {
			m.jump = nil
		}
		// Not loaded: opening the conversation (or PgUp) tries again.
		m.setStatus(h.err.Error(), true)
		return nil
	}
	if len(h.msgs) < pageSize {
		t.atStart = true
	}
	if !h.older {
		t.loaded = true
	}
	if len(h.msgs) > 0 && (h.older || t.oldest == "") {
		t.oldest = h.msgs[0].ID
	}
	t.msgs = mergeMessages(slices.DeleteFunc(h.msgs, func(msg api.Message) bool { return !shownKind(msg.Kind) }), t.msgs)
	if h.conv == m.cur {
		m.syncRefs()
	}
	if m.jump != nil && m.jump.conv == h.conv {
		return m.seekJump()
	}
	return nil
}

// shownKind reports whether messages of a kind show in the timeline:
// text, and the join and leave lines of rooms. The rest (a private
// room's membership operations, its keys, kinds a newer node adds) stay
// out of sight.
func shownKind(kind string) bool { return kind == "text" || kind == "join" || kind == "leave" }

// mergeMessages joins two runs of messages, dropping repeats, in order of
// time. Messages of the same millisecond keep the order they came in: the
// node's order within a page (by hybrid logical clock, whose logical part
// the API does not show), a before b across runs.
func mergeMessages(a, b []api.Message) []api.Message {
	out := make([]api.Message, 0, len(a)+len(b))
	seen := make(map[string]bool, len(a)+len(b))
	for _, run := range [][]api.Message{a, b} {
		for _, msg := range run {
			if !seen[msg.ID] {
				seen[msg.ID] = true
				out = append(out, msg)
			}
		}
	}
	slices.SortStableFunc(out, func(x, y api.Message) int {
		if c := strings.Compare(x.SentAt, y.SentAt); c != 0 && len(x.SentAt) == len(y.SentAt) {
			return c
		}
		tx, _ := time.Parse(time.RFC3339Nano, x.SentAt)
		ty, _ := time.Parse(time.RFC3339Nano, y.SentAt)
		return tx.Compare(ty)
	})
	return out
}

// scroll moves the timeline by lines (positive: up, into the past); at the
// top it loads the previous page.
func (m *Model) scroll(lines int) tea.Cmd {
	t, ok := m.tl[m.cur]
	if !ok {
		return nil
	}
	total := len(m.timelineLines(t, m.timelineWidth()))
	maxScroll := max(0, total-(m.timelineHeight()-1)) // the header takes a line
	t.scroll = min(max(0, t.scroll+lines), maxScroll)
	if lines > 0 && t.scroll == maxScroll && !t.atStart && !t.loading && t.oldest != "" {
		t.loading = true
		return m.loadHistory(m.cur, t.oldest, true)
	}
	return nil
}
