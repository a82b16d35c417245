package hooks

import "encoding/json"

// Payload is the body of a Slack incoming-webhook POST, the format every
// tool already speaks (Mattermost and Zulip accept it too). Only the
// fields Parley renders are named; anything else is ignored. The native
// receivers (GitHub, GitLab, Jira) turn their events into a Payload too,
// so every hook message goes through one renderer.
type Payload struct {
	Text        string       `json:"text,omitempty"` // Slack mrkdwn
	Username    string       `json:"username,omitempty"`
	IconEmoji   string       `json:"icon_emoji,omitempty"`
	IconURL     string       `json:"icon_url,omitempty"`
	Attachments []Attachment `json:"attachments,omitempty"`
	Blocks      []Block      `json:"blocks,omitempty"`
	// Mrkdwn false turns formatting off for Text (Slack's "mrkdwn": false).
	Mrkdwn *bool `json:"mrkdwn,omitempty"`
}

// Attachment is a Slack "secondary attachment": a card with a colored
// side bar.
type Attachment struct {
	Fallback   string  `json:"fallback,omitempty"`
	Color      string  `json:"color,omitempty"` // "good", "warning", "danger" or "#RRGGBB"
	Pretext    string  `json:"pretext,omitempty"`
	AuthorName string  `json:"author_name,omitempty"`
	AuthorLink string  `json:"author_link,omitempty"`
	AuthorIcon string  `json:"author_icon,omitempty"`
	Title      string  `json:"title,omitempty"`
	TitleLink  string  `json:"title_link,omitempty"`
	Text       string  `json:"text,omitempty"`
	Fields     []Field `json:"fields,omitempty"`
	ImageURL   string  `json:"image_url,omitempty"`
	ThumbURL   string  `json:"thumb_url,omitempty"`
	Footer     string  `json:"footer,omitempty"`
	FooterIcon string  `json:"footer_icon,omitempty"`
	// Ts is seconds since the epoch; Slack sends it as a number or a string.
	Ts json.Number `json:"ts,omitempty"`
	// MrkdwnIn names the fields formatted as mrkdwn ("text", "pretext", "fields").
	MrkdwnIn []string `json:"mrkdwn_in,omitempty"`
	Blocks   []Block  `json:"blocks,omitempty"`
}

// Field is one title/value pair of an attachment; Short ones may sit side
// by side.
type Field struct {
	Title string `json:"title,omitempty"`
	Value string `json:"value,omitempty"`
	Short bool   `json:"short,omitempty"`
}

// Block is one of Slack's layout blocks. The common ones are rendered:
// section (text, fields, accessory image), header, context (elements),
// divider, image (shown as a link) and rich_text as its plain text.
// Others are skipped.
type Block struct {
	Type     string       `json:"type"`
	BlockID  string       `json:"block_id,omitempty"`
	Text     *TextObject  `json:"text,omitempty"`
	Fields   []TextObject `json:"fields,omitempty"`
	Elements []Element    `json:"elements,omitempty"` // context: text objects and images
	// Image block.
	ImageURL string      `json:"image_url,omitempty"`
	AltText  string      `json:"alt_text,omitempty"`
	Title    *TextObject `json:"title,omitempty"`
	// Accessory of a section (an image or a button).
	Accessory *Element `json:"accessory,omitempty"`
}

// TextObject is Slack's text object: "plain_text" or "mrkdwn".
type TextObject struct {
	Type  string `json:"type"`
	Text  string `json:"text"`
	Emoji bool   `json:"emoji,omitempty"`
}

// Element is an element of a context block or a section's accessory:
// a text object, an image, or a button (rendered as its text and URL).
type Element struct {
	Type     string          `json:"type"`
	Text     json.RawMessage `json:"text,omitempty"` // a string for text objects, an object for buttons
	ImageURL string          `json:"image_url,omitempty"`
	AltText  string          `json:"alt_text,omitempty"`
	URL      string          `json:"url,omitempty"`
}
