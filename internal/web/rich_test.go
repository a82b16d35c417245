package web

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

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

// richNode is rich.js running under Node, answering inputs one line at a
// time: a JSON string in, {"spans", "safe"} out.
type richNode struct {
	mu    sync.Mutex
	in    io.WriteCloser
	lines chan []byte // node's answers, a line each; closed when it ends
}

// lineDriver is parseDriver for one input per line.
const lineDriver = `
const fs = require('fs');
const vm = require('vm');
const readline = require('readline');
vm.runInThisContext(fs.readFileSync(process.argv[2], 'utf8'), { filename: 'rich.js' });
readline.createInterface({ input: process.stdin }).on('line', (l) => {
  const s = JSON.parse(l);
  process.stdout.write(JSON.stringify({ spans: ParleyRich.parse(s), safe: ParleyRich.safeURL(s) }) + '\n');
});
`

// nodeDriver writes rich.js and driver into a temporary directory and
// returns the command that runs them; the test skips without Node.
func nodeDriver(tb testing.TB, driver string) *exec.Cmd {
	tb.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		tb.Skip("no node on PATH: install nodejs to check rich.js against the daemon's parser")
	}
	dir := tb.TempDir()
	script := filepath.Join(dir, "rich.js")
	b, err := fs.ReadFile(static, "static/rich.js")
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(script, b, 0o600); err != nil {
		tb.Fatal(err)
	}
	path := filepath.Join(dir, "driver.js")
	if err := os.WriteFile(path, []byte(driver), 0o600); err != nil {
		tb.Fatal(err)
	}
	return exec.Command(node, path, script)
}

func startRichNode(tb testing.TB) *richNode {
	tb.Helper()
	cmd := nodeDriver(tb, lineDriver)
	in, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		_ = in.Close()
		_ = cmd.Wait()
	})
	n := &richNode{in: in, lines: make(chan []byte)}
	go func() {
		defer close(n.lines)
		r := bufio.NewReaderSize(out, 1<<20)
		for {
			line, err := r.ReadBytes('\n')
			if err != nil {
				return
			}
			n.lines <- line
		}
	}()
	return n
}

// parseTimeout bounds one parse: far more than any input takes, to
// report an input that makes rich.js loop rather than hang.
const parseTimeout = 30 * time.Second

type richAnswer struct {
	Spans []jsSpan `json:"spans"`
	Safe  bool     `json:"safe"`
}

func (n *richNode) parse(tb testing.TB, s string) richAnswer {
	n.mu.Lock()
	defer n.mu.Unlock()
	line, _ := json.Marshal(s)
	if _, err := n.in.Write(append(line, '\n')); err != nil {
		tb.Fatalf("node: %v", err)
	}
	var answer []byte
	select {
	case l, ok := <-n.lines:
		if !ok {
			tb.Fatalf("node ended before answering %q", s)
		}
		answer = l
	case <-time.After(parseTimeout):
		tb.Fatalf("rich.js did not parse %q within %v", s, parseTimeout)
	}
	var a richAnswer
	if err := json.Unmarshal(answer, &a); err != nil {
		tb.Fatalf("node's answer %q: %v", answer, err)
	}
	return a
}

// sameAsDaemon reports how rich.js's answer for s differs from the
// daemon's parser and SafeURL ("" when it does not).
func sameAsDaemon(s string, got richAnswer) string {
	want, _ := json.Marshal(fromGo(hooks.ParseMrkdwn(s)))
	js, _ := json.Marshal(got.Spans)
	if !bytes.Equal(want, js) {
		return fmt.Sprintf("parse(%q):\n rich.js %s\n daemon  %s", s, js, want)
	}
	if w := hooks.SafeURL(s); got.Safe != w {
		return fmt.Sprintf("safeURL(%q): rich.js %v, daemon %v", s, got.Safe, w)
	}
	return ""
}

// TestRichParseMatchesDaemon: the web client's mrkdwn parser (rich.js)
// reads every input exactly as the daemon's (hooks.ParseMrkdwn) does,
// span for span, and agrees with hooks.SafeURL on which links a reader may
// open. Run under Node, which the test skips without.
func TestRichParseMatchesDaemon(t *testing.T) {
	cmd := nodeDriver(t, parseDriver)
	inputs := mrkdwnInputs()
	stdin, err := json.Marshal(inputs)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, stderr.String())
	}
	var got []richAnswer
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("node's answer: %v", err)
	}
	if len(got) != len(inputs) {
		t.Fatalf("node answered %d inputs, want %d", len(got), len(inputs))
	}
	fails := 0
	for i, s := range inputs {
		if diff := sameAsDaemon(s, got[i]); diff != "" {
			t.Error(diff)
			if fails++; fails > 10 {
				t.Fatal("too many differences")
			}
		}
	}
}

var unassignedTable = unicode.Categories["Cn"]

// unassigned reports whether r is a code point Go's Unicode tables do
// not assign.
func unassigned(r rune) bool {
	return unicode.Is(unassignedTable, r)
}

// FuzzRichParse: for any text, rich.js's parser gives the daemon's spans
// and safeURL the daemon's verdict (the daemon's parser is fuzzed on its
// own in internal/hooks). One Node process answers every input.
func FuzzRichParse(f *testing.F) {
	for _, s := range mrkdwnInputs()[:60] {
		f.Add(s)
	}
	node := startRichNode(f)
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			return // a JSON string carries UTF-8 only: what a payload can hold
		}
		if strings.ContainsFunc(s, unassigned) {
			// The browser's Unicode may be newer than Go's: a letter Go
			// does not know yet (U+13600, Unicode 16) ends bold there
			// and not here. Both read such text safely; they only differ
			// on what counts as a word.
			return
		}
		if diff := sameAsDaemon(s, node.parse(t, s)); diff != "" {
			t.Fatal(diff)
		}
	})
}
