package tui

import (
	"slices"
	"strings"
)

// completion is a Tab completion in progress.
type completion struct {
	active  bool
	base    string // the input before the word being completed
	choices []string
	i       int
}

// complete cycles through completions of the word before the cursor:
// @nick (peers, and the open room's members), #room, a /command at the
// start, or a --flag of that command.
func (m *Model) complete() {
	if !m.comp.active {
		value := m.input.Value()
		i := strings.LastIndexAny(value, " \n") + 1
		word := value[i:]
		var choices []string
		switch {
		case strings.HasPrefix(word, "@"):
			nicks := make([]string, 0, len(m.peers))
			for _, p := range m.peers {
				nicks = append(nicks, p.Nick)
			}
			if room, ok := roomOf(m.cur); ok {
				for _, mb := range m.members[room] {
					if mb.PeerID != m.self.PeerID {
						nicks = append(nicks, mb.Nick)
					}
				}
			}
			for _, n := range nicks {
				if n != "" && strings.HasPrefix(strings.ToLower(n), strings.ToLower(word[1:])) {
					choices = append(choices, "@"+n)
				}
			}
		case strings.HasPrefix(word, "#"):
			for _, c := range m.convs {
				if c.Kind == "room" && strings.HasPrefix(c.Name, word) {
					choices = append(choices, c.Name)
				}
			}
		case strings.HasPrefix(word, "--") && strings.HasPrefix(value, "/"):
			name, _, _ := strings.Cut(value, " ")
			for _, c := range slashCommands {
				if c.name != name {
					continue
				}
				for _, f := range c.flags {
					if strings.HasPrefix(f, word) {
						choices = append(choices, f)
					}
				}
			}
		case strings.HasPrefix(word, "/") && i == 0:
			for _, c := range slashCommands {
				if strings.HasPrefix(c.name, word) {
					choices = append(choices, c.name)
				}
			}
		}
		if len(choices) == 0 {
			return
		}
		slices.Sort(choices)
		choices = slices.Compact(choices)
		m.comp = completion{active: true, base: value[:i], choices: choices, i: -1}
	}
	m.comp.i = (m.comp.i + 1) % len(m.comp.choices)
	m.input.SetValue(m.comp.base + m.comp.choices[m.comp.i] + " ")
	m.input.CursorEnd()
}
