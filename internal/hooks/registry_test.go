package hooks

import (
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRegistry: hooks and commands are created with their secrets, kept
// in a 0600 file across a reopen, refused when duplicate or malformed, and
// deleted.
func TestRegistry(t *testing.T) {
	file := filepath.Join(t.TempDir(), "hooks.json")
	r, err := OpenRegistry(file, nil)
	if err != nil {
		t.Fatal(err)
	}
	slack, err := r.CreateHook(Hook{Name: "CI Bot", Conversation: "room:dev"})
	if err != nil {
		t.Fatal(err)
	}
	if raw, err := base64.RawURLEncoding.DecodeString(slack.Token); err != nil || len(raw) < 16 || slack.Kind != KindSlack {
		t.Errorf("slack hook: token %q kind %q; want 128+ random bits, kind slack", slack.Token, slack.Kind)
	}
	out, err := r.CreateHook(Hook{Name: "out", Conversation: "room:dev", Kind: KindOutgoing, URL: "http://127.0.0.1:9/x", Triggers: []string{"deploy"}})
	if err != nil {
		t.Fatal(err)
	}
	secret, ok := strings.CutPrefix(out.Secret, "whsec_")
	if raw, err := base64.StdEncoding.DecodeString(secret); !ok || err != nil || len(raw) < 24 || out.Token != "" {
		t.Errorf("outgoing hook: secret %q token %q; want whsec_ and 24+ random bytes in base64, no URL token", out.Secret, out.Token)
	}
	gh, err := r.CreateHook(Hook{Name: "gh", Conversation: "room:dev", Kind: KindGitHub})
	if err != nil || len(gh.Secret) < 32 {
		t.Errorf("github hook without a secret: got %q, %v; want one made", gh.Secret, err)
	}
	cmd, err := r.CreateCommand(Command{Name: "deploy", URL: "https://bots.example/deploy"})
	if err != nil || cmd.Name != "/deploy" || cmd.Token == "" {
		t.Fatalf("command: got %+v, %v", cmd, err)
	}

	for _, tt := range []struct {
		name string
		hook Hook
		want error
	}{
		{"duplicate", Hook{Name: "CI Bot", Conversation: "room:dev"}, ErrExists},
		{"no name", Hook{Conversation: "room:dev"}, ErrInvalid},
		{"slash in name", Hook{Name: "a/b", Conversation: "room:dev"}, ErrInvalid},
		{"no conversation", Hook{Name: "x"}, ErrInvalid},
		{"unknown kind", Hook{Name: "x", Conversation: "room:dev", Kind: "teams"}, ErrInvalid},
		{"secret on slack", Hook{Name: "x", Conversation: "room:dev", Secret: "s"}, ErrInvalid},
		{"outgoing to ftp", Hook{Name: "x", Conversation: "room:dev", Kind: KindOutgoing, URL: "ftp://h/x"}, ErrInvalid},
		{"triggers on incoming", Hook{Name: "x", Conversation: "room:dev", Triggers: []string{"a"}}, ErrInvalid},
	} {
		if _, err := r.CreateHook(tt.hook); !errors.Is(err, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, err, tt.want)
		}
	}
	if _, err := r.CreateCommand(Command{Name: "/deploy", URL: "https://x.example"}); !errors.Is(err, ErrExists) {
		t.Errorf("duplicate command: got %v", err)
	}
	if _, err := r.CreateCommand(Command{Name: "/Bad Name", URL: "https://x.example"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad command name: got %v", err)
	}

	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("registry file: %v, %v; want mode 0600", fi.Mode(), err)
	}
	again, err := OpenRegistry(file, nil)
	if err != nil {
		t.Fatal(err)
	}
	if h, ok := again.ByToken(slack.Token); !ok || h.Name != "CI Bot" {
		t.Errorf("after reopening: ByToken got %+v, %v", h, ok)
	}
	if len(again.Hooks()) != 3 || len(again.Commands()) != 1 {
		t.Errorf("after reopening: %d hooks, %d commands; want 3 and 1", len(again.Hooks()), len(again.Commands()))
	}
	if _, ok := again.ByToken(""); ok {
		t.Error("the empty token names a hook (the outgoing one has none)")
	}
	if err := again.DeleteHook("CI Bot"); err != nil {
		t.Fatal(err)
	}
	if _, ok := again.ByToken(slack.Token); ok {
		t.Error("a deleted hook's token still names it")
	}
	if err := again.DeleteHook("CI Bot"); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleting twice: got %v, want ErrNotFound", err)
	}
	if err := again.DeleteCommand("/deploy"); err != nil {
		t.Fatal(err)
	}
	if err := again.DeleteCommand("deploy"); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleting a command twice: got %v", err)
	}
}
