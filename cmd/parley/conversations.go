package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/parley-chat/parley/crypto"
	"github.com/parley-chat/parley/internal/api"
)

// maxStdinText caps a message read from standard input.
const maxStdinText = 1 << 20

func (c *cli) sendCmd() *cobra.Command {
	var text string
	return clientCommand(c, clientCmd[api.SendResult]{
		use:   "send PEER|#ROOM TEXT|-",
		short: "Send a message to a peer (peer ID or @nick) or a room (#name); '-' reads the text from standard input; '/NAME args' runs a registered slash command",
		args:  exactArgs(2, "a peer (peer ID or @nick) or #room, and a text or '-' to read it from standard input"),
		before: func(args []string) error {
			text = args[1]
			if text != "-" {
				return nil
			}
			b, err := io.ReadAll(io.LimitReader(c.stdin, maxStdinText+1))
			if err != nil {
				return runtimeError{fmt.Errorf("read standard input: %w", err)}
			}
			if len(b) > maxStdinText {
				return usageError{fmt.Errorf("message too large: standard input is over %d bytes", maxStdinText)}
			}
			text = strings.TrimRight(string(b), "\n")
			return nil
		},
		call: func(cl *api.Client, args []string) (api.SendResult, error) {
			return cl.Submit(c.ctx, args[0], text)
		},
		print: func(_ *api.Client, res api.SendResult) error {
			if a := res.Command; a != nil {
				// The command's answer (shown to this user only, or
				// posted); nothing when it answered nothing (yet).
				if a.Text != "" {
					_, _ = fmt.Fprintln(c.stdout, a.Text)
				}
				return nil
			}
			_, _ = fmt.Fprintln(c.stdout, res.Message.ID)
			return nil
		},
	})
}

func (c *cli) historyCmd() *cobra.Command {
	var all, keepUnread bool
	var limit int
	var before, thread string
	cmd := clientCommand(c, clientCmd[[]api.Message]{
		use:   "history PEER|#ROOM [--limit N] [--thread ROOT_ID] [--json]",
		short: "Show a conversation (peer ID, @nick or #room), oldest first, and mark it read",
		args:  exactArgs(1, "a peer (peer ID or @nick) or #room"),
		before: func([]string) error {
			if limit < 1 || limit > api.MaxHistoryLimit {
				return usageError{fmt.Errorf("--limit %d: want 1 to %d", limit, api.MaxHistoryLimit)}
			}
			return nil
		},
		json: true,
		call: func(cl *api.Client, args []string) ([]api.Message, error) {
			if thread != "" {
				ms, err := cl.Thread(c.ctx, thread)
				return nonNil(ms), err
			}
			ms, err := cl.HistoryAll(c.ctx, args[0], limit, before, all)
			if err != nil {
				return nil, err
			}
			if !keepUnread && before == "" && len(ms) > 0 {
				if err := cl.MarkRead(c.ctx, args[0], ""); err != nil {
					return nil, err
				}
			}
			return nonNil(ms), nil
		},
		print: func(cl *api.Client, ms []api.Message) error {
			me := c.me(cl)
			for _, m := range ms {
				c.printMessage(m, me)
			}
			return nil
		},
	})
	cmd.Flags().IntVar(&limit, "limit", api.DefaultHistoryLimit, "how many of the newest messages to show")
	cmd.Flags().StringVar(&before, "before", "", "show messages before this message ID (paging)")
	cmd.Flags().BoolVar(&all, "all", false, "rooms: include join and leave lines")
	cmd.Flags().BoolVar(&keepUnread, "keep-unread", false, "do not mark the conversation read")
	cmd.Flags().StringVar(&thread, "thread", "", "show the thread of this root message: the root, then its replies")
	return cmd
}

func (c *cli) tailCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "tail [--json]",
		Short: "Follow new messages, delivery changes and peers coming and going",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(*cobra.Command, []string) error {
			cl, err := c.client()
			if err != nil {
				return err
			}
			me := c.me(cl)
			err = cl.Events(c.ctx, func(e api.Event) error {
				if asJSON {
					return c.writeJSON(e)
				}
				switch {
				case e.Message != nil:
					c.printMessage(*e.Message, me)
				case e.Status != nil:
					_, _ = fmt.Fprintf(c.stdout, "* %s %s\n", shortID(e.Status.ID), e.Status.Status)
				case e.Peer != nil:
					_, _ = fmt.Fprintf(c.stdout, "* %s is %s\n", withShortID(e.Peer.Display, e.Peer.PeerID), onlineWord(e.Peer.Connected))
				}
				return nil
			})
			if err != nil && !errors.Is(err, context.Canceled) {
				return c.fail(err)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print each event as one JSON line")
	return cmd
}

// self is this node as messages name it: "nick (you)".
type self struct{ peerID, name string }

// me asks the daemon who this node is, best effort.
func (c *cli) me(cl *api.Client) self {
	id, err := cl.Identity(c.ctx)
	if err != nil {
		return self{}
	}
	return self{peerID: id.PeerID, name: orDash(id.Nick) + " (you)"}
}

// printMessage prints a message line, its author named by the display
// name the daemon gives (this node: "nick (you)").
func (c *cli) printMessage(m api.Message, me self) {
	who := m.FromDisplay
	switch {
	case m.From == me.peerID && me.name != "":
		who = me.name
	case who == "":
		who = shortID(m.From)
	}
	if m.App != "" {
		who = m.App + " [app]" // an integration this author's node hosts
	}
	at := m.SentAt
	if t, err := time.Parse(time.RFC3339Nano, m.SentAt); err == nil {
		at = t.Local().Format(timeLayout)
	}
	if m.Kind == "join" || m.Kind == "leave" {
		verb := map[string]string{"join": "joined", "leave": "left"}[m.Kind]
		_, _ = fmt.Fprintf(c.stdout, "%s  * %s %s #%s\n", at, who, verb, m.Room)
		return
	}
	switch m.Kind {
	case "edit", "delete", "react":
		what := map[string]string{"edit": "edited", "delete": "deleted", "react": "reacted " + m.Emoji + " to"}[m.Kind]
		if m.Remove {
			what = "took back " + m.Emoji + " on"
		}
		_, _ = fmt.Fprintf(c.stdout, "%s  * %s %s %s\n", at, who, what, shortID(m.Target))
		return
	}
	text := m.Text
	switch {
	case m.Deleted:
		text = "(message deleted)"
	case m.Edited:
		text += " (edited)"
	}
	if m.Thread != "" {
		text = "[thread " + shortID(m.Thread) + "] " + text
	}
	for _, r := range m.Reactions {
		text += fmt.Sprintf("  %s %d", r.Emoji, len(r.By))
	}
	if m.Replies > 0 {
		text += fmt.Sprintf("  [%d %s]", m.Replies, map[bool]string{true: "reply", false: "replies"}[m.Replies == 1])
	}
	status := ""
	if m.Status != "received" {
		status = "  [" + m.Status + "]"
		if m.Reason != "" {
			status = "  [" + m.Status + ": " + m.Reason + "]"
		}
	}
	if len(m.SeenBy) > 0 {
		status += fmt.Sprintf("  [seen by %d]", len(m.SeenBy))
	}
	_, _ = fmt.Fprintf(c.stdout, "%s  <%s> %s%s\n", at, who, text, status)
}

func shortID(id string) string { return crypto.Short(id) }

// withShortID is a display name followed by the peer's short ID, unless
// the name shows it already.
func withShortID(display, peerID string) string {
	short := shortID(peerID)
	if display == "" {
		return short
	}
	if strings.Contains(display, "("+short+")") || display == short || strings.HasPrefix(display, short+" ") {
		return display
	}
	return display + " (" + short + ")"
}
