package tui

import (
	"slices"
	"strings"
)

// completion is a Tab completion in progress.
type completion struct {
	active  bool
	base    string   // the input before the word being completed
	choices []string // replacements of the word, each with what follows it
	i       int
}

// complete cycles through completions of the word before the cursor:
// @nick, #room, a /command at the start, a --flag of it, an emoji after
// /react N, or a path after /share. A path
// that is the only choice and a directory is taken at once, so the next
// Tab lists what is in it.
func (m *Model) complete() {
	if !m.comp.active {
		value := m.input.Value()
		base, choices, ok := m.shareCompletion(value)
		if !ok {
			base, choices = m.wordChoices(value)
		}
		if len(choices) == 0 {
			return
		}
		if len(choices) == 1 && strings.HasSuffix(choices[0], "/") {
			m.input.SetValue(base + choices[0])
			m.input.CursorEnd()
			return
		}
		m.comp = completion{active: true, base: base, choices: choices, i: -1}
	}
	m.comp.i = (m.comp.i + 1) % len(m.comp.choices)
	m.input.SetValue(m.comp.base + m.comp.choices[m.comp.i])
	m.input.CursorEnd()
}

// reactionEmoji are the emoji Tab offers after /react N.
var reactionEmoji = []string{"👍", "❤️", "😂", "🎉", "👀", "🙏", "✅"}

// wordChoices completes the last word of value as @nick (peers, and the
// open room's members), #room, (at the start) /command, or a --flag of
// that command.
func (m *Model) wordChoices(value string) (base string, choices []string) {
	i := strings.LastIndexAny(value, " \n") + 1
	word := value[i:]
	switch {
	case strings.HasPrefix(value, "/react ") && len(strings.Fields(value[:i])) == 2:
		for _, e := range reactionEmoji {
			if strings.HasPrefix(e, word) {
				choices = append(choices, e)
			}
		}
		return value[:i], choices // in their own order, the most used first
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
				choices = append(choices, "@"+n+" ")
			}
		}
	case strings.HasPrefix(word, "#"):
		for _, c := range m.convs {
			if c.Kind == "room" && strings.HasPrefix(c.Name, word) {
				choices = append(choices, c.Name+" ")
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
					choices = append(choices, f+" ")
				}
			}
		}
	case strings.HasPrefix(word, "/") && i == 0:
		for _, c := range slashCommands {
			if strings.HasPrefix(c.name, word) {
				choices = append(choices, c.name+" ")
			}
		}
	}
	slices.Sort(choices)
	return value[:i], slices.Compact(choices)
}
