package hooks

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"
)

// What the native receivers (github.go, gitlab.go, jira.go) share: the
// checks of a signature or token, the mrkdwn they write, and the one-line
// summary of an event they do not render.

var (
	// ErrNoSecret: a native hook without a secret accepts nothing, so a
	// forgotten --secret cannot open the hook to anyone who knows its URL.
	ErrNoSecret = errors.New("hook has no secret")
	// ErrNoSignature: the request carries no signature or token header.
	ErrNoSignature = errors.New("signature missing")
	// ErrSignatureMismatch: the signature or token is there but wrong.
	ErrSignatureMismatch = errors.New("signature does not match")
	// ErrNotJSON: the body is not JSON at all (the only Payload error).
	ErrNotJSON = errors.New("body is not JSON")
)

// Colors of the attachments' side bars.
const (
	colorOpen    = "#2cbe4e" // opened, reopened
	colorMerged  = "#6f42c1"
	colorClosed  = "#cb2431"
	colorGood    = "good"
	colorDanger  = "danger"
	colorWarning = "warning"
	colorNeutral = "#959da5" // cancelled, skipped, neutral
)

// Limits on what a receiver copies out of an event.
const (
	maxTitle   = 200 // runes of a title or name
	maxExcerpt = 300 // runes of a body or comment
	maxCommits = 5   // commit lines of a push
)

// verifyHubSignature checks a "sha256=<hex HMAC-SHA256(secret, body)>"
// header (GitHub's X-Hub-Signature-256, Jira's X-Hub-Signature, the
// WebSub form) in constant time.
func verifyHubSignature(h http.Header, name string, body []byte, secret string) error {
	if secret == "" {
		return ErrNoSecret
	}
	value := strings.TrimSpace(h.Get(name))
	if value == "" {
		return fmt.Errorf("%w: no %s header", ErrNoSignature, name)
	}
	method, digest, ok := strings.Cut(value, "=")
	if !ok || !strings.EqualFold(method, "sha256") {
		return fmt.Errorf("%w: %s is not sha256=<hex>", ErrSignatureMismatch, name)
	}
	got, err := hex.DecodeString(digest)
	if err != nil || len(got) != sha256.Size {
		return fmt.Errorf("%w: %s is not sha256=<hex>", ErrSignatureMismatch, name)
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return fmt.Errorf("%w: %s", ErrSignatureMismatch, name)
	}
	return nil
}

// verifyToken checks a header that carries the secret itself (GitLab's
// X-Gitlab-Token) in constant time.
func verifyToken(h http.Header, name, secret string) error {
	if secret == "" {
		return ErrNoSecret
	}
	values := h.Values(name)
	if len(values) == 0 {
		return fmt.Errorf("%w: no %s header", ErrNoSignature, name)
	}
	got := sha256.Sum256([]byte(values[0]))
	want := sha256.Sum256([]byte(secret))
	// Comparing the digests keeps the time independent of both lengths.
	if len(values) != 1 || subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
		return fmt.Errorf("%w: %s", ErrSignatureMismatch, name)
	}
	return nil
}

// checkJSON is the one error a receiver's Payload returns: a body that
// is not JSON at all.
func checkJSON(body []byte) error {
	if !json.Valid(body) {
		return ErrNotJSON
	}
	return nil
}

// mdEscaper escapes what Slack mrkdwn reads as markup in text: the three
// characters it encodes as entities.
var mdEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// mdText is s as mrkdwn text: on one line, at most max runes, escaped.
func mdText(s string, max int) string {
	return mdEscaper.Replace(clip(oneLine(s), max))
}

// mdLink is <url|label> with label as mdText; just the label when url is
// not a link a client may open.
func mdLink(url, label string) string {
	label = mdText(label, maxTitle)
	if !linkable(url) {
		return label
	}
	if label == "" {
		return "<" + mdEscaper.Replace(url) + ">"
	}
	return "<" + mdEscaper.Replace(url) + "|" + label + ">"
}

// mdExcerpt is the start of a body or comment: its first lines, at most
// maxExcerpt runes, escaped, as plain lines (no code blocks or quotes
// are opened by accident: backticks become quotes).
func mdExcerpt(s string) string {
	s = strings.ReplaceAll(strings.TrimSpace(s), "\r\n", "\n")
	lines := strings.Split(s, "\n")
	var out []string
	for _, l := range lines {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
		if len(out) == 3 {
			break
		}
	}
	text := strings.Join(out, "\n")
	short := clip(text, maxExcerpt)
	if short == text && len(out) < len(nonEmpty(lines)) {
		short += " …"
	}
	return mdEscaper.Replace(strings.ReplaceAll(short, "`", "'"))
}

// linkable reports whether a vendor's URL may be a link target: what
// SafeURL accepts (mailto aside: a tool's links are web pages), without
// the '|', '<' and '>' that would end a mrkdwn link early.
func linkable(u string) bool {
	return SafeURL(u) && !strings.HasPrefix(strings.ToLower(u), "mailto:") && !strings.ContainsAny(u, "|<>")
}

// nonEmpty is lines without the blank ones.
func nonEmpty(lines []string) []string {
	var out []string
	for _, l := range lines {
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
}

// oneLine is s's first non-empty line, trimmed.
func oneLine(s string) string {
	for l := range strings.SplitSeq(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			return l
		}
	}
	return ""
}

// clip cuts s to max runes, marking the cut with "…"; invalid UTF-8 is
// replaced.
func clip(s string, max int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)
	return strings.TrimSpace(string(r[:max-1])) + "…"
}

// plural is "1 commit", "3 commits".
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// shortSHA is the first seven characters of a commit id.
func shortSHA(id string) string {
	if len(id) > 7 {
		return id[:7]
	}
	return id
}

// summary is the one line an event a receiver does not render becomes:
// the tool, the event's name, where it happened and who did it, when the
// event says.
func summary(tool, event, action, whereURL, where, who string) Payload {
	name := event
	if name == "" {
		name = "event"
	}
	text := tool + " " + "`" + mdText(strings.ReplaceAll(name, "`", "'"), 80) + "`"
	if action != "" {
		text += " (" + mdText(action, 40) + ")"
	}
	if where != "" {
		text += " on " + mdLink(whereURL, where)
	}
	if who != "" {
		text += " by " + mdText(who, 80)
	}
	return Payload{Text: text}
}

// humanAction turns an API action name into words: "ready_for_review" →
// "ready for review".
func humanAction(a string) string {
	return strings.ReplaceAll(a, "_", " ")
}
