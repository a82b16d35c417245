package tui

import (
	"context"
	"fmt"
	"sort"
	"strings"

	tea "charm.land/bubbletea/v2"
)

// slashCommands are the commands /help lists and Tab completes.
var slashCommands = []struct{ name, args, help string }{
	{"/join", "#room", "join a room and open it"},
	{"/leave", "[#room]", "leave the open room (or the one named)"},
	{"/msg", "@nick|peer-id [text]", "open a direct conversation (and send text)"},
	{"/nick", "name", "change your nickname"},
	{"/peers", "", "list known peers"},
	{"/verify", "[@nick|peer-id]", "compare safety numbers"},
	{"/connect", "multiaddr", "connect to a peer by address (…/p2p/<peer ID>)"},
	{"/share", "path… [-- caption]", "share files here"},
	{"/get", "[message-id]", "fetch a message's files"},
	{"/open", "[n]", "open a downloaded file"},
	{"/help", "", "show this help"},
	{"/quit", "", "quit (Ctrl+C)"},
}

// helpText is shown by /help.
func helpText() []string {
	lines := []string{"Commands:"}
	for _, c := range slashCommands {
		lines = append(lines, fmt.Sprintf("  %-9s %-22s %s", c.name, c.args, c.help))
	}
	return append(lines, "",
		"Keys:",
		"  Enter send · Alt+Enter new line · Tab complete @nick #room /command path",
		"  Ctrl+N/Ctrl+P or Alt+Down/Alt+Up switch conversation · Alt+A next with activity",
		"  PgUp/PgDn scroll (older messages load at the top) · Ctrl+C quit",
		"", "Press any key to close this help.")
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
		m.showHelp = true
		return nil
	case "/join":
		if len(args) != 1 {
			m.setStatus("usage: /join #room", true)
			return nil
		}
		room := args[0]
		if !strings.HasPrefix(room, "#") {
			room = "#" + room
		}
		return m.ask(func(ctx context.Context) (tea.Msg, error) {
			res, err := m.be.Join(ctx, room)
			return openMsg("room:" + res.Name), err
		})
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
	m.setStatus("unknown command "+name+": /help lists them", true)
	return nil
}
