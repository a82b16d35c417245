package tui

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"charm.land/lipgloss/v2"

	"github.com/parley-chat/parley/internal/api"
	"github.com/parley-chat/parley/internal/hooks"
)

// FuzzAppMessage renders any rich payload a peer may send: it never
// panics, no line is wider than the timeline (from 40 cells up), and
// without colour no escape or control character reaches the screen.
func FuzzAppMessage(f *testing.F) {
	ci, _ := json.Marshal(ciPayload())
	f.Add(ci, "ci", uint8(60))
	f.Add([]byte(`{"text":"a\u001b[31mb *c* <https://x.example|d\u001b]8;;e\u0007>","attachments":[{"title":"\u009b2J","color":"good","fields":[{"title":"t","value":"`+strings.Repeat("w", 200)+`","short":true},{"title":"u","value":"v","short":true}]}]}`), "a\x1bpp", uint8(40))
	f.Add([]byte(`{"blocks":[{"type":"divider"},{"type":"context","elements":[{"type":"button","text":{"type":"plain_text","text":"go"},"url":"https://x.example"}]},{"type":"section","text":{"type":"mrkdwn","text":"`+"```"+`code"},"accessory":{"type":"image","image_url":"https://x.example/i.png","alt_text":"i"}}]}`), "bot", uint8(45))
	f.Add([]byte(`{"text":"日本語の長い行日本語の長い行日本語の長い行","attachments":[{"fallback":"f"}]}`), "ci", uint8(41))
	f.Add([]byte(`not json`), "ci", uint8(80))
	f.Fuzz(func(t *testing.T, rich []byte, app string, width uint8) {
		if app == "" {
			app = "x"
		}
		w := int(width)
		m := New(context.Background(), newFakeBackend(), Options{Loc: time.UTC})
		msg := api.Message{ID: "f", Kind: "text", Conversation: "room:lobby", Room: "lobby", From: bobID, Text: "plain", App: app, Rich: rich}
		if _, ok := appPayload(msg); !ok && json.Valid(rich) {
			var p hooks.Payload
			if json.Unmarshal(rich, &p) == nil {
				t.Fatalf("a payload that decodes was not rendered: %q", rich)
			}
		}
		for _, l := range m.messageLines(nil, msg, "14:03 ", m.author(msg), w, "", "", false) {
			if i := strings.IndexFunc(l, func(r rune) bool { return r < 0x20 || (r >= 0x7f && r < 0xa0) }); i >= 0 {
				t.Fatalf("line %q: a control character at %d", l, i)
			}
			if lw := lipgloss.Width(l); w >= 40 && lw > w {
				t.Fatalf("width %d: line %q is %d wide", w, l, lw)
			}
		}
	})
}
