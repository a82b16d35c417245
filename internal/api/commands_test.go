package api

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/chat/chattest"
	"github.com/parley-chat/parley/internal/hooks"
)

// commandServer is a slash command's server on loopback: it checks the
// fields of each POST and answers by the command's text.
type commandServer struct {
	t       *testing.T
	srv     *httptest.Server
	token   string
	forms   chan url.Values
	release chan struct{} // closing it lets "slow" answer
}

func newCommandServer(t *testing.T, token string) *commandServer {
	cs := &commandServer{t: t, token: token, forms: make(chan url.Values, 16), release: make(chan struct{})}
	cs.srv = httptest.NewServer(http.HandlerFunc(cs.serve))
	t.Cleanup(func() {
		select {
		case <-cs.release:
		default:
			close(cs.release)
		}
		cs.srv.Close()
	})
	return cs
}

func (cs *commandServer) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		cs.t.Errorf("command got %s with content type %q, want a form POST", r.Method, r.Header.Get("Content-Type"))
	}
	if err := r.ParseForm(); err != nil {
		cs.t.Errorf("command form: %v", err)
	}
	if got := r.PostForm.Get("token"); got != cs.token {
		http.Error(w, "bad token", http.StatusUnauthorized)
		return
	}
	cs.forms <- r.PostForm
	switch r.PostForm.Get("text") {
	case "eph":
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"text": "only *you* see <https://x.example/e|this>"}`)
	case "all":
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"response_type": "in_channel", "text": "deployed <https://ci.example/7|build 7>", "icon_emoji": ":rocket:"}`)
	case "later":
		// An empty 200: the answer comes through response_url.
	case "boom":
		http.Error(w, "boom", http.StatusInternalServerError)
	case "slow":
		select {
		case <-cs.release:
		case <-r.Context().Done():
		}
	default:
		_, _ = io.WriteString(w, "plain "+r.PostForm.Get("text"))
	}
}

// form is the next form the command server got.
func (cs *commandServer) form() url.Values {
	cs.t.Helper()
	select {
	case f := <-cs.forms:
		return f
	case <-time.After(waitTimeout):
		cs.t.Fatal("the command server got no POST")
		return nil
	}
}

// commandRig is alice serving the API with slash commands and a hooks
// listener (for response URLs), and bob in #dev with her.
type commandRig struct {
	alice, bob *chattest.Node
	client     *Client
	reg        *hooks.Registry
	hooks      *hooks.Server
	clock      atomic.Int64 // the runner's time, in Unix nanoseconds
	ephemeral  chan Event
}

func newCommandRig(t *testing.T) *commandRig {
	t.Helper()
	c := newCluster(t)
	rig := &commandRig{alice: c.node("alice"), bob: c.node("bob"), ephemeral: make(chan Event, 16)}
	c.connect(rig.alice, rig.bob)
	for _, n := range []*chattest.Node{rig.alice, rig.bob} {
		if _, err := n.Svc.JoinRoom(t.Context(), "dev"); err != nil {
			t.Fatal(err)
		}
	}
	chattest.WaitFor(t, 0, "alice sees bob in #dev", func() bool {
		ms, err := rig.alice.Svc.RoomMembers("dev")
		return err == nil && len(ms) == 2 && ms[0].Online && ms[1].Online
	})
	rig.clock.Store(time.Now().UnixNano())
	var err error
	rig.reg, err = hooks.OpenRegistry(filepath.Join(t.TempDir(), "hooks.json"), nil)
	if err != nil {
		t.Fatal(err)
	}
	runner, err := hooks.NewCommandRunner(hooks.CommandRunnerConfig{
		Registry:    rig.reg,
		Poster:      rig.alice.Svc,
		Self:        rig.alice.Svc,
		ResponseURL: func(token string) string { return rig.hooks.ResponseURL(token) },
		Now:         func() time.Time { return time.Unix(0, rig.clock.Load()) },
	})
	if err != nil {
		t.Fatal(err)
	}
	hl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rig.hooks, err = hooks.NewServer(hooks.ServerConfig{Registry: rig.reg, Poster: rig.alice.Svc, Listener: hl, Commands: runner.ResponseHandler()})
	if err != nil {
		t.Fatal(err)
	}
	hooksRan := make(chan error, 1)
	go func() { hooksRan <- rig.hooks.Run(context.Background()) }()

	socket, unixL, _ := listeners(t)
	srv := New(Config{Backend: rig.alice.Svc, Hooks: hooks.NewManager(rig.reg, rig.hooks), Commands: runner, Version: testVersion, Unix: unixL})
	ran := make(chan error, 1)
	go func() { ran <- srv.Run(context.Background()) }()
	rig.client = NewClient(socket)

	ctx, cancel := context.WithCancel(context.Background())
	opened := make(chan struct{})
	followed := make(chan struct{})
	go func() {
		defer close(followed)
		_ = rig.client.Follow(ctx, func() { close(opened) }, func(e Event) error {
			if e.Type == "ephemeral" {
				rig.ephemeral <- e
			}
			return nil
		})
	}()
	t.Cleanup(func() {
		cancel()
		<-followed
		rig.client.http.CloseIdleConnections()
		_ = srv.Close()
		_ = rig.hooks.Close()
		for _, ch := range []chan error{ran, hooksRan} {
			select {
			case err := <-ch:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(waitTimeout):
				t.Error("Run did not return after Close")
			}
		}
	})
	select {
	case <-opened:
	case <-time.After(waitTimeout):
		t.Fatal("the event stream did not open")
	}
	return rig
}

// nextEphemeral is the next ephemeral event alice's stream carried.
func (rig *commandRig) nextEphemeral(t *testing.T) Event {
	t.Helper()
	select {
	case e := <-rig.ephemeral:
		return e
	case <-time.After(waitTimeout):
		t.Fatal("no ephemeral event")
		return Event{}
	}
}

// postResponse POSTs a JSON answer to a response URL.
func postResponse(t *testing.T, u, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Close = true
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

// TestSlashCommandsThroughTheAPI: "/deploy ARGS" sent through POST
// /messages runs the registered command with Slack's fields (its token
// included): an ephemeral answer comes back in the answer and as an
// ephemeral event, never reaching bob or history; an in_channel one is
// posted as the command's app message and reaches bob; an empty one is
// followed by answers through response_url, shown the same way until the
// URL expires; a failing or slow command is a 502; a text naming no
// command is sent as it is.
func TestSlashCommandsThroughTheAPI(t *testing.T) {
	rig := newCommandRig(t)
	ctx := t.Context()
	cs := newCommandServer(t, "s3cret")
	if _, err := rig.reg.CreateCommand(hooks.Command{Name: "/deploy", URL: cs.srv.URL, Token: "s3cret"}); err != nil {
		t.Fatal(err)
	}

	// Ephemeral: the answer, and the event; Slack's fields were POSTed.
	res, err := rig.client.Submit(ctx, "#dev", "/deploy eph")
	if err != nil {
		t.Fatal(err)
	}
	wantText := "only you see this (https://x.example/e)"
	if a := res.Command; res.Message != nil || a == nil || a.Command != "/deploy" || a.ResponseType != "ephemeral" || a.Text != wantText || len(a.Rich) == 0 || a.Message != nil {
		t.Fatalf("ephemeral answer: got %+v (command %+v), want /deploy ephemeral %q with rich", res, res.Command, wantText)
	}
	form := cs.form()
	self := rig.alice.ID.String()
	for k, v := range map[string]string{
		"token": "s3cret", "command": "/deploy", "text": "eph", "user_id": self, "user_name": "alice",
		"channel_id": "room:dev", "channel_name": "dev", "team_id": self, "team_domain": "parley",
	} {
		if got := form.Get(k); got != v {
			t.Errorf("form %s: got %q, want %q", k, got, v)
		}
	}
	if !strings.HasPrefix(form.Get("response_url"), rig.hooks.Base()+hooks.CommandResponsePath) || form.Get("trigger_id") == "" {
		t.Errorf("form response_url %q, trigger_id %q: want a URL on the hooks listener and an ID", form.Get("response_url"), form.Get("trigger_id"))
	}
	e := rig.nextEphemeral(t)
	var rich map[string]any
	if e.Conversation != "room:dev" || e.Command != "/deploy" || e.Text != wantText || json.Unmarshal(e.Rich, &rich) != nil || rich["text"] == nil {
		t.Errorf("ephemeral event: got %+v, want room:dev /deploy %q with its payload", e, wantText)
	}

	// In channel: posted by alice as the command's app message; bob gets it.
	res, err = rig.client.Submit(ctx, "#dev", "/deploy all")
	if err != nil {
		t.Fatal(err)
	}
	a := res.Command
	if a == nil || a.ResponseType != "in_channel" || a.Message == nil || a.Message.App != "/deploy" || a.Message.From != self || a.Message.AppIcon != ":rocket:" {
		t.Fatalf("in_channel answer: got %+v, want the posted app message", a)
	}
	cs.form()
	id, _ := chat.ParseMessageID(a.Message.ID)
	rig.bob.Events.WaitFor(t, "bob gets the in_channel answer", chattest.MessageIs(id))
	if m, err := rig.bob.Svc.Message(id); err != nil || m.App != "/deploy" || m.Body != "deployed build 7 (https://ci.example/7)" || m.Author != rig.alice.ID {
		t.Errorf("bob's copy: %+v, %v", m, err)
	}

	// Empty, then three answers through response_url.
	res, err = rig.client.Submit(ctx, "#dev", "/deploy later")
	if err != nil || res.Command == nil || res.Command.Text != "" || res.Command.Message != nil {
		t.Fatalf("empty answer: got %+v, %v; want a command answer without text", res.Command, err)
	}
	responseURL := cs.form().Get("response_url")
	if code, body := postResponse(t, responseURL, `{"text": "done _later_"}`); code != 200 || body != "ok" {
		t.Fatalf("response_url: got %d %q, want 200 ok", code, body)
	}
	if e := rig.nextEphemeral(t); e.Text != "done later" || e.Command != "/deploy" || e.Conversation != "room:dev" {
		t.Errorf("ephemeral event from response_url: got %+v", e)
	}
	if code, body := postResponse(t, responseURL, `{"response_type": "in_channel", "text": "all done"}`); code != 200 || body != "ok" {
		t.Fatalf("response_url in_channel: got %d %q, want 200 ok", code, body)
	}
	chattest.WaitFor(t, 0, "bob gets the later in_channel answer", func() bool {
		ms, err := rig.bob.Svc.History(chat.RoomConversation("dev"), chat.HistoryQuery{Limit: 50})
		return err == nil && len(ms) > 0 && ms[len(ms)-1].Body == "all done" && ms[len(ms)-1].App == "/deploy"
	})
	rig.clock.Add(int64(hooks.ResponseURLLife))
	if code, body := postResponse(t, responseURL, `{"text": "too late"}`); code != http.StatusNotFound || body != "expired_url" {
		t.Errorf("response_url after 30 minutes: got %d %q, want 404 expired_url", code, body)
	}

	// A failing command and one that does not answer in time: 502.
	_, err = rig.client.Submit(ctx, "#dev", "/deploy boom")
	if ae := apiError(t, err, http.StatusBadGateway, CodeCommandFailed); !strings.Contains(ae.Message, "500") {
		t.Errorf("a 500: got %q, want it named", ae.Message)
	}
	cs.form()
	_, err = rig.client.Submit(ctx, "#dev", "/deploy slow")
	if ae := apiError(t, err, http.StatusBadGateway, CodeCommandFailed); !strings.Contains(ae.Message, "no answer within 3s") {
		t.Errorf("a slow command: got %q, want it named", ae.Message)
	}
	cs.form()
	close(cs.release)

	// Not a registered command: sent as it is (Submit), refused as a
	// command (RunCommand); Send never runs one.
	res, err = rig.client.Submit(ctx, "#dev", "/shrug ¯\\_(ツ)_/¯")
	if err != nil || res.Message == nil || res.Message.Text != "/shrug ¯\\_(ツ)_/¯" {
		t.Errorf("unregistered /word: got %+v, %v; want it sent as text", res, err)
	}
	_, err = rig.client.RunCommand(ctx, "#dev", "/shrug")
	apiError(t, err, http.StatusNotFound, CodeNotFound)
	_, err = rig.client.RunCommand(ctx, "#dev", "hello")
	apiError(t, err, http.StatusBadRequest, CodeBadRequest)
	if m, err := rig.client.Send(ctx, "#dev", "/deploy eph"); err != nil || m.Text != "/deploy eph" {
		t.Errorf("Send: got %+v, %v; want the text sent", m, err)
	}
	// A room not joined is refused before the command is invoked.
	_, err = rig.client.RunCommand(ctx, "#ops", "/deploy eph")
	apiError(t, err, http.StatusNotFound, CodeNotFound)
	// A reply naming a command runs it in the message's conversation.
	var reply CommandAnswer
	if err := rig.client.do(ctx, http.MethodPost, "/api/v1/messages/"+a.Message.ID+"/reply", ReplyRequest{Text: "/deploy eph", Thread: true}, &reply); err != nil || reply.Command != "/deploy" || reply.Text != wantText {
		t.Errorf("reply naming a command: got %+v, %v", reply, err)
	}
	if f := cs.form(); f.Get("channel_id") != "room:dev" {
		t.Errorf("reply's invocation: channel_id %q, want room:dev", f.Get("channel_id"))
	}
	rig.nextEphemeral(t)

	// No ephemeral answer is in alice's history or reached bob.
	sent, err := rig.client.Send(ctx, "#dev", "last")
	if err != nil {
		t.Fatal(err)
	}
	lastID, _ := chat.ParseMessageID(sent.ID)
	rig.bob.Events.WaitFor(t, "bob gets the last message", chattest.MessageIs(lastID))
	for who, n := range map[string]*chattest.Node{"alice": rig.alice, "bob": rig.bob} {
		ms, err := n.Svc.History(chat.RoomConversation("dev"), chat.HistoryQuery{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			if strings.Contains(m.Body, "only you see") || strings.Contains(m.Body, "done later") {
				t.Errorf("%s's history holds an ephemeral answer: %q", who, m.Body)
			}
		}
	}
	select {
	case f := <-cs.forms:
		t.Errorf("the command got a POST it should not have: %v", f)
	default:
	}
}

// TestSlashCommandWrongToken: a command server that checks the token
// refuses a POST whose token differs, and the API says so (502).
func TestSlashCommandWrongToken(t *testing.T) {
	rig := newCommandRig(t)
	cs := newCommandServer(t, "right")
	if _, err := rig.reg.CreateCommand(hooks.Command{Name: "/deploy", URL: cs.srv.URL, Token: "wrong"}); err != nil {
		t.Fatal(err)
	}
	_, err := rig.client.Submit(t.Context(), "#dev", "/deploy eph")
	if ae := apiError(t, err, http.StatusBadGateway, CodeCommandFailed); !strings.Contains(ae.Message, "401") {
		t.Errorf("got %q, want the 401 named", ae.Message)
	}
}
