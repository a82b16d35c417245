package tui

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/parley-chat/parley/internal/api"
)

// fetchedMsg is the end of a /get: the files saved, or why not.
type fetchedMsg struct {
	id    string
	files []api.File
	err   error
}

// get runs /get [ID-prefix]: it fetches the files of the message named,
// else of the newest message in the open conversation with a file not
// here yet. The call waits for the whole fetch; progress comes meanwhile
// as file events.
func (m *Model) get(args []string) tea.Cmd {
	if len(args) > 1 {
		m.setStatus("usage: /get [message ID prefix]", true)
		return nil
	}
	var msg *api.Message
	var err error
	if len(args) == 1 {
		msg, err = m.messageByPrefix(args[0])
	} else {
		msg, err = m.newestToFetch()
	}
	if err != nil {
		m.setStatus(err.Error(), true)
		return nil
	}
	what := fileNames(msg.Files)
	if m.fetching[msg.ID] {
		m.setStatus("already fetching "+what, false)
		return nil
	}
	m.fetching[msg.ID] = true
	m.setStatus("fetching "+what+"…", false)
	id := msg.ID
	return m.askFor(api.DefaultFetchTimeout+callTimeout, func(ctx context.Context) (tea.Msg, error) {
		resp, err := m.be.Fetch(ctx, id, "", "")
		return fetchedMsg{id: id, files: resp.Files, err: err}, nil
	})
}

// newestToFetch is the newest message of the open conversation with a
// file that is not here.
func (m *Model) newestToFetch() (*api.Message, error) {
	t := m.tl[m.cur]
	if t == nil {
		return nil, errors.New("no conversation open")
	}
	withFiles := false
	for i := len(t.msgs) - 1; i >= 0; i-- {
		msg := &t.msgs[i]
		withFiles = withFiles || len(msg.Files) > 0
		if slices.ContainsFunc(msg.Files, func(f api.File) bool { return f.State != fileComplete }) {
			return msg, nil
		}
	}
	if withFiles {
		return nil, errors.New("every file here is downloaded: /open opens the newest")
	}
	return nil, errors.New("no files in this conversation")
}

// messageByPrefix finds a loaded message with files by the start of its
// ID, in the open conversation first.
func (m *Model) messageByPrefix(prefix string) (*api.Message, error) {
	msg, err := m.findByPrefix(prefix, func(msg *api.Message) bool { return len(msg.Files) > 0 })
	if errors.As(err, new(errNoPrefix)) {
		return nil, fmt.Errorf("no message with files starts with %s", strings.ToLower(prefix))
	}
	return msg, err
}

// gotFetched ends a /get.
func (m *Model) gotFetched(r fetchedMsg) {
	delete(m.fetching, r.id)
	if r.err != nil {
		var names []string
		for _, t := range m.tl {
			for i := range t.msgs {
				if t.msgs[i].ID != r.id {
					continue
				}
				t.msgs[i].Files = slices.Clone(t.msgs[i].Files)
				for j := range t.msgs[i].Files {
					f := &t.msgs[i].Files[j]
					if f.State == fileComplete {
						continue
					}
					names = append(names, f.Name)
					f.State = fileFailed
					if m.fileReasons[f.Hash] == "" {
						m.fileReasons[f.Hash] = r.err.Error()
					}
				}
			}
		}
		m.setStatus("could not fetch "+strings.Join(slices.Compact(names), ", ")+": "+r.err.Error(), true)
		return
	}
	for _, f := range r.files {
		path := f.Path
		delete(m.fileReasons, f.Hash)
		m.eachFile(f.Hash, func(g *api.File) { g.State, g.Have, g.Path = fileComplete, g.Size, path })
	}
	switch len(r.files) {
	case 0:
		m.setStatus("nothing to fetch", false)
	case 1:
		m.setStatus("saved "+m.shortPath(r.files[0].Path)+" · /open opens it", false)
	default:
		m.setStatus(fmt.Sprintf("saved %d files in %s · /open opens the newest", len(r.files), m.shortPath(filepath.Dir(r.files[0].Path))), false)
	}
}

// fileNames lists files by name.
func fileNames(fs []api.File) string {
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = oneLine(f.Name)
	}
	return strings.Join(names, ", ")
}

// openFile runs /open [n]: it opens the newest downloaded file of the open
// conversation (n: the nth newest) with Options.Open, off the update
// loop; with no program to open it, the status line shows where it is.
func (m *Model) openFile(args []string) tea.Cmd {
	n := 1
	if len(args) > 1 {
		m.setStatus("usage: /open [n] (n: the nth newest downloaded file)", true)
		return nil
	}
	if len(args) == 1 {
		var err error
		if n, err = strconv.Atoi(args[0]); err != nil || n < 1 {
			m.setStatus("usage: /open [n] (n: the nth newest downloaded file)", true)
			return nil
		}
	}
	var files []api.File
	if t := m.tl[m.cur]; t != nil {
		for i := len(t.msgs) - 1; i >= 0; i-- {
			for _, f := range t.msgs[i].Files {
				if f.State == fileComplete && f.Path != "" {
					files = append(files, f)
				}
			}
		}
	}
	switch {
	case len(files) == 0:
		m.setStatus("no downloaded file here: /get fetches a message's files", true)
		return nil
	case n > len(files):
		m.setStatus(fmt.Sprintf("only %d downloaded files here", len(files)), true)
		return nil
	}
	path, shown, open := files[n-1].Path, m.shortPath(files[n-1].Path), m.opts.Open
	return func() tea.Msg {
		if _, err := os.Stat(path); err != nil {
			return statusMsg{text: "cannot open " + shown + ": " + err.Error(), err: true}
		}
		err := open(path)
		switch {
		case errors.Is(err, errNoOpener):
			return statusMsg{text: "no program to open files with: the file is at " + oneLine(path)}
		case err != nil:
			return statusMsg{text: "could not open " + shown + ": " + err.Error(), err: true}
		}
		return statusMsg{text: "opened " + shown}
	}
}
