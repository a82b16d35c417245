package tui

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/api"
)

func (f *fakeBackend) RunCommand(_ context.Context, to, text string) (api.CommandAnswer, error) {
	if err := f.record("RunCommand", to, text); err != nil {
		return api.CommandAnswer{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	name, _, _ := strings.Cut(text, " ")
	a, ok := f.commands[name]
	if !ok {
		return api.CommandAnswer{}, &api.Error{Status: http.StatusNotFound, Code: api.CodeNotFound, Message: "unknown command " + name + ": 'parley command list' shows the registered ones"}
	}
	return a, nil
}

// deployWorld is lobbyWorld with /deploy registered on the node.
func deployWorld() *fakeBackend {
	fb := lobbyWorld()
	fb.commands = map[string]api.CommandAnswer{"/deploy": {Command: "/deploy", ResponseType: "ephemeral", Text: "Deploying prod, see the run (https://ci.example/d/1)"}}
	return fb
}

// deployed is the ephemeral event of /deploy's answer in #lobby.
func deployed(text string) api.Event {
	return api.Event{Type: "ephemeral", Time: saturday.Add(5 * time.Minute), Conversation: "room:lobby", Command: "/deploy", Text: text}
}

// TestNodeCommands: a /word the client does not know goes to the node in
// the open conversation; the node's 404 for it is the client's "unknown
// command"; the answer's event shows as a line marked as only visible
// to you, in time order, never sent anywhere.
func TestNodeCommands(t *testing.T) {
	h := newHarness(t, deployWorld(), 100, 30)
	h.enter("/deploy prod now")
	if got := h.fb.callsOf("RunCommand"); len(got) != 1 || got[0][0] != "#lobby" || got[0][1] != "/deploy prod now" {
		t.Fatalf("RunCommand calls: got %v, want one for #lobby with the whole line", got)
	}
	if strings.Contains(h.frame(), "unknown command") {
		t.Errorf("a registered command was reported unknown:\n%s", h.frame())
	}
	h.event(deployed("Deploying prod, see the run (https://ci.example/d/1)"))
	tl := strings.Join(h.timelineText(), "\n")
	if !strings.Contains(tl, "14:07 /deploy (only visible to you):") || !strings.Contains(tl, "Deploying prod, see the run") {
		t.Errorf("timeline:\n%s\nwant the ephemeral line", tl)
	}
	if len(h.fb.callsOf("Send")) != 0 {
		t.Errorf("Send calls %v: an ephemeral answer or a command was sent", h.fb.callsOf("Send"))
	}
	// It stays in its place when the newest page is read again.
	h.event(api.Event{Type: "receipt", Conversation: "room:lobby", Peer: &api.Peer{PeerID: bobID, Nick: "bob"}, ID: "l08"})
	if tl := strings.Join(h.timelineText(), "\n"); !strings.Contains(tl, "only visible to you") {
		t.Errorf("after a reload:\n%s\nwant the ephemeral line still there", tl)
	}

	h.enter("/frobnicate")
	if !strings.Contains(h.frame(), "unknown command /frobnicate: /help lists them") {
		t.Errorf("frame:\n%s\nwant an unknown command error", h.frame())
	}
	h.fb.failNext("RunCommand", &api.Error{Status: http.StatusBadGateway, Code: api.CodeCommandFailed, Message: "/deploy: command failed: the command answered 500 Internal Server Error"})
	h.enter("/deploy prod")
	if !strings.Contains(h.frame(), "the command answered 500") {
		t.Errorf("frame:\n%s\nwant the command's failure", h.frame())
	}

	// An answer for another conversation is said in the status line.
	h.event(api.Event{Type: "ephemeral", Time: saturday.Add(6 * time.Minute), Conversation: "room:dev", Command: "/deploy", Text: "dev answer"})
	if !strings.Contains(h.frame(), "/deploy answered in #dev (only visible to you)") {
		t.Errorf("frame:\n%s\nwant the status to say where the answer is", h.frame())
	}
}
