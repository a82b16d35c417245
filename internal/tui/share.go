package tui

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
)

// shareTimeout bounds a /share: the files stream to the node as they are
// read, which for a large file takes longer than a call.
const shareTimeout = 15 * time.Minute

// shareUsage is /share's usage line.
const shareUsage = "usage: /share PATH [PATH…] [-- caption]"

// share runs /share PATH [PATH...] [-- caption]: the files go to the open
// conversation in one message. Paths are words as a shell splits them
// (quotes, backslashes), with ~ for the home directory; everything after
// a lone -- is the caption, as typed.
func (m *Model) share(line string) tea.Cmd {
	words, _ := splitWords(line)
	var paths []string
	caption := ""
	for _, w := range words[1:] {
		if w.text == "--" && !w.quoted {
			caption = strings.TrimSpace(line[w.start+2:])
			break
		}
		paths = append(paths, w.text)
	}
	if len(paths) == 0 {
		m.setStatus(shareUsage, true)
		return nil
	}
	conv := m.cur
	if conv == "" {
		m.setStatus("no conversation open: /join #room or /msg @nick", true)
		return nil
	}
	if t, ok := m.tl[conv]; ok {
		t.scroll = 0
	}
	names := make([]string, len(paths))
	for i, p := range paths {
		names[i] = filepath.Base(p)
	}
	what := strings.Join(names, ", ")
	m.setStatus("sharing "+what+"…", false)
	limit := m.self.MaxFileSize
	full := make([]string, len(paths))
	for i, p := range paths {
		full[i] = m.expandHome(p)
	}
	return m.askFor(shareTimeout, func(ctx context.Context) (tea.Msg, error) {
		for i, p := range full {
			if err := checkShared(p, paths[i], limit); err != nil {
				return nil, err
			}
		}
		if _, err := m.be.Share(ctx, withOf(conv), full, caption); err != nil {
			return nil, fmt.Errorf("could not share %s: %w", what, err)
		}
		return statusMsg{text: "shared " + what}, nil
	})
}

// checkShared says what is wrong with sharing the file at path (typed as
// typed) before any of it goes: missing, a directory, or over the node's
// limit (0: none known; the node still checks).
func checkShared(path, typed string, limit int64) error {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("no such file: %s", typed)
	case err != nil:
		return err
	case fi.IsDir():
		return fmt.Errorf("%s is a directory: share the files in it", typed)
	case !fi.Mode().IsRegular():
		return fmt.Errorf("%s is not a regular file", typed)
	case limit > 0 && fi.Size() > limit:
		return fmt.Errorf("%s is %s, over the node's limit of %s", typed, humanSize(fi.Size()), humanSize(limit))
	}
	return nil
}

// expandHome reads a leading ~ as the home directory.
func (m *Model) expandHome(path string) string {
	if path == "~" {
		return m.opts.Home
	}
	if rest, ok := strings.CutPrefix(path, "~/"); ok && m.opts.Home != "" {
		return filepath.Join(m.opts.Home, rest)
	}
	return path
}

// word is one word of a command line.
type word struct {
	text   string // with quotes and backslashes undone
	start  int    // byte offset in the line
	quoted bool   // some of it was quoted or escaped
}

// splitWords splits a command line into words as a shell does, with no
// expansion: blanks separate words; a backslash keeps the next character
// as it is; '…' keeps everything in it, "…" everything but \" and \\. An
// unclosed quote runs to the end of the line. trailing reports whether
// the line ends between words (the next word would start there).
func splitWords(line string) (words []word, trailing bool) {
	var cur *word
	var b strings.Builder
	var quote rune
	escaped := false
	end := func() {
		if cur != nil {
			cur.text = b.String()
			words = append(words, *cur)
			cur = nil
			b.Reset()
		}
	}
	for i, r := range line {
		if cur == nil {
			if quote == 0 && !escaped && (r == ' ' || r == '\t' || r == '\n') {
				continue
			}
			cur = &word{start: i}
		}
		switch {
		case escaped:
			b.WriteRune(r)
			escaped = false
		case quote == '\'':
			if r == '\'' {
				quote = 0
			} else {
				b.WriteRune(r)
			}
		case r == '\\' && (quote == 0 || quote == '"'):
			escaped, cur.quoted = true, true
		case quote == '"':
			if r == '"' {
				quote = 0
			} else {
				b.WriteRune(r)
			}
		case r == '\'' || r == '"':
			quote, cur.quoted = r, true
		case r == ' ' || r == '\t' || r == '\n':
			end()
		default:
			b.WriteRune(r)
		}
	}
	trailing = cur == nil && len(line) > 0
	end()
	return words, trailing
}

// escapeWord writes text as one word for splitWords: blanks, quotes and
// backslashes behind a backslash.
func escapeWord(text string) string {
	var b strings.Builder
	for _, r := range text {
		if strings.ContainsRune(" \t\n\\'\"", r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// shareCompletion completes a path argument of /share: base is the line
// before the word, and each choice its replacement. ok is false outside
// /share's paths (a caption is not completed).
func (m *Model) shareCompletion(value string) (base string, choices []string, ok bool) {
	words, trailing := splitWords(value)
	if len(words) == 0 || words[0].text != "/share" || words[0].start != 0 || (len(words) == 1 && !trailing) {
		return "", nil, false
	}
	for _, w := range words[1:] {
		if w.text == "--" && !w.quoted && (trailing || w != words[len(words)-1]) {
			return "", nil, false
		}
	}
	typed := ""
	base = value
	if !trailing {
		last := words[len(words)-1]
		typed, base = last.text, value[:last.start]
	}
	return base, m.pathChoices(typed), true
}

// pathChoices completes a typed path: the entries of its directory that
// start with its last element (hidden ones only when that starts with a
// dot), directories with a trailing slash, files with a space after.
// ~ reads as the home directory and stays in the choices.
func (m *Model) pathChoices(typed string) []string {
	if typed == "~" {
		return []string{"~/"}
	}
	i := strings.LastIndex(typed, "/") + 1
	dir, prefix := typed[:i], typed[i:]
	lookup := m.expandHome(dir)
	if lookup == "" {
		lookup = "."
	}
	entries, err := os.ReadDir(lookup)
	if err != nil {
		return nil
	}
	var choices []string
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, prefix) || (strings.HasPrefix(name, ".") && !strings.HasPrefix(prefix, ".")) {
			continue
		}
		isDir := e.IsDir()
		if e.Type()&fs.ModeSymlink != 0 {
			if fi, err := os.Stat(filepath.Join(lookup, name)); err == nil {
				isDir = fi.IsDir()
			}
		}
		if isDir {
			choices = append(choices, escapeWord(dir+name)+"/")
		} else {
			choices = append(choices, escapeWord(dir+name)+" ")
		}
	}
	slices.Sort(choices)
	return choices
}
