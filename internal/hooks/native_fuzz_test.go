package hooks

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fuzzNative checks a receiver on any body: no panic, an error only for
// a body that is not JSON (and then ErrNotJSON), otherwise a one-line
// text; and Verify on any signature header never panics nor accepts a
// forged one.
func fuzzNative(f *testing.F, kind, dir, eventHeader string, events []string) {
	files, _ := filepath.Glob(filepath.Join("testdata", dir, "*.json"))
	for i, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(events[i%len(events)], b, "sha256=00")
	}
	f.Add("", []byte(`{"commits":[{"message":"\n\n"}],"ref":"refs/tags/`+"`"+`"}`), "")
	f.Add("push", []byte(`[1,2]`), "sha256=zz")
	r := ReceiverFor(kind)
	f.Fuzz(func(t *testing.T, event string, body []byte, sig string) {
		h := header(eventHeader, event, "X-Hub-Signature-256", sig, "X-Hub-Signature", sig, "X-Gitlab-Token", sig)
		if err := r.Verify(h, body, "fuzz-secret"); err == nil && sig != hubSignature("fuzz-secret", body) && sig != "fuzz-secret" {
			t.Fatalf("Verify accepted %q", sig)
		}
		p, err := r.Payload(h, body)
		if err != nil {
			if !errors.Is(err, ErrNotJSON) || json.Valid(body) {
				t.Fatalf("Payload(%q): %v", body, err)
			}
			return
		}
		if p.Text == "" || strings.Contains(p.Text, "\n") {
			t.Fatalf("Payload(%q): got text %q, want one line", body, p.Text)
		}
		if _, err := json.Marshal(p); err != nil {
			t.Fatalf("payload does not encode: %v", err)
		}
	})
}

func FuzzGitHubPayload(f *testing.F) {
	fuzzNative(f, "github", "github", "X-GitHub-Event",
		[]string{"issue_comment", "issues", "ping", "pull_request", "pull_request", "push", "push", "release", "star", "workflow_run"})
}

func FuzzGitLabPayload(f *testing.F) {
	fuzzNative(f, "gitlab", "gitlab", "X-Gitlab-Event", []string{"Issue Hook", "Merge Request Hook", "Pipeline Hook", "Push Hook", "Wiki Page Hook"})
}

func FuzzJiraPayload(f *testing.F) {
	fuzzNative(f, "jira", "jira", "X-Atlassian-Webhook-Identifier", []string{""})
}
