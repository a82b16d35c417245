package e2e

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/api"
)

// slashServer is a slash command's server on loopback: it checks the
// verification token, hands on each form, and answers by the text.
func slashServer(t *testing.T, token string) (u string, forms <-chan url.Values, release func()) {
	t.Helper()
	got := make(chan url.Values, 16)
	unblock := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil || r.PostForm.Get("token") != token {
			http.Error(w, "bad token", http.StatusUnauthorized)
			return
		}
		got <- r.PostForm
		switch r.PostForm.Get("text") {
		case "prod":
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"text": "Deploying *prod*, see <https://ci.example/d/1|the run>"}`)
		case "all":
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"response_type": "in_channel", "text": "prod is live"}`)
		case "later":
		case "boom":
			http.Error(w, "boom", http.StatusInternalServerError)
		case "slow":
			select {
			case <-unblock:
			case <-r.Context().Done():
			}
		}
	}))
	var once bool
	release = func() {
		if !once {
			once = true
			close(unblock)
		}
	}
	t.Cleanup(func() {
		release()
		srv.Close()
	})
	return srv.URL, got, release
}

func nextForm(t *testing.T, forms <-chan url.Values) url.Values {
	t.Helper()
	select {
	case f := <-forms:
		return f
	case <-time.After(30 * time.Second):
		t.Fatal("the command server got no POST")
		return nil
	}
}

// TestSlashCommandsEndToEnd: with a command registered on alice's
// daemon, `parley send '#dev' '/deploy prod'` POSTs Slack's fields to the
// command and prints its ephemeral answer, which never reaches bob nor
// any history; an in_channel answer, given at once or later through
// response_url, appears in bob's history as the command's app message; a
// failing or silent command exits 1 saying why.
func TestSlashCommandsEndToEnd(t *testing.T) {
	alice, bob := hookPair(t, "")
	u, forms, release := slashServer(t, "tok3n")
	alice.MustRun("command", "create", "/deploy", "--url", u, "--token", "tok3n")

	r := alice.Run("send", "#dev", "/deploy prod")
	want := "Deploying prod, see the run (https://ci.example/d/1)"
	if r.Code != 0 || strings.TrimSpace(r.Stdout) != want {
		t.Fatalf("send /deploy prod: exit %d, stdout %q, stderr %q; want exit 0 and %q", r.Code, r.Stdout, r.Stderr, want)
	}
	f := nextForm(t, forms)
	self := alice.Identity()
	for k, v := range map[string]string{"command": "/deploy", "text": "prod", "channel_id": "room:dev", "channel_name": "dev", "user_id": self.PeerID, "user_name": self.Nick} {
		if f.Get(k) != v {
			t.Errorf("form %s: got %q, want %q", k, f.Get(k), v)
		}
	}
	if !strings.HasPrefix(f.Get("response_url"), "http://127.0.0.1:") || !strings.Contains(f.Get("response_url"), "/commands/response/") {
		t.Errorf("response_url %q: want one on alice's hooks listener", f.Get("response_url"))
	}

	if r := alice.Run("send", "#dev", "/deploy all"); r.Code != 0 || strings.TrimSpace(r.Stdout) != "prod is live" {
		t.Fatalf("send /deploy all: exit %d, stdout %q, stderr %q", r.Code, r.Stdout, r.Stderr)
	}
	nextForm(t, forms)
	if r := alice.Run("send", "#dev", "/deploy later"); r.Code != 0 || r.Stdout != "" {
		t.Fatalf("send /deploy later: exit %d, stdout %q, stderr %q; want exit 0 and nothing printed", r.Code, r.Stdout, r.Stderr)
	}
	later := nextForm(t, forms).Get("response_url")
	if code, body, _ := hookPost(t, later, "application/json", `{"response_type": "in_channel", "text": "rolled back"}`); code != 200 || body != "ok" {
		t.Fatalf("response_url: got %d %q, want 200 ok", code, body)
	}

	var ms []api.Message
	waitUntil(t, 30*time.Second, "both in_channel answers in bob's history", func() bool {
		ms = appHistory(t, bob)
		return len(ms) == 2
	})
	for i, text := range []string{"prod is live", "rolled back"} {
		if m := ms[i]; m.App != "/deploy" || m.Text != text || m.From != self.PeerID {
			t.Errorf("bob's answer %d: app %q from %s text %q; want /deploy from alice saying %q", i, m.App, m.From, m.Text, text)
		}
	}
	for who, d := range map[string]interface{ MustRun(...string) string }{"alice": alice, "bob": bob} {
		if out := d.MustRun("history", "#dev"); strings.Contains(out, "Deploying") || strings.Contains(out, "/deploy prod") {
			t.Errorf("%s's history shows the ephemeral answer or the command:\n%s", who, out)
		}
	}

	for _, tt := range []struct{ text, want string }{
		{"boom", "500"},
		{"slow", "no answer within 3s"},
	} {
		r := alice.Run("send", "#dev", "/deploy "+tt.text)
		if r.Code != 1 || !strings.Contains(r.Stderr, tt.want) || strings.Count(strings.TrimSpace(r.Stderr), "\n") != 0 {
			t.Errorf("send /deploy %s: exit %d, stderr %q; want exit 1 and one line saying %q", tt.text, r.Code, r.Stderr, tt.want)
		}
		nextForm(t, forms)
	}
	release()

	// A /word that is no registered command is sent as text.
	if r := alice.Run("send", "#dev", "/shrug ok"); r.Code != 0 || len(strings.TrimSpace(r.Stdout)) < 20 {
		t.Errorf("send /shrug ok: exit %d, stdout %q; want a message ID", r.Code, r.Stdout)
	}
	waitUntil(t, 30*time.Second, "/shrug ok in bob's history", func() bool {
		for _, m := range history(t, bob, "#dev") {
			if m.Text == "/shrug ok" {
				return true
			}
		}
		return false
	})
}
