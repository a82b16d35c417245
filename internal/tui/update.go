package tui

import (
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/parley-chat/parley/internal/api"
)

// Messages the model receives from its commands and the event stream.
type (
	initMsg struct {
		self  api.Identity
		convs []api.Conversation
		rooms []api.Room
		peers []api.Peer
	}
	convsMsg struct {
		convs []api.Conversation
		rooms []api.Room
		err   error
	}
	peersMsg   []api.Peer
	membersMsg struct {
		room string
		ms   []api.Member
	}
	historyMsg struct {
		conv  string
		msgs  []api.Message
		older bool
		err   error
	}
	eventMsg   api.Event
	eventsDone struct{ err error }
	statusMsg  struct {
		text string
		err  bool
	}
	openMsg   string   // open this conversation (after a join or /msg)
	resyncMsg struct{} // the event stream (re)opened: reload what is shown
	leftMsg   string   // this room was left (its name, without '#')
	tickMsg   time.Time
	selfMsg   api.Identity
)

func tick() tea.Cmd { return tea.Tick(time.Second, func(t time.Time) tea.Msg { return tickMsg(t) }) }

// Update handles one message.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.layout()
		return m, nil
	case resyncMsg:
		return m, m.resync()
	case initMsg:
		m.self, m.convs, m.ready = msg.self, msg.convs, true
		m.setRooms(msg.rooms)
		m.addPeers(msg.peers)
		return m, tea.Batch(m.open(m.defaultConv()), tick())
	case convsMsg:
		return m, m.gotConvs(msg)
	case peersMsg:
		clear(m.peers)
		m.addPeers(msg)
		return m, nil
	case membersMsg:
		m.members[msg.room] = msg.ms
		return m, nil
	case historyMsg:
		return m, m.gotHistory(msg)
	case eventMsg:
		return m, m.gotEvent(api.Event(msg))
	case eventsDone:
		if msg.err != nil {
			m.setStatus("lost the node's event stream: "+msg.err.Error(), true)
		}
		return m, nil
	case statusMsg:
		m.setStatus(msg.text, msg.err)
		return m, nil
	case updatedMsg:
		m.gotUpdated(api.Message(msg))
		return m, nil
	case threadMsg:
		return m, m.gotThread(msg)
	case searchMsg:
		m.gotSearch(msg)
		return m, nil
	case jumpMsg:
		return m, tea.Batch(m.refreshConvs(), m.gotJump(msg))
	case fetchedMsg:
		m.gotFetched(msg)
		return m, nil
	case safetyMsg:
		m.showSafety(api.Safety(msg))
		return m, nil
	case inviteMsg:
		m.showInvite(api.InviteResponse(msg))
		return m, nil
	case verifiedMsg:
		return m, m.gotVerified(api.Safety(msg))
	case selfMsg:
		m.self = api.Identity(msg)
		m.setStatus("you are now "+m.self.Nick, false)
		return m, nil
	case openMsg:
		return m, tea.Batch(m.refreshConvs(), m.open(string(msg)))
	case leftMsg:
		return m, m.left(string(msg))
	case tickMsg:
		m.expireTyping(time.Time(msg))
		return m, tick()
	case tea.KeyPressMsg:
		return m.key(msg)
	case tea.PasteMsg:
		m.growComposer(strings.Count(msg.Content, "\n"))
		cmd := m.edit(msg)
		m.syncRefs()
		return m, cmd
	}
	var cmd tea.Cmd
	m.input, cmd = m.input.Update(msg)
	return m, cmd
}

// key handles a key press.
func (m *Model) key(k tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	if m.showHelp && k.String() != "ctrl+c" {
		m.helpKey(k)
		return m, nil
	}
	if m.safety != nil && k.String() != "ctrl+c" {
		return m, m.safetyKey(k)
	}
	if m.invite != nil && k.String() != "ctrl+c" {
		return m, m.inviteKey(k)
	}
	if m.search != nil && k.String() != "ctrl+c" {
		if cmd, handled := m.searchKey(k); handled {
			return m, cmd
		}
	}
	if k.String() != "tab" {
		m.comp = completion{}
	}
	switch k.String() {
	case "ctrl+c":
		return m, tea.Quit
	case "esc":
		switch {
		case m.confirmDelete != "":
			m.confirmDelete = ""
			m.input.Reset()
			m.layout()
			m.syncRefs()
			m.setStatus("kept", false)
			return m, nil
		case m.thread != nil:
			m.closeThread()
			return m, nil
		case m.highlight != "":
			m.highlight = ""
			return m, nil
		}
	case "enter":
		return m, m.submit()
	case "ctrl+n", "alt+down":
		return m, m.step(1, false)
	case "ctrl+p", "alt+up":
		return m, m.step(-1, false)
	case "alt+a":
		return m, m.step(1, true)
	case "pgup", "pgdown":
		page := m.timelineHeight() - 2
		if k.String() == "pgdown" {
			page = -page
		}
		if m.thread != nil {
			return m, m.scrollThread(page)
		}
		return m, m.scroll(page)
	case "tab":
		m.complete()
		m.syncRefs()
		return m, nil
	}
	if key.Matches(k, m.input.KeyMap.InsertNewline) {
		m.growComposer(1)
	}
	cmd := m.edit(k)
	m.syncRefs()
	return m, tea.Batch(cmd, m.typingCmd())
}
