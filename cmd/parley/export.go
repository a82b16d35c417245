package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/parley-chat/parley/internal/api"
)

// Export is what `parley export --format json` writes: the whole
// conversation, oldest first, each thread root followed (in thread) by
// its replies, every message with its edits (versions), reactions and
// tombstone as history shows them.
type Export struct {
	Conversation string          `json:"conversation"`
	Name         string          `json:"name"` // as given: #room, peer ID or @nick
	ExportedAt   string          `json:"exported_at"`
	Messages     []ExportMessage `json:"messages"`
}

// ExportMessage is a message of an export: the API's message, with a
// thread root's replies.
type ExportMessage struct {
	api.Message
	ThreadReplies []api.Message `json:"thread_replies,omitempty"`
}

func (c *cli) exportCmd() *cobra.Command {
	var format, out string
	cmd := &cobra.Command{
		Use:   "export CONV [--format json|md] [--out FILE]",
		Short: "Write a whole conversation (#room, peer ID or @nick), threads and edits included, as JSON or Markdown",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			if format != "json" && format != "md" {
				return usageError{fmt.Errorf("--format %q: want json or md", format)}
			}
			cl, err := c.client()
			if err != nil {
				return err
			}
			ex, err := c.export(cl, args[0])
			if err != nil {
				return c.fail(err)
			}
			w, finish, err := exportTarget(c.stdout, out)
			if err != nil {
				return runtimeError{err}
			}
			if format == "json" {
				enc := json.NewEncoder(w)
				enc.SetIndent("", "  ")
				err = enc.Encode(ex)
			} else {
				err = c.writeMarkdown(w, cl, ex)
			}
			if err = finish(err); err != nil {
				return runtimeError{fmt.Errorf("write the export: %w", err)}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "json", "json or md (Markdown)")
	cmd.Flags().StringVar(&out, "out", "", "write to this file (not overwritten if it exists) instead of standard output")
	return cmd
}

// export reads conv's whole history, page by page from the newest, and
// each thread.
func (c *cli) export(cl *api.Client, conv string) (*Export, error) {
	var all []api.Message
	before := ""
	for {
		page, err := cl.HistoryAll(c.ctx, conv, api.MaxHistoryLimit, before, true)
		if err != nil {
			return nil, err
		}
		all = append(page, all...)
		if len(page) < api.MaxHistoryLimit {
			break
		}
		before = page[0].ID
	}
	ex := &Export{Name: conv, ExportedAt: time.Now().UTC().Format(time.RFC3339), Messages: make([]ExportMessage, 0, len(all))}
	for _, m := range all {
		ex.Conversation = m.Conversation
		em := ExportMessage{Message: m}
		if m.Replies > 0 && m.Thread == "" {
			thread, err := cl.Thread(c.ctx, m.ID)
			if err != nil {
				return nil, err
			}
			if len(thread) > 0 {
				em.ThreadReplies = thread[1:] // the first is the root
			}
		}
		ex.Messages = append(ex.Messages, em)
	}
	return ex, nil
}

// exportTarget is where the export goes: standard output, or a new file
// written beside its name and renamed into place once complete.
func exportTarget(stdout io.Writer, path string) (io.Writer, func(error) error, error) {
	if path == "" {
		bw := bufio.NewWriter(stdout)
		return bw, func(err error) error {
			if err != nil {
				return err
			}
			return bw.Flush()
		}, nil
	}
	if _, err := os.Lstat(path); err == nil {
		return nil, nil, fmt.Errorf("%s exists; not overwriting it", path)
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return nil, nil, err
	}
	bw := bufio.NewWriter(f)
	return bw, func(err error) error {
		if err == nil {
			err = bw.Flush()
		}
		if err == nil {
			err = f.Close()
		} else {
			_ = f.Close()
		}
		if err == nil {
			err = os.Link(f.Name(), path) // fails, rather than overwrites, if path appeared meanwhile
		}
		_ = os.Remove(f.Name())
		return err
	}, nil
}

// writeMarkdown writes ex as Markdown: one section per message, thread
// replies indented under their root, edits' earlier versions and
// reactions listed.
func (c *cli) writeMarkdown(w io.Writer, cl *api.Client, ex *Export) error {
	names := c.peerNames(cl)
	name := func(id, display string) string {
		if n := names[id]; n != "" {
			return n
		}
		if display != "" {
			return display
		}
		return id
	}
	var err error
	p := func(format string, a ...any) {
		if err == nil {
			_, err = fmt.Fprintf(w, format, a...)
		}
	}
	p("# %s\n\nExported %s · %d messages\n", mdText(ex.Name), ex.ExportedAt, len(ex.Messages))
	one := func(m api.Message, indent string) {
		when := m.SentAt
		if t, e := time.Parse(time.RFC3339Nano, m.SentAt); e == nil {
			when = t.UTC().Format("2006-01-02 15:04:05 UTC")
		}
		who := mdText(name(m.From, m.FromDisplay))
		switch m.Kind {
		case "join", "leave":
			p("\n%s*%s %s · %s*\n", indent, who, map[string]string{"join": "joined", "leave": "left"}[m.Kind], when)
			return
		}
		p("\n%s**%s** · %s · `%s`", indent, who, when, m.ID[:min(len(m.ID), 12)])
		if m.ReplyTo != "" {
			p(" · reply to `%s`", m.ReplyTo[:min(len(m.ReplyTo), 12)])
		}
		p("\n")
		switch {
		case m.Deleted:
			p("%s*message deleted*\n", indent)
		default:
			for _, l := range strings.Split(m.Text, "\n") {
				p("%s%s\n", indent, mdText(l))
			}
			if m.Edited {
				p("%s*(edited)*\n", indent)
				for _, v := range m.Versions {
					p("%s> earlier (%s): %s\n", indent, v.SentAt, mdText(strings.ReplaceAll(v.Text, "\n", " ")))
				}
			}
		}
		for _, f := range m.Files {
			p("%s- file: %s (%d bytes, %s)\n", indent, mdText(f.Name), f.Size, f.Hash)
		}
		for _, r := range m.Reactions {
			by := make([]string, len(r.By))
			for i, id := range r.By {
				by[i] = mdText(name(id, ""))
			}
			p("%s- %s %s\n", indent, r.Emoji, strings.Join(by, ", "))
		}
	}
	for _, m := range ex.Messages {
		one(m.Message, "")
		if len(m.ThreadReplies) > 0 {
			p("\n> **Thread: %d replies**\n", len(m.ThreadReplies))
			for _, r := range m.ThreadReplies {
				one(r, "> ")
			}
		}
	}
	return err
}

// mdText escapes what Markdown would read as markup or HTML in peers'
// text, so an export shows the text as written.
func mdText(s string) string {
	r := strings.NewReplacer(`\`, `\\`, "`", "\\`", "*", `\*`, "_", `\_`, "<", "&lt;", ">", "&gt;", "[", `\[`, "]", `\]`, "#", `\#`, "|", `\|`)
	return r.Replace(s)
}
