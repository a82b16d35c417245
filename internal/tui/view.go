package tui

import (
	"fmt"
	"sort"
	"strings"

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
	var main string
	if m.invite != nil {
		// The whole width: a line of the link holds nothing else, for
		// selecting it with the mouse.
		main = m.column(fit(m.inviteLines(m.width, h), h), m.width)
	} else {
		cols := []string{m.renderSidebar(h), m.column(m.separatorCol(h), 1), m.renderTimeline(h)}
		if m.showMembers() {
			cols = append(cols, m.column(m.separatorCol(h), 1), m.renderMembers(h))
		}
		main = lipgloss.JoinHorizontal(lipgloss.Top, cols...)
	}
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
			var name string
			removed := false
			if kind == "dm" {
				name = presenceMark(c.Online) + m.dmName(c)
			} else {
				name = m.roomLabel(c.Room)
				if removed = m.removedFrom(c.Room); removed {
					name += " removed"
				}
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
			case removed:
				label = m.th.dim.Render(label)
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

// presenceMark marks a peer online (●) or not (○).
func presenceMark(online bool) string {
	if online {
		return "● "
	}
	return "○ "
}

// dmName names a direct conversation's peer: as the peer list has it
// now, else as the conversation list did.
func (m *Model) dmName(c api.Conversation) string {
	if _, ok := m.peers[c.PeerID]; ok || c.Name == "" {
		return m.nick(c.PeerID)
	}
	return c.Name
}

// memberName names a room member by the display name the node gave.
func (m *Model) memberName(mb api.Member) string {
	if mb.Display != "" && mb.PeerID != m.self.PeerID {
		return mb.Display
	}
	return m.nick(mb.PeerID)
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
			lines = append(lines, " "+presenceMark(mb.Online)+m.memberLabel(mb))
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
			return m.nameOf(ps[i]) < m.nameOf(ps[j])
		})
		for _, p := range ps {
			lines = append(lines, " "+presenceMark(p.Connected)+m.nameOf(p))
		}
	}
	return m.column(fit(lines, h), membersWidth)
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
