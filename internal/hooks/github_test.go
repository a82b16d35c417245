package hooks

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const ghSecret = "It's a Secret to Everybody"

// TestGitHubVerifyDocumentedVector: the example in GitHub's "Validating
// webhook deliveries": secret "It's a Secret to Everybody", body
// "Hello, World!".
func TestGitHubVerifyDocumentedVector(t *testing.T) {
	h := header("X-Hub-Signature-256", "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17")
	if err := ReceiverFor("github").Verify(h, []byte("Hello, World!"), ghSecret); err != nil {
		t.Fatalf("documented signature refused: %v", err)
	}
	if err := ReceiverFor("github").Verify(h, []byte("Hello, World?"), ghSecret); !errors.Is(err, ErrSignatureMismatch) {
		t.Fatalf("changed body: got %v, want ErrSignatureMismatch", err)
	}
}

func TestGitHubVerify(t *testing.T) {
	body := sample(t, "github", "pull_request.opened.json")
	good := hubSignature(ghSecret, body)
	tests := []struct {
		name string
		h    map[string]string
		body []byte
		want error
	}{
		{"signed", map[string]string{"X-Hub-Signature-256": good}, body, nil},
		{"upper-case hex", map[string]string{"X-Hub-Signature-256": "sha256=" + strings.ToUpper(strings.TrimPrefix(good, "sha256="))}, body, nil},
		{"other secret", map[string]string{"X-Hub-Signature-256": hubSignature("another secret", body)}, body, ErrSignatureMismatch},
		{"body changed", map[string]string{"X-Hub-Signature-256": good}, bytes.Replace(body, []byte("opened"), []byte("closed"), 1), ErrSignatureMismatch},
		{"missing", map[string]string{}, body, ErrNoSignature},
		{"only the SHA-1 header", map[string]string{"X-Hub-Signature": good}, body, ErrNoSignature},
		{"sha1 method", map[string]string{"X-Hub-Signature-256": "sha1=" + strings.TrimPrefix(good, "sha256=")}, body, ErrSignatureMismatch},
		{"not hex", map[string]string{"X-Hub-Signature-256": "sha256=zz"}, body, ErrSignatureMismatch},
		{"truncated", map[string]string{"X-Hub-Signature-256": good[:len(good)-2]}, body, ErrSignatureMismatch},
		{"no method", map[string]string{"X-Hub-Signature-256": strings.TrimPrefix(good, "sha256=")}, body, ErrSignatureMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := header()
			for k, v := range tt.h {
				h.Set(k, v)
			}
			err := ReceiverFor("github").Verify(h, tt.body, ghSecret)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestGitHubPayload(t *testing.T) {
	const repo = "[Codertocat/Hello-World] Codertocat"
	tests := []struct {
		file, event string
		want        want
	}{
		{"push.branch.json", "push", want{
			text:       []string{repo + " pushed <https://github.com/Codertocat/Hello-World/commit/6113728f27ae82c7b1a177c8d03f9e96e0adf246|1 commit> to `master`"},
			attachment: []string{"<https://github.com/Codertocat/Hello-World/commit/6113728f27ae82c7b1a177c8d03f9e96e0adf246|6113728> Initial commit — Codertocat"},
		}},
		{"push.tag.json", "push", want{
			text:     []string{repo + " created tag <https://github.com/Codertocat/Hello-World/compare/simple-tag|simple-tag>"},
			noAttach: true,
		}},
		{"pull_request.opened.json", "pull_request", want{
			text:       []string{repo + " opened pull request <https://github.com/Codertocat/Hello-World/pull/2|#2 Update the README with new information.>"},
			attachment: []string{"This is a pretty simple change that we need to pull into master.", "Author: Codertocat", "Branch: changes → master"},
			color:      colorOpen,
		}},
		{"pull_request.closed.json", "pull_request", want{
			text:  []string{"closed pull request <https://github.com/Codertocat/Hello-World/pull/2|#2 Update the README with new information.>"},
			color: colorClosed,
		}},
		{"issues.opened.json", "issues", want{
			text:       []string{repo + " opened issue <https://github.com/Codertocat/Hello-World/issues/1|#1 Spelling error in the README file>"},
			attachment: []string{"spelled 'commit' with two 't's."},
			color:      colorOpen,
		}},
		{"issue_comment.created.json", "issue_comment", want{
			text:       []string{repo + " commented on issue <https://github.com/Codertocat/Hello-World/issues/1#issuecomment-492700400|#1 Spelling error in the README file>"},
			attachment: []string{"You are totally right! I'll get this fixed right away."},
		}},
		{"release.published.json", "release", want{
			text:     []string{repo + " published release <https://github.com/Codertocat/Hello-World/releases/tag/0.0.1|0.0.1>"},
			noAttach: true,
		}},
		{"workflow_run.completed.json", "workflow_run", want{
			text:       []string{"[octo-org/octo-repo] Workflow <https://github.com/octo-org/octo-repo/actions/runs/289782451|test #163> succeeded on `master`"},
			attachment: []string{"Conclusion: success", "Branch: master", "Trigger: repository_dispatch"},
			color:      colorGood,
		}},
		{"ping.json", "ping", want{
			text:     []string{"[Octocoders/Hello-World] GitHub webhook is set up: _Anything added dilutes everything else._"},
			noAttach: true,
		}},
		{"star.created.json", "star", want{
			text:     []string{"GitHub `star` (created) on <https://github.com/Codertocat/Hello-World|Codertocat/Hello-World> by Codertocat"},
			noAttach: true,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			body := sample(t, "github", tt.file)
			h := header("X-GitHub-Event", tt.event, "Content-Type", "application/json", "X-Hub-Signature-256", hubSignature(ghSecret, body))
			r := ReceiverFor("github")
			if err := r.Verify(h, body, ghSecret); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			p, err := r.Payload(h, body)
			if err != nil {
				t.Fatalf("Payload: %v", err)
			}
			tt.want.check(t, p)
		})
	}
}

// TestGitHubMerged: a closed pull request whose merged is true reads as
// merged (GitHub sends action "closed" for both).
func TestGitHubMerged(t *testing.T) {
	body := sample(t, "github", "pull_request.closed.json")
	merged := bytes.Replace(body, []byte(`"merged": false`), []byte(`"merged": true`), 1)
	if bytes.Equal(merged, body) {
		t.Fatal(`sample has no "merged": false`)
	}
	p, err := ReceiverFor("github").Payload(header("X-GitHub-Event", "pull_request"), merged)
	if err != nil {
		t.Fatal(err)
	}
	want{text: []string{"merged pull request <https://github.com/Codertocat/Hello-World/pull/2|#2"}, color: colorMerged}.check(t, p)
}

// TestGitHubFormEncoded: a hook set to application/x-www-form-urlencoded
// sends the JSON as the form field payload, signed as sent.
func TestGitHubFormEncoded(t *testing.T) {
	body := []byte("payload=" + url.QueryEscape(string(sample(t, "github", "issues.opened.json"))))
	h := header("X-GitHub-Event", "issues", "Content-Type", "application/x-www-form-urlencoded", "X-Hub-Signature-256", hubSignature(ghSecret, body))
	r := ReceiverFor("github")
	if err := r.Verify(h, body, ghSecret); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	p, err := r.Payload(h, body)
	if err != nil {
		t.Fatal(err)
	}
	want{text: []string{"opened issue <https://github.com/Codertocat/Hello-World/issues/1|#1 Spelling error"}}.check(t, p)
}

func TestGitHubPushManyCommits(t *testing.T) {
	var e map[string]any
	if err := json.Unmarshal(sample(t, "github", "push.branch.json"), &e); err != nil {
		t.Fatal(err)
	}
	c := e["commits"].([]any)[0]
	var commits []any
	for range 8 {
		commits = append(commits, c)
	}
	e["commits"] = commits
	body, _ := json.Marshal(e)
	p, err := ReceiverFor("github").Payload(header("X-GitHub-Event", "push"), body)
	if err != nil {
		t.Fatal(err)
	}
	want{text: []string{"|8 commits>"}, attachment: []string{"… and 3 more commits"}}.check(t, p)
	if got := strings.Count(p.Attachments[0].Text, "\n") + 1; got != maxCommits+1 {
		t.Errorf("got %d commit lines, want %d and a last line", got, maxCommits)
	}
}

// octokitDir is where .ci/run installs GitHub's npm packages.
var octokitDir = filepath.Join("testdata", "octokit")

// needOctokit skips when node or the packages are missing, except in CI,
// where .ci/run installs them and a missing one is a failure.
func needOctokit(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err == nil {
		_, err = os.Stat(filepath.Join(octokitDir, "node_modules", "@octokit", "webhooks-methods", "package.json"))
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("node or @octokit packages missing in CI: %v", err)
		}
		t.Skipf("needs node and GitHub's @octokit npm packages (npm install --prefix %s): %v", octokitDir, err)
	}
	return node
}

// TestGitHubOctokitSign signs the samples with sign() from GitHub's own
// @octokit/webhooks-methods and checks Verify accepts each signature, and
// refuses it for another secret and for a changed body.
func TestGitHubOctokitSign(t *testing.T) {
	node := needOctokit(t)
	files, err := filepath.Glob(filepath.Join("testdata", "github", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no samples: %v", err)
	}
	abs := make([]string, len(files))
	for i, f := range files {
		abs[i], _ = filepath.Abs(f)
	}
	script := `
import { sign } from "@octokit/webhooks-methods";
import { readFileSync } from "node:fs";
const [secret, ...files] = process.argv.slice(1);
const out = [];
for (const f of files) out.push(await sign(secret, readFileSync(f, "utf8")));
console.log(JSON.stringify(out));
`
	cmd := exec.CommandContext(t.Context(), node, "--input-type=module", "-e", script, ghSecret)
	cmd.Args = append(cmd.Args, abs...)
	cmd.Dir = octokitDir
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v", err)
	}
	var sigs []string
	if err := json.Unmarshal(out, &sigs); err != nil || len(sigs) != len(files) {
		t.Fatalf("node printed %q: %v", out, err)
	}
	r := ReceiverFor("github")
	for i, f := range files {
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		h := header("X-Hub-Signature-256", sigs[i])
		if err := r.Verify(h, body, ghSecret); err != nil {
			t.Errorf("%s: octokit's signature %s refused: %v", f, sigs[i], err)
		}
		if err := r.Verify(h, body, ghSecret+"!"); !errors.Is(err, ErrSignatureMismatch) {
			t.Errorf("%s: other secret: got %v, want ErrSignatureMismatch", f, err)
		}
		if err := r.Verify(h, append(body, ' '), ghSecret); !errors.Is(err, ErrSignatureMismatch) {
			t.Errorf("%s: changed body: got %v, want ErrSignatureMismatch", f, err)
		}
	}
}

// TestGitHubAllOctokitExamples renders every payload GitHub publishes in
// @octokit/webhooks-examples: none is an error, each is one line that
// names the repository (or organization) it came from.
func TestGitHubAllOctokitExamples(t *testing.T) {
	needOctokit(t)
	raw, err := os.ReadFile(filepath.Join(octokitDir, "node_modules", "@octokit", "webhooks-examples", "api.github.com", "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	var index []struct {
		Name     string            `json:"name"`
		Examples []json.RawMessage `json:"examples"`
	}
	if err := json.Unmarshal(raw, &index); err != nil {
		t.Fatal(err)
	}
	r := ReceiverFor("github")
	n := 0
	for _, ev := range index {
		for i, ex := range ev.Examples {
			var where struct {
				Repository *struct {
					FullName string `json:"full_name"`
				} `json:"repository"`
				Organization *struct {
					Login string `json:"login"`
				} `json:"organization"`
			}
			if err := json.Unmarshal(ex, &where); err != nil {
				t.Fatalf("%s[%d]: %v", ev.Name, i, err)
			}
			p, err := r.Payload(header("X-GitHub-Event", ev.Name), ex)
			if err != nil {
				t.Errorf("%s[%d]: %v", ev.Name, i, err)
				continue
			}
			n++
			if p.Text == "" || strings.Contains(p.Text, "\n") {
				t.Errorf("%s[%d]: got text %q, want one line", ev.Name, i, p.Text)
			}
			switch {
			case where.Repository != nil && where.Repository.FullName != "":
				if !strings.Contains(p.Text, where.Repository.FullName) {
					t.Errorf("%s[%d]: text %q does not name %s", ev.Name, i, p.Text, where.Repository.FullName)
				}
			case where.Organization != nil && where.Organization.Login != "":
				if !strings.Contains(p.Text, where.Organization.Login) {
					t.Errorf("%s[%d]: text %q does not name %s", ev.Name, i, p.Text, where.Organization.Login)
				}
			}
		}
	}
	if n < 200 {
		t.Errorf("rendered %d examples, want the package's 250 or so", n)
	}
}
