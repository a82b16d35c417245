package tui

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/parley-chat/parley/internal/api"
)

// Slash commands registered on the node (parley command create): a
// /word the client does not know is handed to the node, which runs it
// when it is registered there. Its answer for this user only comes as an
// "ephemeral" event and shows in the conversation as a line of its own,
// marked as only visible to you, kept in this client's memory only.

// ephemeralKind is the kind of the timeline lines that show ephemeral
// answers; no message of the node has it.
const ephemeralKind = "ephemeral"

// nodeCommand runs line, whose command name the client does not know, as
// a slash command registered on the node, in the open conversation.
func (m *Model) nodeCommand(name, line string) tea.Cmd {
	unknown := statusMsg{text: "unknown command " + name + ": /help lists them", err: true}
	if m.cur == "" {
		return func() tea.Msg { return unknown }
	}
	to := withOf(m.cur)
	return m.ask(func(ctx context.Context) (tea.Msg, error) {
		a, err := m.be.RunCommand(ctx, to, line)
		var ae *api.Error
		if errors.As(err, &ae) && ae.Status == http.StatusNotFound && strings.HasPrefix(ae.Message, "unknown command") {
			return unknown, nil
		}
		if err != nil {
			return nil, err
		}
		if a.Text == "" {
			return statusMsg{text: a.Command + ": no answer yet"}, nil
		}
		return nil, nil // the answer shows as an event (ephemeral) or a message (in_channel)
	})
}

// gotEphemeral shows an answer for this user only in its conversation's
// timeline.
func (m *Model) gotEphemeral(e api.Event) {
	m.ephemeralSeq++
	line := api.Message{
		ID:           fmt.Sprintf("ephemeral-%d", m.ephemeralSeq),
		Kind:         ephemeralKind,
		Conversation: e.Conversation,
		Text:         e.Text,
		App:          e.Command,
		SentAt:       e.Time.Format(time.RFC3339Nano),
	}
	t := m.timeline(e.Conversation)
	t.msgs = mergeMessages(t.msgs, []api.Message{line})
	if e.Conversation != m.cur {
		m.setStatus(e.Command+" answered in "+m.convName(e.Conversation)+" (only visible to you)", false)
	}
}

// ephemeralLines appends the lines of an ephemeral answer: the command,
// the mark, and its text, dimmed.
func (m *Model) ephemeralLines(out []string, msg api.Message, stamp string, w int) []string {
	prefix := stamp + msg.App + " (only visible to you): "
	indent := lipgloss.Width(prefix)
	if w-indent < 20 {
		// Too narrow beside the mark: the text goes under it.
		out = append(out, m.th.system.Render(truncate(strings.TrimSuffix(prefix, " "), w)))
		prefix, indent = strings.Repeat(" ", lipgloss.Width(stamp)), lipgloss.Width(stamp)
	}
	for i, l := range wrap(printable(msg.Text), max(w-indent, 1)) {
		if i > 0 {
			prefix = strings.Repeat(" ", indent)
		}
		out = append(out, m.th.system.Render(prefix+l))
	}
	return out
}
