package tui

import (
	"context"
	"sort"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
)

// typingCmd tells a room we are typing, at most every 3 s.
func (m *Model) typingCmd() tea.Cmd {
	room, ok := roomOf(m.cur)
	if !ok || strings.HasPrefix(m.input.Value(), "/") || m.input.Value() == "" {
		return nil
	}
	now := m.opts.Now()
	if now.Sub(m.lastTyping) < 3*time.Second {
		return nil
	}
	m.lastTyping = now
	return m.ask(func(ctx context.Context) (tea.Msg, error) {
		_ = m.be.Typing(ctx, "#"+room)
		return nil, nil
	})
}

// startedTyping shows that nick is typing in room, for 6 s.
func (m *Model) startedTyping(room, nick string) {
	who := m.typing[room]
	if who == nil {
		who = map[string]time.Time{}
		m.typing[room] = who
	}
	who[nick] = m.opts.Now().Add(6 * time.Second)
}

// stoppedTyping stops showing nick typing in room (its message came).
func (m *Model) stoppedTyping(room, nick string) {
	if who := m.typing[room]; who != nil {
		delete(who, nick)
	}
}

// expireTyping forgets who has not typed for a while.
func (m *Model) expireTyping(now time.Time) {
	for room, who := range m.typing {
		for nick, until := range who {
			if now.After(until) {
				delete(who, nick)
			}
		}
		if len(who) == 0 {
			delete(m.typing, room)
		}
	}
}

// typingLine says who is typing in the open room ("" for no one), for
// the status bar.
func (m *Model) typingLine() string {
	room, ok := roomOf(m.cur)
	if !ok || len(m.typing[room]) == 0 {
		return ""
	}
	var names []string
	for n := range m.typing[room] {
		names = append(names, n)
	}
	sort.Strings(names)
	verb := " is typing…"
	if len(names) > 1 {
		verb = " are typing…"
	}
	return strings.Join(names, ", ") + verb
}
