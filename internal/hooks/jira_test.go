package hooks

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

const jiraSecret = "jira-admin-webhook-secret"

func TestJiraVerify(t *testing.T) {
	body := sample(t, "jira", "issue_updated.json")
	good := hubSignature(jiraSecret, body)
	tests := []struct {
		name, header, value string
		body                []byte
		want                error
	}{
		{"signed", "X-Hub-Signature", good, body, nil},
		{"other secret", "X-Hub-Signature", hubSignature("other", body), body, ErrSignatureMismatch},
		{"body changed", "X-Hub-Signature", good, bytes.Replace(body, []byte("In Progress"), []byte("Done"), 1), ErrSignatureMismatch},
		{"GitHub's header name", "X-Hub-Signature-256", good, body, ErrNoSignature},
		{"missing", "X-Other", good, body, ErrNoSignature},
		{"sha1", "X-Hub-Signature", "sha1=" + strings.TrimPrefix(good, "sha256="), body, ErrSignatureMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ReceiverFor("jira").Verify(header(tt.header, tt.value), tt.body, jiraSecret)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestJiraPayload(t *testing.T) {
	const issue = "<https://your-domain.atlassian.net/browse/ED-1|ED-1 Login page throws 500 when the password contains &lt;script&gt;>"
	tests := []struct {
		file string
		want want
	}{
		{"issue_created.json", want{
			text:       []string{"[ED] Mia Krystof created bug " + issue},
			attachment: []string{"Status: To Do", "Priority: Medium", "Assignee: Unassigned"},
			color:      colorOpen,
		}},
		{"issue_updated.json", want{
			text:       []string{"[ED] Emma Richards moved " + issue + " to *In Progress*"},
			attachment: []string{"Status: To Do → In Progress", "Assignee: Unassigned → Emma Richards"},
		}},
		{"issue_commented.json", want{
			text:       []string{"[ED] Mia Krystof commented on <https://your-domain.atlassian.net/browse/ED-1?focusedCommentId=10011|ED-1 Login page"},
			attachment: []string{"Fixed in the next build."},
		}},
		{"comment_created.json", want{
			text:       []string{"[ED] Mia Krystof commented on <https://your-domain.atlassian.net/browse/ED-1?focusedCommentId=10010|ED-1 Login page"},
			attachment: []string{"Reproduced on staging.\nThe stack trace points at the template escaping."},
		}},
		{"worklog_created.json", want{
			text:     []string{"Jira `worklog_created`"},
			noAttach: true,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			body := sample(t, "jira", tt.file)
			h := header("X-Hub-Signature", hubSignature(jiraSecret, body), "Content-Type", "application/json")
			r := ReceiverFor("jira")
			if err := r.Verify(h, body, jiraSecret); err != nil {
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

// TestJiraUnknownEventNamesProject: an event not rendered still says
// which project and who.
func TestJiraUnknownEventNamesProject(t *testing.T) {
	body := bytes.Replace(sample(t, "jira", "issue_created.json"), []byte(`"jira:issue_created"`), []byte(`"jira:issue_deleted"`), 1)
	p, err := ReceiverFor("jira").Payload(header(), body)
	if err != nil {
		t.Fatal(err)
	}
	want{text: []string{"Jira `jira:issue_deleted` on ED by Mia Krystof"}, noAttach: true}.check(t, p)
}

// TestJiraADFComment: a comment body in Atlassian Document Format is read
// as its text.
func TestJiraADFComment(t *testing.T) {
	body := bytes.Replace(sample(t, "jira", "comment_created.json"),
		[]byte(`"body": "Reproduced on staging.\nThe stack trace points at the template escaping."`),
		[]byte(`"body": {"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [{"type": "text", "text": "Reproduced "}, {"type": "text", "text": "on staging.", "marks": [{"type": "strong"}]}]}, {"type": "paragraph", "content": [{"type": "text", "text": "Second paragraph."}]}]}`), 1)
	p, err := ReceiverFor("jira").Payload(header(), body)
	if err != nil {
		t.Fatal(err)
	}
	want{text: []string{"commented on"}, attachment: []string{"Reproduced on staging.\nSecond paragraph."}}.check(t, p)
}
