package hooks

import (
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"
)

// slackExample is the attachments example of Slack's "Reference:
// secondary message attachments" with blocks from its Block Kit examples.
const slackExample = `{
  "text": "New *deploy* of <https://ci.example/r/42|release 42>",
  "username": "ci-bot",
  "icon_emoji": ":rocket:",
  "attachments": [{
    "fallback": "Plain-text summary of the attachment.",
    "color": "#2eb886",
    "pretext": "Optional text that appears above the attachment block",
    "author_name": "Bobby Tables",
    "author_link": "http://flickr.com/bobby/",
    "author_icon": "http://flickr.com/icons/bobby.jpg",
    "title": "Slack API Documentation",
    "title_link": "https://api.slack.com/",
    "text": "Optional text that appears within the attachment",
    "fields": [{"title": "Priority", "value": "High", "short": false}],
    "image_url": "http://my-website.com/path/to/image.jpg",
    "thumb_url": "javascript:alert(1)",
    "footer": "Slack API",
    "footer_icon": "https://platform.slack-edge.com/img/default_application_icon.png",
    "ts": 123456789
  }],
  "blocks": [
    {"type": "header", "text": {"type": "plain_text", "text": "Budget Performance"}},
    {"type": "section", "text": {"type": "mrkdwn", "text": "Danny Torrence left the following review for your property:"},
     "fields": [{"type": "mrkdwn", "text": "*Type:*\nPaid"}, {"type": "plain_text", "text": "When: Aug 10"}],
     "accessory": {"type": "button", "text": {"type": "plain_text", "text": "View"}, "url": "https://example.com/view"}},
    {"type": "divider"},
    {"type": "context", "elements": [{"type": "image", "image_url": "https://image.freepik.com/cat.jpg", "alt_text": "cute cat"}, {"type": "mrkdwn", "text": "*Cat* has approved this message."}]},
    {"type": "image", "image_url": "https://assets3.thrillist.com/cat.jpg", "alt_text": "inspiration"},
    {"type": "actions", "elements": [{"type": "button", "text": {"type": "plain_text", "text": "Ignored"}}]}
  ]
}`

func TestRenderSlackExample(t *testing.T) {
	p, err := Decode("application/json", []byte(slackExample))
	if err != nil {
		t.Fatal(err)
	}
	m, err := Render(p, 64<<10)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{
		"New deploy of release 42 (https://ci.example/r/42)",
		"Optional text that appears above the attachment block",
		"Bobby Tables (http://flickr.com/bobby/)",
		"Slack API Documentation (https://api.slack.com/)",
		"Optional text that appears within the attachment",
		"Priority: High",
		"http://my-website.com/path/to/image.jpg",
		"Slack API · 1973-11-29 21:33 UTC",
		"Budget Performance",
		"Danny Torrence left the following review for your property:",
		"Type:\nPaid",
		"When: Aug 10",
		"View (https://example.com/view)",
		divider,
		"cute cat · Cat has approved this message.",
		"inspiration (https://assets3.thrillist.com/cat.jpg)",
	}, "\n")
	if m.Text != want {
		t.Errorf("text:\n got %q\nwant %q", m.Text, want)
	}
	if m.Icon != ":rocket:" {
		t.Errorf("icon: got %q, want :rocket:", m.Icon)
	}
	var rich Payload
	if err := json.Unmarshal(m.Rich, &rich); err != nil {
		t.Fatalf("rich is not a payload: %v", err)
	}
	if rich.Attachments[0].ThumbURL != "" || rich.Attachments[0].Color != "#2eb886" || len(rich.Blocks) != 6 {
		t.Errorf("rich: thumb %q color %q %d blocks; want the javascript: link dropped, the rest kept", rich.Attachments[0].ThumbURL, rich.Attachments[0].Color, len(rich.Blocks))
	}
	if strings.Contains(string(m.Rich), "javascript:") {
		t.Error("rich keeps a javascript: link")
	}
}

func TestRenderFallbackAndLimits(t *testing.T) {
	m, err := Render(Payload{Attachments: []Attachment{{Fallback: "only *this*", Color: "danger"}}}, 64<<10)
	if err != nil || m.Text != "only this" {
		t.Errorf("fallback only: got (%q, %v), want the fallback", m.Text, err)
	}
	off := false
	m, _ = Render(Payload{Text: "*raw* <https://x.example|x>", Mrkdwn: &off}, 64<<10)
	if m.Text != "*raw* x (https://x.example)" {
		t.Errorf("mrkdwn off: got %q", m.Text)
	}
	for _, p := range []Payload{{}, {Text: "  \n "}, {Blocks: []Block{{Type: "actions"}}}, {Attachments: []Attachment{{Color: "good"}}}} {
		if _, err := Render(p, 64<<10); !errors.Is(err, ErrNoText) {
			t.Errorf("Render(%+v): got %v, want ErrNoText", p, err)
		}
	}
	m, _ = Render(Payload{Text: strings.Repeat("é", MaxText)}, 100)
	if len(m.Text) > MaxText+len("…") || !strings.HasSuffix(m.Text, "…") || m.Rich != nil {
		t.Errorf("long text: %d bytes, rich %d bytes; want it cut at %d and no rich over the limit", len(m.Text), len(m.Rich), MaxText)
	}
	m, _ = Render(Payload{Text: "x", IconEmoji: "not an emoji", IconURL: "https://icons.example/a.png"}, 64<<10)
	if m.Icon != "https://icons.example/a.png" {
		t.Errorf("icon: got %q, want the icon_url when icon_emoji is not one", m.Icon)
	}
}

func TestDecode(t *testing.T) {
	form := "payload=" + url.QueryEscape(`{"text":"from a form"}`)
	for _, tt := range []struct {
		ct, body, want string
	}{
		{"application/json", `{"text":"hi"}`, "hi"},
		{"application/json; charset=utf-8", `{"text":"hi"}`, "hi"},
		{"application/x-www-form-urlencoded", form, "from a form"},
		{"", `{"text":"no content type"}`, "no content type"},
	} {
		p, err := Decode(tt.ct, []byte(tt.body))
		if err != nil || p.Text != tt.want {
			t.Errorf("Decode(%q, %q): got (%q, %v), want %q", tt.ct, tt.body, p.Text, err, tt.want)
		}
	}
	for _, tt := range []struct{ ct, body string }{
		{"application/json", `{"text":`},
		{"application/json", `[1,2]`},
		{"application/x-www-form-urlencoded", "text=hi"},
		{"application/x-www-form-urlencoded", "payload=%7Bnope"},
		{"application/x-www-form-urlencoded", "payload=%zz"},
	} {
		if _, err := Decode(tt.ct, []byte(tt.body)); !errors.Is(err, ErrInvalidPayload) {
			t.Errorf("Decode(%q, %q): got %v, want ErrInvalidPayload", tt.ct, tt.body, err)
		}
	}
}
