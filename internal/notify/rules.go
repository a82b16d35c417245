package notify

import (
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/parley-chat/parley/chat"
)

// DefaultMaxAge is how old (by its author's clock) a message may be when
// it arrives and still notify.
const DefaultMaxAge = 10 * time.Minute

// Rules decide, for one message, whether it notifies. The zero Rules
// notify by the defaults with no keywords and no age limit.
type Rules struct {
	Self     chat.PeerID                 // this node: its own messages never notify
	Levels   map[chat.Conversation]Level // levels set per conversation
	DND      DND
	Keywords []string      // words that count as a mention (any case, whole words)
	MaxAge   time.Duration // older messages do not notify; 0: no limit
}

// Decision is what Decide says about a message, and why.
type Decision struct {
	Notify  bool
	Mention bool   // the message mentions this node
	Why     string // a reason for logs (never the text)
}

// Level is conv's level: its own, else the default for its kind.
func (r *Rules) Level(conv chat.Conversation) Level {
	if l, ok := r.Levels[conv]; ok && l != LevelDefault {
		return l
	}
	return DefaultLevel(conv)
}

// Decide applies the rules to m as it arrives at now.
func (r *Rules) Decide(m *chat.Message, now time.Time) Decision {
	switch {
	case m == nil || m.Kind != chat.KindText:
		return Decision{Why: "not a text message"}
	case m.Author == r.Self:
		return Decision{Why: "own message"}
	case r.MaxAge > 0 && now.Sub(m.SentAt()) > r.MaxAge:
		return Decision{Why: "old message (history caught up)"}
	}
	mention := r.Mentions(m)
	level := r.Level(m.Conversation)
	switch {
	case r.DND.Active(now):
		return Decision{Mention: mention, Why: "do not disturb"}
	case level == LevelNone:
		return Decision{Mention: mention, Why: "level none"}
	case !m.Thread.IsZero() && !m.AlsoRoom && !mention:
		return Decision{Why: "thread reply without a mention"}
	case level == LevelMentions && !mention:
		return Decision{Why: "level mentions, no mention"}
	}
	return Decision{Notify: true, Mention: mention, Why: "level " + string(level)}
}

// Mentions reports whether m mentions this node: by peer, by @room or
// @here, or by a keyword.
func (r *Rules) Mentions(m *chat.Message) bool {
	if m.MentionAll || (r.Self != "" && slices.Contains(m.Mentions, r.Self)) {
		return true
	}
	if len(r.Keywords) == 0 || m.Body == "" {
		return false
	}
	text := strings.ToLower(m.Body)
	for _, k := range r.Keywords {
		if containsWord(text, strings.ToLower(k)) {
			return true
		}
	}
	return false
}

// containsWord reports whether word occurs in text as a whole word: not
// preceded or followed by a letter, digit or '_'. Both are lower case.
func containsWord(text, word string) bool {
	if word == "" {
		return false
	}
	for from := 0; from <= len(text)-len(word); {
		i := strings.Index(text[from:], word)
		if i < 0 {
			return false
		}
		i += from
		end := i + len(word)
		before, _ := utf8.DecodeLastRuneInString(text[:i])
		after, _ := utf8.DecodeRuneInString(text[end:])
		if (i == 0 || !wordRune(before)) && (end == len(text) || !wordRune(after)) {
			return true
		}
		_, size := utf8.DecodeRuneInString(text[i:])
		from = i + size
	}
	return false
}

func wordRune(r rune) bool { return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) }

// CleanKeywords trims keywords and drops empty ones and repeats (any
// case).
func CleanKeywords(ks []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, k := range ks {
		k = strings.TrimSpace(k)
		if k == "" || seen[strings.ToLower(k)] {
			continue
		}
		seen[strings.ToLower(k)] = true
		out = append(out, k)
	}
	return out
}
