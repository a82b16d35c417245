package hooks

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
)

// jiraReceiver is the native receiver of Jira Cloud's admin webhooks.
// Atlassian's "Webhooks" page for Jira Cloud (developer.atlassian.com/
// cloud/jira/platform/webhooks, section "Secure admin webhooks") says a
// webhook registered with a secret is signed like a WebSub hub signs:
// X-Hub-Signature is "sha256=" and the hex HMAC-SHA256 of the raw body
// keyed with the secret ("method=signature"). The event is the body's
// webhookEvent ("jira:issue_updated"); webhooks registered by Connect or
// OAuth apps are not signed this way and so are refused.
type jiraReceiver struct{}

func init() { receivers["jira"] = jiraReceiver{} }

// Verify checks X-Hub-Signature.
func (jiraReceiver) Verify(h http.Header, body []byte, secret string) error {
	return verifyHubSignature(h, "X-Hub-Signature", body, secret)
}

type jiraUser struct {
	DisplayName string `json:"displayName"`
	Name        string `json:"name"`
}

func (u *jiraUser) String() string {
	switch {
	case u == nil:
		return ""
	case u.DisplayName != "":
		return u.DisplayName
	}
	return u.Name
}

type jiraNamed struct {
	Name string `json:"name"`
}

type jiraEvent struct {
	WebhookEvent       string    `json:"webhookEvent"`
	IssueEventTypeName string    `json:"issue_event_type_name"`
	User               *jiraUser `json:"user"`
	Issue              *struct {
		Self   string `json:"self"`
		Key    string `json:"key"`
		Fields struct {
			Summary   string     `json:"summary"`
			IssueType *jiraNamed `json:"issuetype"`
			Status    *jiraNamed `json:"status"`
			Priority  *jiraNamed `json:"priority"`
			Assignee  *jiraUser  `json:"assignee"`
			Project   *struct {
				Key  string `json:"key"`
				Name string `json:"name"`
			} `json:"project"`
		} `json:"fields"`
	} `json:"issue"`
	Changelog *struct {
		Items []struct {
			Field      string `json:"field"`
			FromString string `json:"fromString"`
			ToString   string `json:"toString"`
		} `json:"items"`
	} `json:"changelog"`
	Comment *struct {
		ID     string          `json:"id"`
		Self   string          `json:"self"`
		Body   json.RawMessage `json:"body"`
		Author *jiraUser       `json:"author"`
	} `json:"comment"`
}

// Payload renders jira:issue_created, jira:issue_updated (status and
// assignee changes, other fields by name, and a comment added with the
// update) and comment_created / comment_updated; any other event is a
// one-line summary.
func (jiraReceiver) Payload(_ http.Header, body []byte) (Payload, error) {
	if err := checkJSON(body); err != nil {
		return Payload{}, err
	}
	var e jiraEvent
	_ = json.Unmarshal(body, &e) // as in githubReceiver.Payload: read what has the expected shape
	var p Payload
	ok := false
	switch e.WebhookEvent {
	case "jira:issue_created":
		p, ok = e.created()
	case "jira:issue_updated":
		p, ok = e.updated()
	case "comment_created", "comment_updated":
		p, ok = e.commented(e.WebhookEvent == "comment_updated")
	}
	if !ok {
		return summary("Jira", e.WebhookEvent, "", "", e.project(), e.User.String()), nil
	}
	return p, nil
}

// browseURL is the issue's page: its REST address ("…/rest/api/2/issue/
// 10001") turned into "…/browse/KEY" on the same site.
func (e *jiraEvent) browseURL() string {
	if e.Issue == nil || e.Issue.Key == "" {
		return ""
	}
	u, err := url.Parse(e.Issue.Self)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return ""
	}
	base, _, _ := strings.Cut(u.Path, "/rest/")
	return u.Scheme + "://" + u.Host + base + "/browse/" + url.PathEscape(e.Issue.Key)
}

// project is the issue's project key.
func (e *jiraEvent) project() string {
	if e.Issue == nil {
		return ""
	}
	if p := e.Issue.Fields.Project; p != nil && p.Key != "" {
		return p.Key
	}
	key, _, _ := strings.Cut(e.Issue.Key, "-")
	return key
}

func (e *jiraEvent) prefix() string {
	if p := e.project(); p != "" {
		return "[" + mdText(p, 80) + "] "
	}
	return ""
}

func (e *jiraEvent) who() string {
	if u := e.User.String(); u != "" {
		return mdText(u, 80)
	}
	return "someone"
}

// issueLink is <browse|KEY-1 Summary>.
func (e *jiraEvent) issueLink(link string) string {
	return mdLink(link, e.Issue.Key+" "+oneLine(e.Issue.Fields.Summary))
}

func (e *jiraEvent) created() (Payload, bool) {
	if e.Issue == nil || e.Issue.Key == "" {
		return Payload{}, false
	}
	f := e.Issue.Fields
	kind := "issue"
	if f.IssueType != nil && f.IssueType.Name != "" {
		kind = strings.ToLower(f.IssueType.Name)
	}
	var fields []Field
	if f.Status != nil && f.Status.Name != "" {
		fields = append(fields, Field{Title: "Status", Value: mdText(f.Status.Name, 80), Short: true})
	}
	if f.Priority != nil && f.Priority.Name != "" {
		fields = append(fields, Field{Title: "Priority", Value: mdText(f.Priority.Name, 80), Short: true})
	}
	fields = append(fields, Field{Title: "Assignee", Value: mdText(orUnassigned(f.Assignee.String()), 80), Short: true})
	link := e.browseURL()
	label := e.Issue.Key + " " + oneLine(f.Summary)
	return Payload{
		Text: e.prefix() + e.who() + " created " + mdText(kind, 40) + " " + e.issueLink(link),
		Attachments: []Attachment{{
			Fallback: mdText(label, maxTitle),
			Color:    colorOpen,
			Fields:   fields,
		}},
	}, true
}

func orUnassigned(s string) string {
	if s == "" {
		return "Unassigned"
	}
	return s
}

func (e *jiraEvent) updated() (Payload, bool) {
	if e.Issue == nil || e.Issue.Key == "" {
		return Payload{}, false
	}
	link := e.browseURL()
	var fields []Field
	var status string
	if e.Changelog != nil {
		for _, it := range e.Changelog.Items {
			if len(fields) == maxCommits {
				break
			}
			from, to := orDash(it.FromString), orDash(it.ToString)
			switch strings.ToLower(it.Field) {
			case "status":
				status = it.ToString
				fields = append(fields, Field{Title: "Status", Value: mdText(from+" → "+to, maxTitle)})
			case "assignee":
				if it.FromString == "" {
					from = "Unassigned"
				}
				if it.ToString == "" {
					to = "Unassigned"
				}
				fields = append(fields, Field{Title: "Assignee", Value: mdText(from+" → "+to, maxTitle)})
			case "description":
				fields = append(fields, Field{Title: "Description", Value: "changed"})
			default:
				fields = append(fields, Field{Title: mdText(it.Field, 60), Value: mdText(from+" → "+to, maxTitle)})
			}
		}
	}
	if e.Comment != nil && len(fields) == 0 {
		return e.commented(false)
	}
	verb := " updated "
	if status != "" {
		verb = " moved "
	}
	text := e.prefix() + e.who() + verb + e.issueLink(link)
	if status != "" {
		text += " to *" + mdText(status, 80) + "*"
	}
	p := Payload{Text: text}
	att := Attachment{Fallback: mdText(e.Issue.Key+" "+oneLine(e.Issue.Fields.Summary), maxTitle), Fields: fields, MrkdwnIn: []string{"text"}}
	if e.Comment != nil {
		att.Text = mdExcerpt(jiraText(e.Comment.Body))
	}
	if len(att.Fields) > 0 || att.Text != "" {
		p.Attachments = []Attachment{att}
	}
	return p, true
}

func (e *jiraEvent) commented(edited bool) (Payload, bool) {
	if e.Comment == nil {
		return Payload{}, false
	}
	who := e.who()
	if a := e.Comment.Author.String(); a != "" {
		who = mdText(a, 80)
	}
	verb := " commented on "
	if edited {
		verb = " edited a comment on "
	}
	target := "an issue"
	if e.Issue != nil && e.Issue.Key != "" {
		link := e.browseURL()
		if link != "" && e.Comment.ID != "" {
			link += "?focusedCommentId=" + url.QueryEscape(e.Comment.ID)
		}
		target = e.issueLink(link)
	}
	p := Payload{Text: e.prefix() + who + verb + target}
	body := jiraText(e.Comment.Body)
	if ex := mdExcerpt(body); ex != "" {
		p.Attachments = []Attachment{{Fallback: mdText(body, maxTitle), Text: ex, MrkdwnIn: []string{"text"}}}
	}
	return p, true
}

// jiraText is a comment's text: the string Jira sends in its REST v2
// webhooks, or the text nodes of an Atlassian Document Format body.
func jiraText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var doc adfNode
	if json.Unmarshal(raw, &doc) != nil {
		return ""
	}
	var b strings.Builder
	doc.text(&b, 0)
	return b.String()
}

// adfNode is a node of an Atlassian Document Format document.
type adfNode struct {
	Type    string    `json:"type"`
	Text    string    `json:"text"`
	Content []adfNode `json:"content"`
}

// text writes the node's text, a line per paragraph; depth bounds the
// recursion (the decoder already bounds nesting, this bounds the output).
func (n *adfNode) text(b *strings.Builder, depth int) {
	if depth > 32 || b.Len() > 4*maxExcerpt {
		return
	}
	b.WriteString(n.Text)
	if n.Type == "hardBreak" {
		b.WriteByte('\n')
	}
	for i := range n.Content {
		n.Content[i].text(b, depth+1)
	}
	switch n.Type {
	case "paragraph", "heading", "codeBlock", "listItem":
		b.WriteByte('\n')
	}
}
