package api

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/chat/chattest"
	"github.com/parley-chat/parley/internal/hooks"
)

// serveHooks serves a node in #dev with a webhook registry (no hooks
// listener) over the unix socket.
func serveHooks(t *testing.T, withHooks bool) (*Client, *chattest.Node) {
	t.Helper()
	n := newCluster(t).node("alice", chattest.WithRooms())
	if _, err := n.Svc.JoinRoom(t.Context(), "dev"); err != nil {
		t.Fatal(err)
	}
	socket, unixL, _ := listeners(t)
	cfg := Config{Backend: n.Svc, Version: testVersion, Unix: unixL}
	if withHooks {
		reg, err := hooks.OpenRegistry(filepath.Join(t.TempDir(), "hooks.json"), nil)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Hooks = hooks.NewManager(reg, nil)
	}
	srv := New(cfg)
	ran := make(chan error, 1)
	go func() { ran <- srv.Run(context.Background()) }()
	cl := NewClient(socket)
	t.Cleanup(func() {
		cl.http.CloseIdleConnections()
		_ = srv.Close()
		select {
		case err := <-ran:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(waitTimeout):
			t.Error("Run did not return after Close")
		}
	})
	return cl, n
}

// TestWebhookEndpoints: webhooks and commands are created, listed and
// deleted through the API, with its error codes for a name in use, an
// unknown conversation, a room not joined and a bad kind.
func TestWebhookEndpoints(t *testing.T) {
	cl, _ := serveHooks(t, true)
	ctx := t.Context()
	h, err := cl.CreateWebhook(ctx, WebhookRequest{Conversation: "#dev", Name: "CI"})
	if err != nil {
		t.Fatal(err)
	}
	if h.Name != "CI" || h.Kind != "slack" || h.Conversation != "room:dev" || h.URL != "" || h.Secret != "" {
		t.Errorf("created: got %+v, want a slack hook into room:dev with no URL (no listener)", h)
	}
	out, err := cl.CreateWebhook(ctx, WebhookRequest{Conversation: "#dev", Name: "out", Kind: "outgoing", URL: "http://127.0.0.1:9/x"})
	if err != nil || out.URL != "http://127.0.0.1:9/x" || len(out.Secret) < len("whsec_")+32 {
		t.Errorf("outgoing: got %+v, %v", out, err)
	}
	for _, tt := range []struct {
		name   string
		req    WebhookRequest
		status int
		code   string
	}{
		{"name in use", WebhookRequest{Conversation: "#dev", Name: "CI"}, http.StatusConflict, CodeConflict},
		{"room not joined", WebhookRequest{Conversation: "#ops", Name: "x"}, http.StatusBadRequest, CodeBadRequest},
		{"unknown peer", WebhookRequest{Conversation: "@nobody", Name: "x"}, http.StatusBadRequest, CodeBadRequest},
		{"bad kind", WebhookRequest{Conversation: "#dev", Name: "x", Kind: "teams"}, http.StatusBadRequest, CodeBadRequest},
		{"bad name", WebhookRequest{Conversation: "#dev", Name: "a/b"}, http.StatusBadRequest, CodeBadRequest},
	} {
		_, err := cl.CreateWebhook(ctx, tt.req)
		t.Run(tt.name, func(t *testing.T) { apiError(t, err, tt.status, tt.code) })
	}
	hs, err := cl.Webhooks(ctx)
	if err != nil || len(hs) != 2 || hs[0].Name != "CI" {
		t.Errorf("list: got %+v, %v", hs, err)
	}
	if err := cl.DeleteWebhook(ctx, "CI"); err != nil {
		t.Fatal(err)
	}
	apiError(t, cl.DeleteWebhook(ctx, "CI"), http.StatusNotFound, CodeNotFound)

	c, err := cl.CreateCommand(ctx, CommandRequest{Name: "/deploy", URL: "https://bots.example/deploy"})
	if err != nil || c.Name != "/deploy" || c.Token == "" {
		t.Fatalf("command: got %+v, %v", c, err)
	}
	_, err = cl.CreateCommand(ctx, CommandRequest{Name: "/deploy", URL: "https://bots.example/deploy"})
	apiError(t, err, http.StatusConflict, CodeConflict)
	_, err = cl.CreateCommand(ctx, CommandRequest{Name: "/x", URL: "file:///etc/passwd"})
	apiError(t, err, http.StatusBadRequest, CodeBadRequest)
	if cs, err := cl.Commands(ctx); err != nil || len(cs) != 1 {
		t.Errorf("commands: got %+v, %v", cs, err)
	}
	if err := cl.DeleteCommand(ctx, "/deploy"); err != nil {
		t.Fatal(err)
	}
	apiError(t, cl.DeleteCommand(ctx, "deploy"), http.StatusNotFound, CodeNotFound)
}

// TestWebhooksOff: a node without a registry answers 503.
func TestWebhooksOff(t *testing.T) {
	cl, _ := serveHooks(t, false)
	_, err := cl.Webhooks(t.Context())
	apiError(t, err, http.StatusServiceUnavailable, CodeUnavailable)
}

// TestAppMessageJSON: an app message shows app, app_icon and rich (the
// payload as an object); other messages have none of them.
func TestAppMessageJSON(t *testing.T) {
	cl, n := serveHooks(t, false)
	m, err := n.Svc.PostApp(t.Context(), chat.RoomConversation("dev"), chat.AppPost{App: "CI", Icon: ":ship:", Text: "build passed", Rich: []byte(`{"text":"build *passed*"}`)})
	if err != nil {
		t.Fatal(err)
	}
	got, err := cl.Message(t.Context(), m.ID.String())
	if err != nil {
		t.Fatal(err)
	}
	var rich map[string]string
	if got.App != "CI" || got.AppIcon != ":ship:" || got.Text != "build passed" || json.Unmarshal(got.Rich, &rich) != nil || rich["text"] != "build *passed*" {
		t.Errorf("app message JSON: app %q icon %q text %q rich %s", got.App, got.AppIcon, got.Text, got.Rich)
	}
	plain, err := n.Svc.SendRoom(t.Context(), "dev", "hi")
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(MessageOf(plain, "alice"))
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]any
	_ = json.Unmarshal(b, &fields)
	for _, k := range []string{"app", "app_icon", "rich"} {
		if _, ok := fields[k]; ok {
			t.Errorf("a plain message has %q", k)
		}
	}
}
