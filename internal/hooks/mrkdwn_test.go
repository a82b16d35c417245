package hooks

import (
	"reflect"
	"testing"
)

func TestPlainMrkdwn(t *testing.T) {
	tests := []struct{ in, want string }{
		// Slack's formatting reference.
		{"We're *bold* and _italic_ and ~struck~ and `code`", "We're bold and italic and struck and code"},
		{"Check out <https://example.com|this site>!", "Check out this site (https://example.com)!"},
		{"<https://example.com>", "https://example.com"},
		{"<mailto:bob@example.com|Bob>", "Bob (mailto:bob@example.com)"},
		{"mail <mailto:bob@example.com>", "mail bob@example.com"},
		{"Hey <@U0G9QF9C6>, <@U024BE7LH|bob> in <#C024BE7LR|general> <!here> <!channel>", "Hey @U0G9QF9C6, @bob in #general @here @channel"},
		{"<!subteam^SAZ94GDB8|@ops> <!date^1392734382^{date_num}|2014-02-18 6:39 AM>", "@ops 2014-02-18 6:39 AM"},
		{"a &amp; b &lt;c&gt; &amp;lt;", "a & b <c> &lt;"},
		{"> quoted\n&gt; again\nnot", "> quoted\n> again\nnot"},
		{"before\n```\nfunc main() {}\n```\nafter", "before\nfunc main() {}\nafter"},
		{"• one\n- two\n1. three", "• one\n- two\n1. three"},
		{"snake_case_name and 2*3*4", "snake_case_name and 2*3*4"},
		{"* not bold *", "* not bold *"},
		{"*bold _and italic_*", "bold and italic"},
		{"<javascript:alert(1)|click>", "click"},
		{"unclosed ``` fence", "unclosed ``` fence"},
		{"<https://a.example/?q=1&amp;r=2|a &amp; b>", "a & b (https://a.example/?q=1&r=2)"},
	}
	for _, tt := range tests {
		if got := Plain(tt.in); got != tt.want {
			t.Errorf("Plain(%q):\n got %q\nwant %q", tt.in, got, tt.want)
		}
	}
}

func TestParseMrkdwnSpans(t *testing.T) {
	got := ParseMrkdwn("*Deploy* of <https://ci.example/42|build 42> ~failed~ in `main`\n> _see log_\n```x := 1```")
	want := []Span{
		{Text: "Deploy", Bold: true},
		{Text: " of "},
		{Text: "build 42", URL: "https://ci.example/42"},
		{Text: " "},
		{Text: "failed", Strike: true},
		{Text: " in "},
		{Text: "main", Code: true},
		{Text: "\n"},
		{Text: "see log", Italic: true, Quote: true},
		{Text: "\n", Quote: true},
		{Text: "x := 1", Pre: true},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("spans:\n got %+v\nwant %+v", got, want)
	}
}
