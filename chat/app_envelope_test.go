package chat

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/parley-chat/parley/internal/wire"
)

// TestAppEnvelope: an app message's name, icon and rich payload survive
// encoding and decoding, and DecodeEnvelope refuses each malformed one.
func TestAppEnvelope(t *testing.T) {
	alice, bob := testPeerID(t), testPeerID(t)
	m := &Message{Author: alice, To: bob, HLC: testHLC, Kind: KindText, Body: "build passed (https://ci)", App: "ci", AppIcon: ":ship:", Rich: []byte(`{"text":"build *passed*"}`)}
	if err := encodeEnvelope(m); err != nil {
		t.Fatal(err)
	}
	got, err := DecodeEnvelope(m.Envelope)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	if got.App != "ci" || got.AppIcon != ":ship:" || !bytes.Equal(got.Rich, m.Rich) || got.Body != m.Body {
		t.Errorf("decoded app %q icon %q rich %q body %q; want what was encoded", got.App, got.AppIcon, got.Rich, got.Body)
	}
	stripped, err := StripEnvelope(m.Envelope)
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := UnmarshalEnvelope(stripped); s.Body != "" || len(s.Rich) != 0 || s.App != "ci" {
		t.Errorf("a tombstone keeps body %q rich %q app %q; want no text, no rich, the app's name", s.Body, s.Rich, s.App)
	}

	valid := func() *wire.Envelope {
		return &wire.Envelope{Version: 1, Author: []byte(alice), ToPeer: []byte(bob), Hlc: uint64(testHLC), Kind: wire.Kind_KIND_TEXT, Body: "hi", App: "ci"}
	}
	tests := []struct {
		name   string
		change func(*wire.Envelope)
	}{
		{"icon without a name", func(e *wire.Envelope) { e.App, e.AppIcon = "", ":x:" }},
		{"rich without a name", func(e *wire.Envelope) { e.App, e.Rich = "", []byte(`{}`) }},
		{"name too long", func(e *wire.Envelope) { e.App = strings.Repeat("a", MaxAppNameLen+1) }},
		{"name of spaces", func(e *wire.Envelope) { e.App = "  " }},
		{"name on two lines", func(e *wire.Envelope) { e.App = "ci\nbot" }},
		{"icon with a space", func(e *wire.Envelope) { e.AppIcon = "a b" }},
		{"icon too long", func(e *wire.Envelope) { e.AppIcon = strings.Repeat("i", MaxAppIconLen+1) }},
		{"rich not JSON", func(e *wire.Envelope) { e.Rich = []byte("{nope") }},
		{"rich not an object", func(e *wire.Envelope) { e.Rich = []byte(`[1]`) }},
		{"rich too large", func(e *wire.Envelope) { e.Rich = []byte(`{"t":"` + strings.Repeat("x", MaxRichLen) + `"}`) }},
		{"app on a reaction", func(e *wire.Envelope) {
			e.Kind, e.Body, e.Emoji, e.Target, e.TargetHlc = wire.Kind_KIND_REACT, "", "+1", make([]byte, 32), 1
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := valid()
			tt.change(env)
			if m, err := DecodeEnvelope(marshalEnvelope(t, env)); !errors.Is(err, ErrBadEnvelope) {
				t.Errorf("got (%+v, %v), want ErrBadEnvelope", m, err)
			}
		})
	}
	if _, err := DecodeEnvelope(marshalEnvelope(t, valid())); err != nil {
		t.Errorf("the valid app envelope: got %v, want it accepted", err)
	}
}
