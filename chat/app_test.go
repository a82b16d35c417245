package chat_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/chat/chattest"
)

// checkApp fails unless got carries post's app fields and text.
func checkApp(t *testing.T, where string, got *chat.Message, post chat.AppPost) {
	t.Helper()
	if got.App != post.App || got.AppIcon != post.Icon || !bytes.Equal(got.Rich, post.Rich) || got.Body != post.Text || got.Kind != chat.KindText {
		t.Errorf("%s: got app %q icon %q rich %q text %q kind %v; want %q %q %q %q text", where, got.App, got.AppIcon, got.Rich, got.Body, got.Kind, post.App, post.Icon, post.Rich, post.Text)
	}
}

// TestPostAppReachesMembers: an app message posted into a public room, a
// private room and a direct conversation reaches the other members with
// its app name, icon and rich payload, authored by the hosting node.
func TestPostAppReachesMembers(t *testing.T) {
	_, ann, bob, _ := privateTrio(t)
	post := chat.AppPost{App: "ci", Icon: ":ship:", Text: "build passed (https://ci.example/1)", Rich: []byte(`{"text":"build *passed*"}`)}

	joinRoom(t, ann, dev)
	joinRoom(t, bob, dev)
	for _, conv := range []chat.Conversation{devConv, chat.RoomConversation(payroll), chat.DMConversation(bob.ID)} {
		sent, err := ann.Svc.PostApp(t.Context(), conv, post)
		if err != nil {
			t.Fatalf("post into %s: %v", conv, err)
		}
		if sent.Author != ann.ID {
			t.Errorf("%s: author %s, want the hosting node %s", conv, sent.Author, ann.ID)
		}
		bob.Events.WaitFor(t, "the app message at bob in "+string(conv), chattest.MessageIs(sent.ID))
		got, err := bob.Svc.Message(sent.ID)
		if err != nil {
			t.Fatal(err)
		}
		checkApp(t, string(conv)+" at bob", got, post)
	}

	if _, err := ann.Svc.PostApp(t.Context(), devConv, chat.AppPost{App: "ci", Text: "  "}); !errors.Is(err, chat.ErrEmptyMessage) {
		t.Errorf("an empty app message: got %v, want ErrEmptyMessage", err)
	}
	if _, err := ann.Svc.PostApp(t.Context(), devConv, chat.AppPost{Text: "x"}); !errors.Is(err, chat.ErrInvalid) {
		t.Errorf("an app message without a name: got %v, want ErrInvalid", err)
	}
	if _, err := ann.Svc.PostApp(t.Context(), devConv, chat.AppPost{App: "ci", Text: "x", Rich: []byte("nope")}); !errors.Is(err, chat.ErrInvalid) {
		t.Errorf("rich that is not JSON: got %v, want ErrInvalid", err)
	}
}
