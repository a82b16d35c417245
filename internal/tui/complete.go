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
// @nick, #room, or a /command at the start.
func (m *Model) complete() {
	if !m.comp.active {
		value := m.input.Value()
		i := strings.LastIndexAny(value, " \n") + 1
		word := value[i:]
		var choices []string
		switch {
		case strings.HasPrefix(word, "@"):
			for _, p := range m.peers {
				if p.Nick != "" && strings.HasPrefix(strings.ToLower(p.Nick), strings.ToLower(word[1:])) {
					choices = append(choices, "@"+p.Nick)
				}
			}
		case strings.HasPrefix(word, "#"):
			for _, c := range m.convs {
				if c.Kind == "room" && strings.HasPrefix(c.Name, word) {
					choices = append(choices, c.Name)
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
