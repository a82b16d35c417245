package hooks_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/parley-chat/parley/chat/chattest"
	"github.com/parley-chat/parley/internal/hooks"
)

// slashRig is ann in #dev running slash commands, her hooks listener
// serving their response URLs.
type slashRig struct {
	ann    *chattest.Node
	reg    *hooks.Registry
	runner *hooks.CommandRunner
	srv    *hooks.Server
}

func newSlashRig(t *testing.T) *slashRig {
	t.Helper()
	ann := chattest.NewNode(t, chattest.NewNet(t), chattest.WithRooms(), chattest.WithNick("ann"))
	if _, err := ann.Svc.JoinRoom(t.Context(), dev); err != nil {
		t.Fatal(err)
	}
	reg, err := hooks.OpenRegistry(filepath.Join(t.TempDir(), "hooks.json"), nil)
	if err != nil {
		t.Fatal(err)
	}
	r := &slashRig{ann: ann, reg: reg}
	r.runner, err = hooks.NewCommandRunner(hooks.CommandRunnerConfig{
		Registry: reg, Poster: ann.Svc, Self: ann.Svc,
		ResponseURL: func(token string) string { return r.srv.ResponseURL(token) },
	})
	if err != nil {
		t.Fatal(err)
	}
	l, err := netListen()
	if err != nil {
		t.Fatal(err)
	}
	r.srv, err = hooks.NewServer(hooks.ServerConfig{Registry: reg, Poster: ann.Svc, Listener: l, Commands: r.runner.ResponseHandler()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("hooks server: %v", err)
		}
	})
	return r
}

// laterCommand registers /later, whose server answers an empty 200 and
// hands on the response_url of each POST.
func (r *slashRig) laterCommand(t *testing.T) <-chan string {
	t.Helper()
	urls := make(chan string, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, req *http.Request) {
		urls <- req.FormValue("response_url")
	}))
	t.Cleanup(srv.Close)
	if _, err := r.reg.CreateCommand(hooks.Command{Name: "/later", URL: srv.URL}); err != nil {
		t.Fatal(err)
	}
	return urls
}

// TestCommandRunnerFindsRegisteredCommands: only a text "/NAME args"
// whose NAME is registered runs; anything else is left alone.
func TestCommandRunnerFindsRegisteredCommands(t *testing.T) {
	r := newSlashRig(t)
	urls := r.laterCommand(t)
	for _, line := range []string{"/nope x", "later", "//later", "/ later", " /later", "/LATER"} {
		if _, ok, err := r.runner.Run(t.Context(), devConv, line); ok || err != nil {
			t.Errorf("Run(%q): ran (%v), want it left alone", line, err)
		}
	}
	res, ok, err := r.runner.Run(t.Context(), devConv, "/later  soon ")
	if !ok || err != nil || res.Command != "/later" || res.Text != "" || res.Message != nil {
		t.Fatalf("Run(/later): got %+v, %v, %v; want an empty answer", res, ok, err)
	}
	select {
	case u := <-urls:
		if u == "" {
			t.Error("response_url is empty while the hooks listener is on")
		}
	case <-time.After(chattest.Timeout):
		t.Fatal("the command got no POST")
	}
}

// TestResponseURLAnswers: answers POSTed to a response URL are shown
// (ephemeral to subscribers only, in_channel as the command's app
// message); once the node has left the conversation, an in_channel
// answer gets 404 channel_not_found and posts nothing.
func TestResponseURLAnswers(t *testing.T) {
	r := newSlashRig(t)
	urls := r.laterCommand(t)
	eph, stop := r.runner.Subscribe()
	defer stop()
	if _, _, err := r.runner.Run(t.Context(), devConv, "/later"); err != nil {
		t.Fatal(err)
	}
	u := <-urls
	if code, body, _ := post(t, t.Context(), u, "application/json", `{"text": "*psst*"}`); code != 200 || body != "ok" {
		t.Fatalf("ephemeral answer: got %d %q", code, body)
	}
	select {
	case e := <-eph:
		if e.Text != "psst" || e.Command != "/later" || e.Conversation != devConv {
			t.Errorf("ephemeral: got %+v", e)
		}
	case <-time.After(chattest.Timeout):
		t.Fatal("no ephemeral answer")
	}
	if len(appMessages(t, r.ann)) != 0 {
		t.Error("an ephemeral answer was posted")
	}
	if code, _, _ := post(t, t.Context(), u, "application/json", `{"response_type": "in_channel", "text": "for all"}`); code != 200 {
		t.Fatalf("in_channel answer: got %d", code)
	}
	if ms := appMessages(t, r.ann); len(ms) != 1 || ms[0].App != "/later" || ms[0].Body != "for all" || ms[0].Author != r.ann.ID {
		t.Fatalf("in_channel answer: got %+v, want one app message of /later", ms)
	}
	if _, err := r.ann.Svc.LeaveRoom(t.Context(), dev); err != nil {
		t.Fatal(err)
	}
	if code, body, _ := post(t, t.Context(), u, "application/json", `{"response_type": "in_channel", "text": "gone"}`); code != http.StatusNotFound || body != "channel_not_found\n" {
		t.Errorf("after leaving: got %d %q, want 404 channel_not_found", code, body)
	}
	if ms := appMessages(t, r.ann); len(ms) != 1 {
		t.Errorf("after leaving: %d app messages, want 1", len(ms))
	}
	select {
	case e := <-eph:
		t.Errorf("an in_channel answer reached the ephemeral stream: %+v", e)
	default:
	}
}

// TestResponseURLOffWithoutCommands: a hooks listener without slash
// commands answers their path no_service.
func TestResponseURLOffWithoutCommands(t *testing.T) {
	r := newRig(t, hooks.ServerConfig{})
	if code, body, _ := post(t, t.Context(), r.srv.ResponseURL("abc"), "application/json", `{"text": "x"}`); code != http.StatusNotFound || body != "no_service" {
		t.Errorf("got %d %q, want 404 no_service", code, body)
	}
}

// TestResponseURLEmptyWhileListenerOff: without a hooks listener a
// command gets response_url "" (it can only answer at once).
func TestResponseURLEmptyWhileListenerOff(t *testing.T) {
	ann := chattest.NewNode(t, chattest.NewNet(t), chattest.WithRooms(), chattest.WithNick("ann"))
	reg, err := hooks.OpenRegistry(filepath.Join(t.TempDir(), "hooks.json"), nil)
	if err != nil {
		t.Fatal(err)
	}
	runner, err := hooks.NewCommandRunner(hooks.CommandRunnerConfig{Registry: reg, Poster: ann.Svc, Self: ann.Svc})
	if err != nil {
		t.Fatal(err)
	}
	forms := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if err := req.ParseForm(); err != nil {
			t.Error(err)
		}
		forms <- req.PostForm.Get("response_url") + "|" + req.PostForm.Get("command")
		_, _ = w.Write([]byte("hi"))
	}))
	defer srv.Close()
	if _, err := reg.CreateCommand(hooks.Command{Name: "/hi", URL: srv.URL}); err != nil {
		t.Fatal(err)
	}
	res, ok, err := runner.Run(t.Context(), devConv, "/hi")
	if !ok || err != nil || res.Text != "hi" || res.Type != hooks.Ephemeral {
		t.Fatalf("Run: got %+v, %v, %v", res, ok, err)
	}
	if got := <-forms; got != "|/hi" {
		t.Errorf("response_url|command: got %q, want an empty response_url", got)
	}
}
