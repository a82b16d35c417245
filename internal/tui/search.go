package tui

import (
	"context"
	"fmt"
	"slices"
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/parley-chat/parley/internal/api"
)

// searchLimit is how many hits /search asks for.
const searchLimit = 50

// searchView lists what /search found, newest first; Enter opens the
// selected one.
type searchView struct {
	query   string
	hits    []api.SearchHit
	sel     int
	loading bool
}

// searchMsg is what the node found for a query.
type searchMsg struct {
	query string
	hits  []api.SearchHit
}

// jumpMsg is a search hit chosen, with the message as it stands now (nil
// if the node could not say).
type jumpMsg struct {
	hit api.SearchHit
	msg *api.Message
}

// jumpTarget is a message to bring into view once its conversation has
// loaded back to it.
type jumpTarget struct {
	conv, id string
	pages    int // older pages loaded looking for it
}

// maxJumpPages bounds how far back a jump loads.
const maxJumpPages = 50

func (m *Model) searchCommand(query string) tea.Cmd {
	if query == "" {
		m.setStatus("usage: /search words (\"a phrase\", prefix*)", true)
		return nil
	}
	m.search = &searchView{query: query, loading: true}
	m.showHelp, m.safety, m.invite = false, nil, nil
	return m.ask(func(ctx context.Context) (tea.Msg, error) {
		hits, err := m.be.Search(ctx, query, "", "", searchLimit)
		if err != nil {
			return nil, err
		}
		return searchMsg{query: query, hits: hits}, nil
	})
}

func (m *Model) gotSearch(r searchMsg) {
	if m.search == nil || m.search.query != r.query {
		return
	}
	m.search.loading, m.search.hits, m.search.sel = false, r.hits, 0
}

// searchKey handles a key while the results show: ↑/↓ (PgUp/PgDn) pick,
// Enter opens, Esc closes. Other keys close the results and act as
// usual (handled false).
func (m *Model) searchKey(k tea.KeyPressMsg) (tea.Cmd, bool) {
	s := m.search
	page := max(m.timelineHeight()-3, 1)
	switch k.String() {
	case "up", "ctrl+p":
		s.sel--
	case "down", "ctrl+n":
		s.sel++
	case "pgup":
		s.sel -= page
	case "pgdown":
		s.sel += page
	case "esc":
		m.search = nil
		return nil, true
	case "enter":
		if len(s.hits) == 0 {
			m.search = nil
			return nil, true
		}
		hit := s.hits[min(max(s.sel, 0), len(s.hits)-1)]
		m.search = nil
		return m.ask(func(ctx context.Context) (tea.Msg, error) {
			// Without the message (an older node, a hiccup) the jump
			// still looks for it in its conversation.
			j := jumpMsg{hit: hit}
			if msg, err := m.be.Message(ctx, hit.ID); err == nil {
				j.msg = &msg
			}
			return j, nil
		}), true
	default:
		m.search = nil
		return nil, false
	}
	s.sel = min(max(s.sel, 0), max(len(s.hits)-1, 0))
	return nil, true
}

// searchLines renders the results in h lines of width w: a line a hit
// (conversation, author, time, text), the selected one marked ▸.
func (m *Model) searchLines(w, h int) []string {
	s := m.search
	head := m.th.title.Render("Search: " + oneLine(s.query))
	switch {
	case s.loading:
		return []string{head + m.th.dim.Render("  searching…")}
	case len(s.hits) == 0:
		return []string{head, "", "Nothing found. Esc closes."}
	}
	n := fmt.Sprintf("  %d found", len(s.hits))
	if len(s.hits) == 1 {
		n = "  1 found"
	}
	lines := []string{head + m.th.dim.Render(n+" · ↑/↓ pick · Enter open · Esc close")}
	body := max(h-1, 1)
	from := min(max(s.sel-body/2, 0), max(len(s.hits)-body, 0))
	now := m.opts.Now().In(m.opts.Loc)
	for i := from; i < len(s.hits) && len(lines) < h; i++ {
		hit := s.hits[i]
		at := m.msgTime(hit.SentAt)
		when := at.Format("15:04")
		if at.Year() != now.Year() || at.YearDay() != now.YearDay() {
			when = at.Format("2 Jan 15:04")
		}
		text, _, _ := strings.Cut(printable(hit.Text), "\n")
		line := fmt.Sprintf(" %s  %s  %s  %s", m.convName(hit.Conversation), m.nick(hit.From), when, text)
		if i == s.sel {
			lines = append(lines, m.th.selected.Render(truncate("▸"+line[1:], w)))
		} else {
			lines = append(lines, truncate(line, w))
		}
	}
	return lines
}

// gotJump opens a chosen hit: its thread if it is only there, else its
// conversation, loaded back to it, scrolled to it and highlighted.
func (m *Model) gotJump(j jumpMsg) tea.Cmd {
	conv, id := j.hit.Conversation, j.hit.ID
	if j.msg != nil && j.msg.Thread != "" && !j.msg.AlsoRoom {
		return tea.Batch(m.open(conv), m.openThread(j.msg.Thread, conv, id))
	}
	cmd := m.open(conv)
	m.highlight = id
	m.jump = &jumpTarget{conv: conv, id: id}
	return tea.Batch(cmd, m.seekJump())
}

// seekJump brings the jump's message into view once its conversation
// holds it, loading older pages until it does.
func (m *Model) seekJump() tea.Cmd {
	j := m.jump
	if j == nil {
		return nil
	}
	t := m.tl[j.conv]
	if t == nil || t.loading {
		return nil // gotHistory comes back here
	}
	if i := slices.IndexFunc(t.msgs, func(msg api.Message) bool { return msg.ID == j.id }); i >= 0 {
		m.jump = nil
		m.scrollTo(t, i)
		return nil
	}
	if t.atStart || t.oldest == "" || j.pages >= maxJumpPages {
		m.jump = nil
		m.setStatus("that message is not in the history here any more", true)
		return nil
	}
	j.pages++
	t.loading = true
	return m.loadHistory(j.conv, t.oldest, true)
}

// scrollTo scrolls a timeline so that message i shows mid-screen.
func (m *Model) scrollTo(t *timeline, i int) {
	lines, starts := m.renderMsgs(t.msgs, m.timelineWidth(), "", -1)
	if i >= len(starts) {
		return
	}
	body := m.timelineHeight() - 1
	end := min(len(lines), starts[i]+max(body/2, 1))
	t.scroll = max(0, len(lines)-end)
}
