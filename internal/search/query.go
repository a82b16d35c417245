package search

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// clauseKind says how a clause of a query matches.
type clauseKind uint8

const (
	clauseWord   clauseKind = iota // the word itself
	clausePrefix                   // any word starting with it (typed as word*)
	clausePhrase                   // these words, next to each other, in order (typed in double quotes)
)

// clause is one part of a parsed query; a message must match every clause.
type clause struct {
	kind clauseKind
	text string // as typed, without the quotes or the '*'
}

// minPrefix is the fewest characters a prefix needs; a shorter one would
// match most of the index, so it is searched as a word.
const minPrefix = 2

// parseQuery splits what a user typed into clauses: words separated by
// white space, "quoted phrases" (an unclosed quote runs to the end), and
// prefixes (a word ending in '*'). It never fails: anything else is part
// of a word, and the analyzer decides later what a word's letters are.
func parseQuery(q string) []clause {
	var out []clause
	for {
		q = strings.TrimLeftFunc(q, unicode.IsSpace)
		if q == "" {
			return out
		}
		if q[0] == '"' {
			phrase, rest, _ := strings.Cut(q[1:], `"`)
			if phrase = strings.TrimSpace(phrase); phrase != "" {
				out = append(out, clause{kind: clausePhrase, text: phrase})
			}
			q = rest
			continue
		}
		end := strings.IndexFunc(q, func(r rune) bool { return r == '"' || unicode.IsSpace(r) })
		if end < 0 {
			end = len(q)
		}
		word := q[:end]
		q = q[end:]
		if p, ok := strings.CutSuffix(word, "*"); ok {
			p = strings.TrimRight(p, "*")
			switch {
			case utf8.RuneCountInString(p) >= minPrefix:
				out = append(out, clause{kind: clausePrefix, text: p})
			case p != "":
				out = append(out, clause{kind: clauseWord, text: p})
			}
			continue
		}
		out = append(out, clause{kind: clauseWord, text: word})
	}
}
