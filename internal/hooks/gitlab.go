package hooks

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// gitlabReceiver is the native receiver of GitLab's webhooks (GitLab docs,
// "Webhooks" and "Webhook events"): GitLab sends the hook's secret token
// as it is in X-Gitlab-Token, and names the event in X-Gitlab-Event
// ("Push Hook") and the body's object_kind ("push").
type gitlabReceiver struct{}

func init() { receivers["gitlab"] = gitlabReceiver{} }

// Verify checks X-Gitlab-Token against the secret.
func (gitlabReceiver) Verify(h http.Header, _ []byte, secret string) error {
	return verifyToken(h, "X-Gitlab-Token", secret)
}

type glProject struct {
	Name              string `json:"name"`
	WebURL            string `json:"web_url"`
	PathWithNamespace string `json:"path_with_namespace"`
}

type glUser struct {
	Name     string `json:"name"`
	Username string `json:"username"`
}

type glEvent struct {
	ObjectKind string     `json:"object_kind"`
	EventName  string     `json:"event_name"`
	User       *glUser    `json:"user"`
	Project    *glProject `json:"project"`
	// push, tag_push
	Before            string `json:"before"`
	After             string `json:"after"`
	Ref               string `json:"ref"`
	UserName          string `json:"user_name"`
	UserUsername      string `json:"user_username"`
	TotalCommitsCount int    `json:"total_commits_count"`
	Commits           []struct {
		ID      string `json:"id"`
		Message string `json:"message"`
		Title   string `json:"title"`
		URL     string `json:"url"`
		Author  struct {
			Name string `json:"name"`
		} `json:"author"`
	} `json:"commits"`
	// merge_request, issue, pipeline, note
	ObjectAttributes *struct {
		IID          int    `json:"iid"`
		ID           int    `json:"id"`
		Title        string `json:"title"`
		Description  string `json:"description"`
		URL          string `json:"url"`
		Action       string `json:"action"`
		State        string `json:"state"`
		SourceBranch string `json:"source_branch"`
		TargetBranch string `json:"target_branch"`
		Type         string `json:"type"`
		// pipeline
		Ref      string   `json:"ref"`
		Tag      bool     `json:"tag"`
		Status   string   `json:"status"`
		Source   string   `json:"source"`
		Duration *float64 `json:"duration"`
		Name     string   `json:"name"`
		// note
		Note         string `json:"note"`
		NoteableType string `json:"noteable_type"` //nolint:misspell // GitLab's own spelling
	} `json:"object_attributes"`
	Builds []struct {
		Name         string `json:"name"`
		Stage        string `json:"stage"`
		Status       string `json:"status"`
		AllowFailure bool   `json:"allow_failure"`
	} `json:"builds"`
	// note: what was commented on
	MergeRequest *struct {
		IID   int    `json:"iid"`
		Title string `json:"title"`
	} `json:"merge_request"`
	Issue *struct {
		IID   int    `json:"iid"`
		Title string `json:"title"`
	} `json:"issue"`
	Commit *struct {
		ID string `json:"id"`
	} `json:"commit"`
}

// Payload renders push and tag pushes, merge requests, issues (and work
// items), pipelines and comments; any other event is a one-line summary.
func (gitlabReceiver) Payload(h http.Header, body []byte) (Payload, error) {
	if err := checkJSON(body); err != nil {
		return Payload{}, err
	}
	name := h.Get("X-Gitlab-Event")
	var e glEvent
	_ = json.Unmarshal(body, &e) // as in githubReceiver.Payload: read what has the expected shape
	if name == "" {
		name = e.ObjectKind
	}
	var p Payload
	ok := false
	switch e.ObjectKind {
	case "push", "tag_push":
		p, ok = e.push()
	case "merge_request":
		p, ok = e.mergeRequest()
	case "issue", "work_item":
		p, ok = e.issue()
	case "pipeline":
		p, ok = e.pipeline()
	case "note":
		p, ok = e.note()
	}
	if !ok {
		var action string
		if e.ObjectAttributes != nil {
			action = e.ObjectAttributes.Action
		}
		whereURL, where := e.where()
		return summary("GitLab", name, action, whereURL, where, e.actor()), nil
	}
	return p, nil
}

func (e *glEvent) where() (string, string) {
	if e.Project == nil {
		return "", ""
	}
	name := e.Project.PathWithNamespace
	if name == "" {
		name = e.Project.Name
	}
	return e.Project.WebURL, name
}

func (e *glEvent) prefix() string {
	if _, name := e.where(); name != "" {
		return "[" + mdText(name, maxTitle) + "] "
	}
	return ""
}

// actor is the name of who did it.
func (e *glEvent) actor() string {
	switch {
	case e.User != nil && e.User.Name != "":
		return e.User.Name
	case e.User != nil && e.User.Username != "":
		return e.User.Username
	case e.UserName != "":
		return e.UserName
	}
	return e.UserUsername
}

func (e *glEvent) who() string {
	if a := e.actor(); a != "" {
		return mdText(a, 80)
	}
	return "someone"
}

// zeroSHA is the "before" of a new ref and the "after" of a deleted one.
const zeroSHA = "0000000000000000000000000000000000000000"

func (e *glEvent) push() (Payload, bool) {
	if e.Ref == "" {
		return Payload{}, false
	}
	kind, name := "branch", strings.TrimPrefix(e.Ref, "refs/heads/")
	if tag, ok := strings.CutPrefix(e.Ref, "refs/tags/"); ok {
		kind, name = "tag", tag
	}
	web := ""
	if e.Project != nil {
		web = strings.TrimSuffix(e.Project.WebURL, "/")
	}
	ref := "`" + mdText(strings.ReplaceAll(name, "`", "'"), maxTitle) + "`"
	refURL := ""
	if web != "" {
		if kind == "tag" {
			refURL = web + "/-/tags/" + url.PathEscape(name)
		} else {
			refURL = web + "/-/tree/" + url.PathEscape(name)
		}
	}
	switch {
	case e.After == zeroSHA:
		return Payload{Text: e.prefix() + e.who() + " deleted " + kind + " " + ref}, true
	case e.Before == zeroSHA && (kind == "tag" || e.TotalCommitsCount == 0):
		return Payload{Text: e.prefix() + e.who() + " created " + kind + " " + refLink(refURL, name)}, true
	}
	n := e.TotalCommitsCount
	if n < len(e.Commits) {
		n = len(e.Commits)
	}
	compare := refURL
	if web != "" && e.Before != "" && e.Before != zeroSHA && e.After != "" {
		compare = web + "/-/compare/" + url.PathEscape(e.Before) + "..." + url.PathEscape(e.After)
	}
	p := Payload{Text: e.prefix() + e.who() + " pushed " + mdLink(compare, plural(n, "commit")) + " to " + refLink(refURL, name)}
	if len(e.Commits) > 0 {
		var lines []string
		for i, c := range e.Commits {
			if i == maxCommits {
				break
			}
			title := c.Title
			if title == "" {
				title = c.Message
			}
			line := mdLink(c.URL, shortSHA(c.ID)) + " " + mdText(title, 100)
			if c.Author.Name != "" {
				line += " — " + mdText(c.Author.Name, 60)
			}
			lines = append(lines, line)
		}
		if more := n - len(lines); more > 0 {
			lines = append(lines, "… and "+plural(more, "more commit"))
		}
		p.Attachments = []Attachment{{
			Fallback: plural(n, "commit") + " to " + mdText(name, maxTitle),
			Text:     strings.Join(lines, "\n"),
			MrkdwnIn: []string{"text"},
		}}
	}
	return p, true
}

// glVerb words an object_attributes.action: "open" → "opened".
func glVerb(action string) string {
	switch action {
	case "open":
		return "opened"
	case "close":
		return "closed"
	case "reopen":
		return "reopened"
	case "update":
		return "updated"
	case "merge":
		return "merged"
	case "approved":
		return "approved"
	case "unapproved":
		return "unapproved"
	case "approval":
		return "approved"
	case "unapproval":
		return "removed their approval of"
	case "":
		return "updated"
	}
	return humanAction(action)
}

func (e *glEvent) mergeRequest() (Payload, bool) {
	a := e.ObjectAttributes
	if a == nil {
		return Payload{}, false
	}
	label := "!" + strconv.Itoa(a.IID) + " " + oneLine(a.Title)
	p := Payload{Text: e.prefix() + e.who() + " " + glVerb(a.Action) + " merge request " + mdLink(a.URL, label)}
	if a.Action == "open" || a.Action == "reopen" || a.Action == "merge" || a.Action == "close" {
		att := Attachment{
			Fallback: mdText(label, maxTitle),
			Color:    stateColor(a.Action),
			Fields: []Field{
				{Title: "Branch", Value: mdText(a.SourceBranch+" → "+a.TargetBranch, 120), Short: true},
			},
			MrkdwnIn: []string{"text"},
		}
		if a.Action == "open" {
			att.Text = mdExcerpt(a.Description)
		}
		p.Attachments = []Attachment{att}
	}
	return p, true
}

func (e *glEvent) issue() (Payload, bool) {
	a := e.ObjectAttributes
	if a == nil {
		return Payload{}, false
	}
	kind := "issue"
	if e.ObjectKind == "work_item" && a.Type != "" {
		kind = strings.ToLower(a.Type)
	}
	label := "#" + strconv.Itoa(a.IID) + " " + oneLine(a.Title)
	p := Payload{Text: e.prefix() + e.who() + " " + glVerb(a.Action) + " " + mdText(kind, 40) + " " + mdLink(a.URL, label)}
	if a.Action == "open" {
		p.Attachments = []Attachment{{
			Fallback: mdText(label, maxTitle),
			Color:    colorOpen,
			Text:     mdExcerpt(a.Description),
			MrkdwnIn: []string{"text"},
		}}
	}
	return p, true
}

// pipelineStatus words a pipeline's status and picks its color (none
// while it runs).
func pipelineStatus(s string) (string, string) {
	switch s {
	case "success":
		return "passed", colorGood
	case "failed":
		return "failed", colorDanger
	case "canceled", "canceling":
		return "was canceled", colorNeutral
	case "skipped":
		return "was skipped", colorNeutral
	case "manual":
		return "is waiting for a manual action", colorWarning
	case "running":
		return "is running", ""
	case "pending", "created", "waiting_for_resource", "preparing", "scheduled":
		return "is " + humanAction(s), ""
	}
	return humanAction(s), colorNeutral
}

func (e *glEvent) pipeline() (Payload, bool) {
	a := e.ObjectAttributes
	if a == nil || a.Status == "" {
		return Payload{}, false
	}
	state, color := pipelineStatus(a.Status)
	label := "#" + strconv.Itoa(a.ID)
	if a.ID == 0 && a.IID != 0 {
		label = "#" + strconv.Itoa(a.IID)
	}
	text := e.prefix() + "Pipeline " + mdLink(a.URL, label) + " " + mdText(state, 60)
	if a.Ref != "" {
		text += " on `" + mdText(strings.ReplaceAll(a.Ref, "`", "'"), maxTitle) + "`"
	}
	p := Payload{Text: text}
	if color == "" {
		return p, true
	}
	fields := []Field{{Title: "Status", Value: mdText(a.Status, 40), Short: true}}
	if a.Ref != "" {
		fields = append(fields, Field{Title: "Ref", Value: mdText(a.Ref, maxTitle), Short: true})
	}
	if a.Duration != nil && *a.Duration > 0 {
		fields = append(fields, Field{Title: "Duration", Value: strconv.Itoa(int(*a.Duration)) + " s", Short: true})
	}
	// The jobs that failed the pipeline (a passed one may list a failed
	// job too: one retried, or whose failure was allowed).
	var failed []string
	for _, b := range e.Builds {
		if a.Status == "failed" && b.Status == "failed" && !b.AllowFailure {
			failed = append(failed, mdText(b.Name, 80))
		}
	}
	if len(failed) > 0 {
		if len(failed) > maxCommits {
			failed = append(failed[:maxCommits], "…")
		}
		fields = append(fields, Field{Title: "Failed jobs", Value: strings.Join(failed, ", ")})
	}
	p.Attachments = []Attachment{{
		Fallback: mdText("Pipeline "+label+" "+state, maxTitle),
		Color:    color,
		Title:    mdText(a.Name, maxTitle), // "Pipeline for branch: master", when GitLab sends it
		Fields:   fields,
	}}
	return p, true
}

func (e *glEvent) note() (Payload, bool) {
	a := e.ObjectAttributes
	if a == nil {
		return Payload{}, false
	}
	var what string
	switch {
	case a.NoteableType == "MergeRequest" && e.MergeRequest != nil:
		what = "merge request !" + strconv.Itoa(e.MergeRequest.IID) + " " + oneLine(e.MergeRequest.Title)
	case a.NoteableType == "Issue" && e.Issue != nil:
		what = "issue #" + strconv.Itoa(e.Issue.IID) + " " + oneLine(e.Issue.Title)
	case a.NoteableType == "Commit" && e.Commit != nil:
		what = "commit " + shortSHA(e.Commit.ID)
	case a.NoteableType != "":
		what = strings.ToLower(a.NoteableType)
	default:
		return Payload{}, false
	}
	verb := " commented on "
	if a.Action == "update" {
		verb = " edited a comment on "
	}
	p := Payload{Text: e.prefix() + e.who() + verb + mdLink(a.URL, what)}
	if ex := mdExcerpt(a.Note); ex != "" {
		p.Attachments = []Attachment{{Fallback: mdText(a.Note, maxTitle), Text: ex, MrkdwnIn: []string{"text"}}}
	}
	return p, true
}
