package tui

import (
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"charm.land/lipgloss/v2"

	"github.com/parley-chat/parley/internal/api"
)

// renderTimeline renders the open conversation (or the help) as h lines,
// its header on top and its newest messages at the bottom.
func (m *Model) renderTimeline(h int) string {
	w := m.timelineWidth()
	if m.showHelp {
		return m.column(fit(m.helpView(w, h), h), w)
	}
	if m.safety != nil {
		return m.column(fit(m.safetyLines(w, h), h), w)
	}
	if m.cur == "" {
		msg := "Connecting to the node…"
		if m.ready {
			msg = "No conversation yet: /join #room or /msg @nick"
		}
		return m.column(fit([]string{m.th.system.Render(msg)}, h), w)
	}
	t := m.tl[m.cur]
	var lines []string
	if t != nil {
		lines = m.timelineLines(t, w)
	}
	header := m.th.title.Render(m.convName(m.cur))
	if room, ok := roomOf(m.cur); ok {
		header = m.th.title.Render(m.roomLabel(room))
		if note := m.roomNote(room); note != "" {
			header += m.th.dim.Render("  " + note)
		}
	}
	if t != nil && t.loading {
		header += m.th.dim.Render("  loading…")
	} else if t != nil && !t.atStart && len(t.msgs) > 0 {
		header += m.th.dim.Render("  PgUp: older messages")
	}
	body := h - 1
	end := len(lines)
	if t != nil {
		end = max(0, len(lines)-t.scroll)
	}
	start := max(0, end-body)
	view := append([]string{header}, lines[start:end]...)
	if len(view) < h {
		// Anchor the conversation at the bottom, under the header.
		pad := make([]string, h-len(view))
		view = append(view[:1], append(pad, view[1:]...)...)
	}
	return m.column(view, w)
}

// timelineLines renders a timeline as wrapped lines.
func (m *Model) timelineLines(t *timeline, w int) []string {
	var out []string
	var day string
	for _, msg := range t.msgs {
		at, err := time.Parse(time.RFC3339Nano, msg.SentAt)
		if err != nil {
			at = time.Time{}
		}
		at = at.In(m.opts.Loc)
		if d := at.Format("Mon 2 Jan 2006"); d != day {
			day = d
			label := "── " + d + " "
			out = append(out, m.th.separator.Render(label+strings.Repeat("─", max(0, w-lipgloss.Width(label)))))
		}
		stamp := at.Format("15:04") + " "
		who := m.author(msg)
		// A message renders the same until its status, author's nick or
		// the width change: keep its lines, so a key press does not
		// re-wrap thousands of loaded messages.
		key := msg.ID + "\x00" + msg.Status + "\x00" + who + "\x00" + stamp + strconv.Itoa(w) + m.filesKey(msg)
		if lines, ok := m.lineCache[key]; ok {
			out = append(out, lines...)
			continue
		}
		if len(m.lineCache) > 50000 {
			clear(m.lineCache)
		}
		mark := len(out)
		out = m.messageLines(out, msg, stamp, who, w)
		m.lineCache[key] = slices.Clone(out[mark:])
	}
	return out
}

// messageLines appends the lines of one message.
func (m *Model) messageLines(out []string, msg api.Message, stamp, who string, w int) []string {
	switch msg.Kind {
	case "join", "leave":
		verb := "joined"
		if msg.Kind == "leave" {
			verb = "left"
		}
		return append(out, m.th.system.Render(truncate(stamp+"* "+who+" "+verb+" #"+msg.Room, w)))
	}
	prefix := stamp + who + ": "
	tick := ""
	if msg.To != "" && msg.From == m.self.PeerID {
		tick = " " + ticks(msg.Status)
	}
	text := printable(msg.Text) + tick
	wrapped := wrap(text, w-lipgloss.Width(prefix))
	for i, l := range wrapped {
		if i == 0 {
			out = append(out, stamp+m.th.nick(msg.From).Render(who)+": "+l)
		} else {
			out = append(out, strings.Repeat(" ", lipgloss.Width(prefix))+l)
		}
	}
	if msg.Status == "failed" && msg.Reason != "" {
		out = append(out, m.th.err.Render(truncate(strings.Repeat(" ", lipgloss.Width(stamp))+"✗ "+printable(msg.Reason), w)))
	}
	return m.fileLines(out, msg, lipgloss.Width(stamp), w)
}

// printable makes text from peers safe to put on a terminal: line breaks
// stay, a tab is a space, and any other control character (ESC, CR, BEL,
// C1) shows as U+FFFD instead of reaching the terminal as a sequence.
func printable(text string) string {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\n':
			return r
		case r == '\t':
			return ' '
		case r == '\r':
			return '\n'
		case unicode.IsControl(r):
			return '\uFFFD'
		}
		return r
	}, text)
}

func ticks(status string) string {
	switch status {
	case "queued":
		return "○"
	case "sent":
		return "✓"
	case "delivered":
		return "✓✓"
	case "failed":
		return "✗"
	}
	return ""
}

// wrap breaks text into lines of at most w cells, at spaces when it can.
func wrap(text string, w int) []string {
	w = max(w, 8)
	var out []string
	for _, para := range strings.Split(text, "\n") {
		line := ""
		for _, word := range strings.Split(para, " ") {
			for lipgloss.Width(word) > w {
				if line != "" {
					out = append(out, line)
					line = ""
				}
				cut := truncate(word, w)
				out = append(out, cut)
				word = word[len(cut):]
			}
			switch {
			case line == "":
				line = word
			case lipgloss.Width(line)+1+lipgloss.Width(word) <= w:
				line += " " + word
			default:
				out = append(out, line)
				line = word
			}
		}
		out = append(out, line)
	}
	return out
}
