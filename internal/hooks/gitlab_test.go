package hooks

import (
	"bytes"
	"errors"
	"net/http"
	"testing"
)

const glSecret = "gitlab-hook-token-1"

func TestGitLabVerify(t *testing.T) {
	body := sample(t, "gitlab", "push.json")
	tests := []struct {
		name string
		h    http.Header
		want error
	}{
		{"token", header("X-Gitlab-Token", glSecret), nil},
		{"other token", header("X-Gitlab-Token", "gitlab-hook-token-2"), ErrSignatureMismatch},
		{"prefix of the token", header("X-Gitlab-Token", glSecret[:5]), ErrSignatureMismatch},
		{"token and more", header("X-Gitlab-Token", glSecret+"x"), ErrSignatureMismatch},
		{"empty token", header("X-Gitlab-Token", ""), ErrSignatureMismatch},
		{"missing", header(), ErrNoSignature},
		{"twice", http.Header{"X-Gitlab-Token": {glSecret, glSecret}}, ErrSignatureMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ReceiverFor("gitlab").Verify(tt.h, body, glSecret)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestGitLabPayload(t *testing.T) {
	tests := []struct {
		file, event string
		want        want
	}{
		{"push.json", "Push Hook", want{
			text: []string{"[mike/diaspora] John Smith pushed",
				"<http://example.com/mike/diaspora/-/compare/95790bf891e76fee5e1747ab589903a6a1f80f22...da1560886d4f094c3e6c9ef40349f7d38b5d27d7|4 commits>",
				"to <http://example.com/mike/diaspora/-/tree/master|master>"},
			attachment: []string{
				"<http://example.com/mike/diaspora/commit/b6568db1bc1dcd7f8b4d5a946b0b91f9dacd7327|b6568db> Update Catalan translation to e38cb41. — Jordi Mallach",
				"|da15608> fixed readme — GitLab dev user",
				"… and 2 more commits"},
		}},
		{"issue.json", "Issue Hook", want{
			text:       []string{"[gitlabhq/gitlab-test] Administrator opened issue <http://example.com/diaspora/issues/23|#23 New API: create/update/delete file>"},
			attachment: []string{"Create new API for manipulations with repository"},
			color:      colorOpen,
		}},
		{"merge_request.json", "Merge Request Hook", want{
			text:       []string{"[gitlabhq/gitlab-test] Administrator opened merge request <http://example.com/diaspora/merge_requests/1|!1 MS-Viewport>"},
			attachment: []string{"Branch: ms-viewport → master"},
			color:      colorOpen,
		}},
		{"pipeline.json", "Pipeline Hook", want{
			text:       []string{"[gitlab-org/gitlab-test] Pipeline <http://example.com/gitlab-org/gitlab-test/-/pipelines/31|#31> passed on `master`"},
			attachment: []string{"Status: success", "Ref: master", "Duration: 63 s", "Pipeline for branch: master"},
			color:      colorGood,
		}},
		{"tag_push.json", "Tag Push Hook", want{
			text:     []string{"[jsmith/example] John Smith created tag <http://example.com/jsmith/example/-/tags/v1.0.0|v1.0.0>"},
			noAttach: true,
		}},
		{"note_issue.json", "Note Hook", want{
			text:       []string{"[gitlab-org/gitlab-test] Administrator commented on <http://example.com/gitlab-org/gitlab-test/issues/17#note_1241|issue #17 test>"},
			attachment: []string{"Hello world"},
		}},
		{"wiki_page.json", "Wiki Page Hook", want{
			text:     []string{"GitLab `Wiki Page Hook` (create) on <http://example.com/root/awesome-project|root/awesome-project> by Administrator"},
			noAttach: true,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			body := sample(t, "gitlab", tt.file)
			h := header("X-Gitlab-Event", tt.event, "X-Gitlab-Token", glSecret, "Content-Type", "application/json")
			r := ReceiverFor("gitlab")
			if err := r.Verify(h, body, glSecret); err != nil {
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

// TestGitLabPipelineFailed: a failed pipeline is red and names the jobs
// that failed it.
func TestGitLabPipelineFailed(t *testing.T) {
	body := bytes.Replace(sample(t, "gitlab", "pipeline.json"), []byte(`"status": "success"`), []byte(`"status": "failed"`), 1)
	p, err := ReceiverFor("gitlab").Payload(header("X-Gitlab-Event", "Pipeline Hook"), body)
	if err != nil {
		t.Fatal(err)
	}
	want{text: []string{"|#31> failed on `master`"}, attachment: []string{"Failed jobs: test-build"}, color: colorDanger}.check(t, p)
}

// TestGitLabMergeRequestMerged: the action "merge" reads as merged.
func TestGitLabMergeRequestMerged(t *testing.T) {
	body := bytes.Replace(sample(t, "gitlab", "merge_request.json"), []byte(`"action": "open"`), []byte(`"action": "merge"`), 1)
	p, err := ReceiverFor("gitlab").Payload(header("X-Gitlab-Event", "Merge Request Hook"), body)
	if err != nil {
		t.Fatal(err)
	}
	want{text: []string{"Administrator merged merge request <http://example.com/diaspora/merge_requests/1|!1 MS-Viewport>"}, color: colorMerged}.check(t, p)
}
