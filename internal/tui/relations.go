package tui

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/parley-chat/parley/internal/api"
)

// updatedMsg is a message as it stands now, fetched after an edit, a
// delete, a reaction or a new thread reply changed it.
type updatedMsg api.Message

// refArgs splits "/cmd N rest" into the message named and the rest;
// usage is the status shown when N is missing.
func (m *Model) refArgs(line, usage string, needText bool) (api.Message, string, bool) {
	fields := strings.Fields(line)
	if len(fields) < 2 || (needText && len(fields) < 3) {
		m.setStatus("usage: "+usage, true)
		return api.Message{}, "", false
	}
	msg, err := m.resolveRef(fields[1])
	if err != nil {
		m.setStatus(err.Error(), true)
		return api.Message{}, "", false
	}
	rest := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(strings.TrimPrefix(line, fields[0])), fields[1]))
	return msg, rest, true
}

// replyCommand runs /reply N TEXT: a reply quoting message N, in the
// open thread when one is open (to the room too with /also).
func (m *Model) replyCommand(line string) tea.Cmd {
	msg, text, ok := m.refArgs(line, "/reply N text (N: the number beside a message, or its ID)", true)
	if !ok {
		return nil
	}
	req := api.ReplyRequest{Text: text}
	if m.thread != nil {
		req.Thread, req.AlsoRoom = true, m.thread.also
	}
	return m.ask(func(ctx context.Context) (tea.Msg, error) {
		_, err := m.be.Reply(ctx, msg.ID, req)
		return nil, err
	})
}

// editCommand runs /edit N TEXT; /edit N puts the message's text in the
// composer to change it.
func (m *Model) editCommand(line string) tea.Cmd {
	msg, text, ok := m.refArgs(line, "/edit N [new text]", false)
	if !ok {
		return nil
	}
	if msg.From != m.self.PeerID {
		m.setStatus("not your message: only its author edits a message", true)
		return nil
	}
	if msg.Deleted {
		m.setStatus("that message is deleted", true)
		return nil
	}
	if text == "" {
		fields := strings.Fields(line)
		m.input.SetValue(fields[0] + " " + fields[1] + " " + msg.Text)
		m.input.CursorEnd()
		m.layout()
		m.syncRefs()
		m.setStatus("edit the text and press Enter", false)
		return nil
	}
	if text == msg.Text {
		m.setStatus("unchanged", false)
		return nil
	}
	return m.ask(func(ctx context.Context) (tea.Msg, error) {
		_, err := m.be.Edit(ctx, msg.ID, text)
		return statusMsg{text: "edited"}, err
	})
}

// deleteCommand runs /delete N: the message is erased for everyone,
// which cannot be undone, so the first Enter only asks; the composer keeps
// the line, and Enter on it again deletes.
func (m *Model) deleteCommand(line string) tea.Cmd {
	msg, _, ok := m.refArgs(line, "/delete N", false)
	if !ok {
		return nil
	}
	if msg.Deleted {
		m.setStatus("already deleted", false)
		return nil
	}
	if m.confirmDelete != msg.ID {
		m.confirmDelete = msg.ID
		m.input.SetValue(line)
		m.input.CursorEnd()
		m.layout()
		m.setStatus("delete “"+firstLineOf(msg.Text, 40)+"” for everyone? Enter again to delete, Esc or any other text to keep it", false)
		return nil
	}
	m.confirmDelete = ""
	return m.ask(func(ctx context.Context) (tea.Msg, error) {
		_, err := m.be.Delete(ctx, msg.ID)
		return statusMsg{text: "deleted for everyone"}, err
	})
}

// reactCommand runs /react N EMOJI: the emoji on the message, or off it
// again when it was this node's already.
func (m *Model) reactCommand(line string) tea.Cmd {
	msg, emoji, ok := m.refArgs(line, "/react N emoji", true)
	if !ok {
		return nil
	}
	return m.ask(func(ctx context.Context) (tea.Msg, error) {
		res, err := m.be.React(ctx, msg.ID, emoji)
		if err != nil {
			return nil, err
		}
		if !res.Added {
			return statusMsg{text: "took back " + emoji}, nil
		}
		return statusMsg{text: "reacted " + emoji}, nil
	})
}

// refetch loads a message as it stands now; one no longer held (deleted
// before it came, left room) is not worth a word.
func (m *Model) refetch(id string) tea.Cmd {
	if id == "" {
		return nil
	}
	return m.ask(func(ctx context.Context) (tea.Msg, error) {
		msg, err := m.be.Message(ctx, id)
		if apiErr := (*api.Error)(nil); errors.As(err, &apiErr) && apiErr.Status == http.StatusNotFound {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		return updatedMsg(msg), nil
	})
}

// gotUpdated puts a message's new state wherever it is loaded.
func (m *Model) gotUpdated(msg api.Message) {
	for _, t := range m.tl {
		for i := range t.msgs {
			if t.msgs[i].ID == msg.ID {
				t.msgs[i] = msg
			}
		}
	}
	if m.thread != nil {
		for i := range m.thread.msgs {
			if m.thread.msgs[i].ID == msg.ID {
				m.thread.msgs[i] = msg
			}
		}
	}
}

// opEvent handles an edit, delete or reaction: never a line of its own,
// its target is fetched anew and shown as it is now.
func (m *Model) opEvent(msg api.Message) tea.Cmd {
	return m.refetch(msg.Target)
}

// quoteOf is the quoted first line of the message msgs[i] replies to:
// its author and the start of its text, looked up among the messages
// before it.
func (m *Model) quoteOf(msgs []api.Message, i int) string {
	parent := msgs[i].ReplyTo
	for j := i - 1; j >= 0; j-- {
		if msgs[j].ID != parent {
			continue
		}
		p := msgs[j]
		text := "message deleted"
		if !p.Deleted {
			text, _, _ = strings.Cut(printable(p.Text), "\n")
		}
		return m.author(p) + ": " + text
	}
	return "reply to an earlier message"
}

// mentionsSelf reports whether a message mentions this node (by name, or
// all of the room).
func (m *Model) mentionsSelf(msg api.Message) bool {
	return msg.MentionAll || (m.self.PeerID != "" && slices.Contains(msg.Mentions, m.self.PeerID))
}

// styleText styles a line of a message's text: all of it when the
// message mentions this node, else its @nick words.
func (m *Model) styleText(line string, mentioned bool) string {
	if !m.th.color {
		return line
	}
	if mentioned {
		return m.th.mention.Render(line)
	}
	if !strings.Contains(line, "@") {
		return line
	}
	words := strings.Split(line, " ")
	for i, w := range words {
		if len(w) > 1 && w[0] == '@' {
			words[i] = m.th.mentionWord.Render(w)
		}
	}
	return strings.Join(words, " ")
}

// reactionsLine writes a message's reactions: "👍 2  🎉 1" (this node's
// own in bold, where there is colour).
func (m *Model) reactionsLine(msg api.Message) string {
	var parts []string
	for _, r := range msg.Reactions {
		if len(r.By) == 0 {
			continue
		}
		part := printable(r.Emoji) + " " + strconv.Itoa(len(r.By))
		if slices.Contains(r.By, m.self.PeerID) {
			part = m.th.title.Render(part)
		}
		parts = append(parts, part)
	}
	return strings.Join(parts, "  ")
}

// repliesNote says how many replies a thread's root has and when the
// newest came: "3 replies, last at 14:05".
func (m *Model) repliesNote(msg api.Message) string {
	note := "1 reply"
	if msg.Replies != 1 {
		note = fmt.Sprintf("%d replies", msg.Replies)
	}
	if msg.LastReplyAt != "" {
		note += ", last at " + m.msgTime(msg.LastReplyAt).Format("15:04")
	}
	return note
}

// firstLineOf is text's first line, made printable and cut to width.
func firstLineOf(text string, width int) string {
	line, _, _ := strings.Cut(printable(text), "\n")
	return truncate(line, width)
}
