package notify

import (
	"crypto/ed25519"
	"testing"
	"time"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/crypto"
)

// peerID makes a deterministic peer ID from a seed byte.
func peerID(seed byte) chat.PeerID {
	var s [32]byte
	s[0] = seed
	return crypto.PeerIDFromPublicKey(ed25519.NewKeyFromSeed(s[:]).Public().(ed25519.PublicKey))
}

var (
	me    = peerID(1)
	alice = peerID(2)
	bob   = peerID(3)
	// noon is a fixed local time in a fixed zone.
	zone = time.FixedZone("test", 2*3600)
	noon = time.Date(2026, 3, 10, 12, 0, 0, 0, zone)
)

func dmFrom(p chat.PeerID, text string) *chat.Message {
	return &chat.Message{Kind: chat.KindText, Conversation: chat.DMConversation(p), Author: p, To: me, Body: text, HLC: chat.HLCFromTime(noon)}
}

func roomMsg(room string, p chat.PeerID, text string) *chat.Message {
	return &chat.Message{Kind: chat.KindText, Conversation: chat.RoomConversation(room), Room: room, Author: p, Body: text, HLC: chat.HLCFromTime(noon)}
}

func TestDecide(t *testing.T) {
	with := func(m *chat.Message, f func(*chat.Message)) *chat.Message { f(m); return m }
	general := chat.RoomConversation("general")
	for _, tc := range []struct {
		name    string
		rules   Rules
		msg     *chat.Message
		want    bool
		mention bool
	}{
		{"DM, default all", Rules{}, dmFrom(alice, "hi"), true, false},
		{"room, default mentions, no mention", Rules{}, roomMsg("general", alice, "hi all"), false, false},
		{"room, default mentions, mentioned", Rules{}, with(roomMsg("general", alice, "hi"), func(m *chat.Message) { m.Mentions = []chat.PeerID{bob, me} }), true, true},
		{"room, someone else mentioned", Rules{}, with(roomMsg("general", alice, "hi"), func(m *chat.Message) { m.Mentions = []chat.PeerID{bob} }), false, false},
		{"room, @room", Rules{}, with(roomMsg("general", alice, "hi"), func(m *chat.Message) { m.MentionAll = true }), true, true},
		{"room, level all", Rules{Levels: map[chat.Conversation]Level{general: LevelAll}}, roomMsg("general", alice, "hi"), true, false},
		{"room, level default is the default", Rules{Levels: map[chat.Conversation]Level{general: LevelDefault}}, roomMsg("general", alice, "hi"), false, false},
		{"room, level none, mentioned", Rules{Levels: map[chat.Conversation]Level{general: LevelNone}}, with(roomMsg("general", alice, "hi"), func(m *chat.Message) { m.MentionAll = true }), false, true},
		{"DM, level mentions, no mention", Rules{Levels: map[chat.Conversation]Level{chat.DMConversation(alice): LevelMentions}}, dmFrom(alice, "hi"), false, false},
		{"DM, level none", Rules{Levels: map[chat.Conversation]Level{chat.DMConversation(alice): LevelNone}}, dmFrom(alice, "hi"), false, false},
		{"other DM keeps the default", Rules{Levels: map[chat.Conversation]Level{chat.DMConversation(alice): LevelNone}}, dmFrom(bob, "hi"), true, false},
		{"keyword, any case", Rules{Keywords: []string{"Deploy"}}, roomMsg("general", alice, "the DEPLOY failed"), true, true},
		{"keyword at the ends", Rules{Keywords: []string{"deploy"}}, roomMsg("general", alice, "deploy"), true, true},
		{"keyword with punctuation", Rules{Keywords: []string{"deploy"}}, roomMsg("general", alice, "who broke the deploy?"), true, true},
		{"keyword inside a word", Rules{Keywords: []string{"deploy"}}, roomMsg("general", alice, "redeployment done"), false, false},
		{"keyword as a prefix", Rules{Keywords: []string{"deploy"}}, roomMsg("general", alice, "deployed_ok"), false, false},
		{"keyword phrase", Rules{Keywords: []string{"release train"}}, roomMsg("general", alice, "The Release Train leaves"), true, true},
		{"keyword, non-ASCII", Rules{Keywords: []string{"straße"}}, roomMsg("general", alice, "in der STRASSE, nein: in der Straße!"), true, true},
		{"keyword, second occurrence whole", Rules{Keywords: []string{"ci"}}, roomMsg("general", alice, "circle ci"), true, true},
		{"own DM", Rules{}, with(dmFrom(alice, "hi"), func(m *chat.Message) { m.Author = me }), false, false},
		{"own room message with @room", Rules{}, with(roomMsg("general", me, "hi"), func(m *chat.Message) { m.MentionAll = true }), false, false},
		{"join line", Rules{}, with(roomMsg("general", alice, ""), func(m *chat.Message) { m.Kind = chat.KindJoin; m.MentionAll = true }), false, false},
		{"reaction", Rules{}, with(dmFrom(alice, ""), func(m *chat.Message) { m.Kind = chat.KindReact }), false, false},
		{"edit", Rules{}, with(dmFrom(alice, "new text"), func(m *chat.Message) { m.Kind = chat.KindEdit }), false, false},
		{"thread reply without mention, level all", Rules{Levels: map[chat.Conversation]Level{general: LevelAll}}, with(roomMsg("general", alice, "hi"), func(m *chat.Message) { m.Thread = chat.MessageID{1} }), false, false},
		{"thread reply also sent to the room, level all", Rules{Levels: map[chat.Conversation]Level{general: LevelAll}}, with(roomMsg("general", alice, "hi"), func(m *chat.Message) { m.Thread = chat.MessageID{1}; m.AlsoRoom = true }), true, false},
		{"thread reply with mention", Rules{}, with(roomMsg("general", alice, "hi"), func(m *chat.Message) { m.Thread = chat.MessageID{1}; m.Mentions = []chat.PeerID{me} }), true, true},
		{"DND on", Rules{DND: DND{Mode: DNDOn}}, dmFrom(alice, "hi"), false, false},
		{"DND on silences mentions", Rules{DND: DND{Mode: DNDOn}}, with(roomMsg("general", alice, "hi"), func(m *chat.Message) { m.MentionAll = true }), false, true},
		{"DND until later", Rules{DND: DND{Mode: DNDUntil, Until: noon.Add(time.Minute)}}, dmFrom(alice, "hi"), false, false},
		{"DND until passed", Rules{DND: DND{Mode: DNDUntil, Until: noon}}, dmFrom(alice, "hi"), true, false},
		{"DND off", Rules{DND: DND{Mode: DNDOff}}, dmFrom(alice, "hi"), true, false},
		{"old message", Rules{MaxAge: time.Minute}, with(dmFrom(alice, "hi"), func(m *chat.Message) { m.HLC = chat.HLCFromTime(noon.Add(-2 * time.Minute)) }), false, false},
		{"recent message", Rules{MaxAge: time.Minute}, with(dmFrom(alice, "hi"), func(m *chat.Message) { m.HLC = chat.HLCFromTime(noon.Add(-30 * time.Second)) }), true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.rules
			r.Self = me
			d := r.Decide(tc.msg, noon)
			if d.Notify != tc.want || d.Mention != tc.mention {
				t.Errorf("got notify %v mention %v (%s), want notify %v mention %v", d.Notify, d.Mention, d.Why, tc.want, tc.mention)
			}
			if d.Why == "" {
				t.Error("no reason given")
			}
		})
	}
}

func TestParseDND(t *testing.T) {
	for _, tc := range []struct {
		name, mode, until string
		now               time.Time
		want              DND
		active, later     bool // at now, and at want.Until (or now+1h)
	}{
		{"on", "on", "", noon, DND{Mode: DNDOn}, true, true},
		{"off", "OFF", "", noon, DND{Mode: DNDOff}, false, false},
		{"until later today", "until", "18:30", noon, DND{Mode: DNDUntil, Until: time.Date(2026, 3, 10, 18, 30, 0, 0, zone)}, true, false},
		{"until after midnight", "until", "07:00", time.Date(2026, 3, 10, 23, 15, 0, 0, zone), DND{Mode: DNDUntil, Until: time.Date(2026, 3, 11, 7, 0, 0, 0, zone)}, true, false},
		{"until midnight", "until", "00:00", time.Date(2026, 3, 10, 23, 15, 0, 0, zone), DND{Mode: DNDUntil, Until: time.Date(2026, 3, 11, 0, 0, 0, 0, zone)}, true, false},
		{"until now's minute is tomorrow", "until", "12:00", noon, DND{Mode: DNDUntil, Until: time.Date(2026, 3, 11, 12, 0, 0, 0, zone)}, true, false},
		{"until across a month end", "until", "1:05", time.Date(2026, 3, 31, 22, 0, 0, 0, zone), DND{Mode: DNDUntil, Until: time.Date(2026, 4, 1, 1, 5, 0, 0, zone)}, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseDND(tc.mode, tc.until, tc.now)
			if err != nil {
				t.Fatal(err)
			}
			if got.Mode != tc.want.Mode || !got.Until.Equal(tc.want.Until) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			if a := got.Active(tc.now); a != tc.active {
				t.Errorf("active at %v: got %v, want %v", tc.now, a, tc.active)
			}
			at := tc.now.Add(time.Hour)
			if got.Mode == DNDUntil {
				at = got.Until
				if !got.Active(at.Add(-time.Second)) {
					t.Error("not active a second before it ends")
				}
			}
			if a := got.Active(at); a != tc.later {
				t.Errorf("active at %v: got %v, want %v", at, a, tc.later)
			}
		})
	}
	for _, bad := range [][2]string{{"until", ""}, {"until", "24:00"}, {"until", "7"}, {"until", "07:60"}, {"until", "07:5"}, {"until", "-1:00"}, {"until", "+1:00"}, {"until", "ab:cd"}, {"maybe", ""}, {"until", "007:00"}} {
		if _, err := ParseDND(bad[0], bad[1], noon); err == nil {
			t.Errorf("ParseDND(%q, %q): no error", bad[0], bad[1])
		}
	}
}

func TestParseLevel(t *testing.T) {
	for _, s := range []string{"all", "mentions", "none", "default", "ALL"} {
		if _, err := ParseLevel(s); err != nil {
			t.Errorf("ParseLevel(%q): %v", s, err)
		}
	}
	for _, s := range []string{"", "some", "mention"} {
		if _, err := ParseLevel(s); err == nil {
			t.Errorf("ParseLevel(%q): no error", s)
		}
	}
}

func TestPreview(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"hello", 10, "hello"},
		{"  hello \n\t world  ", 20, "hello world"},
		{"hello world", 5, "hello…"},
		{"hello world", 7, "hello w…"},
		{"a\x1b[31mred", 20, "a[31mred"},
		{"ünïcödé text", 6, "ünïcöd…"},
	} {
		if got := Preview(tc.in, tc.n); got != tc.want {
			t.Errorf("Preview(%q, %d): got %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}
