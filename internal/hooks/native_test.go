package hooks

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// hubSignature is "sha256=<hex HMAC-SHA256(secret, body)>", written here
// from the definition so the tests do not check the receivers against
// their own code.
func hubSignature(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// sample reads testdata/dir/name.
func sample(t *testing.T, dir, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func header(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

// want is what a rendered event must say: substrings of its text and of
// its first attachment, and that attachment's color.
type want struct {
	text       []string
	attachment []string // in the attachment's title, title_link, text or fields
	color      string
	noAttach   bool
}

func (w want) check(t *testing.T, p Payload) {
	t.Helper()
	if strings.Contains(p.Text, "\n") {
		t.Errorf("text has more than one line: %q", p.Text)
	}
	for _, s := range w.text {
		if !strings.Contains(p.Text, s) {
			t.Errorf("text %q does not contain %q", p.Text, s)
		}
	}
	if w.noAttach {
		if len(p.Attachments) != 0 {
			t.Errorf("got %d attachments, want none", len(p.Attachments))
		}
		return
	}
	if len(w.attachment) == 0 && w.color == "" {
		return
	}
	if len(p.Attachments) == 0 {
		t.Fatalf("no attachment; text %q", p.Text)
	}
	a := p.Attachments[0]
	all := a.Title + "\n" + a.TitleLink + "\n" + a.Text
	for _, f := range a.Fields {
		all += "\n" + f.Title + ": " + f.Value
	}
	for _, s := range w.attachment {
		if !strings.Contains(all, s) {
			t.Errorf("attachment %q does not contain %q", all, s)
		}
	}
	if a.Color != w.color {
		t.Errorf("got color %q, want %q", a.Color, w.color)
	}
	if a.Fallback == "" {
		t.Error("attachment has no fallback")
	}
}

func TestReceiversRegistered(t *testing.T) {
	for _, kind := range []string{"github", "gitlab", "jira"} {
		if ReceiverFor(kind) == nil {
			t.Errorf("no receiver for %q", kind)
		}
	}
	if ReceiverFor("slack") != nil {
		t.Error("a receiver for a Slack-format hook")
	}
}

// TestNotJSONIsTheOnlyError: a body that is not JSON is an error for
// every receiver; JSON of any other shape is a one-line summary.
func TestNotJSONIsTheOnlyError(t *testing.T) {
	for _, kind := range []string{"github", "gitlab", "jira"} {
		r := ReceiverFor(kind)
		for _, body := range []string{"", "not json", "{", `{"a":1}x`, "\xff"} {
			if _, err := r.Payload(http.Header{}, []byte(body)); !errors.Is(err, ErrNotJSON) {
				t.Errorf("%s: Payload(%q): got %v, want ErrNotJSON", kind, body, err)
			}
		}
		for _, body := range []string{"[]", "1", "null", `"x"`, `{}`, `{"repository":5,"project":[],"issue":"x","object_attributes":1}`} {
			p, err := r.Payload(header("X-GitHub-Event", "push", "X-Gitlab-Event", "Push Hook"), []byte(body))
			if err != nil {
				t.Errorf("%s: Payload(%q): %v", kind, body, err)
				continue
			}
			if p.Text == "" || strings.Contains(p.Text, "\n") {
				t.Errorf("%s: Payload(%q): got text %q, want one line", kind, body, p.Text)
			}
		}
	}
}

func TestVerifyNoSecret(t *testing.T) {
	body := []byte(`{}`)
	h := header("X-Hub-Signature-256", hubSignature("", body), "X-Hub-Signature", hubSignature("", body), "X-Gitlab-Token", "")
	for _, kind := range []string{"github", "gitlab", "jira"} {
		if err := ReceiverFor(kind).Verify(h, body, ""); !errors.Is(err, ErrNoSecret) {
			t.Errorf("%s: got %v, want ErrNoSecret", kind, err)
		}
	}
}

func TestMdHelpers(t *testing.T) {
	if got, want := mdLink("https://x.test/a?b=1&c=2", "a <b> & c"), "<https://x.test/a?b=1&amp;c=2|a &lt;b&gt; &amp; c>"; got != want {
		t.Errorf("mdLink: got %q, want %q", got, want)
	}
	if got, want := mdLink("javascript:alert(1)", "x"), "x"; got != want {
		t.Errorf("mdLink of a script URL: got %q, want %q", got, want)
	}
	if got, want := mdLink("https://x.test/a|b", "x"), "x"; got != want {
		t.Errorf("mdLink of a URL with '|': got %q, want %q", got, want)
	}
	if got := mdText(strings.Repeat("é", 500), 10); got != strings.Repeat("é", 9)+"…" {
		t.Errorf("mdText clip: got %q", got)
	}
	if got, want := mdText("\n\n first line \nsecond", 100), "first line"; got != want {
		t.Errorf("mdText: got %q, want %q", got, want)
	}
	if got, want := mdExcerpt("a\n\nb\nc\nd"), "a\nb\nc …"; got != want {
		t.Errorf("mdExcerpt: got %q, want %q", got, want)
	}
}
