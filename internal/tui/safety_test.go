package tui

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/parley-chat/parley/internal/api"
)

// TestVerifyScreen opens the safety-number screen, confirms with y, and
// checks that the ✓ then shows where bob is named.
func TestVerifyScreen(t *testing.T) {
	fb := newFakeBackend()
	h := newHarness(t, fb, 120, 30)
	h.enter("/verify @bob")
	if got := fb.callsOf("Safety"); len(got) != 1 || !slices.Equal(got[0], []string{"@bob"}) {
		t.Fatalf("Safety calls: got %q, want one for @bob", got)
	}
	tl := h.timelineText()
	for _, want := range []string{"Safety number with bob", "12345 67890 11111 22222", "33333 44444 55555 66666", "77777 88888 99999 00000", "press", "y to mark bob verified", "▄▄▄▄▄"} {
		if !hasLine(tl, want) {
			t.Errorf("safety screen: got\n%s\nwant a line with %q", strings.Join(tl, "\n"), want)
		}
	}

	h.send(textKey('y'))
	if got := fb.callsOf("Verify"); len(got) != 1 || !slices.Equal(got[0], []string{bobID}) {
		t.Fatalf("Verify calls: got %q, want one for bob's peer ID", got)
	}
	if !strings.Contains(h.m.status, "marked bob verified") || h.m.statusErr {
		t.Errorf("status: got %q, want it to say bob is verified", h.m.status)
	}
	if !hasLine(h.timelineText(), "bob ✓ is verified. Press any key to close.") {
		t.Errorf("safety screen after y: got\n%s\nwant it to say bob is verified", strings.Join(h.timelineText(), "\n"))
	}
	if v := h.m.input.Value(); v != "" {
		t.Errorf("composer: got %q, want the keys on the screen swallowed", v)
	}

	h.send(textKey('x'))
	if h.m.safety != nil || hasLine(h.timelineText(), "Safety number") {
		t.Errorf("safety screen still open after a key")
	}
	if !strings.Contains(h.frame(), "● bob ✓") {
		t.Errorf("frame: got\n%s\nwant bob marked ✓ in the peers pane", h.frame())
	}
}

func TestVerifyCommand(t *testing.T) {
	for _, tt := range []struct {
		name      string
		setup     func(*harness)
		line      string
		wantCalls [][]string // Safety calls
		wantStat  string
		wantOpen  bool
	}{
		{name: "by nick", line: "/verify @carol", wantCalls: [][]string{{"@carol"}}, wantOpen: true},
		{name: "by peer ID", line: "/verify " + bobID, wantCalls: [][]string{{bobID}}, wantOpen: true},
		{name: "the open conversation", setup: func(h *harness) { h.send(keyCtrlP) }, line: "/verify", wantCalls: [][]string{{bobID}}, wantOpen: true},
		{name: "no peer in a room", line: "/verify", wantStat: "usage: /verify"},
		{name: "unknown", line: "/verify @nobody", wantCalls: [][]string{{"@nobody"}}, wantStat: "unknown peer @nobody"},
		{name: "refused", setup: func(h *harness) {
			h.fb.failNext("Safety", &api.Error{Status: 409, Code: api.CodeConflict, Message: "ambiguous peer @sam: 2 known peers use that nickname"})
		}, line: "/verify @sam", wantCalls: [][]string{{"@sam"}}, wantStat: "ambiguous peer @sam"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fb := newFakeBackend()
			h := newHarness(t, fb, 80, 24)
			if tt.setup != nil {
				tt.setup(h)
			}
			h.enter(tt.line)
			if got := fb.callsOf("Safety"); !slices.EqualFunc(got, tt.wantCalls, slices.Equal) {
				t.Errorf("Safety calls: got %q, want %q", got, tt.wantCalls)
			}
			if (h.m.safety != nil) != tt.wantOpen {
				t.Errorf("safety screen open: got %v, want %v", h.m.safety != nil, tt.wantOpen)
			}
			if !tt.wantOpen && (!strings.Contains(h.m.status, tt.wantStat) || !h.m.statusErr) {
				t.Errorf("status: got %q (error %v), want error %q", h.m.status, h.m.statusErr, tt.wantStat)
			}
		})
	}
}

// TestVerifyFails keeps the screen open, unverified, when the node
// refuses, and says why.
func TestVerifyFails(t *testing.T) {
	fb := newFakeBackend()
	h := newHarness(t, fb, 80, 24)
	h.enter("/verify @bob")
	fb.failNext("Verify", errors.New("save peer: disk on fire"))
	h.send(textKey('y'))
	if h.m.safety == nil || h.m.safety.safety.Verified {
		t.Errorf("safety screen: got %+v, want it open and unverified", h.m.safety)
	}
	if !strings.Contains(h.m.status, "disk on fire") || !h.m.statusErr {
		t.Errorf("status: got %q, want the error", h.m.status)
	}
}

// TestSharedNickname opens a direct conversation by a nickname two peers
// share: refused, naming both as the node names them.
func TestSharedNickname(t *testing.T) {
	fb := sharedNickWorld()
	h := newHarness(t, fb, 80, 24)
	h.enter("/msg @SAM")
	want := "ambiguous peer @SAM: Sam (" + shortID(otherSamID) + "), sam (" + shortID(samID) + ")"
	if !strings.Contains(h.m.status, want) || !h.m.statusErr {
		t.Errorf("status: got %q, want %q", h.m.status, want)
	}
	if h.m.cur != "room:lobby" {
		t.Errorf("open conversation: got %q, want room:lobby still", h.m.cur)
	}
	h.enter("/msg " + otherSamID)
	if h.m.cur != "dm:"+otherSamID {
		t.Errorf("open conversation: got %q, want the one with the other sam", h.m.cur)
	}
	if got := h.timelineText()[0]; got != "@Sam ("+shortID(otherSamID)+")" {
		t.Errorf("header: got %q, want the other sam named apart", got)
	}
}
