package tui

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/colorprofile"

	"github.com/parley-chat/parley/internal/api"
	"github.com/parley-chat/parley/internal/hooks"
)

// appMsg is an app message posted by host into #lobby at, carrying p as
// the node keeps it: sanitised as rich, rendered plain as its text.
func appMsg(id, app, host string, p hooks.Payload, at time.Time) api.Message {
	p = hooks.Sanitise(p)
	rich, err := json.Marshal(p)
	if err != nil {
		panic(err) // a Payload always marshals
	}
	m := textMsg(id, "room:lobby", host, hooks.RenderText(p), at)
	m.App, m.Rich = app, rich
	return m
}

// ciPayload is a CI tool's Slack payload: formatted text with a link, and
// an attachment with a colour, pretext, an author, a linked title, text
// with a quote, short and long fields, a footer with a time, then blocks
// (header, divider, context, image, a code block in a section).
func ciPayload() hooks.Payload {
	return hooks.Payload{
		Text: "*Build #42 passed* on `main` for <https://ci.example/p/42|parley> ~flaky~ _twice_",
		Attachments: []hooks.Attachment{{
			Color:      "#36a64f",
			Pretext:    "Nightly pipeline",
			AuthorName: "ci-bot",
			Title:      "Pipeline 42",
			TitleLink:  "https://ci.example/p/42",
			Text:       "All *317* tests green\n> cached: 80%",
			Fields: []hooks.Field{
				{Title: "Branch", Value: "main", Short: true},
				{Title: "Took", Value: "4m 12s", Short: true},
				{Title: "Commit", Value: "a1b2c3d tui: render app messages with their formatting"},
			},
			Footer: "CI",
			Ts:     json.Number("1773500000"),
		}},
		Blocks: []hooks.Block{
			{Type: "header", Text: &hooks.TextObject{Type: "plain_text", Text: "Deploy"}},
			{Type: "divider"},
			{Type: "context", Elements: []hooks.Element{{Type: "mrkdwn", Text: json.RawMessage(`"by *alice*"`)}}},
			{Type: "image", ImageURL: "https://ci.example/graph.png", AltText: "build times"},
			{Type: "section", Text: &hooks.TextObject{Type: "mrkdwn", Text: "```go test ./...\nok```"}},
		},
	}
}

// appWorld is #lobby with a line from bob and a CI app's message.
func appWorld() *fakeBackend {
	fb := newFakeBackend()
	fb.setConvs(room("lobby", 0), dm(bobID, "bob", true, 0))
	fb.setHistory("#lobby", []api.Message{
		textMsg("a1", "room:lobby", bobID, "pushing the fix now", saturday),
		appMsg("a2", "ci", bobID, ciPayload(), saturday.Add(time.Minute)),
	})
	return fb
}

// TestAppColourGolden keeps the colour frame of an app message, its
// escape sequences shown as ␛: the styles of its formatting, the bar in
// the attachment's colour, the app mark.
func TestAppColourGolden(t *testing.T) {
	h := newHarnessColor(t, appWorld(), 100, 34, true)
	content := h.m.View().Content
	checkFrame(t, content, 100, 34)
	golden(t, "app_colour_100x34", strings.ReplaceAll(content, "\x1b", "␛"))
	for _, want := range []string{
		h.m.th.bold.Render("Build #42 passed"),
		h.m.th.code.Render("main"),
		lipgloss.NewStyle().Foreground(lipgloss.Color("#36a64f")).Render("▌ "),
		h.m.th.appMark.Render("[app]"),
	} {
		if !strings.Contains(content, want) {
			t.Errorf("colour frame: want %q in it", want)
		}
	}
}

// TestAppRendering: the author is the app with its mark; formatting marks
// are gone, links show their URL; an attachment stands behind its bar
// with its parts in order, two short fields side by side; blocks follow.
func TestAppRendering(t *testing.T) {
	h := newHarness(t, appWorld(), 100, 34)
	tl := h.timelineText()
	want := []string{
		"14:03 ci [app]: Build #42 passed on main for parley",
		"(https://ci.example/p/42) flaky twice",
		"Nightly pipeline",
		"▌ ci-bot",
		"▌ Pipeline 42",
		"▌ All 317 tests green",
		"▌ │ cached: 80%",
		"▌ Branch: main       Took: 4m 12s",
		"▌ Commit: a1b2c3d tui: render app",
		"▌ CI · 2026-03-14 14:53",
		"Deploy",
		"──────────",
		"by alice",
		"[image: build times]",
		"https://ci.example/graph.png",
		"  go test ./...",
	}
	at := 0
	for _, w := range want {
		i := at
		for i < len(tl) && !strings.Contains(tl[i], w) {
			i++
		}
		if i == len(tl) {
			t.Fatalf("timeline: got\n%s\nwant a line with %q after line %d", strings.Join(tl, "\n"), w, at)
		}
		at = i + 1
	}
	for _, l := range tl {
		if strings.ContainsAny(l, "*_~`<>") {
			t.Errorf("line %q: want no mrkdwn marks left", l)
		}
	}

	// Without room for both short fields, each takes a line of its own.
	narrow := newHarness(t, appWorld(), 60, 50)
	ntl := narrow.timelineText()
	if !hasLine(ntl, "▌ Branch: main") || !hasLine(ntl, "▌ Took: 4m 12s") || hasLine(ntl, "Took: 4m 12s     ") {
		t.Errorf("narrow: got\n%s\nwant the short fields on lines of their own", strings.Join(ntl, "\n"))
	}
	checkFrame(t, narrow.m.View().Content, 60, 50)
}

// TestAppFramesFitAnySize: app messages fit every terminal size, and in
// colour read the same as without (no style cut in half by a line too
// wide).
func TestAppFramesFitAnySize(t *testing.T) {
	longName := func() *fakeBackend {
		fb := appWorld()
		fb.change("a2", func(m *api.Message) { m.App = "the-continuous-integration-robot" })
		return fb
	}
	for _, size := range [][2]int{{40, 12}, {50, 16}, {60, 16}, {79, 24}, {100, 30}, {132, 43}} {
		for _, world := range []func() *fakeBackend{appWorld, longName} {
			checkAppFrames(t, world, size[0], size[1])
		}
	}
}

func checkAppFrames(t *testing.T, world func() *fakeBackend, width, height int) {
	t.Helper()
	plain := newHarness(t, world(), width, height)
	colour := newHarnessColor(t, world(), width, height, true)
	for _, scrolled := range []bool{false, true} {
		if scrolled { // the lines above show too
			plain.send(keyPgUp)
			colour.send(keyPgUp)
		}
		content := colour.m.View().Content
		checkFrame(t, content, width, height)
		if got, want := colour.frame(), plain.frame(); got != want {
			t.Errorf("%dx%d (scrolled %v): colour frame without escapes:\n%s\nwant the plain frame:\n%s", width, height, scrolled, got, want)
		}
		// No style runs on past its line (a styled line cut short loses
		// its reset).
		for i, l := range strings.Split(content, "\n")[:colour.m.timelineHeight()] {
			if seqs := sgr.FindAllString(l, -1); len(seqs) > 0 && seqs[len(seqs)-1] != "\x1b[m" && seqs[len(seqs)-1] != "\x1b[0m" {
				t.Errorf("%dx%d (scrolled %v) line %d: ends in style %q: %q", width, height, scrolled, i, seqs[len(seqs)-1], l)
			}
		}
	}
}

// TestAppLinesFitWidth: from 12 cells up, no line of an app message is
// wider than the timeline, a long app name included (the view would
// have to cut a styled line, and with it the style's reset).
func TestAppLinesFitWidth(t *testing.T) {
	m := New(t.Context(), newFakeBackend(), Options{Color: true, Loc: time.UTC})
	for _, app := range []string{"ci", "the-continuous-integration-robot"} {
		msg := appMsg("a2", app, bobID, ciPayload(), saturday)
		for w := 12; w <= 100; w++ {
			for i, l := range m.messageLines(nil, msg, "14:03 ", m.author(msg), w, "", "", false) {
				if lw := lipgloss.Width(l); lw > w {
					t.Errorf("%s, width %d, line %d: %d wide: %q", app, w, i, lw, stripANSI(l))
				}
			}
		}
	}
}

// TestAppASCIIMarks: with ASCII marks the bar is |, a quote's mark >, a
// divider's rule -.
func TestAppASCIIMarks(t *testing.T) {
	m := New(t.Context(), newFakeBackend(), Options{ASCII: true, Loc: time.UTC})
	msg := appMsg("a2", "ci", bobID, ciPayload(), saturday)
	text := strings.Join(m.messageLines(nil, msg, "14:03 ", m.author(msg), 70, "", "", false), "\n")
	for _, want := range []string{"| ci-bot", "| > cached: 80%", "| Branch: main", "----------"} {
		if !strings.Contains(text, want) {
			t.Errorf("ASCII lines:\n%s\nwant %q", text, want)
		}
	}
	if strings.ContainsAny(text, "▌│─") {
		t.Errorf("ASCII lines:\n%s\nwant no box-drawing marks", text)
	}
}

// sgr matches the select-graphic-rendition sequences the styles write.
var sgr = regexp.MustCompile(`\x1b\[[0-9;:]*m`)

// TestAppHostileEscapes: escape sequences and control characters in every
// string of a payload (a peer's input) never reach the terminal: without
// colour the frame has no escape at all, in colour only the styles' own
// SGR sequences; the text around them still shows.
func TestAppHostileEscapes(t *testing.T) {
	const osc8 = "\x1b]8;;https://evil.example/\x1b\\"
	p := hooks.Payload{
		Text: "status \x1b[2J\x1b]0;pwned\x07*green*\u009b31m now\r\x1b[1Aover",
		Attachments: []hooks.Attachment{{
			Color:      "\x1b[31m",
			Pretext:    "pre\x1bPtext\x1b\\",
			AuthorName: "bot\x1b[5m",
			Title:      "Deploy " + osc8 + "click\x1b]8;;\x1b\\ done\x1b[31m",
			TitleLink:  "https://ci.example/\x1b[31m",
			Text:       "body\x07\x1b(0",
			Fields:     []hooks.Field{{Title: "Ti\x1b[1mtle", Value: "va\x1b[4mlue", Short: true}},
			Footer:     "foot\x1b[8m\u202egnp.exe",
		}},
		Blocks: []hooks.Block{
			{Type: "header", Text: &hooks.TextObject{Type: "plain_text", Text: "head\x1b[7mer"}},
			{Type: "context", Elements: []hooks.Element{{Type: "plain_text", Text: json.RawMessage(`"ctx\u001b[41m"`)}}},
			{Type: "image", ImageURL: "https://ci.example/i.png", AltText: "alt\x1b]52;c;cGF5bG9hZA==\x07"},
		},
	}
	world := func() *fakeBackend {
		fb := newFakeBackend()
		fb.setHistory("#lobby", []api.Message{appMsg("h1", "ci\x1b[31m", bobID, p, saturday)})
		return fb
	}
	plain := newHarness(t, world(), 120, 40)
	// The timeline's rows (the composer below has styles of its own).
	content := strings.Join(strings.Split(plain.m.View().Content, "\n")[:plain.m.timelineHeight()], "\n")
	if i := strings.IndexAny(content, "\x1b\u009b\u009d\x07"); i >= 0 {
		t.Fatalf("plain frame: an escape or control character at %d: %q", i, content[max(0, i-20):min(len(content), i+20)])
	}
	tl := strings.Join(plain.timelineText(), "\n")
	for _, want := range []string{"ci [app]: status", "green", "now", "over", "▌ Deploy click done", "Title: value", "header", "ctx", "[image: alt]", "▌ bot", "▌ foot"} {
		if !strings.Contains(tl, want) {
			t.Errorf("plain timeline:\n%s\nwant %q", tl, want)
		}
	}
	if strings.Contains(tl, "pwned") || strings.Contains(tl, "evil.example") {
		t.Errorf("plain timeline:\n%s\nwant an OSC's payload gone with it", tl)
	}
	if strings.Contains(tl, "\u202e") || !strings.Contains(tl, "footgnp.exe") {
		t.Errorf("plain timeline:\n%s\nwant the right-to-left override dropped", tl)
	}

	colour := newHarnessColor(t, world(), 120, 40, true)
	rest := sgr.ReplaceAllString(colour.m.View().Content, "")
	if i := strings.IndexAny(rest, "\x1b\u009b\u009d\x07"); i >= 0 {
		t.Fatalf("colour frame: an escape that is not a style's at %d: %q", i, rest[max(0, i-20):min(len(rest), i+20)])
	}
}

// TestAppBarColour: Slack's named colours map to the terminal's green,
// yellow and red; a hex colour is written as the nearest colour of the
// terminal's palette (here 16 colours); anything else is grey.
func TestAppBarColour(t *testing.T) {
	m := New(t.Context(), newFakeBackend(), Options{Color: true})
	for _, tt := range []struct{ color, want string }{
		{"good", "\x1b[32m"},
		{"warning", "\x1b[33m"},
		{"danger", "\x1b[31m"},
		{"#36a64f", "\x1b[32m"}, // Slack's green
		{"#F01010", "\x1b[91m"}, // a red
		{"439FE0", "\x1b[94m"},  // a blue, written without #
		{"#12345", "\x1b[90m"},  // not a colour: grey
		{"", "\x1b[90m"},
	} {
		var out bytes.Buffer
		w := &colorprofile.Writer{Forward: &out, Profile: colorprofile.ANSI}
		if _, err := w.WriteString(m.barStyle(tt.color).Render("▌")); err != nil {
			t.Fatal(err)
		}
		if got := out.String(); !strings.HasPrefix(got, tt.want) {
			t.Errorf("bar of %q on a 16-colour terminal: got %q, want it to start with %q", tt.color, got, tt.want)
		}
	}
}

// TestAppFallbacks: an app message without a payload, with one that does
// not decode, or edited since shows its text; "mrkdwn": false keeps the
// text's marks; an attachment with nothing else shows its fallback.
func TestAppFallbacks(t *testing.T) {
	m := New(t.Context(), newFakeBackend(), Options{Loc: time.UTC})
	lines := func(msg api.Message) string {
		return strings.Join(m.messageLines(nil, msg, "14:03 ", m.author(msg), 80, "", "", false), "\n")
	}
	off := false
	raw := appMsg("f1", "ci", bobID, hooks.Payload{Text: "*kept* as <https://x.example|written>", Mrkdwn: &off}, saturday)
	if got := lines(raw); !strings.Contains(got, "ci [app]: *kept* as written (https://x.example)") {
		t.Errorf("mrkdwn false: got %q", got)
	}
	fb := appMsg("f2", "ci", bobID, hooks.Payload{Attachments: []hooks.Attachment{{Fallback: "only the *fallback*", Color: "good"}}}, saturday)
	if got := lines(fb); !strings.Contains(got, "▌ only the fallback") {
		t.Errorf("fallback: got %q", got)
	}
	bad := textMsg("f3", "room:lobby", bobID, "the plain text", saturday)
	bad.App, bad.Rich = "ci", json.RawMessage(`{"text": 5}`)
	if got := lines(bad); !strings.Contains(got, "ci [app]: the plain text") {
		t.Errorf("payload that does not decode: got %q", got)
	}
	edited := appMsg("f4", "ci", bobID, hooks.Payload{Text: "*old*"}, saturday)
	edited.Text, edited.Edited = "new text", true
	if got := lines(edited); !strings.Contains(got, "ci [app]: new text (edited)") {
		t.Errorf("edited: got %q", got)
	}
}

// TestAppLineCache: the cached lines of an app message follow its
// payload: the same message ID with another payload renders anew.
func TestAppLineCache(t *testing.T) {
	fb := appWorld()
	h := newHarness(t, fb, 100, 34)
	if !hasLine(h.timelineText(), "Build #42 passed") {
		t.Fatalf("timeline: got %q", h.timelineText())
	}
	other := appMsg("a2", "ci", bobID, hooks.Payload{Text: "*Build #43 failed*"}, saturday.Add(time.Minute))
	h.m.gotUpdated(other)
	tl := h.timelineText()
	if !hasLine(tl, "ci [app]: Build #43 failed") || hasLine(tl, "Build #42") {
		t.Errorf("after the payload changed: got %q, want the new one rendered", tl)
	}
}

// TestWrapSegs: styled text wraps as plain text does, no line wider than
// asked, words cut when they must be, styles kept on the pieces.
func TestWrapSegs(t *testing.T) {
	b, p := lipgloss.NewStyle().Bold(true), lipgloss.NewStyle()
	segs := []seg{{"a bold start", b}, {" then plain words and averyveryverylongwordthatmustbecut", p}}
	var plainText string
	for _, s := range segs {
		plainText += s.text
	}
	for w := 1; w <= 40; w++ {
		got := wrapSegs(segs, w)
		var texts []string
		for _, l := range got {
			if sw := segsWidth(l); sw > w {
				t.Errorf("width %d: line %v is %d wide", w, l, sw)
			}
			var s string
			for _, sg := range l {
				s += sg.text
			}
			texts = append(texts, s)
		}
		// wrap leaves an empty line after a word cut to the last cell.
		if want := strings.TrimSuffix(strings.Join(wrap(plainText, w), "\n"), "\n"); w >= 8 && strings.Join(texts, "\n") != want {
			t.Errorf("width %d: got %q, want %q as wrap does", w, texts, want)
		}
	}
	if got := wrapSegs(segs, 12); len(got[0]) != 1 || got[0][0].text != "a bold start" {
		t.Errorf("first line: got %v, want the bold run whole in one seg", got[0])
	}
	if got := wrapSegs([]seg{{"日本語", p}}, 1); len(got) != 3 {
		t.Errorf("wide runes in one cell: got %v, want a rune a line", got)
	}
}

// appRoom is #lobby with n messages: CI app messages with app, plain
// text otherwise.
func appRoom(n int, app bool) *fakeBackend {
	fb := newFakeBackend()
	ms := make([]api.Message, n)
	for i := range ms {
		at := t0.Add(-time.Hour + time.Duration(i)*time.Second)
		if app {
			ms[i] = appMsg(fmt.Sprintf("a%05d", i), "ci", bobID, ciPayload(), at)
		} else {
			ms[i] = textMsg(fmt.Sprintf("a%05d", i), "room:lobby", bobID, hooks.RenderText(ciPayload()), at)
		}
	}
	fb.setHistory("#lobby", ms)
	return fb
}

// BenchmarkAppFrameCold is a frame of a room of CI app messages with the
// line cache cleared first: each shown payload decoded, formatted and
// wrapped (BenchmarkPlainFrameCold: the same messages as plain text).
func BenchmarkAppFrameCold(b *testing.B)   { benchFrame(b, true, true) }
func BenchmarkPlainFrameCold(b *testing.B) { benchFrame(b, false, true) }

// BenchmarkAppFrameWarm is that frame from the line cache.
func BenchmarkAppFrameWarm(b *testing.B) { benchFrame(b, true, false) }

func benchFrame(b *testing.B, app, cold bool) {
	h := newHarnessColor(b, appRoom(200, app), 120, 40, true)
	for b.Loop() {
		if cold {
			clear(h.m.lineCache)
		}
		_ = h.m.View()
	}
}
