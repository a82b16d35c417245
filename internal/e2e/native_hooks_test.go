package e2e

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/internal/hooks"
)

// nativeSample is one vendor sample payload (internal/hooks/testdata, as
// GitHub, GitLab and Atlassian publish them; SOURCE.md in each folder says
// where from) with the headers its tool sends.
type nativeSample struct {
	kind, file string
	header     map[string]string
	// sign adds the signature for secret to h (the tool's own scheme).
	sign func(h http.Header, body []byte, secret string)
}

func hubSign(name string) func(http.Header, []byte, string) {
	return func(h http.Header, body []byte, secret string) {
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write(body)
		h.Set(name, "sha256="+hex.EncodeToString(mac.Sum(nil)))
	}
}

func gitlabSign(h http.Header, _ []byte, secret string) { h.Set("X-Gitlab-Token", secret) }

// TestNativeHooksEndToEnd: real HTTP into a daemon's hooks listener.
// GitHub's, GitLab's and Jira's sample payloads, signed as each tool signs
// them, are answered ok and appear on the other member as the hook's app
// message, with the text the receiver renders; the same bodies with a
// wrong secret are answered 401 invalid_signature and post nothing.
func TestNativeHooksEndToEnd(t *testing.T) {
	alice, bob := hookPair(t, "")
	const secret = "the team's shared webhook secret"
	urls := map[string]string{}
	for _, kind := range []string{"github", "gitlab", "jira"} {
		h := createHook(t, alice, "#dev", "--name", kind+"-bot", "--"+kind, "--secret", secret)
		if h.Kind != kind || !strings.HasPrefix(h.URL, "http://127.0.0.1:") || h.Secret != secret {
			t.Fatalf("webhook create --%s: got %+v", kind, h)
		}
		urls[kind] = h.URL
	}

	samples := []nativeSample{
		{"github", "push.branch.json", map[string]string{"X-GitHub-Event": "push"}, hubSign("X-Hub-Signature-256")},
		{"github", "pull_request.opened.json", map[string]string{"X-GitHub-Event": "pull_request"}, hubSign("X-Hub-Signature-256")},
		{"github", "issue_comment.created.json", map[string]string{"X-GitHub-Event": "issue_comment"}, hubSign("X-Hub-Signature-256")},
		{"github", "workflow_run.completed.json", map[string]string{"X-GitHub-Event": "workflow_run"}, hubSign("X-Hub-Signature-256")},
		{"github", "star.created.json", map[string]string{"X-GitHub-Event": "star"}, hubSign("X-Hub-Signature-256")}, // not a common event: a one-line summary
		{"gitlab", "merge_request.json", map[string]string{"X-Gitlab-Event": "Merge Request Hook"}, gitlabSign},
		{"gitlab", "pipeline.json", map[string]string{"X-Gitlab-Event": "Pipeline Hook"}, gitlabSign},
		{"jira", "issue_created.json", nil, hubSign("X-Hub-Signature")},
		{"jira", "issue_updated.json", nil, hubSign("X-Hub-Signature")},
	}

	var want []hooks.Message
	for _, s := range samples {
		body, err := os.ReadFile(filepath.Join("..", "hooks", "testdata", s.kind, s.file))
		if err != nil {
			t.Fatal(err)
		}
		h := http.Header{"Content-Type": {"application/json"}}
		for k, v := range s.header {
			h.Set(k, v)
		}

		// A wrong secret first: refused, nothing posted.
		bad := h.Clone()
		s.sign(bad, body, "not the secret")
		if code, answer := signedPost(t, urls[s.kind], bad, body); code != http.StatusUnauthorized || answer != "invalid_signature" {
			t.Fatalf("%s/%s with a wrong secret: got %d %q, want 401 invalid_signature", s.kind, s.file, code, answer)
		}

		s.sign(h, body, secret)
		if code, answer := signedPost(t, urls[s.kind], h, body); code != http.StatusOK || answer != "ok" {
			t.Fatalf("%s/%s signed: got %d %q, want 200 ok", s.kind, s.file, code, answer)
		}
		// What the hook posts: the receiver's payload, rendered as the
		// listener renders it.
		p, err := hooks.ReceiverFor(s.kind).Payload(h, body)
		if err != nil {
			t.Fatalf("%s/%s: %v", s.kind, s.file, err)
		}
		m, err := hooks.Render(p, chat.MaxRichLen)
		if err != nil {
			t.Fatalf("%s/%s: %v", s.kind, s.file, err)
		}
		want = append(want, m)
	}

	// Bob holds exactly the signed ones, in order, each from its hook.
	waitUntil(t, 30*time.Second, "the signed payloads on bob", func() bool { return len(appHistory(t, bob)) >= len(samples) })
	got := appHistory(t, bob)
	if len(got) != len(samples) {
		t.Fatalf("bob holds %d app messages, want %d (the wrongly signed posted something?)", len(got), len(samples))
	}
	for i, s := range samples {
		if got[i].App != s.kind+"-bot" || got[i].Text != want[i].Text || got[i].From != alice.Identity().PeerID {
			t.Errorf("%s/%s on bob: got app %q from %s, text %q; want app %q from alice, text %q", s.kind, s.file, got[i].App, got[i].From, got[i].Text, s.kind+"-bot", want[i].Text)
		}
		if !strings.Contains(got[i].Text, "http") {
			t.Errorf("%s/%s on bob: %q has no link", s.kind, s.file, got[i].Text)
		}
	}
}

// signedPost POSTs body with header h and returns the status and answer.
func signedPost(t *testing.T, u string, h http.Header, body []byte) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, u, strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = h
	req.Close = true // no idle connection outlives the test
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", u, err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("POST %s: reading the answer: %v", u, err)
	}
	return resp.StatusCode, string(b)
}
