package tui

import (
	"encoding/json"
	"hash/fnv"
	"regexp"
	"strconv"
	"strings"
	"time"

	"charm.land/lipgloss/v2"

	"github.com/parley-chat/parley/internal/api"
	"github.com/parley-chat/parley/internal/hooks"
)

// App messages (posted by a webhook or another integration a member
// hosts) carry the sanitised Slack payload they came as (api.Message's
// rich); the timeline renders it with its formatting: the mrkdwn text
// styled, each attachment as a block behind a bar in its colour, the
// layout blocks. Every string of it is peer input: escape sequences and
// control characters are taken out before anything is measured or
// styled. A payload that does not decode (or an app message edited
// since) shows its plain text, as any message does.

// appNameWidth bounds how much of the author line an app's name takes.
const appNameWidth = 24

// seg is a run of text in one style.
type seg struct {
	text  string
	style lipgloss.Style
}

// piece is a seg as wrapSegs cuts it: src is the index of the seg it was
// cut from, so that pieces of one seg on one line join again.
type piece struct {
	seg
	src int
}

// richLine is a paragraph of an app message before it is wrapped: what
// stands before each of its wrapped lines (an attachment's bar, a quote's
// mark, a code block's indent), and its text.
type richLine struct {
	lead []seg
	segs []seg
	pair [2][]seg // two short fields, side by side when they fit (segs unused)
	rule bool     // a divider: a rule across the width
}

// appPayload decodes an app message's rich payload; ok is false when
// there is none to render (a plain message, a payload that does not
// decode, an app message edited since: its text is newer than it).
func appPayload(msg api.Message) (p hooks.Payload, ok bool) {
	if msg.App == "" || len(msg.Rich) == 0 || msg.Edited || msg.Deleted {
		return p, false
	}
	if err := json.Unmarshal(msg.Rich, &p); err != nil {
		return p, false
	}
	return hooks.Sanitise(p), true
}

// appKey is what of an app message changes how it renders, for the line
// cache: its app's name and a hash of its payload.
func appKey(msg api.Message) string {
	if msg.App == "" {
		return ""
	}
	h := fnv.New64a()
	_, _ = h.Write(msg.Rich)
	return "\x00app\x00" + msg.App + "\x00" + strconv.FormatUint(h.Sum64(), 16) + strconv.Itoa(len(msg.Rich))
}

// appName is an app's name as the author line shows it: clean, on one
// line, cut to appNameWidth.
func appName(app string) string {
	name := cleanLine(app)
	n := 0
	for i, r := range name {
		if n += lipgloss.Width(string(r)); n > appNameWidth {
			return name[:i]
		}
	}
	return name
}

// whoStyled is the author as the message line shows it: a peer's nick in
// its colour, or an app's name with the app mark.
func (m *Model) whoStyled(msg api.Message, who string) string {
	if msg.App == "" {
		return m.th.nick(msg.From).Render(who)
	}
	return m.th.nick(msg.App).Render(appName(msg.App)) + " " + m.th.appMark.Render(appMark)
}

// appMark follows an app's name.
const appMark = "[app]"

// escapeSeq matches the escape sequences a terminal would act on: CSI
// (with ESC [ or the C1 byte), OSC, DCS, SOS, PM and APC strings up to
// their terminator, and two-byte escapes.
var escapeSeq = regexp.MustCompile("(?:\x1b\\[|\u009b)[0-?]*[ -/]*[@-~]|(?:\x1b[\\]PX^_]|[\u0090\u0098\u009d\u009e\u009f])[^\x07\x1b\u009c]*(?:\x07|\x1b\\\\|\u009c)?|\x1b[ -~]?")

// clean makes a payload string safe and plain: escape sequences taken
// out whole, the bidirectional overrides and isolates that would make
// text (a URL) read other than it is dropped, the control characters
// left shown as U+FFFD (printable), line breaks kept.
func clean(s string) string {
	s = escapeSeq.ReplaceAllString(strings.ToValidUTF8(s, "\uFFFD"), "")
	s = strings.Map(func(r rune) rune {
		if (r >= '\u202a' && r <= '\u202e') || (r >= '\u2066' && r <= '\u2069') {
			return -1
		}
		return r
	}, s)
	return printable(s)
}

// cleanLine is clean on one line: line breaks become spaces.
func cleanLine(s string) string {
	return strings.TrimSpace(strings.ReplaceAll(clean(s), "\n", " "))
}

// appLines renders the body of an app message as paragraphs: its text,
// its attachments, its blocks.
func (m *Model) appLines(p hooks.Payload) []richLine {
	var out []richLine
	if p.Text != "" {
		format := p.Mrkdwn == nil || *p.Mrkdwn
		if format {
			out = append(out, m.mrkdwnLines(hooks.ParseMrkdwn(clean(p.Text)), m.th.plain)...)
		} else {
			out = append(out, m.mrkdwnLines(hooks.ParseLinks(clean(p.Text)), m.th.plain)...)
		}
	}
	for _, a := range p.Attachments {
		out = append(out, m.attachmentLines(a)...)
	}
	out = append(out, m.blockLines(p.Blocks)...)
	return out
}

// mrkdwnLines turns spans into paragraphs: bold, italic, strike and code
// styled, a link as its label and its URL, a quote's lines behind the
// quote mark, a code block's lines indented. base styles what is not
// formatted.
func (m *Model) mrkdwnLines(spans []hooks.Span, base lipgloss.Style) []richLine {
	var out []richLine
	open := false // the last line of out takes more text
	add := func(text string, style lipgloss.Style, quote bool) {
		for i, line := range strings.Split(text, "\n") {
			if i > 0 {
				if !open {
					out = append(out, richLine{}) // an empty line
				}
				open = false
			}
			if line == "" {
				continue
			}
			if !open {
				l := richLine{}
				if quote {
					l.lead = []seg{{m.th.quote, m.th.dim}}
				}
				out = append(out, l)
				open = true
			}
			out[len(out)-1].segs = append(out[len(out)-1].segs, seg{line, style})
		}
	}
	for _, sp := range spans {
		switch {
		case sp.Pre:
			for _, line := range strings.Split(strings.TrimSuffix(sp.Text, "\n"), "\n") {
				out = append(out, richLine{lead: []seg{{"  ", m.th.plain}}, segs: []seg{{line, m.th.code}}})
			}
			open = false
		case sp.URL != "":
			add(sp.Text, m.spanStyle(sp, base).Inherit(m.th.link), sp.Quote)
			if !sameLink(sp) && open {
				out[len(out)-1].segs = append(out[len(out)-1].segs, seg{" (" + sp.URL + ")", m.th.url})
			}
		default:
			add(sp.Text, m.spanStyle(sp, base), sp.Quote)
		}
	}
	for len(out) > 0 && len(out[len(out)-1].segs) == 0 && out[len(out)-1].lead == nil {
		out = out[:len(out)-1]
	}
	return out
}

// sameLink reports whether a link's label says its URL already (so the
// URL is not shown twice).
func sameLink(sp hooks.Span) bool {
	email, ok := strings.CutPrefix(sp.URL, "mailto:")
	return sp.Text == sp.URL || (ok && sp.Text == email)
}

// spanStyle is the style of a span's formatting over base.
func (m *Model) spanStyle(sp hooks.Span, base lipgloss.Style) lipgloss.Style {
	st := base
	if sp.Bold {
		st = st.Inherit(m.th.bold)
	}
	if sp.Italic {
		st = st.Inherit(m.th.italic)
	}
	if sp.Strike {
		st = st.Inherit(m.th.strike)
	}
	if sp.Code {
		st = st.Inherit(m.th.code)
	}
	return st
}

// mrkdwn is one string of a payload rendered as mrkdwn paragraphs.
func (m *Model) mrkdwn(s string, base lipgloss.Style) []richLine {
	return m.mrkdwnLines(hooks.ParseMrkdwn(clean(s)), base)
}

// linkSegs is a label and its link: "label (url)", or whichever there is.
func (m *Model) linkSegs(label string, style lipgloss.Style, u string) []seg {
	label = cleanLine(label)
	if !hooks.SafeURL(u) {
		u = ""
	}
	switch {
	case u == "":
		return []seg{{label, style}}
	case label == "" || label == u:
		return []seg{{u, m.th.url}}
	}
	return []seg{{label, style}, {" (" + u + ")", m.th.url}}
}

// attachmentLines renders an attachment as Slack shows it: its pretext,
// then behind a bar in its colour its author, title, text, fields,
// image, blocks and footer (its fallback when it has none of these).
func (m *Model) attachmentLines(a hooks.Attachment) []richLine {
	var out []richLine
	if a.Pretext != "" {
		out = append(out, m.mrkdwn(a.Pretext, m.th.plain)...)
	}
	var body []richLine
	if a.AuthorName != "" {
		body = append(body, richLine{segs: m.linkSegs(a.AuthorName, m.th.dim, a.AuthorLink)})
	}
	if title := hooks.Plain(clean(a.Title)); title != "" {
		body = append(body, richLine{segs: m.linkSegs(title, m.th.bold, a.TitleLink)})
	}
	if a.Text != "" {
		body = append(body, m.mrkdwn(a.Text, m.th.plain)...)
	}
	body = append(body, m.fieldLines(a.Fields)...)
	if a.ImageURL != "" {
		body = append(body, richLine{segs: m.imageSegs("", a.ImageURL)})
	}
	body = append(body, m.blockLines(a.Blocks)...)
	footer := cleanLine(hooks.Plain(clean(a.Footer)))
	if ts, err := strconv.ParseFloat(a.Ts.String(), 64); err == nil && ts > 0 && ts < 1e11 {
		date := time.Unix(int64(ts), 0).In(m.opts.Loc).Format("2006-01-02 15:04")
		footer = strings.TrimPrefix(footer+" · "+date, " · ")
	}
	if footer != "" {
		body = append(body, richLine{segs: []seg{{footer, m.th.dim}}})
	}
	if len(body) == 0 && a.Fallback != "" {
		body = m.mrkdwn(a.Fallback, m.th.plain)
	}
	bar := seg{m.th.bar + " ", m.barStyle(a.Color)}
	for _, l := range body {
		l.lead = append([]seg{bar}, l.lead...)
		out = append(out, l)
	}
	return out
}

// fieldLines renders an attachment's fields as "Title: value", two short
// ones side by side when they fit.
func (m *Model) fieldLines(fields []hooks.Field) []richLine {
	var out []richLine
	field := func(f hooks.Field) []richLine {
		title := cleanLine(hooks.Plain(clean(f.Title)))
		value := m.mrkdwn(f.Value, m.th.plain)
		if title == "" {
			return value
		}
		head := seg{title + ":", m.th.bold}
		if len(value) == 0 {
			return []richLine{{segs: []seg{head}}}
		}
		value[0].segs = append([]seg{head, {" ", m.th.plain}}, value[0].segs...)
		return value
	}
	for i := 0; i < len(fields); i++ {
		a := field(fields[i])
		if fields[i].Short && i+1 < len(fields) && fields[i+1].Short {
			if b := field(fields[i+1]); len(a) == 1 && len(b) == 1 && a[0].lead == nil && b[0].lead == nil {
				out = append(out, richLine{pair: [2][]seg{a[0].segs, b[0].segs}})
				i++
				continue
			}
		}
		out = append(out, a...)
	}
	return out
}

// imageSegs is an image as a link: "[image: alt] url".
func (m *Model) imageSegs(alt, u string) []seg {
	mark := "[image]"
	if alt = cleanLine(alt); alt != "" {
		mark = "[image: " + alt + "]"
	}
	if !hooks.SafeURL(u) {
		return []seg{{mark, m.th.dim}}
	}
	return []seg{{mark + " ", m.th.dim}, {u, m.th.url}}
}

// blockLines renders Slack's layout blocks: a section's text, fields and
// accessory, a header in bold, a context dim, a divider as a rule, an
// image as a link.
func (m *Model) blockLines(bs []hooks.Block) []richLine {
	var out []richLine
	for _, b := range bs {
		switch b.Type {
		case "section":
			if b.Text != nil {
				out = append(out, m.textObject(*b.Text, m.th.plain)...)
			}
			for _, f := range b.Fields {
				out = append(out, m.textObject(f, m.th.plain)...)
			}
			if b.Accessory != nil {
				if segs := m.elementSegs(*b.Accessory, m.th.plain, false); len(segs) > 0 {
					out = append(out, richLine{segs: segs})
				}
			}
		case "header":
			if b.Text != nil {
				if text := cleanLine(b.Text.Text); text != "" {
					out = append(out, richLine{segs: []seg{{text, m.th.bold}}})
				}
			}
		case "context":
			var segs []seg
			for _, e := range b.Elements {
				if es := m.elementSegs(e, m.th.dim, true); len(es) > 0 {
					if len(segs) > 0 {
						segs = append(segs, seg{" · ", m.th.dim})
					}
					segs = append(segs, es...)
				}
			}
			if len(segs) > 0 {
				out = append(out, richLine{segs: segs})
			}
		case "divider":
			out = append(out, richLine{rule: true})
		case "image":
			alt := b.AltText
			if b.Title != nil && b.Title.Text != "" {
				alt = b.Title.Text
			}
			if b.ImageURL != "" {
				out = append(out, richLine{segs: m.imageSegs(alt, b.ImageURL)})
			}
		}
	}
	return out
}

// textObject renders a text object: mrkdwn formatted, plain_text as is.
func (m *Model) textObject(t hooks.TextObject, base lipgloss.Style) []richLine {
	if t.Type == "mrkdwn" {
		return m.mrkdwn(t.Text, base)
	}
	var out []richLine
	for _, line := range strings.Split(clean(t.Text), "\n") {
		out = append(out, richLine{segs: []seg{{line, base}}})
	}
	return out
}

// elementSegs renders a context element or a section's accessory on one
// line: a text object's text, an image (in a context just its alt text),
// a button's label and URL.
func (m *Model) elementSegs(e hooks.Element, base lipgloss.Style, context bool) []seg {
	switch e.Type {
	case "mrkdwn", "plain_text":
		var s string
		if json.Unmarshal(e.Text, &s) != nil {
			return nil
		}
		var segs []seg
		for i, l := range m.textObject(hooks.TextObject{Type: e.Type, Text: s}, base) {
			if i > 0 {
				segs = append(segs, seg{" ", base})
			}
			segs = append(segs, l.segs...)
		}
		return segs
	case "image":
		if e.ImageURL != "" && !context {
			return m.imageSegs(e.AltText, e.ImageURL)
		}
		if alt := cleanLine(e.AltText); alt != "" {
			return []seg{{alt, base}}
		}
	case "button":
		var t hooks.TextObject
		_ = json.Unmarshal(e.Text, &t)
		label := hooks.Plain(clean(t.Text))
		if label == "" && e.URL == "" {
			return nil
		}
		return m.linkSegs("["+cleanLine(label)+"]", base, e.URL)
	}
	return nil
}

// barStyle colours an attachment's bar: good, warning and danger as
// green, yellow and red, a hex colour as itself (the program writes it as
// the terminal's nearest colour where the terminal has fewer), anything
// else grey.
func (m *Model) barStyle(color string) lipgloss.Style {
	if !m.th.color {
		return m.th.plain
	}
	c := "8"
	switch color = strings.ToLower(strings.TrimSpace(color)); color {
	case "good":
		c = "2"
	case "warning":
		c = "3"
	case "danger":
		c = "1"
	default:
		if hex := "#" + strings.TrimPrefix(color, "#"); isHexColor(hex) {
			c = hex
		}
	}
	return lipgloss.NewStyle().Foreground(lipgloss.Color(c))
}

// isHexColor reports whether s is #RGB or #RRGGBB.
func isHexColor(s string) bool {
	if len(s) != 4 && len(s) != 7 {
		return false
	}
	for _, c := range s[1:] {
		if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
			return false
		}
	}
	return true
}

// wrapRich wraps paragraphs to w cells (their leads included), each
// wrapped line rendered.
func (m *Model) wrapRich(lines []richLine, w int) []string {
	var out []string
	for _, l := range lines {
		lead := m.renderSegs(l.lead)
		inner := max(w-segsWidth(l.lead), 1)
		switch {
		case l.rule:
			out = append(out, lead+m.renderSegs([]seg{{strings.Repeat(m.th.rule, min(inner, 40)), m.th.separator}}))
		case l.pair[0] != nil || l.pair[1] != nil:
			colW := (inner - 2) / 2
			a, b := segsWidth(l.pair[0]), segsWidth(l.pair[1])
			if a <= colW && b <= colW {
				out = append(out, lead+m.renderSegs(l.pair[0])+strings.Repeat(" ", colW-a+2)+m.renderSegs(l.pair[1]))
				continue
			}
			for _, half := range l.pair {
				for _, wl := range wrapSegs(half, inner) {
					out = append(out, lead+m.renderSegs(wl))
				}
			}
		default:
			for _, wl := range wrapSegs(l.segs, inner) {
				out = append(out, lead+m.renderSegs(wl))
			}
		}
	}
	return out
}

// renderSegs styles segs (plain text without colour).
func (m *Model) renderSegs(segs []seg) string {
	var b strings.Builder
	for _, s := range segs {
		if s.text == "" {
			continue
		}
		if m.th.color {
			b.WriteString(s.style.Render(s.text))
		} else {
			b.WriteString(s.text)
		}
	}
	return b.String()
}

func segsWidth(segs []seg) int {
	n := 0
	for _, s := range segs {
		n += lipgloss.Width(s.text)
	}
	return n
}

// segWord is a run of pieces between spaces.
type segWord struct {
	pieces []piece
	w      int
}

// wrapSegs breaks segs into lines of at most w cells, at spaces when it
// can, as wrap does plain text: a word wider than w is cut.
func wrapSegs(segs []seg, w int) [][]seg {
	w = max(w, 1)
	var words []segWord
	var spaces []piece // spaces[i] joins words[i] and words[i+1]
	cur := segWord{}
	for k, s := range segs {
		for i, part := range strings.Split(s.text, " ") {
			if i > 0 {
				words = append(words, cur)
				spaces = append(spaces, piece{seg{" ", s.style}, k})
				cur = segWord{}
			}
			if part != "" {
				cur.pieces = append(cur.pieces, piece{seg{part, s.style}, k})
				cur.w += lipgloss.Width(part)
			}
		}
	}
	words = append(words, cur)
	var lines [][]piece
	var line []piece
	lineW := 0
	for i, wd := range words {
		cut := false
		for wd.w > w {
			if len(line) > 0 {
				lines = append(lines, line)
				line, lineW = nil, 0
			}
			var head []piece
			head, wd = cutWord(wd, w)
			lines = append(lines, head)
			cut = true
		}
		switch {
		case cut && len(wd.pieces) == 0:
			// Cut to the last cell: nothing left for a line of its own.
		case len(line) == 0:
			line, lineW = append(line, wd.pieces...), wd.w
		case lineW+1+wd.w <= w:
			line = append(line, spaces[i-1])
			line = append(line, wd.pieces...)
			lineW += 1 + wd.w
		default:
			lines = append(lines, line)
			line, lineW = append([]piece(nil), wd.pieces...), wd.w
		}
	}
	if len(line) > 0 || len(lines) == 0 {
		lines = append(lines, line)
	}
	out := make([][]seg, len(lines))
	for i, l := range lines {
		out[i] = joinPieces(l)
	}
	return out
}

// joinPieces joins the pieces of a line cut from the same seg again
// (fewer escape sequences for the same look).
func joinPieces(line []piece) []seg {
	var out []seg
	for i, p := range line {
		if i > 0 && line[i-1].src == p.src {
			out[len(out)-1].text += p.text
			continue
		}
		out = append(out, p.seg)
	}
	return out
}

// cutWord splits off the first w cells of a word (at least one rune, so
// a wide rune in a narrow column still moves on).
func cutWord(wd segWord, w int) (head []piece, rest segWord) {
	n := 0
	for i, p := range wd.pieces {
		for j, r := range p.text {
			rw := lipgloss.Width(string(r))
			if n+rw > w && n > 0 {
				if j > 0 {
					head = append(head, piece{seg{p.text[:j], p.style}, p.src})
				}
				rest.pieces = append([]piece{{seg{p.text[j:], p.style}, p.src}}, wd.pieces[i+1:]...)
				rest.w = wd.w - n
				return head, rest
			}
			n += rw
		}
		head = append(head, p)
	}
	return head, segWord{}
}

// appMessageLines appends the lines of an app message's formatted body:
// its first line beside the author, the rest under it, indented as far
// (or, when that leaves too little room, from the time's width, the
// author on a line of its own).
func (m *Model) appMessageLines(out []string, msg api.Message, p hooks.Payload, stamp, who, tick string, mentioned bool, w int) []string {
	body := m.appLines(p)
	if len(body) == 0 {
		body = []richLine{{segs: []seg{{printable(msg.Text), m.th.plain}}}}
	}
	if mentioned {
		body[0].segs = append([]seg{{m.th.mentioned, m.th.mention}}, body[0].segs...)
	}
	if tick != "" {
		last := &body[len(body)-1]
		if last.rule || last.pair[0] != nil {
			body = append(body, richLine{lead: last.lead})
			last = &body[len(body)-1]
		}
		last.segs = append(last.segs, seg{tick, m.th.plain})
	}
	author := stamp + m.whoStyled(msg, who) + ":"
	indent := lipgloss.Width(stamp) + lipgloss.Width(who) + 2
	if w-indent < 20 {
		// The author on a line of its own, cut to fit unstyled when even
		// that is too narrow (a styled line cut later loses its reset).
		if lipgloss.Width(author) > w {
			author = truncate(stamp+who+":", w)
		}
		indent = lipgloss.Width(stamp)
		out = append(out, author)
		author = ""
	}
	for i, l := range m.wrapRich(body, w-indent) {
		if i == 0 && author != "" {
			out = append(out, author+" "+l)
			continue
		}
		out = append(out, strings.Repeat(" ", indent)+l)
	}
	return out
}
