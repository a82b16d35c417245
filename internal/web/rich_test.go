package web

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parley-chat/parley/internal/hooks"
)

// jsSpan is a span as rich.js's parse gives it.
type jsSpan struct {
	Text   string `json:"text"`
	Bold   bool   `json:"bold"`
	Italic bool   `json:"italic"`
	Strike bool   `json:"strike"`
	Code   bool   `json:"code"`
	Pre    bool   `json:"pre"`
	Quote  bool   `json:"quote"`
	URL    string `json:"url"`
}

func fromGo(spans []hooks.Span) []jsSpan {
	out := make([]jsSpan, 0, len(spans))
	for _, s := range spans {
		out = append(out, jsSpan{Text: s.Text, Bold: s.Bold, Italic: s.Italic, Strike: s.Strike, Code: s.Code, Pre: s.Pre, Quote: s.Quote, URL: s.URL})
	}
	return out
}

// parseDriver runs rich.js under Node: it reads a JSON array of strings
// and prints, for each, parse's spans and safeURL's verdict.
const parseDriver = `
const fs = require('fs');
const vm = require('vm');
vm.runInThisContext(fs.readFileSync(process.argv[2], 'utf8'), { filename: 'rich.js' });
const inputs = JSON.parse(fs.readFileSync(0, 'utf8'));
process.stdout.write(JSON.stringify(inputs.map((s) => ({ spans: ParleyRich.parse(s), safe: ParleyRich.safeURL(s) }))));
`

// mrkdwnInputs are the strings both parsers read: the daemon's own test
// cases, edge cases of the grammar, and random strings made of its
// delimiters (a fixed seed: the same strings every run).
func mrkdwnInputs() []string {
	in := []string{
		"", "*b* _i_ ~s~ `c`", "```\ncode\n```", "> q\n&gt; q", "<https://x|y> <@U1|bob> <#C1|gen> <!here>",
		"<javascript:x|y>", "*_~`<>|&amp;", "We're *bold* and _italic_ and ~struck~ and `code`",
		"Check out <https://example.com|this site>!", "<mailto:bob@example.com|Bob>", "mail <mailto:bob@example.com>",
		"Hey <@U0G9QF9C6>, <@U024BE7LH|bob> in <#C024BE7LR|general> <!here> <!channel>",
		"<!subteam^SAZ94GDB8|@ops> <!date^1392734382^{date_num}|2014-02-18 6:39 AM>", "a &amp; b &lt;c&gt; &amp;lt;",
		"> quoted\n&gt; again\nnot", "before\n```\nfunc main() {}\n```\nafter", "• one\n- two\n1. three",
		"snake_case_name and 2*3*4", "* not bold *", "*bold _and italic_*", "unclosed ``` fence",
		"<https://a.example/?q=1&amp;r=2|a &amp; b>", "*Deploy* of <https://ci.example/42|build 42> ~failed~ in `main`\n> _see log_\n```x := 1```",
		"é*b*é", "*é*", "日本*語*", "😀*x*😀", "*x*😀", "_a_b_", "~~", "**", "*a\nb*", "<http://x y>", "<https://ok\u00a0no>",
		"<https://x\ufeff>", "<HTTPS://UPPER.example>", "<mailto:>", "<http://>", "<https://a|>", "<|x>", "<>", "<<https://a>>",
		"```a```b```c```", "```\n```", ">", "> ", "&gt;", ">>> x", "x\n\n\ny", "`a` `` `b`", "<@>", "<#>", "<!>", "<!here|>",
		"https://example.com", "http://example.com", "mailto:a@b", "javascript:alert(1)", "https://x y", "HTTP://X",
	}
	const alphabet = "*_~`<>|&;!@#:/\n >ab1 é😀hmtps"
	letters := []rune(alphabet)
	r := rand.New(rand.NewPCG(7, 11))
	for range 3000 {
		var b strings.Builder
		for range r.IntN(24) {
			switch r.IntN(12) {
			case 0:
				b.WriteString("```")
			case 1:
				b.WriteString("<https://x.example/a|l>")
			case 2:
				b.WriteString("&gt;")
			case 3:
				b.WriteString("&amp;")
			default:
				b.WriteRune(letters[r.IntN(len(letters))])
			}
		}
		in = append(in, b.String())
	}
	return in
}

// TestRichParseMatchesDaemon: the web client's mrkdwn parser (rich.js)
// reads every input exactly as the daemon's (hooks.ParseMrkdwn) does,
// span for span, and agrees with hooks.SafeURL on which links a reader may
// open. Run under Node, which the test skips without.
func TestRichParseMatchesDaemon(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("no node on PATH: install nodejs to check rich.js against the daemon's parser")
	}
	dir := t.TempDir()
	script := filepath.Join(dir, "rich.js")
	if err := os.WriteFile(script, []byte(asset(t, "rich.js")), 0o600); err != nil {
		t.Fatal(err)
	}
	driver := filepath.Join(dir, "driver.js")
	if err := os.WriteFile(driver, []byte(parseDriver), 0o600); err != nil {
		t.Fatal(err)
	}
	inputs := mrkdwnInputs()
	stdin, err := json.Marshal(inputs)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), node, driver, script)
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, stderr.String())
	}
	var got []struct {
		Spans []jsSpan `json:"spans"`
		Safe  bool     `json:"safe"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("node's answer: %v", err)
	}
	if len(got) != len(inputs) {
		t.Fatalf("node answered %d inputs, want %d", len(got), len(inputs))
	}
	fails := 0
	for i, s := range inputs {
		want, _ := json.Marshal(fromGo(hooks.ParseMrkdwn(s)))
		js, _ := json.Marshal(got[i].Spans)
		if !bytes.Equal(want, js) {
			t.Errorf("parse(%q):\n rich.js %s\n daemon  %s", s, js, want)
			fails++
		}
		if w := hooks.SafeURL(s); got[i].Safe != w {
			t.Errorf("safeURL(%q): rich.js %v, daemon %v", s, got[i].Safe, w)
			fails++
		}
		if fails > 10 {
			t.Fatal("too many differences")
		}
	}
}
