package tui

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"charm.land/lipgloss/v2"

	"github.com/parley-chat/parley/internal/api"
)

// File states as the API names them (api.File.State).
const (
	fileRemote      = "remote"
	fileDownloading = "downloading"
	fileComplete    = "complete"
	fileFailed      = "failed"
)

// fileLines appends one line per file of msg, indented under its text:
// a marker, the name, the size (and an image's dimensions) and the state.
// Where the line is too narrow, the dimensions go first, then the state
// gets shorter, then the name is cut. A failed file's reason follows on
// lines of its own.
func (m *Model) fileLines(out []string, msg api.Message, indent, w int) []string {
	pad := strings.Repeat(" ", indent)
	for _, f := range msg.Files {
		marker := "▪"
		if strings.HasPrefix(f.MIME, "image/") {
			marker = "▣"
		}
		size := humanSize(f.Size)
		metas := []string{size}
		if f.Width > 0 && f.Height > 0 {
			metas = []string{fmt.Sprintf("%s  %d×%d", size, f.Width, f.Height), size}
		}
		name := oneLine(f.Name)
		states, style := m.fileStates(msg, f)
		minName := min(lipgloss.Width(name), 12)
		meta, state := metas[len(metas)-1], states[len(states)-1]
	choose:
		for _, st := range states {
			for _, mt := range metas {
				if indent+lipgloss.Width(marker)+1+minName+2+lipgloss.Width(mt)+2+lipgloss.Width(st) <= w {
					meta, state = mt, st
					break choose
				}
			}
		}
		fixed := indent + lipgloss.Width(marker) + 1 + 2 + lipgloss.Width(meta) + 2
		name = ellipsis(name, max(w-fixed-lipgloss.Width(state), 4))
		if over := fixed + lipgloss.Width(name) + lipgloss.Width(state) - w; over > 0 {
			// Too narrow for all of it: cut the state, keep the styles whole.
			state = truncate(state, max(0, lipgloss.Width(state)-over))
		}
		out = append(out, pad+marker+" "+name+"  "+m.th.dim.Render(meta)+"  "+style.Render(state))
		if f.State == fileFailed {
			if reason := m.fileReasons[f.Hash]; reason != "" {
				for _, l := range wrap(oneLine(reason), w-indent-2) {
					out = append(out, m.th.err.Render(pad+"  "+l))
				}
			}
		}
	}
	return out
}

// fileStates says where a file is, longest first, and how to style it.
func (m *Model) fileStates(msg api.Message, f api.File) ([]string, lipgloss.Style) {
	get := "/get " + shortMsgID(msg.ID)
	switch f.State {
	case fileDownloading:
		bar := progressBar(f.Have, f.Size)
		return []string{bar, bar[strings.LastIndex(bar, " ")+1:]}, m.th.dim
	case fileComplete:
		path := m.shortPath(f.Path)
		return []string{"✓ " + path, "✓ " + elidePath(path), "✓"}, m.th.dim
	case fileFailed:
		return []string{"✗ failed · " + get + " to retry", "✗ failed · " + get, "✗ failed"}, m.th.err
	}
	return []string{get + " to fetch", get, "remote"}, m.th.dim
}

// filesKey is what of a message's files changes how it renders.
func (m *Model) filesKey(msg api.Message) string {
	if len(msg.Files) == 0 {
		return ""
	}
	var b strings.Builder
	for _, f := range msg.Files {
		fmt.Fprintf(&b, "\x00%s %d %s", f.State, percent(f.Have, f.Size), f.Path)
		if f.State == fileFailed {
			b.WriteString(m.fileReasons[f.Hash])
		}
	}
	return b.String()
}

// shortMsgID is the prefix of a message ID that /get takes.
func shortMsgID(id string) string { return id[:min(len(id), 8)] }

// percent is how much of size have is, in whole percent.
func percent(have, size int64) int {
	if size <= 0 {
		return 100
	}
	return int(min(max(have, 0), size) * 100 / size)
}

// progressBar draws a download's progress: "▰▰▰▱▱▱▱▱▱▱ 30%".
func progressBar(have, size int64) string {
	const cells = 10
	p := percent(have, size)
	done := p * cells / 100
	return strings.Repeat("▰", done) + strings.Repeat("▱", cells-done) + fmt.Sprintf(" %d%%", p)
}

// humanSize writes a byte count in binary units: "512 B", "1.5 KiB", "3.2 MiB".
func humanSize(n int64) string {
	if n < 1024 {
		return fmt.Sprintf("%d B", n)
	}
	v := float64(n)
	for _, unit := range []string{"KiB", "MiB", "GiB", "TiB"} {
		v /= 1024
		if v < 1024 || unit == "TiB" {
			if v < 10 {
				return fmt.Sprintf("%.1f %s", v, unit)
			}
			return fmt.Sprintf("%.0f %s", v, unit)
		}
	}
	return "" // not reached
}

// shortPath writes a path under the home directory with ~.
func (m *Model) shortPath(path string) string {
	path = oneLine(path)
	home := m.opts.Home
	if home == "" || path == "" {
		return path
	}
	if path == home {
		return "~"
	}
	if rest, ok := strings.CutPrefix(path, strings.TrimSuffix(home, string(filepath.Separator))+string(filepath.Separator)); ok {
		return "~" + string(filepath.Separator) + rest
	}
	return path
}

// elidePath keeps a path's first element and its file name: "~/…/a.pdf".
func elidePath(path string) string {
	sep := string(filepath.Separator)
	dir, base := filepath.Split(path)
	first, _, _ := strings.Cut(strings.TrimPrefix(dir, sep), sep)
	if strings.HasPrefix(dir, sep) {
		first = sep + first
	}
	if first == "" || first+sep+base == path {
		return path
	}
	return first + sep + "…" + sep + base
}

// ellipsis cuts s to w cells, marking the cut with "…".
func ellipsis(s string, w int) string {
	if lipgloss.Width(s) <= w {
		return s
	}
	return truncate(s, max(w-1, 0)) + "…"
}

// oneLine is printable text on a single line (names and reasons come
// from peers).
func oneLine(s string) string { return strings.ReplaceAll(printable(s), "\n", " ") }

// gotFileEvent applies file.progress, file.complete and file.failed to
// every loaded message carrying the file.
func (m *Model) gotFileEvent(e api.Event) {
	switch e.Type {
	case "file.complete":
		delete(m.fileReasons, e.Hash)
	case "file.failed":
		m.fileReasons[e.Hash] = e.Reason
	}
	m.eachFile(e.Hash, func(f *api.File) {
		switch e.Type {
		case "file.progress":
			if f.State == fileComplete {
				return // a late progress report
			}
			f.State = fileDownloading
			if e.Have != nil {
				f.Have = *e.Have
			}
		case "file.complete":
			f.State, f.Have, f.Path = fileComplete, f.Size, e.Path
		case "file.failed":
			f.State = fileFailed
			if e.Have != nil {
				f.Have = *e.Have
			}
		}
		if e.Size != nil && *e.Size > 0 {
			f.Size = *e.Size
		}
	})
}

// eachFile calls fn for every loaded file with the hash.
func (m *Model) eachFile(hash string, fn func(*api.File)) {
	for _, t := range m.tl {
		for i := range t.msgs {
			for j := range t.msgs[i].Files {
				if t.msgs[i].Files[j].Hash == hash {
					// Copy first: a message's files may share their
					// array with a page the backend still holds.
					t.msgs[i].Files = slices.Clone(t.msgs[i].Files)
					fn(&t.msgs[i].Files[j])
				}
			}
		}
	}
}
