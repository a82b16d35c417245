package tui

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/parley-chat/parley/internal/api"
)

// TestKeyNames checks that the keys the tests press read as the names the
// model matches on, as Bubble Tea decodes them from a terminal.
func TestKeyNames(t *testing.T) {
	tests := []struct {
		key  tea.KeyPressMsg
		want string
	}{
		{keyEnter, "enter"},
		{keyAltEnter, "alt+enter"},
		{keyTab, "tab"},
		{keyCtrlN, "ctrl+n"},
		{keyCtrlP, "ctrl+p"},
		{keyAltUp, "alt+up"},
		{keyAltDown, "alt+down"},
		{keyAltA, "alt+a"},
		{keyPgUp, "pgup"},
		{keyPgDown, "pgdown"},
		{keyCtrlC, "ctrl+c"},
		{textKey('a'), "a"},
		{textKey(' '), "space"},
	}
	for _, tt := range tests {
		if got := tt.key.String(); got != tt.want {
			t.Errorf("key %+v: got %q, want %q", tt.key, got, tt.want)
		}
	}
}

func TestInitOpensLobby(t *testing.T) {
	fb := newFakeBackend()
	fb.setHistory("#lobby", roomHistory("lobby", 3))
	h := newHarness(t, fb, 80, 24)
	if got, want := h.m.cur, "room:lobby"; got != want {
		t.Fatalf("open conversation: got %q, want %q", got, want)
	}
	for _, want := range []string{"Identity", "Conversations", "Peers", "HistoryAll", "Members"} {
		if len(fb.callsOf(want)) == 0 {
			t.Errorf("calls: got %v, want a call of %s", fb.allCalls(), want)
		}
	}
	if got := fb.callsOf("HistoryAll")[0]; !slices.Equal(got, []string{"#lobby", "200", "", "true"}) {
		t.Errorf("HistoryAll: got %q, want #lobby, 200, no cursor, all", got)
	}
	if !hasLine(h.timelineText(), "carol: message 1") {
		t.Errorf("timeline: got %q, want message 1 from carol", h.timelineText())
	}
}

func TestEnterSendsToOpenConversation(t *testing.T) {
	tests := []struct {
		name   string
		open   []tea.KeyPressMsg // keys pressed before typing
		typed  string
		wantTo string
	}{
		{"lobby", nil, "hello there", "#lobby"},
		{"next room", []tea.KeyPressMsg{keyCtrlN}, "hi dev", "#dev"},
		{"direct", []tea.KeyPressMsg{keyCtrlP}, "hi bob", bobID},
		{"trimmed", nil, "  spaced out  ", "#lobby"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fb := newFakeBackend()
			h := newHarness(t, fb, 80, 24)
			for _, k := range tt.open {
				h.send(k)
			}
			h.enter(tt.typed)
			got := fb.callsOf("Send")
			want := [][]string{{tt.wantTo, strings.TrimSpace(tt.typed)}}
			if !slices.EqualFunc(got, want, slices.Equal) {
				t.Fatalf("Send calls: got %q, want %q", got, want)
			}
			if v := h.m.input.Value(); v != "" {
				t.Errorf("composer after Enter: got %q, want it empty", v)
			}
		})
	}
}

func TestEnterOnBlankSendsNothing(t *testing.T) {
	fb := newFakeBackend()
	h := newHarness(t, fb, 80, 24)
	h.enter("   ")
	if got := fb.callsOf("Send"); len(got) != 0 {
		t.Fatalf("Send calls: got %q, want none", got)
	}
}

func TestSendErrorShowsInStatus(t *testing.T) {
	fb := newFakeBackend()
	fb.failNext("Send", errors.New("message too large"))
	h := newHarness(t, fb, 80, 24)
	h.enter("x")
	if !h.m.statusErr || !strings.Contains(h.statusLine(), "message too large") {
		t.Fatalf("status: got %q (error %v), want the send error", h.statusLine(), h.m.statusErr)
	}
}

func TestSlashCommands(t *testing.T) {
	bobAddr := "/ip4/127.0.0.1/tcp/4001/p2p/" + bobID
	tests := []struct {
		name      string
		setup     func(*harness)
		line      string
		wantCalls []call // in order, among the methods they name
		wantCur   string // "" : unchanged (room:lobby)
		wantStat  string // substring of the status
		wantErr   bool
		wantQuit  bool
	}{
		{name: "join", line: "/join #team", wantCalls: []call{{"Join", []string{"#team"}}, {"HistoryAll", []string{"#team", "200", "", "true"}}},
			wantCur: "room:team"},
		{name: "join without #", line: "/join team", wantCalls: []call{{"Join", []string{"#team"}}}, wantCur: "room:team"},
		{name: "join without a room", line: "/join", wantStat: "usage: /join #room", wantErr: true},
		{name: "join fails", setup: func(h *harness) { h.fb.failNext("Join", errors.New("bad room name \"A!\"")) },
			line: "/join #A!", wantCalls: []call{{"Join", []string{"#A!"}}}, wantStat: "bad room name", wantErr: true},
		{name: "leave the open room", line: "/leave", wantCalls: []call{{"Leave", []string{"#lobby"}}}, wantStat: "left #lobby",
			wantCur: "room:dev"},
		{name: "leave a named room", line: "/leave #dev", wantCalls: []call{{"Leave", []string{"#dev"}}}, wantStat: "left #dev"},
		{name: "leave in a DM", setup: func(h *harness) { h.send(keyCtrlP) }, line: "/leave",
			wantCur: "dm:" + bobID, wantStat: "usage: /leave", wantErr: true},
		{name: "msg with text", line: "/msg @bob hi there bob", wantCalls: []call{{"Send", []string{"@bob", "hi there bob"}}},
			wantCur: "dm:" + bobID},
		{name: "msg by peer ID", line: "/msg " + carolID + " hi", wantCalls: []call{{"Send", []string{carolID, "hi"}}},
			wantCur: "dm:" + carolID},
		{name: "msg opens", line: "/msg @bob", wantCur: "dm:" + bobID},
		{name: "msg unknown nick", line: "/msg @nobody", wantStat: "unknown peer @nobody", wantErr: true},
		{name: "msg unknown nick with text", line: "/msg @nobody hi", wantCalls: []call{{"Send", []string{"@nobody", "hi"}}},
			wantStat: "unknown peer @nobody", wantErr: true},
		{name: "msg without args", line: "/msg", wantStat: "usage: /msg", wantErr: true},
		{name: "nick", line: "/nick zed", wantCalls: []call{{"SetNick", []string{"zed"}}}, wantStat: "you are now zed"},
		{name: "nick without name", line: "/nick", wantStat: "usage: /nick name", wantErr: true},
		{name: "nick refused", setup: func(h *harness) { h.fb.failNext("SetNick", errors.New("bad nickname")) },
			line: "/nick b@d", wantCalls: []call{{"SetNick", []string{"b@d"}}}, wantStat: "bad nickname", wantErr: true},
		{name: "connect", line: "/connect " + bobAddr, wantCalls: []call{{"Connect", []string{bobAddr}}}, wantStat: "connected to " + shortID(bobID)},
		{name: "connect fails", setup: func(h *harness) { h.fb.failNext("Connect", errors.New("dial failed")) },
			line: "/connect " + bobAddr, wantCalls: []call{{"Connect", []string{bobAddr}}}, wantStat: "dial failed", wantErr: true},
		{name: "connect without address", line: "/connect", wantStat: "usage: /connect", wantErr: true},
		{name: "peers", line: "/peers", wantCalls: []call{{"Peers", nil}}, wantStat: "peers: bob (online), carol (offline)"},
		{name: "unknown command", line: "/frobnicate now", wantStat: "unknown command /frobnicate: /help lists them", wantErr: true},
		{name: "quit", line: "/quit", wantQuit: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fb := newFakeBackend()
			h := newHarness(t, fb, 80, 24)
			if tt.setup != nil {
				tt.setup(h)
			}
			before := len(fb.allCalls())
			h.enter(tt.line)
			var got []call
			for _, c := range fb.allCalls()[before:] {
				if slices.ContainsFunc(tt.wantCalls, func(w call) bool { return w.method == c.method }) {
					got = append(got, c)
				}
			}
			if len(got) != len(tt.wantCalls) {
				t.Fatalf("calls: got %v, want %v", got, tt.wantCalls)
			}
			for i := range got {
				if got[i].method != tt.wantCalls[i].method || (tt.wantCalls[i].args != nil && !slices.Equal(got[i].args, tt.wantCalls[i].args)) {
					t.Fatalf("calls: got %v, want %v", got, tt.wantCalls)
				}
			}
			if len(fb.callsOf("Send")) > 0 && !slices.ContainsFunc(tt.wantCalls, func(c call) bool { return c.method == "Send" }) {
				t.Errorf("a command was sent as a message: %q", fb.callsOf("Send"))
			}
			wantCur := tt.wantCur
			if wantCur == "" {
				wantCur = "room:lobby"
			}
			if h.m.cur != wantCur {
				t.Errorf("open conversation: got %q, want %q", h.m.cur, wantCur)
			}
			if !strings.Contains(h.m.status, tt.wantStat) || h.m.statusErr != tt.wantErr {
				t.Errorf("status: got %q (error %v), want %q (error %v)", h.m.status, h.m.statusErr, tt.wantStat, tt.wantErr)
			}
			if tt.wantStat != "" && !strings.Contains(h.statusLine(), tt.wantStat[:min(len(tt.wantStat), 20)]) {
				t.Errorf("status bar: got %q, want it to show %q", h.statusLine(), tt.wantStat)
			}
			if h.quit != tt.wantQuit {
				t.Errorf("quit: got %v, want %v", h.quit, tt.wantQuit)
			}
		})
	}
}

func TestJoinedRoomAppearsInSidebar(t *testing.T) {
	fb := newFakeBackend()
	h := newHarness(t, fb, 80, 24)
	h.enter("/join #team")
	if !strings.Contains(h.frame(), "▸#team") {
		t.Fatalf("frame: got\n%s\nwant #team selected in the sidebar", h.frame())
	}
	if got := h.timelineText()[0]; got != "#team" {
		t.Errorf("timeline header: got %q, want %q", got, "#team")
	}
}

func TestNickShowsInStatusBar(t *testing.T) {
	fb := newFakeBackend()
	h := newHarness(t, fb, 80, 24)
	h.enter("/nick zed")
	if !strings.HasPrefix(h.statusLine(), " zed · ") {
		t.Fatalf("status bar: got %q, want it to start with the new nick", h.statusLine())
	}
}

func TestHelp(t *testing.T) {
	fb := newFakeBackend()
	h := newHarness(t, fb, 100, 40)
	h.enter("/help")
	tl := h.timelineText()
	for _, want := range []string{"Commands:", "/join", "/create", "/invite", "/remove", "/promote", "/share", "/get", "/open", "PgDn/↓ more · any other key closes this help"} {
		if !hasLine(tl, want) {
			t.Errorf("help: got %q, want a line with %q", tl, want)
		}
	}
	// Longer than the screen: PgDn shows the rest, and the help stays.
	h.send(keyPgDown)
	h.send(keyPgDown)
	tl = h.timelineText()
	for _, want := range []string{"/connect", "Alt+Enter new line", "c copy the link", "PgUp/↑ back · any other key closes this help"} {
		if !hasLine(tl, want) {
			t.Errorf("help after PgDn: got %q, want a line with %q", tl, want)
		}
	}
	h.send(keyPgUp)
	h.send(keyPgUp)
	if !hasLine(h.timelineText(), "Commands:") {
		t.Errorf("help after PgUp: got %q, want its top", h.timelineText())
	}
	// Where it fits, it ends by saying how to close it.
	h.send(teaWindowSize(100, 60))
	if !hasLine(h.timelineText(), "Press any key to close this help.") {
		t.Errorf("help 60 lines high: got %q, want it whole", h.timelineText())
	}
	h.send(textKey('x'))
	if hasLine(h.timelineText(), "Commands:") {
		t.Errorf("help still shown after a key: %q", h.timelineText())
	}
	if v := h.m.input.Value(); v != "" {
		t.Errorf("composer: got %q, want the key that closed the help swallowed", v)
	}
	h.enter("/help")
	h.send(keyEsc)
	if h.m.showHelp {
		t.Errorf("help still shown after Esc")
	}
}

func TestCtrlCQuits(t *testing.T) {
	for _, name := range []string{"composer", "help"} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, newFakeBackend(), 80, 24)
			if name == "help" {
				h.enter("/help")
			}
			cmd := h.update(keyCtrlC)
			if cmd == nil {
				t.Fatal("Ctrl+C: got no command, want tea.Quit")
			}
			if msg, ok := cmd().(tea.QuitMsg); !ok {
				t.Fatalf("Ctrl+C: command gave %T, want tea.QuitMsg", msg)
			}
		})
	}
}

func TestSwitchConversations(t *testing.T) {
	lobby, dev, bob := "room:lobby", "room:dev", "dm:"+bobID
	tests := []struct {
		name string
		keys []tea.KeyPressMsg
		want []string // open conversation after each key
	}{
		{"ctrl+n", []tea.KeyPressMsg{keyCtrlN, keyCtrlN, keyCtrlN}, []string{dev, bob, lobby}},
		{"ctrl+p", []tea.KeyPressMsg{keyCtrlP, keyCtrlP, keyCtrlP}, []string{bob, dev, lobby}},
		{"alt+down", []tea.KeyPressMsg{keyAltDown, keyAltDown, keyAltDown}, []string{dev, bob, lobby}},
		{"alt+up", []tea.KeyPressMsg{keyAltUp, keyAltUp, keyAltUp}, []string{bob, dev, lobby}},
		{"mixed", []tea.KeyPressMsg{keyCtrlN, keyAltUp, keyAltDown, keyCtrlP}, []string{dev, lobby, dev, lobby}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fb := newFakeBackend()
			fb.setHistory(bobID, []api.Message{textMsg("d1", bob, bobID, "hello from bob", t0.Add(-time.Hour))})
			h := newHarness(t, fb, 80, 24)
			for i, k := range tt.keys {
				h.send(k)
				if h.m.cur != tt.want[i] {
					t.Fatalf("after key %d (%s): got %q, want %q", i, k, h.m.cur, tt.want[i])
				}
				if got, want := h.timelineText()[0], h.m.convName(tt.want[i]); got != want {
					t.Fatalf("after key %d (%s): header got %q, want %q", i, k, got, want)
				}
			}
			if h.m.cur == bob && !hasLine(h.timelineText(), "hello from bob") {
				t.Errorf("DM timeline: got %q, want bob's message", h.timelineText())
			}
		})
	}
}

func TestSwitchLoadsHistoryOnce(t *testing.T) {
	fb := newFakeBackend()
	h := newHarness(t, fb, 80, 24)
	for range 6 {
		h.send(keyCtrlN)
	}
	var withs []string
	for _, c := range fb.callsOf("HistoryAll") {
		withs = append(withs, c[0])
	}
	if want := []string{"#lobby", "#dev", bobID}; !slices.Equal(withs, want) {
		t.Fatalf("history loads after two rounds: got %q, want %q (each once)", withs, want)
	}
}

func TestAltAJumpsToUnread(t *testing.T) {
	fb := newFakeBackend()
	h := newHarness(t, fb, 80, 24)
	// bob writes (the DM gets unread), then dev gets unread too.
	fb.setConvs(room("lobby", 0), room("dev", 0), dm(bobID, "bob", true, 2))
	h.event(api.Event{Type: "read"}) // any refresh of the conversations
	if !strings.Contains(h.frame(), "● bob (2)") {
		t.Fatalf("sidebar: got\n%s\nwant bob with 2 unread", h.frame())
	}
	h.send(keyAltA)
	if got, want := h.m.cur, "dm:"+bobID; got != want {
		t.Fatalf("Alt+A: got %q, want %q", got, want)
	}
	if got := fb.callsOf("MarkRead"); !slices.ContainsFunc(got, func(a []string) bool { return a[0] == bobID }) {
		t.Errorf("MarkRead calls: got %q, want one for bob", got)
	}
	if strings.Contains(h.frame(), "(2)") {
		t.Errorf("sidebar still shows unread after opening:\n%s", h.frame())
	}
	h.send(keyAltA)
	if got, want := h.m.cur, "dm:"+bobID; got != want {
		t.Errorf("Alt+A with nothing unread: got %q, want it to stay on %q", got, want)
	}
	if !strings.Contains(h.m.status, "no conversation with unread messages") {
		t.Errorf("status: got %q, want it to say nothing is unread", h.m.status)
	}
	// The next with unread is found going forward, wrapping around.
	fb.setConvs(room("lobby", 3), room("dev", 1), dm(bobID, "bob", true, 0))
	h.event(api.Event{Type: "read"})
	h.send(keyAltA)
	if got, want := h.m.cur, "room:lobby"; got != want {
		t.Errorf("Alt+A from the DM: got %q, want %q", got, want)
	}
	h.send(keyAltA)
	if got, want := h.m.cur, "room:dev"; got != want {
		t.Errorf("Alt+A from #lobby: got %q, want %q", got, want)
	}
}

func TestTabCompletion(t *testing.T) {
	tests := []struct {
		name  string
		typed string
		want  []string // composer after each Tab
	}{
		{"nick", "hi @b", []string{"hi @bob ", "hi @bob "}},
		{"nick case", "@CA", []string{"@carol "}},
		{"all nicks cycle", "@", []string{"@bob ", "@carol ", "@bob "}},
		{"room", "see #d", []string{"see #dev "}},
		{"rooms cycle", "#", []string{"#dev ", "#lobby ", "#dev "}},
		{"command", "/jo", []string{"/join "}},
		{"commands cycle", "/", []string{"/also ", "/connect ", "/create ", "/delete "}},
		{"react emoji", "/react 2 ", []string{"/react 2 👍", "/react 2 ❤️", "/react 2 😂"}},
		{"flag", "/create --p", []string{"/create --private "}},
		{"flags cycle", "/invite #x --", []string{"/invite #x --expires ", "/invite #x --uses ", "/invite #x --expires "}},
		{"no flags of another command", "/join --p", []string{"/join --p"}},
		{"command only at start", "say /jo", []string{"say /jo"}},
		{"nothing matches", "@zed", []string{"@zed"}},
		{"after a new line", "first\n@c", []string{"first\n@carol "}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, newFakeBackend(), 80, 24)
			for i, line := range strings.Split(tt.typed, "\n") {
				if i > 0 {
					h.send(keyAltEnter)
				}
				h.typeText(line)
			}
			for i, want := range tt.want {
				h.send(keyTab)
				if got := h.m.input.Value(); got != want {
					t.Fatalf("after Tab %d: got %q, want %q", i+1, got, want)
				}
			}
		})
	}
}

func TestTabCompletionEndsOnOtherKey(t *testing.T) {
	h := newHarness(t, newFakeBackend(), 80, 24)
	h.typeText("@")
	h.send(keyTab)
	h.typeText("hi @")
	h.send(keyTab)
	if got, want := h.m.input.Value(), "@bob hi @bob "; got != want {
		t.Fatalf("got %q, want %q (a new completion after typing)", got, want)
	}
}

func TestMultilineComposer(t *testing.T) {
	fb := newFakeBackend()
	h := newHarness(t, fb, 80, 24)
	h.typeText("line one")
	h.send(keyAltEnter)
	h.typeText("line two")
	h.send(keyAltEnter)
	h.typeText("line three")
	if got, want := h.m.input.Value(), "line one\nline two\nline three"; got != want {
		t.Fatalf("composer: got %q, want %q", got, want)
	}
	lines := strings.Split(h.frame(), "\n")
	if len(lines) != 24 {
		t.Fatalf("frame: got %d lines, want 24", len(lines))
	}
	composer := lines[24-1-3 : 24-1]
	for i, want := range []string{"line one", "line two", "line three"} {
		if !strings.Contains(composer[i], want) {
			t.Errorf("composer line %d: got %q, want %q", i, composer[i], want)
		}
	}
	h.send(keyEnter)
	want := [][]string{{"#lobby", "line one\nline two\nline three"}}
	if got := fb.callsOf("Send"); !slices.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("Send calls: got %q, want %q", got, want)
	}
	if got := h.m.composerHeight(); got != 1 {
		t.Errorf("composer height after sending: got %d, want 1", got)
	}
	// The message comes back as an event and shows on three lines.
	msg := textMsg("ml", "room:lobby", selfID, "line one\nline two\nline three", t0)
	h.event(api.Event{Type: "message", Message: &msg})
	tl := h.timelineText()
	if n := len(tl); !strings.HasSuffix(tl[n-3], "me: line one") || strings.TrimSpace(tl[n-2]) != "line two" || strings.TrimSpace(tl[n-1]) != "line three" {
		t.Errorf("timeline end: got %q, want the three lines", tl[n-3:])
	}
}

func TestComposerGrowsToFiveLines(t *testing.T) {
	h := newHarness(t, newFakeBackend(), 80, 24)
	for i := range 8 {
		if i > 0 {
			h.send(keyAltEnter)
		}
		h.typeText("x")
	}
	if got := h.m.composerHeight(); got != maxComposer {
		t.Fatalf("composer height: got %d, want %d", got, maxComposer)
	}
	if n := len(strings.Split(h.frame(), "\n")); n != 24 {
		t.Fatalf("frame: got %d lines, want 24", n)
	}
}

func TestMessageEventForOpenConversation(t *testing.T) {
	fb := newFakeBackend()
	fb.setHistory("#lobby", roomHistory("lobby", 3))
	h := newHarness(t, fb, 80, 24)
	marks := len(fb.callsOf("MarkRead"))
	convs := len(fb.callsOf("Conversations"))
	msg := textMsg("new", "room:lobby", bobID, "fresh news", t0)
	h.event(api.Event{Type: "message", Message: &msg})
	tl := h.timelineText()
	if got, want := tl[len(tl)-1], "15:09 bob: fresh news"; got != want {
		t.Errorf("last timeline line: got %q, want %q", got, want)
	}
	if got := fb.callsOf("MarkRead")[marks:]; !slices.EqualFunc(got, [][]string{{"#lobby", ""}}, slices.Equal) {
		t.Errorf("MarkRead calls: got %q, want one for #lobby", got)
	}
	if got := len(fb.callsOf("Conversations")); got != convs+1 {
		t.Errorf("Conversations calls: got %d, want %d (one refresh)", got, convs+1)
	}
	// The same message again (e.g. after a reconnect) is shown once.
	h.event(api.Event{Type: "message", Message: &msg})
	n := 0
	for _, l := range h.timelineText() {
		if strings.Contains(l, "fresh news") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("message shown %d times, want once", n)
	}
}

func TestMessageEventForOtherConversation(t *testing.T) {
	fb := newFakeBackend()
	fb.setHistory("#lobby", roomHistory("lobby", 3))
	h := newHarness(t, fb, 80, 24)
	before := h.timelineText()
	marks := len(fb.callsOf("MarkRead"))
	fb.setConvs(room("lobby", 0), room("dev", 1), dm(bobID, "bob", true, 0))
	msg := textMsg("d1", "room:dev", bobID, "over in dev", t0)
	h.event(api.Event{Type: "message", Message: &msg})
	if !strings.Contains(h.frame(), " #dev (1)") {
		t.Errorf("sidebar: got\n%s\nwant #dev (1)", h.frame())
	}
	if got := fb.callsOf("MarkRead")[marks:]; len(got) != 0 {
		t.Errorf("MarkRead calls: got %q, want none", got)
	}
	if after := h.timelineText(); !slices.Equal(after, before) {
		t.Errorf("timeline of #lobby changed: got %q, want %q", after, before)
	}
	// Opening #dev shows it, clears the count and marks it read.
	h.send(keyCtrlN)
	if strings.Contains(h.frame(), "(1)") {
		t.Errorf("sidebar after opening #dev: got\n%s\nwant no unread count", h.frame())
	}
	if got := fb.callsOf("MarkRead")[marks:]; !slices.EqualFunc(got, [][]string{{"#dev", ""}}, slices.Equal) {
		t.Errorf("MarkRead calls: got %q, want one for #dev", got)
	}
}

func TestConversationRefreshesCoalesce(t *testing.T) {
	fb := newFakeBackend()
	h := newHarness(t, fb, 80, 24)
	before := len(fb.callsOf("Conversations"))
	// Three events while a refresh is running: one more refresh after it.
	var cmds []tea.Cmd
	for i := range 3 {
		msg := textMsg("x"+string(rune('a'+i)), "room:dev", bobID, "x", t0)
		cmds = append(cmds, h.update(EventMsg(api.Event{Type: "message", Message: &msg})))
	}
	for _, c := range cmds {
		h.run(c)
	}
	if got := len(fb.callsOf("Conversations")) - before; got != 2 {
		t.Errorf("Conversations calls for 3 events at once: got %d, want 2", got)
	}
}

// TestConversationRefreshAfterAnError: a reload that fails shows the error
// and the next event reloads again (the sidebar never stops updating).
func TestConversationRefreshAfterAnError(t *testing.T) {
	fb := newFakeBackend()
	h := newHarness(t, fb, 80, 24)
	fb.failNext("Conversations", errors.New("daemon busy"))
	msg := textMsg("xa", "room:dev", bobID, "x", t0)
	h.run(h.update(EventMsg(api.Event{Type: "message", Message: &msg})))
	if !h.m.statusErr || !strings.Contains(h.statusLine(), "daemon busy") {
		t.Errorf("status bar after a failed reload: got %q, want the error", h.statusLine())
	}
	before := len(fb.callsOf("Conversations"))
	msg = textMsg("xb", "room:dev", bobID, "y", t0)
	h.run(h.update(EventMsg(api.Event{Type: "message", Message: &msg})))
	if got := len(fb.callsOf("Conversations")) - before; got != 1 {
		t.Errorf("Conversations calls for an event after a failed reload: got %d, want 1", got)
	}
}

func TestStatusEventsUpdateTicks(t *testing.T) {
	bob := "dm:" + bobID
	tests := []struct {
		status, reason string
		want           string // end of the message line
		wantReason     string // the line under it, "" for none
	}{
		{"queued", "", "where are you? ○", ""},
		{"sent", "", "where are you? ✓", ""},
		{"delivered", "", "where are you? ✓✓", ""},
		{"failed", "timestamp too far ahead", "where are you? ✗", "✗ timestamp too far ahead"},
	}
	for _, tt := range tests {
		t.Run(tt.status, func(t *testing.T) {
			fb := newFakeBackend()
			mine := textMsg("d1", bob, selfID, "where are you?", t0)
			mine.Status = "queued"
			fb.setHistory(bobID, []api.Message{mine})
			h := newHarness(t, fb, 80, 24)
			h.send(keyCtrlP)
			h.event(api.Event{Type: "status", Status: &api.StatusChange{ID: "d1", Conversation: bob, Status: tt.status, Reason: tt.reason}})
			tl := h.timelineText()
			last, line := tl[len(tl)-1], tl[len(tl)-1]
			if tt.wantReason != "" {
				line = tl[len(tl)-2]
				if strings.TrimSpace(last) != tt.wantReason {
					t.Errorf("reason line: got %q, want %q", last, tt.wantReason)
				}
			}
			if !strings.HasSuffix(line, tt.want) {
				t.Errorf("message line: got %q, want it to end in %q", line, tt.want)
			}
		})
	}
}

func TestTicksOnlyOnOwnDirectMessages(t *testing.T) {
	fb := newFakeBackend()
	theirs := textMsg("d1", "dm:"+bobID, bobID, "from bob", t0)
	fb.setHistory(bobID, []api.Message{theirs})
	fb.setHistory("#lobby", []api.Message{textMsg("r1", "room:lobby", selfID, "mine in a room", t0)})
	h := newHarness(t, fb, 80, 24)
	if got := h.timelineText(); !slices.Contains(got, "15:09 me: mine in a room") {
		t.Errorf("room timeline: got %q, want own room message without ticks", got)
	}
	h.send(keyCtrlP)
	if got := h.timelineText(); !slices.Contains(got, "15:09 bob: from bob") {
		t.Errorf("DM timeline: got %q, want bob's message without ticks", got)
	}
}

func TestTyping(t *testing.T) {
	fb := newFakeBackend()
	h := newHarness(t, fb, 100, 30)
	h.event(api.Event{Type: "typing", Room: "lobby", Peer: &api.Peer{PeerID: bobID, Nick: "bob"}})
	if !strings.Contains(h.statusLine(), "bob is typing…") {
		t.Fatalf("status bar: got %q, want bob typing", h.statusLine())
	}
	h.clock.Add(2 * time.Second)
	h.event(api.Event{Type: "typing", Room: "lobby", Peer: &api.Peer{PeerID: carolID, Nick: "carol"}})
	h.event(api.Event{Type: "typing", Room: "dev", Peer: &api.Peer{PeerID: daveID, Nick: "dave"}})
	if !strings.Contains(h.statusLine(), "bob, carol are typing…") || strings.Contains(h.statusLine(), "dave") {
		t.Fatalf("status bar: got %q, want bob and carol (not dave, in #dev) typing", h.statusLine())
	}
	// Six seconds after bob's event his typing expires; carol's not yet.
	h.clock.Add(4*time.Second + time.Millisecond)
	h.send(tickMsg(h.clock.Now()))
	if got := h.statusLine(); !strings.Contains(got, "carol is typing…") || strings.Contains(got, "bob") {
		t.Fatalf("status bar after 6s: got %q, want only carol typing", got)
	}
	// A message from carol ends her typing at once.
	msg := textMsg("c1", "room:lobby", carolID, "done", h.clock.Now())
	h.event(api.Event{Type: "message", Message: &msg})
	if got := h.statusLine(); strings.Contains(got, "typing") {
		t.Fatalf("status bar after carol's message: got %q, want nobody typing", got)
	}
	// In #dev, dave is still typing until his time is up.
	h.send(keyCtrlN)
	if got := h.statusLine(); !strings.Contains(got, "dave is typing…") {
		t.Errorf("status bar in #dev: got %q, want dave typing", got)
	}
	h.clock.Add(10 * time.Second)
	h.send(tickMsg(h.clock.Now()))
	if got := h.statusLine(); strings.Contains(got, "typing") {
		t.Errorf("status bar in #dev later: got %q, want nobody typing", got)
	}
}

func TestTypingIsAnnounced(t *testing.T) {
	fb := newFakeBackend()
	h := newHarness(t, fb, 80, 24)
	h.typeText("hel")
	if got := fb.callsOf("Typing"); !slices.EqualFunc(got, [][]string{{"#lobby"}}, slices.Equal) {
		t.Fatalf("Typing calls after 3 keys: got %q, want one for #lobby", got)
	}
	h.clock.Add(3 * time.Second)
	h.typeText("lo")
	if got := len(fb.callsOf("Typing")); got != 2 {
		t.Errorf("Typing calls 3 s later: got %d, want 2", got)
	}
	// Not for commands, not in direct conversations.
	h.send(keyEnter)
	h.clock.Add(time.Minute)
	h.typeText("/nick")
	h.clock.Add(time.Minute)
	h.send(keyCtrlP)
	h.typeText("psst")
	if got := len(fb.callsOf("Typing")); got != 2 {
		t.Errorf("Typing calls after a command and a DM: got %d, want still 2", got)
	}
}

func TestAlerts(t *testing.T) {
	tests := []struct {
		name       string
		msg        api.Message
		wantNotify []string
	}{
		{"direct message", textMsg("a", "dm:"+bobID, bobID, "psst", t0), []string{"bob: psst"}},
		{"own direct message", textMsg("a", "dm:"+bobID, selfID, "hi bob", t0), nil},
		{"room mention", textMsg("a", "room:dev", bobID, "ping @me please", t0), []string{"bob in #dev: ping @me please"}},
		{"room mention in capitals", textMsg("a", "room:lobby", carolID, "@ME look", t0), []string{"carol in #lobby: @ME look"}},
		{"room message", textMsg("a", "room:lobby", bobID, "hello all", t0), nil},
		{"room message naming someone else", textMsg("a", "room:lobby", bobID, "@mehdi hi", t0), nil},
		{"own mention", textMsg("a", "room:lobby", selfID, "note to @me", t0), nil},
		{"join line", api.Message{ID: "a", From: bobID, Kind: "join", Room: "lobby", Conversation: "room:lobby", SentAt: t0.Format(time.RFC3339)}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, newFakeBackend(), 80, 24)
			h.event(api.Event{Type: "message", Message: &tt.msg})
			if got := h.notes.all(); !slices.Equal(got, tt.wantNotify) {
				t.Errorf("notifications: got %q, want %q", got, tt.wantNotify)
			}
			wantBell := strings.Repeat("\a", len(tt.wantNotify))
			if got := h.bell.String(); got != wantBell {
				t.Errorf("bell: got %q, want %q", got, wantBell)
			}
		})
	}
}

func TestPgUpLoadsOlderPage(t *testing.T) {
	fb := newFakeBackend()
	ms := roomHistory("lobby", 500)
	fb.setHistory("#lobby", ms)
	h := newHarness(t, fb, 80, 24)
	tl := h.m.tl["room:lobby"]
	if got := len(tl.msgs); got != pageSize {
		t.Fatalf("loaded: got %d messages, want %d", got, pageSize)
	}
	if got := h.timelineText()[0]; got != "#lobby  PgUp: older messages" {
		t.Errorf("header: got %q, want the PgUp hint", got)
	}
	// PgUp scrolls; at the top it returns the load command and nothing
	// has run yet: Update does not wait for the node.
	var load tea.Cmd
	for i := 0; load == nil; i++ {
		if i > 100 {
			t.Fatal("PgUp never reached the top")
		}
		load = h.update(keyPgUp)
	}
	if got := len(fb.callsOf("HistoryAll")); got != 1 {
		t.Fatalf("HistoryAll calls before running the command: got %d, want 1", got)
	}
	if got := h.timelineText()[0]; got != "#lobby  loading…" {
		t.Errorf("header while loading: got %q, want %q", got, "#lobby  loading…")
	}
	if got := h.timelineText()[1:3]; !strings.HasPrefix(got[0], "── ") || !strings.HasSuffix(got[1], "bob: message 300") {
		t.Errorf("top of the page: got %q, want the day separator and message 300", got)
	}
	// Another PgUp while loading does not start a second load.
	if cmd := h.update(keyPgUp); cmd != nil {
		t.Errorf("PgUp while loading: got a command, want none")
	}
	h.run(load)
	calls := fb.callsOf("HistoryAll")
	if got, want := calls[len(calls)-1], []string{"#lobby", "200", ms[300].ID, "true"}; !slices.Equal(got, want) {
		t.Fatalf("HistoryAll: got %q, want %q", got, want)
	}
	if got := len(tl.msgs); got != 2*pageSize {
		t.Fatalf("loaded: got %d messages, want %d", got, 2*pageSize)
	}
	if got := tl.msgs[0].ID; got != ms[100].ID {
		t.Errorf("oldest loaded: got %s, want %s", got, ms[100].ID)
	}
	// The view stays where the reader was, the page just above it.
	if got := h.timelineText()[1:3]; !strings.HasSuffix(got[0], "carol: message 299") || !strings.HasSuffix(got[1], "bob: message 300") {
		t.Errorf("top after loading: got %q, want messages 299 and 300", got)
	}
	// The last page marks the start; PgUp at the very top then loads nothing.
	for range 200 {
		if cmd := h.update(keyPgUp); cmd != nil {
			h.run(cmd)
		}
	}
	if got := len(tl.msgs); got != len(ms) || !tl.atStart {
		t.Fatalf("after paging to the start: got %d messages (at start %v), want %d (true)", got, tl.atStart, len(ms))
	}
	if got := h.timelineText()[0]; got != "#lobby" {
		t.Errorf("header at the start: got %q, want no hint", got)
	}
	if got := h.timelineText()[1]; !strings.HasPrefix(got, "── ") {
		t.Errorf("first line at the start: got %q, want the day separator", got)
	}
	if got := len(fb.callsOf("HistoryAll")); got != 3 {
		t.Errorf("HistoryAll calls: got %d, want 3 (500 messages, pages of 200)", got)
	}
	// PgDown goes back to the newest message.
	for range 200 {
		h.send(keyPgDown)
	}
	tl2 := h.timelineText()
	if got := tl2[len(tl2)-1]; !strings.HasSuffix(got, "carol: message 499") {
		t.Errorf("after PgDown: last line got %q, want message 499", got)
	}
}

func TestSendScrollsToBottom(t *testing.T) {
	fb := newFakeBackend()
	fb.setHistory("#lobby", roomHistory("lobby", 100))
	h := newHarness(t, fb, 80, 24)
	h.send(keyPgUp)
	h.send(keyPgUp)
	if h.m.tl["room:lobby"].scroll == 0 {
		t.Fatal("PgUp did not scroll")
	}
	h.enter("back")
	if got := h.m.tl["room:lobby"].scroll; got != 0 {
		t.Errorf("scroll after sending: got %d, want 0", got)
	}
}

func TestPeerEventUpdatesStatusBar(t *testing.T) {
	fb := newFakeBackend()
	h := newHarness(t, fb, 80, 24)
	if !strings.Contains(h.statusLine(), "1 peer ·") {
		t.Fatalf("status bar: got %q, want 1 peer", h.statusLine())
	}
	h.event(api.Event{Type: "peer", Peer: &api.Peer{PeerID: carolID, Nick: "carol", Connected: true}})
	if !strings.Contains(h.statusLine(), "2 peers ·") {
		t.Errorf("status bar: got %q, want 2 peers", h.statusLine())
	}
}

func TestEventsDoneShowsError(t *testing.T) {
	h := newHarness(t, newFakeBackend(), 80, 24)
	h.send(EventsDone(errors.New("no daemon")))
	if !h.m.statusErr || !strings.Contains(h.statusLine(), "lost the node's event stream: no daemon") {
		t.Errorf("status bar: got %q (error %v), want the lost stream", h.statusLine(), h.m.statusErr)
	}
}

func TestInitErrorShowsInStatus(t *testing.T) {
	fb := newFakeBackend()
	fb.failNext("Conversations", errors.New("no daemon running"))
	h := newHarness(t, fb, 80, 24)
	if !strings.Contains(h.statusLine(), "no daemon running") {
		t.Errorf("status bar: got %q, want the error", h.statusLine())
	}
	if !hasLine(h.timelineText(), "Connecting to the node…") {
		t.Errorf("timeline: got %q, want the connecting line", h.timelineText())
	}
}

func TestMembersFollowPresence(t *testing.T) {
	fb := newFakeBackend()
	fb.members["#lobby"] = []api.Member{{PeerID: selfID, Nick: "me", Online: true}, {PeerID: bobID, Nick: "bob"}}
	h := newHarness(t, fb, 120, 30)
	if !strings.Contains(h.frame(), "Members 1/2") {
		t.Fatalf("members pane: got\n%s\nwant Members 1/2", h.frame())
	}
	fb.mu.Lock()
	fb.members["#lobby"][1].Online = true
	fb.mu.Unlock()
	h.event(api.Event{Type: "presence", Room: "lobby", Peer: &api.Peer{PeerID: bobID, Connected: true}})
	if !strings.Contains(h.frame(), "Members 2/2") {
		t.Errorf("members pane after presence: got\n%s\nwant Members 2/2", h.frame())
	}
}

func TestHistoryErrorCanBeRetried(t *testing.T) {
	fb := newFakeBackend()
	fb.setHistory("#dev", roomHistory("dev", 3))
	h := newHarness(t, fb, 80, 24)
	fb.failNext("HistoryAll", errors.New("daemon busy"))
	h.send(keyCtrlN)
	if !h.m.statusErr || !strings.Contains(h.statusLine(), "daemon busy") {
		t.Errorf("status bar: got %q, want the error", h.statusLine())
	}
	if got := h.timelineText()[0]; got != "#dev" {
		t.Errorf("header after a failed load: got %q, want %q (not loading any more)", got, "#dev")
	}
	// Coming back loads it again.
	h.send(keyCtrlP)
	h.send(keyCtrlN)
	if !hasLine(h.timelineText(), "message 2") {
		t.Fatalf("timeline after coming back: got %q, want the history", h.timelineText())
	}
}

func TestOlderPageErrorCanBeRetried(t *testing.T) {
	fb := newFakeBackend()
	fb.setHistory("#lobby", roomHistory("lobby", 300))
	h := newHarness(t, fb, 80, 24)
	fb.failNext("HistoryAll", errors.New("daemon busy"))
	var load tea.Cmd
	for i := 0; load == nil && i < 100; i++ {
		load = h.update(keyPgUp)
	}
	h.run(load)
	if !strings.Contains(h.statusLine(), "daemon busy") {
		t.Errorf("status bar: got %q, want the error", h.statusLine())
	}
	if got := h.timelineText()[0]; strings.Contains(got, "loading") {
		t.Errorf("header after a failed load: got %q, want it not loading", got)
	}
	h.send(keyPgUp)
	if got := len(h.m.tl["room:lobby"].msgs); got != 300 {
		t.Fatalf("loaded after PgUp again: got %d messages, want 300", got)
	}
}

// A message that arrives while the first page is on its way (and that the
// page, read a moment earlier, does not hold) is still shown.
func TestMessageWhileFirstPageLoads(t *testing.T) {
	fb := newFakeBackend()
	fb.setHistory("#dev", roomHistory("dev", 3))
	h := newHarness(t, fb, 80, 24)
	open := h.update(keyCtrlN) // the history command is not run yet
	msg := textMsg("late", "room:dev", bobID, "arrived during the load", t0)
	h.event(api.Event{Type: "message", Message: &msg})
	h.run(open)
	tl := h.timelineText()
	if got, want := tl[len(tl)-1], "15:09 bob: arrived during the load"; got != want {
		t.Fatalf("last timeline line: got %q, want %q (all: %q)", got, want, tl)
	}
	if !hasLine(tl, "message 2") {
		t.Errorf("timeline: got %q, want the page too", tl)
	}
}

// Peer text must not reach the terminal as control sequences: no escape
// sequences, no carriage returns that overwrite the sidebar, no tabs that
// break the columns.
func TestControlCharactersInMessagesAreNeutralised(t *testing.T) {
	tests := []struct {
		name, text string
		want       string // the timeline line
	}{
		{"escape sequence", "red \x1b[31mALERT\x1b[0m", "15:09 bob: red �[31mALERT�[0m"},
		{"clear screen", "\x1b[2Jgone", "15:09 bob: �[2Jgone"},
		{"DCS passthrough", "\x1bPtmux;\x1b\x1b]52;c;aGk=\x07\x1b\\x", "15:09 bob: �Ptmux;��]52;c;aGk=��\\x"},
		{"carriage return", "hi\rme: fake", "15:09 bob: hi"},
		{"tab", "a\tb", "15:09 bob: a b"},
		{"C1 CSI", "x\u009b2Jy", "15:09 bob: x�2Jy"},
		{"bell", "ding\a", "15:09 bob: ding�"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fb := newFakeBackend()
			fb.setHistory("#lobby", []api.Message{textMsg("x", "room:lobby", bobID, tt.text, t0)})
			h := newHarness(t, fb, 80, 24)
			tl := h.timelineText()
			if !slices.Contains(tl, tt.want) {
				t.Errorf("timeline: got %q, want a line %q", tl, tt.want)
			}
			raw := strings.Split(h.m.View().Content, "\n")
			for i, l := range raw[:h.m.timelineHeight()] {
				if strings.ContainsAny(l, "\x1b\r\t\a\u009b") {
					t.Errorf("line %d carries control characters: %q", i, l)
				}
			}
		})
	}
}

func TestPasteShowsEveryLine(t *testing.T) {
	fb := newFakeBackend()
	h := newHarness(t, fb, 80, 24)
	h.send(tea.PasteMsg{Content: "alpha\nbeta\ngamma"})
	lines := strings.Split(h.frame(), "\n")
	composer := lines[24-1-3 : 24-1]
	for i, want := range []string{"> alpha", "> beta", "> gamma"} {
		if !strings.HasPrefix(composer[i], want) {
			t.Errorf("composer line %d: got %q, want %q", i, composer[i], want)
		}
	}
	h.send(keyEnter)
	if got, want := fb.callsOf("Send"), [][]string{{"#lobby", "alpha\nbeta\ngamma"}}; !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("Send calls: got %q, want %q", got, want)
	}
}

func TestMentions(t *testing.T) {
	tests := []struct {
		text, nick string
		want       bool
	}{
		{"@me", "me", true},
		{"hi @me", "me", true},
		{"hi @me, look", "me", true},
		{"hi @me.", "me", true},
		{"HI @ME", "me", true},
		{"@Zoë!", "zoë", true},
		{"@mehdi hi", "me", false},
		{"@me_too", "me", false},
		{"@me-2", "me", false},
		{"@mehdi and @me", "me", true},
		{"me without at", "me", false},
		{"mail me@me.org", "me", true}, // an address reads as a mention: harmless
		{"@anyone", "", false},
	}
	for _, tt := range tests {
		if got := mentions(tt.text, tt.nick); got != tt.want {
			t.Errorf("mentions(%q, %q): got %v, want %v", tt.text, tt.nick, got, tt.want)
		}
	}
}

func TestPrintable(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain text", "plain text"},
		{"two\nlines", "two\nlines"},
		{"windows\r\nline", "windows\nline"},
		{"a\tb", "a b"},
		{"\x1b[2J", "\uFFFD[2J"},
		{"\x00\x7f\u0085", "\uFFFD\uFFFD\uFFFD"},
		{"emoji 👋 and 日本語", "emoji 👋 and 日本語"},
	}
	for _, tt := range tests {
		if got := printable(tt.in); got != tt.want {
			t.Errorf("printable(%q): got %q, want %q", tt.in, got, tt.want)
		}
	}
}

// A new node joins #lobby a moment after the client first asks for the
// conversations: when it appears, the client opens it.
func TestFirstConversationOpensWhenItAppears(t *testing.T) {
	fb := newFakeBackend()
	fb.setConvs()
	fb.setHistory("#lobby", roomHistory("lobby", 2))
	h := newHarness(t, fb, 80, 24)
	if h.m.cur != "" || !hasLine(h.timelineText(), "No conversation yet") {
		t.Fatalf("before the join: open %q, timeline %q; want nothing open", h.m.cur, h.timelineText())
	}
	fb.setConvs(room("lobby", 0))
	joined := true
	h.event(api.Event{Type: "room", Room: "lobby", Joined: &joined})
	if got, want := h.m.cur, "room:lobby"; got != want {
		t.Fatalf("after the join: got %q open, want %q", got, want)
	}
	if !hasLine(h.timelineText(), "carol: message 1") {
		t.Errorf("timeline: got %q, want the lobby's history", h.timelineText())
	}
	// Later refreshes do not move the reader.
	h.send(keyCtrlN)
	fb.setConvs(room("lobby", 0), room("dev", 0))
	h.event(api.Event{Type: "room", Room: "dev", Joined: &joined})
	if got, want := h.m.cur, "room:lobby"; got != want {
		t.Errorf("after another join: got %q open, want %q", got, want)
	}
}

func TestMergeMessages(t *testing.T) {
	at := func(s string) string { return "2026-03-14T15:09:" + s + "Z" }
	msg := func(id, sentAt string) api.Message { return api.Message{ID: id, SentAt: sentAt} }
	tests := []struct {
		name string
		a, b []api.Message
		want []string
	}{
		{"older page first", []api.Message{msg("o1", at("01")), msg("o2", at("02"))}, []api.Message{msg("n1", at("03"))}, []string{"o1", "o2", "n1"}},
		{"repeats dropped", []api.Message{msg("x", at("01")), msg("y", at("02"))}, []api.Message{msg("y", at("02")), msg("z", at("03"))}, []string{"x", "y", "z"}},
		{"live message in its place", []api.Message{msg("x", at("01")), msg("z", at("03"))}, []api.Message{msg("y", at("02"))}, []string{"x", "y", "z"}},
		// RFC 3339 drops trailing zeros: ".5" is after ".123".
		{"fractions of different length", []api.Message{msg("late", at("01.5")), msg("early", at("01.123"))}, nil, []string{"early", "late"}},
		{"other time zone", []api.Message{msg("utc", at("30")), msg("cet", "2026-03-14T16:09:00+01:00")}, nil, []string{"cet", "utc"}},
		// The node orders a millisecond by its hybrid logical clock, which
		// the API does not show: the page's order stands, whatever the IDs.
		{"same millisecond keeps the page order", []api.Message{msg("zz", at("01.5")), msg("aa", at("01.5")), msg("mm", at("01.5"))}, nil, []string{"zz", "aa", "mm"}},
		{"same millisecond across runs", []api.Message{msg("zz", at("01.5"))}, []api.Message{msg("aa", at("01.5"))}, []string{"zz", "aa"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, m := range mergeMessages(tt.a, tt.b) {
				got = append(got, m.ID)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLeaveAndRejoin(t *testing.T) {
	fb := newFakeBackend()
	fb.setHistory("#dev", roomHistory("dev", 2))
	h := newHarness(t, fb, 80, 24)
	h.send(keyCtrlN)
	h.enter("/leave")
	if got, want := h.m.cur, "room:lobby"; got != want {
		t.Fatalf("after leaving the open #dev: got %q open, want %q", got, want)
	}
	for _, l := range strings.Split(h.frame(), "\n")[:h.m.timelineHeight()] {
		if strings.Contains(string([]rune(l)[:sidebarWidth]), "#dev") {
			t.Errorf("sidebar after leaving: got\n%s\nwant no #dev", h.frame())
		}
	}
	// Joining again loads the room afresh.
	loads := len(fb.callsOf("HistoryAll"))
	h.enter("/join #dev")
	if got := len(fb.callsOf("HistoryAll")); got != loads+1 {
		t.Errorf("HistoryAll calls on rejoining: got %d, want %d", got, loads+1)
	}
	if h.m.cur != "room:dev" || !hasLine(h.timelineText(), "message 1") {
		t.Errorf("after rejoining: open %q, timeline %q; want #dev with its history", h.m.cur, h.timelineText())
	}
}

func TestLeaveTheLastRoom(t *testing.T) {
	fb := newFakeBackend()
	fb.setConvs(room("lobby", 0))
	h := newHarness(t, fb, 80, 24)
	h.enter("/leave")
	if h.m.cur != "" || !hasLine(h.timelineText(), "No conversation yet") {
		t.Errorf("after leaving the only room: open %q, timeline %q; want nothing open", h.m.cur, h.timelineText())
	}
	h.enter("anyone?")
	if got := fb.callsOf("Send"); len(got) != 0 || !strings.Contains(h.m.status, "no conversation open") {
		t.Errorf("sending with nothing open: Send calls %q, status %q; want none and a hint", got, h.m.status)
	}
}
