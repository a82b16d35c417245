package tui

import (
	"hash/fnv"

	"charm.land/lipgloss/v2"
)

// theme holds the styles and marks; without colour every style is plain,
// so the screen reads the same in any terminal (and golden tests compare
// text). The marks do not change with colour: ascii picks them apart.
type theme struct {
	color                          bool
	title, selected, unread, dim   lipgloss.Style
	system, err, status, separator lipgloss.Style
	highlight                      lipgloss.Style // a message a search jumped to
	mention, mentionWord           lipgloss.Style // a message naming this node; an @nick word
	nicks                          []lipgloss.Style
	lock                           string // marks a private room
	admin                          string // marks a private room's admin
	// mentioned starts a message naming this node, so it stands out
	// without colour too (NO_COLOR, a monochrome terminal).
	mentioned string
	// An app message's attachment bar, the mark of a quote's lines, and
	// the character of a divider's rule.
	bar, quote, rule string
	// App messages: formatting of their text, links and their URLs, the
	// mark after an app's name; plain is no style at all.
	plain, bold, italic, strike, code lipgloss.Style
	link, url, appMark                lipgloss.Style
}

// Marks of private rooms, and their ASCII forms.
const (
	lockMark       = "🔒"
	lockMarkASCII  = "[p]"
	adminMark      = "★"
	adminMarkASCII = "(admin)"
	// A message naming this node starts with this.
	mentionedMark      = "» "
	mentionedMarkASCII = ">> "
	// An app message's attachments stand behind a bar, quotes behind a
	// line; a divider is a rule.
	barMark        = "▌"
	barMarkASCII   = "|"
	quoteMark      = "│ "
	quoteMarkASCII = "> "
	ruleMark       = "─"
	ruleMarkASCII  = "-"
)

func newTheme(color, ascii bool) theme {
	th := themeStyles(color)
	th.lock, th.admin, th.mentioned = lockMark, adminMark, mentionedMark
	th.bar, th.quote, th.rule = barMark, quoteMark, ruleMark
	if ascii {
		th.lock, th.admin, th.mentioned = lockMarkASCII, adminMarkASCII, mentionedMarkASCII
		th.bar, th.quote, th.rule = barMarkASCII, quoteMarkASCII, ruleMarkASCII
	}
	return th
}

func themeStyles(color bool) theme {
	if !color {
		p := lipgloss.NewStyle()
		return theme{title: p, selected: p, unread: p, dim: p, system: p, err: p, status: p, separator: p, highlight: p, mention: p, mentionWord: p, nicks: []lipgloss.Style{p},
			plain: p, bold: p, italic: p, strike: p, code: p, link: p, url: p, appMark: p}
	}
	th := theme{
		color:       true,
		title:       lipgloss.NewStyle().Bold(true),
		selected:    lipgloss.NewStyle().Reverse(true),
		unread:      lipgloss.NewStyle().Bold(true).Foreground(lipgloss.Color("11")),
		dim:         lipgloss.NewStyle().Foreground(lipgloss.Color("8")),
		system:      lipgloss.NewStyle().Foreground(lipgloss.Color("8")).Italic(true),
		err:         lipgloss.NewStyle().Foreground(lipgloss.Color("9")),
		status:      lipgloss.NewStyle().Reverse(true),
		separator:   lipgloss.NewStyle().Foreground(lipgloss.Color("8")),
		highlight:   lipgloss.NewStyle().Reverse(true).Bold(true),
		mention:     lipgloss.NewStyle().Bold(true).Foreground(lipgloss.Color("11")),
		mentionWord: lipgloss.NewStyle().Foreground(lipgloss.Color("14")),
		plain:       lipgloss.NewStyle(),
		bold:        lipgloss.NewStyle().Bold(true),
		italic:      lipgloss.NewStyle().Italic(true),
		strike:      lipgloss.NewStyle().Strikethrough(true),
		code:        lipgloss.NewStyle().Foreground(lipgloss.Color("13")),
		link:        lipgloss.NewStyle().Underline(true),
		url:         lipgloss.NewStyle().Foreground(lipgloss.Color("12")),
		appMark:     lipgloss.NewStyle().Foreground(lipgloss.Color("0")).Background(lipgloss.Color("8")),
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
