package tui

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"charm.land/lipgloss/v2"

	"github.com/parley-chat/parley/internal/api"
)

// renderTimeline renders the open conversation (or the help, a thread,
// search results) as h lines, its header on top and its newest messages
// at the bottom.
func (m *Model) renderTimeline(h int) string {
	w := m.timelineWidth()
	if m.showHelp {
		return m.column(fit(m.helpView(w, h), h), w)
	}
	if m.safety != nil {
		return m.column(fit(m.safetyLines(w, h), h), w)
	}
	if m.search != nil {
		return m.column(fit(m.searchLines(w, h), h), w)
	}
	if m.thread != nil {
		return m.column(m.threadLines(w, h), w)
	}
	if m.cur == "" {
		msg := "Connecting to the node…"
		if m.ready {
			msg = "No conversation yet: /join #room or /msg @nick"
		}
		return m.column(fit([]string{m.th.system.Render(msg)}, h), w)
	}
	t := m.tl[m.cur]
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
	var lines []string
	scroll := 0
	if t != nil {
		// Only what the screen shows (and what is scrolled past) is
		// rendered: the newest lines, from the bottom up.
		lines, _ = m.renderMsgs(t.msgs, w, "", t.scroll+h-1)
		scroll = t.scroll
	}
	return m.column(bottomUp(header, lines, scroll, h), w)
}

// bottomUp lays out h lines: the header, then the lines that end scroll
// lines above the last one, anchored at the bottom.
func bottomUp(header string, lines []string, scroll, h int) []string {
	body := h - 1
	end := max(0, len(lines)-scroll)
	start := max(0, end-body)
	view := append([]string{header}, lines[start:end]...)
	if len(view) < h {
		// Anchor the conversation at the bottom, under the header.
		pad := make([]string, h-len(view))
		view = append(view[:1], append(pad, view[1:]...)...)
	}
	return view
}

// timelineLines renders a whole timeline as wrapped lines.
func (m *Model) timelineLines(t *timeline, w int) []string {
	lines, _ := m.renderMsgs(t.msgs, w, "", -1)
	return lines
}

// renderMsgs renders msgs as wrapped lines with day separators: all of
// them when need < 0, else the newest messages until they fill need
// lines (or all, if they do not). starts[i] is the line where message i
// begins (of the messages rendered: the last len(starts)). root is the
// thread shown, if any: its replies do not quote it.
func (m *Model) renderMsgs(msgs []api.Message, w int, root string, need int) (lines []string, starts []int) {
	type block struct {
		lines []string
		msg   bool // a message's, not a day separator
	}
	var blocks []block // newest first
	n := 0
	separator := func(day string) {
		label := "── " + day + " "
		blocks = append(blocks, block{lines: []string{m.th.separator.Render(label + strings.Repeat("─", max(0, w-lipgloss.Width(label))))}})
		n++
	}
	newerDay := "" // the day of the message rendered last (the next newer one)
	i := len(msgs) - 1
	for ; i >= 0; i-- {
		at := m.msgTime(msgs[i].SentAt)
		day := at.Format("Mon 2 Jan 2006")
		if newerDay != "" && day != newerDay {
			separator(newerDay)
		}
		if need >= 0 && n >= need {
			break
		}
		b := m.messageBlock(msgs, i, at, w, root)
		blocks = append(blocks, block{lines: b, msg: true})
		n += len(b)
		newerDay = day
	}
	if i < 0 && newerDay != "" {
		separator(newerDay) // the oldest message is the first of its day shown
	}
	lines = make([]string, 0, n)
	for j := len(blocks) - 1; j >= 0; j-- {
		if blocks[j].msg {
			starts = append(starts, len(lines))
		}
		lines = append(lines, blocks[j].lines...)
	}
	return lines, starts
}

// msgTime is when a message was sent, in the time zone shown.
func (m *Model) msgTime(sentAt string) time.Time {
	at, err := time.Parse(time.RFC3339Nano, sentAt)
	if err != nil {
		at = time.Time{}
	}
	return at.In(m.opts.Loc)
}

// messageBlock renders message i of msgs, from the cache when it renders
// the same as before.
func (m *Model) messageBlock(msgs []api.Message, i int, at time.Time, w int, root string) []string {
	msg := msgs[i]
	stamp := at.Format("15:04") + " "
	if n := m.refNumber(msg.ID); n > 0 {
		// While a command that names a message is typed, its number
		// stands where the time was.
		stamp = fmt.Sprintf("%5s ", "#"+strconv.Itoa(n))
	}
	who := m.author(msg)
	quote := ""
	if msg.ReplyTo != "" && msg.ReplyTo != root && !msg.Deleted {
		quote = m.quoteOf(msgs, i)
	}
	hl := msg.ID == m.highlight
	// A message renders the same until what is said of it, its status,
	// author's nick or the width change: keep its lines, so a key press
	// does not re-wrap thousands of loaded messages.
	key := msg.ID + "\x00" + msg.Status + "\x00" + who + "\x00" + stamp + strconv.Itoa(w) + m.filesKey(msg) + m.decorKey(msg, quote, root, hl) + appKey(msg)
	if lines, ok := m.lineCache[key]; ok {
		return lines
	}
	if len(m.lineCache) > 50000 {
		clear(m.lineCache)
	}
	lines := m.messageLines(nil, msg, stamp, who, w, quote, root, hl)
	m.lineCache[key] = lines
	return lines
}

// messageLines appends the lines of one message: the line it quotes (a
// reply's), its text (or its tombstone), its files, its reactions and its
// thread's replies.
func (m *Model) messageLines(out []string, msg api.Message, stamp, who string, w int, quote, root string, hl bool) []string {
	switch msg.Kind {
	case "join", "leave":
		verb := "joined"
		if msg.Kind == "leave" {
			verb = "left"
		}
		return append(out, m.th.system.Render(truncate(stamp+"* "+who+" "+verb+" #"+msg.Room, w)))
	case ephemeralKind:
		return m.ephemeralLines(out, msg, stamp, w)
	}
	indent := strings.Repeat(" ", lipgloss.Width(stamp))
	if quote != "" {
		out = append(out, m.th.dim.Render(truncate(indent+"↪ "+quote, w)))
	}
	if hl {
		stamp = m.th.highlight.Render(strings.TrimSuffix(stamp, " ")) + " "
	}
	prefix := stamp + who + ": "
	if msg.Deleted {
		return append(out, stamp+m.whoStyled(msg, who)+": "+m.th.system.Render(truncate("message deleted", max(w-lipgloss.Width(prefix), 1))))
	}
	tick := ""
	if msg.To != "" && msg.From == m.self.PeerID {
		st := msg.Status
		if msg.Read {
			st = "read"
		}
		tick = " " + ticks(st)
	}
	if msg.Room != "" && msg.From == m.self.PeerID && len(msg.SeenBy) > 0 {
		tick = fmt.Sprintf(" · seen by %d", len(msg.SeenBy))
	}
	if msg.Edited {
		tick = " (edited)" + tick
	}
	if hl {
		tick += " ◀"
	}
	mentioned := m.mentionsSelf(msg)
	if p, ok := appPayload(msg); ok {
		out = m.appMessageLines(out, msg, p, stamp, who, tick, mentioned, w)
	} else {
		text := printable(msg.Text) + tick
		if mentioned {
			text = m.th.mentioned + text
		}
		wrapped := wrap(text, w-lipgloss.Width(prefix))
		for i, l := range wrapped {
			l = m.styleText(l, mentioned)
			if i == 0 {
				out = append(out, stamp+m.whoStyled(msg, who)+": "+l)
			} else {
				out = append(out, strings.Repeat(" ", lipgloss.Width(prefix))+l)
			}
		}
	}
	if msg.Status == "failed" && msg.Reason != "" {
		out = append(out, m.th.err.Render(truncate(indent+"✗ "+printable(msg.Reason), w)))
	}
	out = m.fileLines(out, msg, lipgloss.Width(stamp), w)
	if line := m.reactionsLine(msg); line != "" {
		out = append(out, indent+line)
	}
	if msg.Replies > 0 && msg.ID != root {
		out = append(out, m.th.dim.Render(truncate(indent+"↳ "+m.repliesNote(msg), w)))
	}
	return out
}

// decorKey is what of a message's replies, edits, reactions and
// mentions changes how it renders.
func (m *Model) decorKey(msg api.Message, quote, root string, hl bool) string {
	if !msg.Edited && !msg.Deleted && len(msg.Reactions) == 0 && msg.Replies == 0 && quote == "" && !hl &&
		len(msg.Mentions) == 0 && !msg.MentionAll && msg.ID != root && len(msg.SeenBy) == 0 && !msg.Read {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\x00%t%t%t%t%t%d%s\x00%s\x00%s\x00%d\x00%d\x00", msg.Edited, msg.Deleted, hl, msg.ID == root, msg.Read, msg.Replies, msg.LastReplyAt, quote, msg.Text, len(msg.Versions), len(msg.SeenBy))
	for _, r := range msg.Reactions {
		fmt.Fprintf(&b, "%s%d%t ", r.Emoji, len(r.By), slices.Contains(r.By, m.self.PeerID))
	}
	if m.mentionsSelf(msg) {
		b.WriteString("@")
	}
	return b.String()
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
	case "read":
		return "✓✓ read"
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
