package tui

import (
	"context"
	"errors"
	"net/http"
	"slices"

	tea "charm.land/bubbletea/v2"

	"github.com/parley-chat/parley/internal/api"
)

// open switches to a conversation, loading its newest page if needed.
func (m *Model) open(conv string) tea.Cmd {
	if conv == "" {
		return nil
	}
	m.cur = conv
	m.showHelp = false
	m.comp = completion{}
	m.thread, m.search, m.refs, m.highlight, m.jump = nil, nil, nil, "", nil
	m.setPlaceholder()
	m.syncRefs()
	t := m.timeline(conv)
	cmds := []tea.Cmd{m.markRead(conv)}
	if !t.loaded && !t.loading {
		t.loading = true
		cmds = append(cmds, m.loadHistory(conv, "", false))
	}
	if room, ok := roomOf(conv); ok {
		cmds = append(cmds, m.loadMembers(room))
	}
	return tea.Batch(cmds...)
}

// defaultConv is the conversation to open first: #lobby, else the first
// one; "" if there is none.
func (m *Model) defaultConv() string {
	first := ""
	for _, c := range m.convs {
		if c.Conversation == "room:lobby" || first == "" {
			first = c.Conversation
		}
	}
	return first
}

// step moves to the next (or previous) conversation; with activity, to
// the next one with unread messages.
func (m *Model) step(dir int, activity bool) tea.Cmd {
	n := len(m.convs)
	if n == 0 {
		return nil
	}
	i := slices.IndexFunc(m.convs, func(c api.Conversation) bool { return c.Conversation == m.cur })
	for range n {
		i = (i + dir + n) % n
		if !activity || m.convs[i].Unread > 0 {
			return m.open(m.convs[i].Conversation)
		}
	}
	m.setStatus("no conversation with unread messages", false)
	return nil
}

// refreshConvs reloads the conversation list and the rooms' settings; while a reload runs, one
// more is queued instead (see gotConvs).
func (m *Model) refreshConvs() tea.Cmd {
	if m.convsBusy {
		m.convsDirty = true
		return nil
	}
	m.convsBusy = true
	return m.ask(func(ctx context.Context) (tea.Msg, error) {
		// The error goes to gotConvs, which also ends the reload.
		cs, err := m.be.Conversations(ctx)
		var rs []api.Room
		if err == nil {
			rs, err = m.be.Rooms(ctx)
		}
		return convsMsg{convs: cs, rooms: rs, err: err}, nil
	})
}

// gotConvs takes a reloaded conversation list, or the error that stopped
// the reload (then the list stays and the next refresh tries again).
func (m *Model) gotConvs(msg convsMsg) tea.Cmd {
	m.convsBusy = false
	if msg.err != nil {
		m.setStatus(msg.err.Error(), true)
		if m.convsDirty {
			m.convsDirty = false
			return m.refreshConvs()
		}
		return nil
	}
	m.convs = msg.convs
	m.setRooms(msg.rooms)
	for i := range m.convs {
		if m.convs[i].Conversation == m.cur {
			m.convs[i].Unread = 0
		}
	}
	var cmds []tea.Cmd
	if m.cur == "" && m.ready {
		// The first conversation appeared (e.g. a new node's #lobby,
		// joined just after the client asked): open it.
		cmds = append(cmds, m.open(m.defaultConv()))
	}
	if m.convsDirty {
		m.convsDirty = false
		cmds = append(cmds, m.refreshConvs())
	}
	return tea.Batch(cmds...)
}

// left forgets a room that was left (its name, without '#').
func (m *Model) left(room string) tea.Cmd {
	m.setStatus("left #"+room, false)
	conv := "room:" + room
	delete(m.tl, conv) // a later join loads it afresh
	if m.cur == conv {
		// Nothing to say in a room left: the refresh opens another.
		m.cur, m.input.Placeholder = "", ""
	}
	return m.refreshConvs()
}

func (m *Model) refreshPeers() tea.Cmd {
	return m.ask(func(ctx context.Context) (tea.Msg, error) {
		ps, err := m.be.Peers(ctx)
		return peersMsg(ps), err
	})
}

func (m *Model) loadMembers(room string) tea.Cmd {
	return m.ask(func(ctx context.Context) (tea.Msg, error) {
		ms, err := m.be.Members(ctx, "#"+room)
		if apiErr := (*api.Error)(nil); errors.As(err, &apiErr) && apiErr.Status == http.StatusNotFound {
			return nil, nil // not joined any more: nothing to show
		}
		if err != nil {
			return nil, err
		}
		return membersMsg{room, ms}, nil
	})
}

// markRead clears conv's unread count, and tells the node if it had any.
func (m *Model) markRead(conv string) tea.Cmd {
	for i := range m.convs {
		if m.convs[i].Conversation == conv {
			if m.convs[i].Unread == 0 {
				return nil
			}
			m.convs[i].Unread = 0
		}
	}
	return m.tellRead(conv)
}

// tellRead tells the node that conv is read. A failure (e.g. an empty
// conversation) is not worth a word to the user.
func (m *Model) tellRead(conv string) tea.Cmd {
	return m.ask(func(ctx context.Context) (tea.Msg, error) {
		_ = m.be.MarkRead(ctx, withOf(conv), "")
		return nil, nil
	})
}
