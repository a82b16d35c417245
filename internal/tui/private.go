package tui

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/parley-chat/parley/internal/api"
)

// inviteLinkPrefix starts every invite link (chat.InviteLinkPrefix).
const inviteLinkPrefix = "parley://invite/"

// createCommand runs /create #name [--private] (the flag may come first):
// a private room makes this node its first admin; a public one is joined
// as /join does.
func (m *Model) createCommand(args []string) tea.Cmd {
	private, room, extra := false, "", false
	for _, a := range args {
		switch {
		case a == "--private":
			private = true
		case room == "" && !strings.HasPrefix(a, "-"):
			room = "#" + strings.TrimPrefix(a, "#")
		default:
			extra = true
		}
	}
	if room == "" || extra {
		m.setStatus("usage: /create #room [--private]", true)
		return nil
	}
	if !private {
		return m.joinRoom(room)
	}
	return m.ask(func(ctx context.Context) (tea.Msg, error) {
		res, err := m.be.CreatePrivate(ctx, room)
		if err != nil {
			return nil, err
		}
		return tea.BatchMsg{
			func() tea.Msg { return openMsg("room:" + res.Name) },
			func() tea.Msg {
				return statusMsg{text: "created private room #" + res.Name + ": /invite makes a link for the people you want in it"}
			},
		}, nil
	})
}

// joinCommand runs /join #room, or /join with an invite link.
func (m *Model) joinCommand(args []string) tea.Cmd {
	if len(args) != 1 {
		m.setStatus("usage: /join #room (or /join "+inviteLinkPrefix+"…)", true)
		return nil
	}
	if strings.HasPrefix(args[0], inviteLinkPrefix) {
		return m.joinLink(args[0])
	}
	return m.joinRoom("#" + strings.TrimPrefix(args[0], "#"))
}

func (m *Model) joinRoom(room string) tea.Cmd {
	return m.ask(func(ctx context.Context) (tea.Msg, error) {
		res, err := m.be.Join(ctx, room)
		return openMsg("room:" + res.Name), err
	})
}

// joinLink joins a private room by invite link; an invite that does not
// work says why on the status line, and what to do.
func (m *Model) joinLink(link string) tea.Cmd {
	m.setStatus("joining by invite…", false)
	return m.ask(func(ctx context.Context) (tea.Msg, error) {
		res, err := m.be.AcceptInvite(ctx, link)
		if err != nil {
			return nil, inviteError(err)
		}
		text := "joined private room #" + res.Name
		if !res.Changed {
			text = "already in #" + res.Name
		}
		return tea.BatchMsg{
			func() tea.Msg { return openMsg("room:" + res.Name) },
			func() tea.Msg { return statusMsg{text: text} },
		}, nil
	})
}

// inviteError explains why an invite link did not work, by the API's
// answer: gone (used up, expired, revoked), forbidden (forged or
// damaged), not found (no member of the room reached knew it).
func inviteError(err error) error {
	var apiErr *api.Error
	if !errors.As(err, &apiErr) {
		return fmt.Errorf("join by invite: %w", err)
	}
	switch apiErr.Status {
	case http.StatusGone:
		return fmt.Errorf("join by invite: %w: ask for a new link", err)
	case http.StatusForbidden:
		return fmt.Errorf("join by invite: %w: check that the whole link was copied, or ask for it again", err)
	case http.StatusNotFound:
		return fmt.Errorf("join by invite: %w: try again when a member of the room is online", err)
	}
	return fmt.Errorf("join by invite: %w", err)
}

// memberCommand runs /remove or /promote @nick|peer-id in the open
// private room; the node says no (on the status line) unless this node
// is one of its admins.
func (m *Model) memberCommand(name string, args []string) tea.Cmd {
	room, ok := roomOf(m.cur)
	if len(args) != 1 || !ok {
		m.setStatus("usage: "+name+" @nick|peer-id (in the private room open)", true)
		return nil
	}
	if r, known := m.rooms[room]; known && !r.Private {
		m.setStatus("#"+room+" is public: it has no admins, and anyone may join it", true)
		return nil
	}
	peer := args[0]
	do, done := m.be.RemoveMember, "removed"
	if name == "/promote" {
		do, done = m.be.PromoteMember, "made admin:"
	}
	return m.ask(func(ctx context.Context) (tea.Msg, error) {
		if err := do(ctx, "#"+room, peer); err != nil {
			return nil, err
		}
		return tea.BatchMsg{
			m.loadMembers(room),
			func() tea.Msg { return statusMsg{text: done + " " + peer + " in #" + room} },
		}, nil
	})
}

// membersCommand runs /members: the open room's members and their roles
// on the status line (the members pane shows them on wide terminals).
func (m *Model) membersCommand() tea.Cmd {
	room, ok := roomOf(m.cur)
	if !ok {
		m.setStatus("usage: /members (in a room)", true)
		return nil
	}
	var names []string
	for _, mb := range m.members[room] {
		names = append(names, m.memberLabel(mb))
	}
	if len(names) == 0 {
		m.setStatus("no members of #"+room+" known yet", false)
	} else {
		m.setStatus("#"+room+": "+strings.Join(names, ", "), false)
	}
	return m.loadMembers(room)
}

// memberLabel names a member, marked when an admin of a private room.
func (m *Model) memberLabel(mb api.Member) string {
	if mb.Role == "admin" {
		return m.memberName(mb) + " " + m.th.admin
	}
	return m.memberName(mb)
}

// roomLabel names a room as the sidebar and the header show it: with the
// lock mark when private.
func (m *Model) roomLabel(room string) string {
	if r, ok := m.rooms[room]; ok && r.Private {
		return "#" + room + " " + m.th.lock
	}
	return "#" + room
}

// roomNote says what the header adds about a private room: the role of
// this node in it, or that it was removed.
func (m *Model) roomNote(room string) string {
	r, ok := m.rooms[room]
	switch {
	case !ok || !r.Private:
		return ""
	case r.Removed:
		return "removed: you are no longer a member"
	case r.Role == "admin":
		return "private · you are an admin"
	}
	return "private"
}

// removedFrom reports whether this node was removed from the room.
func (m *Model) removedFrom(room string) bool { return m.rooms[room].Removed }
