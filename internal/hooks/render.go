package hooks

import (
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Errors of Decode and Render, named as Slack names them in its answers.
var (
	// ErrInvalidPayload: the body is not a Slack payload (malformed JSON,
	// a form without payload=).
	ErrInvalidPayload = errors.New("invalid_payload")
	// ErrNoText: the payload has nothing to show.
	ErrNoText = errors.New("no_text")
)

// MaxText bounds a hook message's plain text in bytes; longer text is
// cut there (Slack truncates text past 40,000 characters too).
const MaxText = 40000

// Decode reads a Slack incoming-webhook body: JSON, or a form with the
// JSON in its payload field (application/x-www-form-urlencoded), as
// contentType says. Anything else is ErrInvalidPayload.
func Decode(contentType string, body []byte) (Payload, error) {
	mt, _, _ := mime.ParseMediaType(contentType)
	if mt == "application/x-www-form-urlencoded" {
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return Payload{}, fmt.Errorf("%w: form: %v", ErrInvalidPayload, err)
		}
		if !form.Has("payload") {
			return Payload{}, fmt.Errorf("%w: a form posts its JSON in payload=", ErrInvalidPayload)
		}
		body = []byte(form.Get("payload"))
	}
	var p Payload
	if err := json.Unmarshal(body, &p); err != nil {
		return Payload{}, fmt.Errorf("%w: %v", ErrInvalidPayload, err)
	}
	return p, nil
}

// Message is what a payload posts: its plain text, the icon, and the
// sanitised payload as JSON for clients that format it.
type Message struct {
	Text string
	Icon string
	Rich []byte
}

// Render turns a payload into the message it posts, or ErrNoText when it
// shows nothing. The rich payload keeps only the fields Parley renders,
// with every link that is not http, https or mailto dropped; it is left
// out when it would be over maxRich bytes.
func Render(p Payload, maxRich int) (Message, error) {
	p = Sanitise(p)
	text := strings.TrimSpace(RenderText(p))
	if text == "" {
		return Message{}, ErrNoText
	}
	if len(text) > MaxText {
		cut := MaxText
		for cut > 0 && !utf8.RuneStart(text[cut]) {
			cut--
		}
		text = text[:cut] + "…"
	}
	m := Message{Text: text, Icon: icon(p)}
	if rich, err := json.Marshal(p); err == nil && len(rich) <= maxRich {
		m.Rich = rich
	}
	return m, nil
}

// icon is the payload's icon_emoji (":name:") or else its icon_url.
func icon(p Payload) string {
	if e := p.IconEmoji; len(e) > 2 && len(e) <= 64 && e[0] == ':' && e[len(e)-1] == ':' && !strings.ContainsAny(e, " \t\r\n") {
		return e
	}
	if len(p.IconURL) <= 512 && SafeURL(p.IconURL) {
		return p.IconURL
	}
	return ""
}

// Sanitise drops what a client must not follow: links other than http,
// https and mailto, and an icon_emoji that is not one.
func Sanitise(p Payload) Payload {
	safe := func(u *string) {
		if !SafeURL(*u) {
			*u = ""
		}
	}
	safe(&p.IconURL)
	if p.IconEmoji != "" && icon(Payload{IconEmoji: p.IconEmoji}) == "" {
		p.IconEmoji = ""
	}
	p.Attachments = slices.Clone(p.Attachments)
	for i := range p.Attachments {
		a := &p.Attachments[i]
		for _, u := range []*string{&a.AuthorLink, &a.AuthorIcon, &a.TitleLink, &a.ImageURL, &a.ThumbURL, &a.FooterIcon} {
			safe(u)
		}
		if _, err := strconv.ParseFloat(a.Ts.String(), 64); err != nil {
			a.Ts = ""
		}
		a.Blocks = sanitiseBlocks(a.Blocks)
	}
	p.Blocks = sanitiseBlocks(p.Blocks)
	return p
}

func sanitiseBlocks(bs []Block) []Block {
	bs = slices.Clone(bs)
	for i := range bs {
		b := &bs[i]
		if !SafeURL(b.ImageURL) {
			b.ImageURL = ""
		}
		b.Elements = slices.Clone(b.Elements)
		for j := range b.Elements {
			sanitiseElement(&b.Elements[j])
		}
		if b.Accessory != nil {
			acc := *b.Accessory
			sanitiseElement(&acc)
			b.Accessory = &acc
		}
	}
	return bs
}

func sanitiseElement(e *Element) {
	if !SafeURL(e.ImageURL) {
		e.ImageURL = ""
	}
	if !SafeURL(e.URL) {
		e.URL = ""
	}
	if len(e.Text) > 0 && !json.Valid(e.Text) {
		e.Text = nil
	}
}

// RenderText is the plain text of a whole payload: its text, then each
// attachment (pretext, author, title (title_link), text, fields as
// "Title: Value", footer and the date of ts; the fallback when it has
// none of these), then the blocks (section text and fields, header,
// context elements, divider as a line, image as "alt (url)").
func RenderText(p Payload) string {
	format := p.Mrkdwn == nil || *p.Mrkdwn
	var lines []string
	add := func(s string) {
		if s = strings.TrimSpace(s); s != "" {
			lines = append(lines, s)
		}
	}
	add(PlainText(parse(p.Text, format)))
	for _, a := range p.Attachments {
		n := len(lines)
		add(Plain(a.Pretext))
		add(link(a.AuthorName, a.AuthorLink))
		add(link(Plain(a.Title), a.TitleLink))
		add(Plain(a.Text))
		for _, f := range a.Fields {
			switch title, value := Plain(f.Title), Plain(f.Value); {
			case title != "" && value != "":
				add(title + ": " + value)
			default:
				add(title + value)
			}
		}
		if a.ImageURL != "" {
			add(a.ImageURL)
		}
		lines = append(lines, blockLines(a.Blocks)...)
		footer := Plain(a.Footer)
		if ts, err := strconv.ParseFloat(a.Ts.String(), 64); err == nil && ts > 0 && ts < 1e11 {
			date := time.Unix(int64(ts), 0).UTC().Format("2006-01-02 15:04 UTC")
			footer = strings.TrimSpace(footer + " · " + date)
			footer = strings.TrimPrefix(footer, "· ")
		}
		add(footer)
		if len(lines) == n {
			add(Plain(a.Fallback))
		}
	}
	lines = append(lines, blockLines(p.Blocks)...)
	return strings.Join(lines, "\n")
}

// link is "label (url)", or whichever of them there is.
func link(label, u string) string {
	label = strings.TrimSpace(label)
	switch {
	case u == "" || !SafeURL(u):
		return label
	case label == "" || label == u:
		return u
	}
	return label + " (" + u + ")"
}

// divider is how a divider block reads in plain text.
const divider = "――――――――――"

// blockLines renders blocks, one or more lines each.
func blockLines(bs []Block) []string {
	var lines []string
	add := func(s string) {
		if s = strings.TrimSpace(s); s != "" {
			lines = append(lines, s)
		}
	}
	for _, b := range bs {
		switch b.Type {
		case "section":
			if b.Text != nil {
				add(b.Text.plain())
			}
			for _, f := range b.Fields {
				add(f.plain())
			}
			if b.Accessory != nil {
				add(b.Accessory.plain())
			}
		case "header":
			if b.Text != nil {
				add(b.Text.plain())
			}
		case "context":
			var parts []string
			for _, e := range b.Elements {
				if s := strings.TrimSpace(e.plain()); s != "" {
					parts = append(parts, s)
				}
			}
			add(strings.Join(parts, " · "))
		case "divider":
			lines = append(lines, divider)
		case "image":
			alt := b.AltText
			if b.Title != nil && b.Title.Text != "" {
				alt = b.Title.plain()
			}
			add(link(alt, b.ImageURL))
		}
	}
	return lines
}

// plain is a text object's plain text (mrkdwn rendered, plain_text as is).
func (t TextObject) plain() string {
	if t.Type == "mrkdwn" {
		return Plain(t.Text)
	}
	return t.Text
}

// plain is an element's plain text: a text object's text, an image's alt
// text, a button's label and URL.
func (e Element) plain() string {
	switch e.Type {
	case "mrkdwn", "plain_text":
		var s string
		if json.Unmarshal(e.Text, &s) != nil {
			return ""
		}
		return TextObject{Type: e.Type, Text: s}.plain()
	case "image":
		return e.AltText
	case "button":
		var t TextObject
		if json.Unmarshal(e.Text, &t) != nil {
			return link("", e.URL)
		}
		return link(t.plain(), e.URL)
	}
	return ""
}
