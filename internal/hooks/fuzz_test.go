package hooks

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzDecodeRender: whatever a hook is sent, Decode and Render return an
// answer (never panic), the text is valid UTF-8 within MaxText, and the
// rich payload is JSON that decodes as a Payload again.
func FuzzDecodeRender(f *testing.F) {
	f.Add("application/json", []byte(slackExample))
	f.Add("application/x-www-form-urlencoded", []byte("payload=%7B%22text%22%3A%22hi%22%7D"))
	f.Add("application/json", []byte(`{"attachments":[{"ts":"12.5","fields":[{"title":"a"}]}],"blocks":[{"type":"context","elements":[{"type":"mrkdwn","text":7}]}]}`))
	f.Fuzz(func(t *testing.T, ct string, body []byte) {
		p, err := Decode(ct, body)
		if err != nil {
			return
		}
		m, err := Render(p, 64<<10)
		if err != nil {
			return
		}
		if !utf8.ValidString(m.Text) || len(m.Text) > MaxText+len("…") || strings.TrimSpace(m.Text) == "" {
			t.Fatalf("text %q", m.Text)
		}
		if m.Rich != nil {
			var again Payload
			if err := json.Unmarshal(m.Rich, &again); err != nil {
				t.Fatalf("rich does not decode: %v", err)
			}
		}
	})
}

// FuzzParseMrkdwn: the parser never panics, its spans are valid UTF-8,
// links are only safe URLs, and the plain text is as long as the spans.
func FuzzParseMrkdwn(f *testing.F) {
	for _, s := range []string{"*b* _i_ ~s~ `c`", "```\ncode\n```", "> q\n&gt; q", "<https://x|y> <@U1|bob> <#C1|gen> <!here>", "<javascript:x|y>", "*_~`<>|&amp;"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		spans := ParseMrkdwn(s)
		for _, sp := range spans {
			if !utf8.ValidString(sp.Text) || sp.Text == "" {
				t.Fatalf("span %+v", sp)
			}
			if sp.URL != "" && !SafeURL(sp.URL) {
				t.Fatalf("unsafe link %q", sp.URL)
			}
		}
		if p := PlainText(spans); !utf8.ValidString(p) {
			t.Fatalf("plain %q", p)
		}
	})
}
