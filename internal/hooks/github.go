package hooks

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// githubReceiver is the native receiver of GitHub's webhooks
// (docs.github.com, "Webhook events and payloads" and "Validating webhook
// deliveries"): X-Hub-Signature-256 is "sha256=" and the hex
// HMAC-SHA256 of the raw body keyed with the hook's secret; the event's
// name is in X-GitHub-Event. A hook set to the form content type sends
// the JSON as the form field "payload"; both are read.
type githubReceiver struct{}

func init() { receivers["github"] = githubReceiver{} }

// Verify checks X-Hub-Signature-256.
func (githubReceiver) Verify(h http.Header, body []byte, secret string) error {
	return verifyHubSignature(h, "X-Hub-Signature-256", body, secret)
}

// ghUser is the part of a GitHub account an event names.
type ghUser struct {
	Login   string `json:"login"`
	HTMLURL string `json:"html_url"`
}

type ghRepo struct {
	FullName string `json:"full_name"`
	HTMLURL  string `json:"html_url"`
}

type ghCommit struct {
	ID      string `json:"id"`
	Message string `json:"message"`
	URL     string `json:"url"`
	Author  struct {
		Name     string `json:"name"`
		Username string `json:"username"`
	} `json:"author"`
}

// ghEvent holds the fields of every event this receiver renders; an
// event fills the ones it has.
type ghEvent struct {
	Action       string  `json:"action"`
	Sender       ghUser  `json:"sender"`
	Repository   *ghRepo `json:"repository"`
	Organization *struct {
		Login string `json:"login"`
	} `json:"organization"`
	// push
	Ref     string     `json:"ref"`
	Created bool       `json:"created"`
	Deleted bool       `json:"deleted"`
	Forced  bool       `json:"forced"`
	Compare string     `json:"compare"`
	Commits []ghCommit `json:"commits"`
	// pull_request, issues, issue_comment
	PullRequest *ghIssue `json:"pull_request"`
	Issue       *ghIssue `json:"issue"`
	Comment     *struct {
		Body    string `json:"body"`
		HTMLURL string `json:"html_url"`
	} `json:"comment"`
	// release
	Release *struct {
		TagName    string `json:"tag_name"`
		Name       string `json:"name"`
		HTMLURL    string `json:"html_url"`
		Prerelease bool   `json:"prerelease"`
	} `json:"release"`
	// workflow_run
	WorkflowRun *struct {
		Name       string `json:"name"`
		RunNumber  int    `json:"run_number"`
		HeadBranch string `json:"head_branch"`
		Event      string `json:"event"`
		Status     string `json:"status"`
		Conclusion string `json:"conclusion"`
		HTMLURL    string `json:"html_url"`
	} `json:"workflow_run"`
	// Workflow is an object in workflow_run, a path in workflow_dispatch.
	Workflow json.RawMessage `json:"workflow"`
	// ping
	Zen string `json:"zen"`
}

// ghIssue is an issue or a pull request.
type ghIssue struct {
	Number  int    `json:"number"`
	Title   string `json:"title"`
	Body    string `json:"body"`
	HTMLURL string `json:"html_url"`
	User    ghUser `json:"user"`
	Merged  bool   `json:"merged"`
	Head    struct {
		Ref string `json:"ref"`
	} `json:"head"`
	Base struct {
		Ref string `json:"ref"`
	} `json:"base"`
	// PullRequest is set on an issue that is a pull request.
	PullRequest *struct{} `json:"pull_request"`
}

// Payload renders push, pull_request, issues, issue_comment, release,
// workflow_run and ping; any other event is a one-line summary.
func (githubReceiver) Payload(h http.Header, body []byte) (Payload, error) {
	if isForm(h) {
		if v, err := url.ParseQuery(string(body)); err == nil && v.Has("payload") {
			body = []byte(v.Get("payload"))
		}
	}
	if err := checkJSON(body); err != nil {
		return Payload{}, err
	}
	name := h.Get("X-GitHub-Event")
	var e ghEvent
	// A field of another shape than this receiver reads is skipped and
	// the rest still read (encoding/json goes on after a type error);
	// what is missing makes a one-line summary below.
	_ = json.Unmarshal(body, &e)
	var p Payload
	ok := false
	switch name {
	case "push":
		p, ok = e.push()
	case "pull_request":
		p, ok = e.pullRequest()
	case "issues":
		p, ok = e.issues()
	case "issue_comment":
		p, ok = e.issueComment()
	case "release":
		p, ok = e.release()
	case "workflow_run":
		p, ok = e.workflowRun()
	case "ping":
		p, ok = e.ping()
	}
	if !ok {
		whereURL, where := e.where()
		return summary("GitHub", name, e.Action, whereURL, where, e.Sender.Login), nil
	}
	return p, nil
}

// isForm reports whether the body is form-encoded.
func isForm(h http.Header) bool {
	ct := strings.ToLower(h.Get("Content-Type"))
	return strings.HasPrefix(ct, "application/x-www-form-urlencoded")
}

// where is the repository, or else the organization, the event is about.
func (e *ghEvent) where() (string, string) {
	switch {
	case e.Repository != nil && e.Repository.FullName != "":
		return e.Repository.HTMLURL, e.Repository.FullName
	case e.Organization != nil && e.Organization.Login != "":
		return "https://github.com/" + url.PathEscape(e.Organization.Login), e.Organization.Login
	}
	return "", ""
}

// prefix is the "[owner/repo] " that starts each rendered line (not a
// link: the line links what it is about).
func (e *ghEvent) prefix() string {
	if _, name := e.where(); name != "" {
		return "[" + mdText(name, maxTitle) + "] "
	}
	return ""
}

func (e *ghEvent) who() string {
	if e.Sender.Login == "" {
		return "someone"
	}
	return mdText(e.Sender.Login, 80)
}

func (e *ghEvent) push() (Payload, bool) {
	if e.Ref == "" {
		return Payload{}, false
	}
	kind, name := "branch", strings.TrimPrefix(e.Ref, "refs/heads/")
	if tag, ok := strings.CutPrefix(e.Ref, "refs/tags/"); ok {
		kind, name = "tag", tag
	}
	ref := "`" + mdText(strings.ReplaceAll(name, "`", "'"), maxTitle) + "`"
	switch {
	case e.Deleted:
		return Payload{Text: e.prefix() + e.who() + " deleted " + kind + " " + ref}, true
	case e.Created && len(e.Commits) == 0:
		return Payload{Text: e.prefix() + e.who() + " created " + kind + " " + refLink(e.Compare, name)}, true
	}
	verb := " pushed "
	if e.Forced {
		verb = " force-pushed "
	}
	text := e.prefix() + e.who() + verb + mdLink(e.Compare, plural(len(e.Commits), "commit")) + " to " + ref
	p := Payload{Text: text}
	if len(e.Commits) > 0 {
		var lines []string
		for i, c := range e.Commits {
			if i == maxCommits {
				lines = append(lines, "… and "+plural(len(e.Commits)-maxCommits, "more commit"))
				break
			}
			author := c.Author.Username
			if author == "" {
				author = c.Author.Name
			}
			line := mdLink(c.URL, shortSHA(c.ID)) + " " + mdText(c.Message, 100)
			if author != "" {
				line += " — " + mdText(author, 60)
			}
			lines = append(lines, line)
		}
		p.Attachments = []Attachment{{
			Fallback: plural(len(e.Commits), "commit") + " to " + mdText(name, maxTitle),
			Text:     strings.Join(lines, "\n"),
			MrkdwnIn: []string{"text"},
		}}
	}
	return p, true
}

// refLink is a branch or tag: a link to it when there is one (a link's
// label is not formatted, so no code span), else the name as code.
func refLink(url, name string) string {
	if linkable(url) {
		return mdLink(url, name)
	}
	return "`" + mdText(strings.ReplaceAll(name, "`", "'"), maxTitle) + "`"
}

// issueLabel is "#12 Title".
func issueLabel(n int, title string) string {
	return "#" + strconv.Itoa(n) + " " + oneLine(title)
}

// stateColor is the side bar of an issue or pull request after action.
func stateColor(action string) string {
	switch action {
	case "opened", "reopened", "open", "reopen":
		return colorOpen
	case "merged", "merge":
		return colorMerged
	case "closed", "close":
		return colorClosed
	}
	return ""
}

func (e *ghEvent) pullRequest() (Payload, bool) {
	pr := e.PullRequest
	if pr == nil || e.Action == "" {
		return Payload{}, false
	}
	action := e.Action
	switch {
	case action == "closed" && pr.Merged:
		action = "merged"
	case action == "synchronize":
		action = "pushed to"
	case action == "review_requested":
		action = "requested a review of"
	case action == "review_request_removed":
		action = "removed a review request from"
	case action == "ready_for_review":
		action = "marked ready for review"
	}
	text := e.prefix() + e.who() + " " + mdText(humanAction(action), 60) + " pull request " +
		mdLink(pr.HTMLURL, issueLabel(pr.Number, pr.Title))
	p := Payload{Text: text}
	if action == "opened" || action == "reopened" || action == "merged" || action == "closed" {
		a := Attachment{
			Fallback: mdText(issueLabel(pr.Number, pr.Title), maxTitle),
			Color:    stateColor(action),
			Fields: []Field{
				{Title: "Author", Value: mdText(pr.User.Login, 80), Short: true},
				{Title: "Branch", Value: mdText(pr.Head.Ref+" → "+pr.Base.Ref, 120), Short: true},
			},
			MrkdwnIn: []string{"text"},
		}
		if action == "opened" {
			a.Text = mdExcerpt(pr.Body)
		}
		p.Attachments = []Attachment{a}
	}
	return p, true
}

func (e *ghEvent) issues() (Payload, bool) {
	is := e.Issue
	if is == nil || e.Action == "" {
		return Payload{}, false
	}
	text := e.prefix() + e.who() + " " + mdText(humanAction(e.Action), 60) + " issue " +
		mdLink(is.HTMLURL, issueLabel(is.Number, is.Title))
	p := Payload{Text: text}
	if e.Action == "opened" {
		p.Attachments = []Attachment{{
			Fallback: mdText(issueLabel(is.Number, is.Title), maxTitle),
			Color:    colorOpen,
			Text:     mdExcerpt(is.Body),
			MrkdwnIn: []string{"text"},
		}}
	}
	return p, true
}

func (e *ghEvent) issueComment() (Payload, bool) {
	is, c := e.Issue, e.Comment
	if is == nil || c == nil {
		return Payload{}, false
	}
	what := "issue"
	if is.PullRequest != nil {
		what = "pull request"
	}
	verb := "commented on "
	switch e.Action {
	case "edited":
		verb = "edited a comment on "
	case "deleted":
		verb = "deleted a comment on "
	}
	link := c.HTMLURL
	if link == "" {
		link = is.HTMLURL
	}
	p := Payload{Text: e.prefix() + e.who() + " " + verb + what + " " + mdLink(link, issueLabel(is.Number, is.Title))}
	if e.Action != "deleted" {
		if ex := mdExcerpt(c.Body); ex != "" {
			p.Attachments = []Attachment{{Fallback: mdText(c.Body, maxTitle), Text: ex, MrkdwnIn: []string{"text"}}}
		}
	}
	return p, true
}

func (e *ghEvent) release() (Payload, bool) {
	r := e.Release
	if r == nil || e.Action == "" {
		return Payload{}, false
	}
	label := r.Name
	if strings.TrimSpace(label) == "" {
		label = r.TagName
	}
	kind := "release "
	if r.Prerelease {
		kind = "pre-release "
	}
	return Payload{Text: e.prefix() + e.who() + " " + mdText(humanAction(e.Action), 60) + " " + kind + mdLink(r.HTMLURL, label)}, true
}

func (e *ghEvent) workflowRun() (Payload, bool) {
	r := e.WorkflowRun
	if r == nil {
		return Payload{}, false
	}
	name := r.Name
	if strings.TrimSpace(name) == "" {
		var w struct {
			Name string `json:"name"`
		}
		if json.Unmarshal(e.Workflow, &w) == nil {
			name = w.Name
		}
	}
	if strings.TrimSpace(name) == "" {
		name = "workflow"
	}
	if r.RunNumber > 0 {
		name += " #" + strconv.Itoa(r.RunNumber)
	}
	state, color := r.Status, ""
	if r.Status == "completed" || e.Action == "completed" {
		state, color = runConclusion(r.Conclusion)
	} else if e.Action == "requested" {
		state = "started"
	} else if e.Action == "in_progress" {
		state = "is running"
	}
	text := e.prefix() + "Workflow " + mdLink(r.HTMLURL, name) + " " + mdText(state, 40)
	if r.HeadBranch != "" {
		text += " on `" + mdText(strings.ReplaceAll(r.HeadBranch, "`", "'"), maxTitle) + "`"
	}
	p := Payload{Text: text}
	if color != "" {
		fields := []Field{{Title: "Conclusion", Value: mdText(orDash(r.Conclusion), 40), Short: true}}
		if r.HeadBranch != "" {
			fields = append(fields, Field{Title: "Branch", Value: mdText(r.HeadBranch, maxTitle), Short: true})
		}
		if r.Event != "" {
			fields = append(fields, Field{Title: "Trigger", Value: mdText(r.Event, 40), Short: true})
		}
		p.Attachments = []Attachment{{
			Fallback: mdText(name+" "+state, maxTitle),
			Color:    color,
			Fields:   fields,
		}}
	}
	return p, true
}

// runConclusion words a finished run's conclusion and picks its color.
func runConclusion(c string) (string, string) {
	switch c {
	case "success":
		return "succeeded", colorGood
	case "failure":
		return "failed", colorDanger
	case "timed_out":
		return "timed out", colorDanger
	case "startup_failure":
		return "failed to start", colorDanger
	case "action_required":
		return "needs action", colorWarning
	case "cancelled":
		return "was cancelled", colorNeutral
	case "skipped", "neutral", "stale":
		return "finished (" + c + ")", colorNeutral
	case "":
		return "completed", colorNeutral
	}
	return "finished (" + c + ")", colorNeutral
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

func (e *ghEvent) ping() (Payload, bool) {
	text := e.prefix() + "GitHub webhook is set up"
	if e.Zen != "" {
		text += ": _" + mdText(e.Zen, maxTitle) + "_"
	}
	return Payload{Text: text}, true
}
