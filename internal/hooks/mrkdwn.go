package hooks

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Span is a run of text with one formatting, as Slack's mrkdwn marks it.
// The TUI and web client format spans; PlainText joins them for everyone
// else.
type Span struct {
	Text   string
	Bold   bool // *bold*
	Italic bool // _italic_
	Strike bool // ~strike~
	Code   bool // `code`
	Pre    bool // ```a code block``` (Text keeps its lines)
	Quote  bool // a line starting with ">"
	// URL is a link's target (http, https or mailto); Text its label.
	URL string
}

// style is the formatting a span inherits.
type style struct{ bold, italic, strike, quote bool }

func (st style) span(text string) Span {
	return Span{Text: text, Bold: st.bold, Italic: st.italic, Strike: st.strike, Quote: st.quote}
}

// entities are the three HTML entities Slack escapes in text.
var entities = strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">")

// ParseMrkdwn splits Slack mrkdwn into spans: *bold*, _italic_,
// ~strike~, `code`, ```code blocks```, "> " quotes, and the angle-bracket
// tokens (<url|label> and <url> links, <mailto:…>, <@U123> users,
// <#C123|name> channels, <!here> and the like), with &amp; &lt; &gt;
// decoded. Lists ("• ", "- ", "1. ") are plain text and stay as written.
// Anything it cannot read as formatting is kept as text; it never fails.
func ParseMrkdwn(s string) []Span {
	return parse(s, true)
}

// ParseLinks reads only the angle-bracket tokens and entities of s, as
// ParseMrkdwn does, and leaves the rest as written: how a payload with
// "mrkdwn": false shows its text.
func ParseLinks(s string) []Span {
	return parse(s, false)
}

// parse is ParseMrkdwn; without format it reads only the angle-bracket
// tokens and entities (a payload's "mrkdwn": false).
func parse(s string, format bool) []Span {
	s = strings.ToValidUTF8(s, "\uFFFD")
	var out []Span
	for i, part := range strings.Split(s, "```") {
		if i%2 == 1 && format && i < strings.Count(s, "```") {
			// A code block: its text as written (entities decoded), without
			// the newline right after the opening fence.
			out = appendSpan(out, Span{Text: entities.Replace(strings.TrimPrefix(part, "\n")), Pre: true})
			continue
		}
		if i%2 == 1 {
			part = "```" + part
		} else if i > 0 {
			part = strings.TrimPrefix(part, "\n") // the code block ends its line
		}
		out = parseLines(out, part, format)
	}
	return out
}

// parseLines parses text outside code blocks line by line, for quotes.
func parseLines(out []Span, s string, format bool) []Span {
	lines := strings.SplitAfter(s, "\n")
	for _, line := range lines {
		if line == "" {
			continue
		}
		var st style
		if format {
			for _, mark := range []string{"&gt; ", "> ", "&gt;", ">"} {
				if rest, ok := strings.CutPrefix(line, mark); ok {
					line, st.quote = rest, true
					break
				}
			}
		}
		out = parseInline(out, line, st, format)
	}
	return out
}

// parseInline parses one line's inline formatting under st.
func parseInline(out []Span, s string, st style, format bool) []Span {
	var text strings.Builder
	flush := func() {
		if text.Len() > 0 {
			out = appendSpan(out, st.span(entities.Replace(text.String())))
			text.Reset()
		}
	}
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '<':
			if j := strings.IndexByte(s[i+1:], '>'); j > 0 && !strings.ContainsAny(s[i+1:i+1+j], "<\n") {
				flush()
				out = appendSpan(out, token(s[i+1:i+1+j], st))
				i += j + 2
				continue
			}
		case format && c == '`':
			if j := strings.IndexByte(s[i+1:], '`'); j > 0 {
				flush()
				sp := st.span(entities.Replace(s[i+1 : i+1+j]))
				sp.Code = true
				out = appendSpan(out, sp)
				i += j + 2
				continue
			}
		case format && (c == '*' || c == '_' || c == '~'):
			if j := closing(s, i); j > 0 {
				flush()
				inner := st
				switch c {
				case '*':
					inner.bold = true
				case '_':
					inner.italic = true
				case '~':
					inner.strike = true
				}
				out = parseInline(out, s[i+1:j], inner, format)
				i = j + 1
				continue
			}
		}
		text.WriteByte(c)
		i++
	}
	flush()
	return out
}

// closing finds where the delimiter at s[open] closes: the same character
// later on the line, with text that neither starts nor ends with a space
// between them, and no letter or digit outside either (so snake_case and
// 2*3*4 stay as written). It returns -1 when there is none.
func closing(s string, open int) int {
	c := s[open]
	if open > 0 {
		if r, _ := utf8.DecodeLastRuneInString(s[:open]); isWordRune(r) {
			return -1
		}
	}
	if open+1 >= len(s) || s[open+1] == ' ' || s[open+1] == c {
		return -1
	}
	for j := open + 2; j < len(s); j++ {
		if s[j] == '\n' {
			return -1
		}
		if s[j] != c || s[j-1] == ' ' {
			continue
		}
		if j+1 < len(s) {
			if r, _ := utf8.DecodeRuneInString(s[j+1:]); isWordRune(r) {
				continue
			}
		}
		return j
	}
	return -1
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// token reads what is between < and >: a link, a user, a channel or a
// special mention.
func token(t string, st style) Span {
	target, label, hasLabel := strings.Cut(t, "|")
	label = entities.Replace(label)
	switch {
	case strings.HasPrefix(target, "@"): // <@U123> or <@U123|name>
		if hasLabel && label != "" {
			return st.span("@" + strings.TrimPrefix(label, "@"))
		}
		return st.span(target)
	case strings.HasPrefix(target, "#"): // <#C123|general>
		if hasLabel && label != "" {
			return st.span("#" + strings.TrimPrefix(label, "#"))
		}
		return st.span(target)
	case strings.HasPrefix(target, "!"): // <!here>, <!channel>, <!subteam^ID|@team>, <!date^…|fallback>
		if hasLabel && label != "" {
			return st.span(label)
		}
		name, _, _ := strings.Cut(target[1:], "^")
		return st.span("@" + name)
	}
	target = entities.Replace(target)
	if !SafeURL(target) {
		if hasLabel {
			return st.span(label)
		}
		return st.span(target)
	}
	sp := st.span(label)
	if !hasLabel || label == "" {
		sp.Text = target
		if email, ok := strings.CutPrefix(target, "mailto:"); ok {
			sp.Text = email
		}
	}
	sp.URL = target
	return sp
}

// SafeURL reports whether u is a link a client may open: http, https or
// mailto, with no spaces or control characters.
func SafeURL(u string) bool {
	lower := strings.ToLower(u)
	ok := strings.HasPrefix(lower, "https://") || strings.HasPrefix(lower, "http://") || strings.HasPrefix(lower, "mailto:")
	return ok && len(u) > len("mailto:") && !strings.ContainsFunc(u, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) })
}

// appendSpan appends sp, merging it into the last span when they look
// the same; empty text is dropped.
func appendSpan(out []Span, sp Span) []Span {
	if sp.Text == "" {
		return out
	}
	if n := len(out); n > 0 && sp.URL == "" && out[n-1].URL == "" && !sp.Pre && !out[n-1].Pre {
		last := out[n-1]
		last.Text = ""
		probe := sp
		probe.Text = ""
		if last == probe {
			out[n-1].Text += sp.Text
			return out
		}
	}
	return append(out, sp)
}

// PlainText renders spans as plain text: formatting marks dropped, a link
// as "label (url)" (just the URL when the label is the URL), a quote's
// lines starting with "> ", a code block on lines of its own.
func PlainText(spans []Span) string {
	var b strings.Builder
	lineStart := true
	write := func(s string, quote bool) {
		for s != "" {
			if lineStart && quote {
				b.WriteString("> ")
			}
			line, rest, nl := strings.Cut(s, "\n")
			b.WriteString(line)
			if nl {
				b.WriteByte('\n')
			}
			lineStart = nl
			s = rest
			if !nl {
				break
			}
		}
	}
	for _, sp := range spans {
		switch {
		case sp.Pre:
			if !lineStart {
				b.WriteByte('\n')
			}
			text := strings.TrimSuffix(sp.Text, "\n")
			b.WriteString(text)
			b.WriteByte('\n')
			lineStart = true
		case sp.URL != "":
			text := sp.Text
			if email, ok := strings.CutPrefix(sp.URL, "mailto:"); sp.URL != sp.Text && (!ok || email != sp.Text) {
				text += " (" + sp.URL + ")"
			}
			write(text, sp.Quote)
		default:
			write(sp.Text, sp.Quote)
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

// Plain is the plain text of Slack mrkdwn (ParseMrkdwn, then PlainText).
func Plain(s string) string { return PlainText(ParseMrkdwn(s)) }
