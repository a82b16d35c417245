package tui

import (
	"strings"
	"unicode"
	"unicode/utf8"

	tea "charm.land/bubbletea/v2"

	"github.com/parley-chat/parley/internal/api"
)

// EventMsg wraps an API event for the program (Run sends them).
func EventMsg(e api.Event) tea.Msg { return eventMsg(e) }

// EventsDone tells the model the event stream ended.
func EventsDone(err error) tea.Msg { return eventsDone{err} }

func (m *Model) gotEvent(e api.Event) tea.Cmd {
	switch e.Type {
	case "message":
		msg := *e.Message
		switch msg.Kind {
		case "edit", "delete", "react":
			// Never a line of its own: its target shows it.
			return m.opEvent(msg)
		}
		if !shownKind(msg.Kind) {
			// A membership operation may have changed who is in the room
			// and their roles: the rest of it shows nowhere.
			if room, ok := roomOf(msg.Conversation); ok && msg.Conversation == m.cur {
				return m.loadMembers(room)
			}
			return nil
		}
		// Also while the first page loads: the page may have been read
		// before this message was stored, and merging drops repeats.
		// A thread reply shows in the room only when sent there too.
		inRoom := msg.Thread == "" || msg.AlsoRoom
		if t, ok := m.tl[msg.Conversation]; ok && (t.loaded || t.loading) && inRoom {
			t.msgs = mergeMessages(t.msgs, []api.Message{msg})
		}
		var cmds []tea.Cmd
		if msg.Thread != "" {
			cmds = append(cmds, m.threadReply(msg))
		}
		if msg.Kind == "text" && msg.From != m.self.PeerID {
			cmds = append(cmds, m.alert(msg))
			if msg.Conversation == m.cur {
				cmds = append(cmds, m.tellRead(msg.Conversation))
			}
			if room, ok := roomOf(msg.Conversation); ok {
				m.stoppedTyping(room, m.nick(msg.From))
			}
		}
		cmds = append(cmds, m.refreshConvs())
		if room, ok := roomOf(msg.Conversation); ok && msg.Kind != "text" && msg.Conversation == m.cur {
			cmds = append(cmds, m.loadMembers(room))
		}
		return tea.Batch(cmds...)
	case "status":
		if t, ok := m.tl[e.Status.Conversation]; ok {
			for i := range t.msgs {
				if t.msgs[i].ID == e.Status.ID {
					t.msgs[i].Status, t.msgs[i].Reason = e.Status.Status, e.Status.Reason
				}
			}
		}
	case "peer":
		m.peers[e.Peer.PeerID] = *e.Peer
		return m.refreshConvs()
	case "typing":
		m.startedTyping(e.Room, m.nameOf(*e.Peer))
	case "presence":
		if "room:"+e.Room == m.cur {
			return m.loadMembers(e.Room)
		}
	case "members":
		// A private room's members, roles or settings changed: its role
		// and removed marks, and its member pane if it is open.
		if "room:"+e.Room == m.cur {
			return tea.Batch(m.refreshConvs(), m.loadMembers(e.Room))
		}
		return m.refreshConvs()
	case "room", "read":
		return m.refreshConvs()
	case "receipt":
		// Someone read up to a message: reload the newest page, which
		// says who has seen what.
		if t, ok := m.tl[e.Conversation]; ok && t.loaded && !t.loading {
			return m.loadHistory(e.Conversation, "", false)
		}
	case "file.progress", "file.complete", "file.failed":
		m.gotFileEvent(e)
	case "ephemeral":
		m.gotEphemeral(e)
	}
	return nil
}

// resync reloads what is shown after the event stream (re)opened: events
// from before it are not in the stream.
func (m *Model) resync() tea.Cmd {
	if !m.ready {
		return nil // Init's load comes after the stream opened
	}
	cmds := []tea.Cmd{m.refreshConvs(), m.refreshPeers()}
	for conv, t := range m.tl {
		if t.loaded && !t.loading {
			cmds = append(cmds, m.loadHistory(conv, "", false))
		}
	}
	if room, ok := roomOf(m.cur); ok {
		cmds = append(cmds, m.loadMembers(room))
	}
	if m.thread != nil {
		cmds = append(cmds, m.loadThread(m.thread.root))
	}
	return tea.Batch(cmds...)
}

// alert notifies about a direct message, or a room message naming us.
func (m *Model) alert(msg api.Message) tea.Cmd {
	_, isRoom := roomOf(msg.Conversation)
	mention := isRoom && mentions(msg.Text, m.self.Nick)
	if isRoom && !mention {
		return nil
	}
	title := m.nick(msg.From)
	if isRoom {
		title += " in #" + msg.Room
	}
	m.opts.Notify.Notify(title, msg.Text)
	if m.opts.Bell {
		// Printed by Bubble Tea between frames, never inside one.
		return tea.Raw("\a")
	}
	return nil
}

// mentions reports whether text names @nick as a word: "@bob," and "@bob"
// at the end do, "@bobby" does not.
func mentions(text, nick string) bool {
	if nick == "" {
		return false
	}
	text, at := strings.ToLower(text), "@"+strings.ToLower(nick)
	for {
		i := strings.Index(text, at)
		if i < 0 {
			return false
		}
		text = text[i+len(at):]
		if r, _ := utf8.DecodeRuneInString(text); text == "" || !nickChar(r) {
			return true
		}
	}
}

// nickChar reports whether r can continue a nickname in a mention ('.'
// may end a sentence, so it ends a mention).
func nickChar(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_' }
