package search

import (
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestParseQuery(t *testing.T) {
	tests := []struct {
		in   string
		want []clause
	}{
		{"", nil},
		{"  ", nil},
		{"deploy", []clause{{clauseWord, "deploy"}}},
		{"deploy failed", []clause{{clauseWord, "deploy"}, {clauseWord, "failed"}}},
		{"deplo*", []clause{{clausePrefix, "deplo"}}},
		{"deplo**", []clause{{clausePrefix, "deplo"}}},
		{"d*", []clause{{clauseWord, "d"}}},
		{"*", nil},
		{`"deploy failed" now`, []clause{{clausePhrase, "deploy failed"}, {clauseWord, "now"}}},
		{`a"b c"`, []clause{{clauseWord, "a"}, {clausePhrase, "b c"}}},
		{`"unclosed phrase`, []clause{{clausePhrase, "unclosed phrase"}}},
		{`""`, nil},
		{"\tdon't\n", []clause{{clauseWord, "don't"}}},
	}
	for _, tt := range tests {
		if got := parseQuery(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("parseQuery(%q): got %v, want %v", tt.in, got, tt.want)
		}
	}
}

// FuzzParseQuery holds the parser to what it promises: it never fails,
// makes no empty clause, keeps every clause's text inside the input, and
// a prefix has at least minPrefix characters.
func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{"deploy", `"deploy failed" now*`, `a"b`, "x* y**", "\"\"\"", "é*", "\xff*"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, c := range parseQuery(s) {
			if c.text == "" || strings.TrimSpace(c.text) != c.text {
				t.Fatalf("parseQuery(%q): clause %+v is empty or padded", s, c)
			}
			if !strings.Contains(s, c.text) {
				t.Fatalf("parseQuery(%q): clause %q is not in the input", s, c.text)
			}
			if c.kind == clausePrefix && utf8.RuneCountInString(c.text) < minPrefix {
				t.Fatalf("parseQuery(%q): prefix %q is too short", s, c.text)
			}
			if c.kind != clausePhrase && strings.IndexFunc(c.text, func(r rune) bool { return r == '"' || unicode.IsSpace(r) }) >= 0 {
				t.Fatalf("parseQuery(%q): word %q holds a space or quote", s, c.text)
			}
		}
	})
}
