package tui

import (
	"fmt"
	"hash/fnv"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/parley-chat/parley/internal/api"
)

// Column widths.
const (
	sidebarWidth = 22
	membersWidth = 22
	membersFrom  = 100 // the members pane shows from this terminal width on
)

// theme holds the styles; without colour every style is plain, so the
// screen reads the same in any terminal (and golden tests compare text).
type theme struct {
	color                          bool
	title, selected, unread, dim   lipgloss.Style
	system, err, status, separator lipgloss.Style
	nicks                          []lipgloss.Style
}

func newTheme(color bool) theme {
	if !color {
		p := lipgloss.NewStyle()
		return theme{title: p, selected: p, unread: p, dim: p, system: p, err: p, status: p, separator: p, nicks: []lipgloss.Style{p}}
	}
	th := theme{
		color:     true,
		title:     lipgloss.NewStyle().Bold(true),
		selected:  lipgloss.NewStyle().Reverse(true),
		unread:    lipgloss.NewStyle().Bold(true).Foreground(lipgloss.Color("11")),
		dim:       lipgloss.NewStyle().Foreground(lipgloss.Color("8")),
		system:    lipgloss.NewStyle().Foreground(lipgloss.Color("8")).Italic(true),
		err:       lipgloss.NewStyle().Foreground(lipgloss.Color("9")),
		status:    lipgloss.NewStyle().Reverse(true),
		separator: lipgloss.NewStyle().Foreground(lipgloss.Color("8")),
	}
	for _, c := range []string{"1", "2", "3", "4", "5", "6", "9", "10", "12", "13", "14"} {
		th.nicks = append(th.nicks, lipgloss.NewStyle().Bold(true).Foreground(lipgloss.Color(c)))
	}
	return th
}

func (th theme) nick(peerID string) lipgloss.Style {
	h := fnv.New32a()
	_, _ = h.Write([]byte(peerID))
	return th.nicks[int(h.Sum32())%len(th.nicks)]
}

func (m *Model) showMembers() bool { return m.width >= membersFrom }

func (m *Model) timelineWidth() int {
	w := m.width - sidebarWidth - 1
	if m.showMembers() {
		w -= membersWidth + 1
	}
	return max(w, 10)
}

func (m *Model) timelineHeight() int { return max(m.height-m.composerHeight()-2, 3) }

// View renders the screen.
func (m *Model) View() tea.View {
	var v tea.View
	v.AltScreen = true
	v.WindowTitle = "Parley"
	v.SetContent(m.render())
	return v
}

func (m *Model) render() string {
	h := m.timelineHeight()
	cols := []string{m.renderSidebar(h), m.column(m.separatorCol(h), 1), m.renderTimeline(h)}
	if m.showMembers() {
		cols = append(cols, m.column(m.separatorCol(h), 1), m.renderMembers(h))
	}
	main := lipgloss.JoinHorizontal(lipgloss.Top, cols...)
	rule := m.th.separator.Render(strings.Repeat("─", m.width))
	return strings.Join([]string{main, rule, m.input.View(), m.renderStatus()}, "\n")
}

func (m *Model) separatorCol(h int) []string {
	out := make([]string, h)
	for i := range out {
		out[i] = m.th.separator.Render("│")
	}
	return out
}

// column pads lines to a fixed width (cutting long ones) as one block.
func (m *Model) column(lines []string, width int) string {
	out := make([]string, len(lines))
	for i, l := range lines {
		if lipgloss.Width(l) > width {
			l = truncate(l, width)
		}
		out[i] = l + strings.Repeat(" ", max(0, width-lipgloss.Width(l)))
	}
	return strings.Join(out, "\n")
}

func truncate(s string, width int) string {
	r := []rune(s)
	for len(r) > 0 && lipgloss.Width(string(r)) > width {
		r = r[:len(r)-1]
	}
	return string(r)
}

func (m *Model) renderSidebar(h int) string {
	var lines []string
	section := func(title, kind string) {
		lines = append(lines, m.th.title.Render(title))
		for _, c := range m.convs {
			if c.Kind != kind {
				continue
			}
			name := c.Name
			if kind == "dm" {
				mark := "○ "
				if c.Online {
					mark = "● "
				}
				name = mark + m.nickOr(c.PeerID, nickOnly(c))
			}
			label := " " + name
			if c.Conversation == m.cur {
				label = "▸" + name
			}
			if c.Unread > 0 {
				label += fmt.Sprintf(" (%d)", c.Unread)
			}
			label = truncate(label, sidebarWidth-1)
			label += strings.Repeat(" ", max(0, sidebarWidth-lipgloss.Width(label)))
			switch {
			case c.Conversation == m.cur:
				label = m.th.selected.Render(label)
			case c.Unread > 0:
				label = m.th.unread.Render(label)
			}
			lines = append(lines, label)
		}
	}
	section("Rooms", "room")
	lines = append(lines, "")
	section("Direct", "dm")
	return m.column(fit(lines, h), sidebarWidth)
}

func nickOnly(c api.Conversation) string {
	if strings.HasPrefix(c.Name, "…") {
		return ""
	}
	return c.Name
}

// fit makes lines exactly h long (the first h, blank-padded).
func fit(lines []string, h int) []string {
	if len(lines) > h {
		return lines[:h]
	}
	for len(lines) < h {
		lines = append(lines, "")
	}
	return lines
}

func (m *Model) renderMembers(h int) string {
	var lines []string
	if room, ok := roomOf(m.cur); ok {
		ms := m.members[room]
		online := 0
		for _, mb := range ms {
			if mb.Online {
				online++
			}
		}
		lines = append(lines, m.th.title.Render(fmt.Sprintf("Members %d/%d", online, len(ms))))
		for _, mb := range ms {
			mark := "○ "
			if mb.Online {
				mark = "● "
			}
			lines = append(lines, " "+mark+m.nickOr(mb.PeerID, mb.Nick))
		}
	} else {
		lines = append(lines, m.th.title.Render("Peers"))
		var ps []api.Peer
		for _, p := range m.peers {
			ps = append(ps, p)
		}
		sort.Slice(ps, func(i, j int) bool {
			if ps[i].Connected != ps[j].Connected {
				return ps[i].Connected
			}
			return m.nickOr(ps[i].PeerID, ps[i].Nick) < m.nickOr(ps[j].PeerID, ps[j].Nick)
		})
		for _, p := range ps {
			mark := "○ "
			if p.Connected {
				mark = "● "
			}
			lines = append(lines, " "+mark+m.nickOr(p.PeerID, p.Nick))
		}
	}
	return m.column(fit(lines, h), membersWidth)
}

func (m *Model) renderTimeline(h int) string {
	w := m.timelineWidth()
	if m.showHelp {
		var lines []string
		for _, l := range helpText() {
			lines = append(lines, wrap(l, w)...)
		}
		return m.column(fit(lines, h), w)
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
		who := m.nick(msg.From)
		// A message renders the same until its status, author's nick or
		// the width change: keep its lines, so a key press does not
		// re-wrap thousands of loaded messages.
		key := msg.ID + "\x00" + msg.Status + "\x00" + who + "\x00" + stamp + strconv.Itoa(w)
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
	return out
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

func (m *Model) renderStatus() string {
	parts := []string{}
	if m.self.Nick != "" {
		parts = append(parts, m.self.Nick)
	}
	online := 0
	for _, p := range m.peers {
		if p.Connected {
			online++
		}
	}
	if online == 1 {
		parts = append(parts, "1 peer")
	} else {
		parts = append(parts, fmt.Sprintf("%d peers", online))
	}
	lan := "LAN off"
	if m.self.MDNS {
		lan = "LAN on"
	}
	dht := "DHT " + m.self.DHT
	if m.self.DHT == "" {
		dht = "DHT ?"
	}
	parts = append(parts, lan+", "+dht)
	if typing := m.typingLine(); typing != "" {
		parts = append(parts, typing)
	}
	left := " " + strings.Join(parts, " · ")
	right := ""
	if m.status != "" {
		right = m.status + " "
	}
	space := m.width - lipgloss.Width(left) - lipgloss.Width(right)
	if space < 1 {
		right = truncate(right, max(0, m.width-lipgloss.Width(left)-1))
		space = max(1, m.width-lipgloss.Width(left)-lipgloss.Width(right))
	}
	line := truncate(left+strings.Repeat(" ", space)+right, m.width)
	if m.statusErr && m.status != "" {
		return m.th.err.Render(line)
	}
	return m.th.status.Render(line)
}
