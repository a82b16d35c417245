package tui

import (
	"context"
	"fmt"
	"sort"
	"strings"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
)

// slashCommands are the commands /help lists and Tab completes (with
// their flags).
var slashCommands = []struct {
	name, args, help string
	flags            []string
}{
	{name: "/join", args: "#room | invite-link", help: "join a room and open it, a private one by its invite link"},
	{name: "/create", args: "#room [--private]", help: "create a room (--private: you are its admin)", flags: []string{"--private"}},
	{name: "/leave", args: "[#room]", help: "leave the open room (or the one named)"},
	{name: "/invite", args: "[#room] [--uses N] [--expires 10m]", help: "a link (and QR code) into a private room", flags: []string{"--uses", "--expires"}},
	{name: "/members", args: "", help: "the open room's members (★: admin)"},
	{name: "/remove", args: "@nick|peer-id", help: "remove a member (private rooms, admins)"},
	{name: "/promote", args: "@nick|peer-id", help: "make a member an admin (private rooms, admins)"},
	{name: "/msg", args: "@nick|peer-id [text]", help: "open a direct conversation (and send text)"},
	{name: "/nick", args: "name", help: "change your nickname"},
	{name: "/peers", args: "", help: "list known peers"},
	{name: "/verify", args: "[@nick|peer-id]", help: "compare safety numbers"},
	{name: "/connect", args: "multiaddr", help: "connect to a peer by address (…/p2p/<peer ID>)"},
	{name: "/share", args: "path… [-- caption]", help: "share files here"},
	{name: "/get", args: "[message-id]", help: "fetch a message's files"},
	{name: "/open", args: "[n]", help: "open a downloaded file"},
	{name: "/reply", args: "N text", help: "reply to message N"},
	{name: "/thread", args: "N", help: "open message N's thread"},
	{name: "/also", args: "", help: "thread: to the room too"},
	{name: "/edit", args: "N [text]", help: "change your message N"},
	{name: "/delete", args: "N", help: "delete N for everyone"},
	{name: "/react", args: "N emoji", help: "react (again: take back)"},
	{name: "/search", args: "words", help: "search all conversations"},
	{name: "/help", args: "", help: "show this help"},
	{name: "/quit", args: "", help: "quit (Ctrl+C)"},
}

// helpLines is the help /help shows, at width w: a command and its
// arguments, and what it does beside them when it fits, else under them.
func (m *Model) helpLines(w int) []string {
	lines := []string{m.th.title.Render("Commands:")}
	const argsWidth = 21
	for _, c := range slashCommands {
		help := strings.ReplaceAll(c.help, "★", m.th.admin)
		line := fmt.Sprintf("%-9s %-*s %s", c.name, argsWidth, c.args, help)
		if len(c.args) <= argsWidth && lipgloss.Width(line) <= w {
			lines = append(lines, line)
			continue
		}
		lines = append(lines, wrap(strings.TrimSpace(fmt.Sprintf("%-9s %s", c.name, c.args)), w)...)
		for _, l := range wrap(help, w-10) {
			lines = append(lines, strings.Repeat(" ", 10)+l)
		}
	}
	lines = append(lines, "", m.th.title.Render("Keys:"))
	for _, k := range []string{
		"N: the number beside a message while you type such a command, or its ID",
		"Enter send · Alt+Enter new line · Tab complete @nick #room /command --flag path",
		"Ctrl+N/Ctrl+P or Alt+Down/Alt+Up switch conversation · Alt+A next with activity",
		"PgUp/PgDn scroll (older messages load at the top) · Esc close a thread · Ctrl+C quit",
		"On the invite panel: c copy the link · Esc close",
	} {
		lines = append(lines, wrap(k, w)...)
	}
	return lines
}

// helpView renders the help in h lines of width w: when it is longer,
// the part scrolled to and a last line that says how to see the rest.
func (m *Model) helpView(w, h int) []string {
	lines := m.helpLines(w)
	if len(lines)+2 <= h {
		return append(lines, "", "Press any key to close this help.")
	}
	body := max(h-1, 1)
	from := min(max(m.helpScroll, 0), max(len(lines)-body, 0))
	view := lines[from:min(from+body, len(lines))]
	more := "PgDn/↓ more"
	if from+body >= len(lines) {
		more = "PgUp/↑ back"
	}
	return append(view, m.th.dim.Render(more+" · any other key closes this help"))
}

// helpKey handles a key while the help shows: PgUp/PgDn and the arrows
// scroll it (when it is longer than the screen), any other key closes it.
func (m *Model) helpKey(k tea.KeyPressMsg) {
	page := m.timelineHeight() - 2
	switch k.String() {
	case "pgdown":
		m.helpScroll += page
	case "down":
		m.helpScroll++
	case "pgup":
		m.helpScroll -= page
	case "up":
		m.helpScroll--
	default:
		m.showHelp, m.helpScroll = false, 0
		return
	}
	body := m.timelineHeight() - 1
	m.helpScroll = min(max(m.helpScroll, 0), max(len(m.helpLines(m.timelineWidth()))-body, 0))
}

// command runs a slash command.
func (m *Model) command(line string) tea.Cmd {
	fields := strings.Fields(line)
	name, args := fields[0], fields[1:]
	rest := strings.TrimSpace(strings.TrimPrefix(line, name))
	switch name {
	case "/quit", "/exit":
		return tea.Quit
	case "/help":
		m.showHelp, m.helpScroll, m.safety, m.invite = true, 0, nil, nil
		return nil
	case "/join":
		return m.joinCommand(args)
	case "/create":
		return m.createCommand(args)
	case "/invite":
		return m.inviteCommand(args)
	case "/members":
		return m.membersCommand()
	case "/remove", "/promote":
		return m.memberCommand(name, args)
	case "/leave":
		room := ""
		if len(args) > 0 {
			room = args[0]
		} else if r, ok := roomOf(m.cur); ok {
			room = "#" + r
		}
		if room == "" {
			m.setStatus("usage: /leave #room (or open the room first)", true)
			return nil
		}
		return m.ask(func(ctx context.Context) (tea.Msg, error) {
			res, err := m.be.Leave(ctx, room)
			return leftMsg(res.Name), err
		})
	case "/msg":
		if len(args) < 1 {
			m.setStatus("usage: /msg @nick|peer-id [text]", true)
			return nil
		}
		to := args[0]
		text := strings.TrimSpace(strings.TrimPrefix(rest, to))
		if text == "" {
			peerID, err := m.resolve(to)
			if err != nil {
				m.setStatus(err.Error(), true)
				return nil
			}
			return func() tea.Msg { return openMsg("dm:" + peerID) }
		}
		return m.ask(func(ctx context.Context) (tea.Msg, error) {
			msg, err := m.be.Send(ctx, to, text)
			return openMsg(msg.Conversation), err
		})
	case "/nick":
		if len(args) != 1 {
			m.setStatus("usage: /nick name", true)
			return nil
		}
		return m.ask(func(ctx context.Context) (tea.Msg, error) {
			if err := m.be.SetNick(ctx, args[0]); err != nil {
				return nil, err
			}
			self, err := m.be.Identity(ctx)
			return selfMsg(self), err
		})
	case "/peers":
		var names []string
		for _, p := range m.peers {
			state := "offline"
			if p.Connected {
				state = "online"
			}
			names = append(names, fmt.Sprintf("%s (%s)", m.nameOf(p), state))
		}
		sort.Strings(names)
		if len(names) == 0 {
			m.setStatus("no known peers yet: LAN peers appear by themselves; others: /connect <multiaddr>", false)
		} else {
			m.setStatus("peers: "+strings.Join(names, ", "), false)
		}
		return m.refreshPeers()
	case "/verify":
		return m.verifyCommand(args)
	case "/reply":
		return m.replyCommand(line)
	case "/thread":
		return m.threadCommand(line)
	case "/also":
		m.alsoCommand()
		return nil
	case "/edit":
		return m.editCommand(line)
	case "/delete":
		return m.deleteCommand(line)
	case "/react":
		return m.reactCommand(line)
	case "/search":
		return m.searchCommand(rest)
	case "/share":
		return m.share(line)
	case "/get":
		return m.get(args)
	case "/open":
		return m.openFile(args)
	case "/connect":
		if len(args) != 1 {
			m.setStatus("usage: /connect /ip4/…/tcp/…/p2p/<peer ID>", true)
			return nil
		}
		m.setStatus("connecting…", false)
		return m.ask(func(ctx context.Context) (tea.Msg, error) {
			p, err := m.be.Connect(ctx, args[0])
			return statusMsg{text: "connected to " + shortID(p)}, err
		})
	}
	return m.nodeCommand(name, line)
}
