package tui

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/parley-chat/parley/internal/api"
)

var update = flag.Bool("update", false, "rewrite the golden frames in testdata/")

// Fixed times of the frames: the day before t0, and t0's day.
var (
	friday   = time.Date(2026, 3, 13, 9, 15, 0, 0, time.UTC)
	saturday = time.Date(2026, 3, 14, 14, 2, 0, 0, time.UTC)
)

// lobbyWorld is #lobby with two days of talk: several authors, join and
// leave lines, a long line that wraps, and a peer the node has no
// nickname for (dave).
func lobbyWorld() *fakeBackend {
	fb := newFakeBackend()
	fb.setConvs(room("lobby", 0), room("dev", 4), room("random", 0), dm(bobID, "bob", true, 0), dm(carolID, "carol", false, 1))
	fb.members["#lobby"] = []api.Member{
		{PeerID: selfID, Nick: "me", Online: true},
		{PeerID: bobID, Nick: "bob", Online: true},
		{PeerID: carolID, Nick: "carol"},
		{PeerID: daveID, Online: true},
	}
	at := func(base time.Time, min int) time.Time { return base.Add(time.Duration(min) * time.Minute) }
	system := func(id, kind, from string, when time.Time) api.Message {
		return api.Message{ID: id, From: from, Kind: kind, Room: "lobby", Conversation: "room:lobby", SentAt: when.Format(time.RFC3339Nano), Status: "received"}
	}
	fb.setHistory("#lobby", []api.Message{
		textMsg("l01", "room:lobby", bobID, "good morning everyone", at(friday, 0)),
		system("l02", "join", carolID, at(friday, 1)),
		textMsg("l03", "room:lobby", carolID, "morning! who has the release notes?", at(friday, 2)),
		textMsg("l04", "room:lobby", selfID, "I do: they cover the new outbox, history sync after a partition, the members pane and the terminal client, so expect a long read", at(friday, 5)),
		system("l05", "leave", carolID, at(friday, 480)),
		textMsg("l06", "room:lobby", daveID, "hi all, dave here (no nick yet)", at(saturday, 0)),
		textMsg("l07", "room:lobby", bobID, "@me can you look at the build?", at(saturday, 3)),
		textMsg("l08", "room:lobby", selfID, "on it", at(saturday, 4)),
	})
	return fb
}

// bobWorld is a direct conversation with bob: own messages in every
// delivery state, and his replies.
func bobWorld() *fakeBackend {
	fb := newFakeBackend()
	fb.setConvs(room("lobby", 0), dm(bobID, "bob", true, 0))
	bob := "dm:" + bobID
	mine := func(id, text, status, reason string, min int) api.Message {
		m := textMsg(id, bob, selfID, text, saturday.Add(time.Duration(min)*time.Minute))
		m.Status, m.Reason = status, reason
		return m
	}
	fb.setHistory(bobID, []api.Message{
		textMsg("d1", bob, bobID, "are you around?", saturday),
		mine("d2", "yes, here", "delivered", "", 1),
		mine("d3", "sending the logs now", "sent", "", 2),
		mine("d4", "and the config", "queued", "", 3),
		mine("d5", "from the future", "failed", "timestamp too far ahead of bob's clock", 4),
		textMsg("d6", bob, bobID, "thanks!", saturday.Add(5*time.Minute)),
	})
	return fb
}

// sharedNickWorld has two peers called sam, named apart as the node names
// them, and bob verified; the direct conversation with the first sam.
func sharedNickWorld() *fakeBackend {
	fb := newFakeBackend()
	sam1, sam2 := "sam ("+shortID(samID)+")", "Sam ("+shortID(otherSamID)+")"
	fb.peers = []api.Peer{
		{PeerID: bobID, Nick: "bob", Display: "bob ✓", Verified: true, Connected: true},
		{PeerID: samID, Nick: "sam", Display: sam1, Connected: true},
		{PeerID: otherSamID, Nick: "Sam", Display: sam2},
	}
	fb.setConvs(room("lobby", 0), dm(bobID, "bob ✓", true, 0), dm(samID, sam1, true, 0))
	fb.members["#lobby"] = []api.Member{
		{PeerID: selfID, Nick: "me", Display: "me", Online: true},
		{PeerID: samID, Nick: "sam", Display: sam1, Online: true},
		{PeerID: otherSamID, Nick: "Sam", Display: sam2, Online: true},
	}
	conv := "dm:" + samID
	hello := textMsg("s1", conv, samID, "it is me, the real sam", saturday)
	hello.FromDisplay = sam1
	fb.setHistory(samID, []api.Message{hello, textMsg("s2", conv, selfID, "which one?", saturday.Add(time.Minute))})
	return fb
}

// frames are the golden screens: a world, a terminal size, and what the
// user does before the frame is taken.
var frames = []struct {
	name          string
	world         func() *fakeBackend
	width, height int
	do            func(*harness)
}{
	{name: "empty", width: 80, height: 24, world: func() *fakeBackend {
		fb := newFakeBackend()
		fb.setConvs()
		fb.peers = nil
		return fb
	}},
	{name: "room", width: 90, height: 28, world: lobbyWorld},
	{name: "dm_ticks", width: 90, height: 20, world: bobWorld, do: func(h *harness) { h.send(keyCtrlP) }},
	{name: "narrow_80x24", width: 80, height: 24, world: lobbyWorld, do: func(h *harness) {
		h.event(api.Event{Type: "typing", Room: "lobby", Peer: &api.Peer{PeerID: bobID, Nick: "bob"}})
		h.typeText("draft reply")
	}},
	{name: "wide_120x30", width: 120, height: 30, world: lobbyWorld},
	{name: "wide_dm_120x30", width: 120, height: 30, world: bobWorld, do: func(h *harness) { h.send(keyCtrlP) }},
	{name: "help_80x24", width: 80, height: 24, world: lobbyWorld, do: func(h *harness) { h.enter("/help") }},
	{name: "composer_80x24", width: 80, height: 24, world: lobbyWorld, do: func(h *harness) {
		h.typeText("first line")
		h.send(keyAltEnter)
		h.typeText("second line")
		h.send(keyAltEnter)
		h.typeText("third")
	}},
	{name: "error_80x24", width: 80, height: 24, world: lobbyWorld, do: func(h *harness) { h.enter("/frobnicate") }},
	{name: "ephemeral_120x30", width: 120, height: 30, world: deployWorld, do: func(h *harness) {
		h.enter("/deploy prod")
		h.event(deployed("Deploying prod, see the run (https://ci.example/d/1)\nstarted by me"))
	}},
	{name: "safety_80x24", width: 80, height: 24, world: lobbyWorld, do: func(h *harness) { h.enter("/verify @bob") }},
	{name: "safety_narrow_50x30", width: 50, height: 30, world: lobbyWorld, do: func(h *harness) { h.enter("/verify @bob") }},
	{name: "private_120x30", width: 120, height: 30, world: privateWorld, do: openSecret},
	{name: "private_80x24", width: 80, height: 24, world: privateWorld, do: openSecret},
	{name: "invite_80x24", width: 80, height: 24, world: privateWorld, do: func(h *harness) {
		openSecret(h)
		h.enter("/invite --uses 3 --expires 36h")
	}},
	{name: "invite_qr_120x50", width: 120, height: 50, world: privateWorld, do: func(h *harness) { h.enter("/invite #secret") }},
	{name: "shared_nick_120x30", width: 120, height: 30, world: sharedNickWorld, do: func(h *harness) { h.send(keyCtrlP) }},
	{name: "relations_100x30", width: 100, height: 30, world: relWorld},
	{name: "thread_100x30", width: 100, height: 30, world: relWorld, do: func(h *harness) { h.enter("/thread 6") }},
	{name: "numbers_80x24", width: 80, height: 24, world: relWorld, do: func(h *harness) { h.typeText("/react ") }},
	{name: "search_80x24", width: 80, height: 24, world: relWorld, do: func(h *harness) { h.enter("/search o") }},
	{name: "app_100x34", width: 100, height: 34, world: appWorld},
	{name: "app_80x24", width: 80, height: 24, world: appWorld},
	{name: "files_80x24", width: 80, height: 24, world: filesWorld, do: func(h *harness) {
		h.event(progress(dataHash, 21<<20, 50<<20))
		h.event(api.Event{Type: "file.failed", Hash: brokenHash, Reason: "no member online has the file"})
	}},
}

func TestGoldenFrames(t *testing.T) {
	for _, f := range frames {
		t.Run(f.name, func(t *testing.T) {
			h := newHarness(t, f.world(), f.width, f.height)
			if f.do != nil {
				f.do(h)
			}
			checkFrame(t, h.m.View().Content, f.width, f.height)
			golden(t, f.name, h.frame())
		})
	}
}

// TestColourFramesMatchPlain renders every golden state in colour: the
// frame fits the terminal the same way and reads the same without its
// escape sequences (no style is cut in half).
func TestColourFramesMatchPlain(t *testing.T) {
	for _, f := range frames {
		t.Run(f.name, func(t *testing.T) {
			plain := newHarness(t, f.world(), f.width, f.height)
			colour := newHarnessColor(t, f.world(), f.width, f.height, true)
			if f.do != nil {
				f.do(plain)
				f.do(colour)
			}
			checkFrame(t, colour.m.View().Content, f.width, f.height)
			if got, want := colour.frame(), plain.frame(); got != want {
				t.Errorf("colour frame without escapes:\n%s\nwant the plain frame:\n%s", got, want)
			}
		})
	}
}

// TestFramesFitAnySize renders the busiest state at many sizes.
func TestFramesFitAnySize(t *testing.T) {
	for _, size := range [][2]int{{40, 12}, {60, 16}, {79, 24}, {80, 24}, {99, 30}, {100, 30}, {132, 43}, {200, 60}} {
		for _, color := range []bool{false, true} {
			h := newHarnessColor(t, lobbyWorld(), size[0], size[1], color)
			h.typeText("a draft")
			checkFrame(t, h.m.View().Content, size[0], size[1])
			h.send(keyCtrlN)
			checkFrame(t, h.m.View().Content, size[0], size[1])
		}
	}
}

func TestResizeRelayouts(t *testing.T) {
	h := newHarness(t, lobbyWorld(), 120, 30)
	if !strings.Contains(h.frame(), "Members 3/4") {
		t.Fatalf("120 wide: got\n%s\nwant the members pane", h.frame())
	}
	h.send(teaWindowSize(80, 24))
	checkFrame(t, h.m.View().Content, 80, 24)
	if strings.Contains(h.frame(), "Members") {
		t.Errorf("80 wide: got\n%s\nwant no members pane", h.frame())
	}
}

// checkFrame checks that a frame has exactly height lines, none wider
// than width.
func checkFrame(t *testing.T, frame string, width, height int) {
	t.Helper()
	lines := strings.Split(frame, "\n")
	if len(lines) != height {
		t.Errorf("%dx%d frame: got %d lines, want %d", width, height, len(lines), height)
	}
	for i, l := range lines {
		if w := lipgloss.Width(l); w > width {
			t.Errorf("%dx%d frame, line %d: got width %d, want at most %d: %q", width, height, i, w, width, stripANSI(l))
		}
	}
}

// golden compares got with testdata/name.golden (rewritten with -update).
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	got += "\n"
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run TestGoldenFrames -update to create it)", err)
	}
	if got != string(want) {
		gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := range max(len(gl), len(wl)) {
			var g, w string
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Errorf("%s line %d:\n got %q\nwant %q", path, i+1, g, w)
			}
		}
		t.Errorf("frame differs from %s; got:\n%s", path, got)
	}
}

func teaWindowSize(w, h int) tea.WindowSizeMsg { return tea.WindowSizeMsg{Width: w, Height: h} }
