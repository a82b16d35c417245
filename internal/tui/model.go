package tui

import (
	"context"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textarea"
	tea "charm.land/bubbletea/v2"

	"github.com/parley-chat/parley/internal/api"
)

// Options configure the client.
type Options struct {
	Color  bool     // false: plain text (NO_COLOR, --no-color)
	Bell   bool     // ring the terminal bell for DMs and mentions
	Notify Notifier // desktop notifications; nil for none
	Now    func() time.Time
	Loc    *time.Location // time zone of the times shown; Local if nil
}

// pageSize is how many messages a history page loads.
const pageSize = 200

// timeline is the loaded part of one conversation.
type timeline struct {
	msgs    []api.Message
	loaded  bool
	loading bool
	atStart bool // the first message of the conversation is loaded
	scroll  int  // lines scrolled up from the bottom
}

// Model is the client's state.
type Model struct {
	be   Backend
	ctx  context.Context
	opts Options
	th   theme

	width, height int
	self          api.Identity
	convs         []api.Conversation
	cur           string // conversation key: "room:<name>" or "dm:<peer ID>"
	tl            map[string]*timeline
	peers         map[string]api.Peer
	members       map[string][]api.Member
	typing        map[string]map[string]time.Time // room -> nick -> shown until
	input         textarea.Model
	status        string
	statusErr     bool
	showHelp      bool
	lastTyping    time.Time
	convsBusy     bool // a conversations refresh is running
	convsDirty    bool // and another is wanted after it
	comp          completion
	lineCache     map[string][]string // rendered lines of a message (see timelineLines)
	ready         bool
}

type completion struct {
	active  bool
	base    string // the input before the word being completed
	choices []string
	i       int
}

// New returns a client model over be.
func New(ctx context.Context, be Backend, opts Options) *Model {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Loc == nil {
		opts.Loc = time.Local
	}
	if opts.Notify == nil {
		opts.Notify = nopNotifier{}
	}
	ta := textarea.New()
	ta.ShowLineNumbers = false
	ta.Prompt = "> "
	ta.CharLimit = 60000
	ta.KeyMap.InsertNewline = key.NewBinding(key.WithKeys("alt+enter", "ctrl+j"))
	ta.SetHeight(1)
	ta.Focus()
	return &Model{
		be: be, ctx: ctx, opts: opts, th: newTheme(opts.Color),
		width: 80, height: 24,
		tl:        map[string]*timeline{},
		peers:     map[string]api.Peer{},
		members:   map[string][]api.Member{},
		typing:    map[string]map[string]time.Time{},
		lineCache: map[string][]string{},
		input:     ta,
	}
}

// Messages the model receives from its commands and the event stream.
type (
	initMsg struct {
		self  api.Identity
		convs []api.Conversation
		peers []api.Peer
	}
	convsMsg   []api.Conversation
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

// EventMsg wraps an API event for the program (Run sends them).
func EventMsg(e api.Event) tea.Msg { return eventMsg(e) }

// EventsDone tells the model the event stream ended.
func EventsDone(err error) tea.Msg { return eventsDone{err} }

// Init loads who we are, the conversations and the peers.
func (m *Model) Init() tea.Cmd {
	return tea.Batch(textarea.Blink, m.ask(func(ctx context.Context) (tea.Msg, error) {
		self, err := m.be.Identity(ctx)
		if err != nil {
			return nil, err
		}
		convs, err := m.be.Conversations(ctx)
		if err != nil {
			return nil, err
		}
		peers, err := m.be.Peers(ctx)
		if err != nil {
			return nil, err
		}
		return initMsg{self, convs, peers}, nil
	}))
}

func withOf(conv string) string {
	if room, ok := strings.CutPrefix(conv, "room:"); ok {
		return "#" + room
	}
	return strings.TrimPrefix(conv, "dm:")
}

func roomOf(conv string) (string, bool) { return strings.CutPrefix(conv, "room:") }

func (m *Model) timeline(conv string) *timeline {
	t, ok := m.tl[conv]
	if !ok {
		t = &timeline{}
		m.tl[conv] = t
	}
	return t
}

// open switches to a conversation, loading its newest page if needed.
func (m *Model) open(conv string) tea.Cmd {
	if conv == "" {
		return nil
	}
	m.cur = conv
	m.showHelp = false
	m.comp = completion{}
	m.input.Placeholder = "Message " + m.convName(conv) + "  (/help for commands)"
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

// loadHistory loads a page of conv: its newest messages, or those before
// the message ID before; older marks the page as one scrolled up to.
func (m *Model) loadHistory(conv, before string, older bool) tea.Cmd {
	return m.ask(func(ctx context.Context) (tea.Msg, error) {
		ms, err := m.be.HistoryAll(ctx, withOf(conv), pageSize, before, true)
		return historyMsg{conv: conv, msgs: ms, older: older, err: err}, nil
	})
}

func (m *Model) loadMembers(room string) tea.Cmd {
	return m.ask(func(ctx context.Context) (tea.Msg, error) {
		ms, err := m.be.Members(ctx, "#"+room)
		if err != nil {
			return nil, nil // not joined any more: nothing to show
		}
		return membersMsg{room, ms}, nil
	})
}

// refreshConvs reloads the conversation list; while a reload runs, one
// more is queued instead (see convsMsg in Update).
func (m *Model) refreshConvs() tea.Cmd {
	if m.convsBusy {
		m.convsDirty = true
		return nil
	}
	m.convsBusy = true
	return m.ask(func(ctx context.Context) (tea.Msg, error) {
		cs, err := m.be.Conversations(ctx)
		return convsMsg(cs), err
	})
}

func (m *Model) refreshPeers() tea.Cmd {
	return m.ask(func(ctx context.Context) (tea.Msg, error) {
		ps, err := m.be.Peers(ctx)
		return peersMsg(ps), err
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
		for _, p := range msg.peers {
			m.peers[p.PeerID] = p
		}
		return m, tea.Batch(m.open(m.defaultConv()), tick())
	case convsMsg:
		m.convsBusy = false
		m.convs = msg
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
		return m, tea.Batch(cmds...)
	case peersMsg:
		clear(m.peers)
		for _, p := range msg {
			m.peers[p.PeerID] = p
		}
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
	case selfMsg:
		m.self = api.Identity(msg)
		m.setStatus("you are now "+m.self.Nick, false)
		return m, nil
	case openMsg:
		return m, tea.Batch(m.refreshConvs(), m.open(string(msg)))
	case leftMsg:
		m.setStatus("left #"+string(msg), false)
		conv := "room:" + string(msg)
		delete(m.tl, conv) // a later join loads it afresh
		if m.cur == conv {
			// Nothing to say in a room left: the refresh opens another.
			m.cur, m.input.Placeholder = "", ""
		}
		return m, m.refreshConvs()
	case tickMsg:
		now := time.Time(msg)
		for room, who := range m.typing {
			for nick, until := range who {
				if now.After(until) {
					delete(who, nick)
				}
			}
			if len(who) == 0 {
				delete(m.typing, room)
			}
		}
		return m, tick()
	case tea.KeyPressMsg:
		return m.key(msg)
	case tea.PasteMsg:
		m.growComposer(strings.Count(msg.Content, "\n"))
		var cmd tea.Cmd
		m.input, cmd = m.input.Update(msg)
		m.layout()
		return m, cmd
	}
	var cmd tea.Cmd
	m.input, cmd = m.input.Update(msg)
	return m, cmd
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

func (m *Model) setStatus(text string, isErr bool) {
	m.status, m.statusErr = strings.ReplaceAll(text, "\n", " "), isErr
}

func (m *Model) gotHistory(h historyMsg) tea.Cmd {
	t := m.timeline(h.conv)
	t.loading = false
	if h.err != nil {
		// Not loaded: opening the conversation (or PgUp) tries again.
		m.setStatus(h.err.Error(), true)
		return nil
	}
	if len(h.msgs) < pageSize {
		t.atStart = true
	}
	if !h.older {
		t.loaded = true
	}
	t.msgs = mergeMessages(h.msgs, t.msgs)
	return nil
}

// mergeMessages joins two runs of messages, dropping repeats, in order of
// time. Messages of the same millisecond keep the order they came in: the
// node's order within a page (by hybrid logical clock, whose logical part
// the API does not show), a before b across runs.
func mergeMessages(a, b []api.Message) []api.Message {
	out := make([]api.Message, 0, len(a)+len(b))
	seen := make(map[string]bool, len(a)+len(b))
	for _, run := range [][]api.Message{a, b} {
		for _, msg := range run {
			if !seen[msg.ID] {
				seen[msg.ID] = true
				out = append(out, msg)
			}
		}
	}
	slices.SortStableFunc(out, func(x, y api.Message) int {
		if c := strings.Compare(x.SentAt, y.SentAt); c != 0 && len(x.SentAt) == len(y.SentAt) {
			return c
		}
		tx, _ := time.Parse(time.RFC3339Nano, x.SentAt)
		ty, _ := time.Parse(time.RFC3339Nano, y.SentAt)
		return tx.Compare(ty)
	})
	return out
}

func (m *Model) gotEvent(e api.Event) tea.Cmd {
	switch e.Type {
	case "message":
		msg := *e.Message
		// Also while the first page loads: the page may have been read
		// before this message was stored, and merging drops repeats.
		if t, ok := m.tl[msg.Conversation]; ok && (t.loaded || t.loading) {
			t.msgs = mergeMessages(t.msgs, []api.Message{msg})
		}
		var cmds []tea.Cmd
		if msg.Kind == "text" && msg.From != m.self.PeerID {
			cmds = append(cmds, m.alert(msg))
			if msg.Conversation == m.cur {
				cmds = append(cmds, m.tellRead(msg.Conversation))
			}
			if room, ok := roomOf(msg.Conversation); ok {
				if who := m.typing[room]; who != nil {
					delete(who, m.nick(msg.From))
				}
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
		who := m.typing[e.Room]
		if who == nil {
			who = map[string]time.Time{}
			m.typing[e.Room] = who
		}
		who[m.nickOr(e.Peer.PeerID, e.Peer.Nick)] = m.opts.Now().Add(6 * time.Second)
	case "presence":
		if "room:"+e.Room == m.cur {
			return m.loadMembers(e.Room)
		}
	case "room", "read":
		return m.refreshConvs()
	}
	return nil
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

// nick names a peer: its nickname, else the end of its ID.
func (m *Model) nick(peerID string) string {
	if peerID == m.self.PeerID && m.self.Nick != "" {
		return m.self.Nick
	}
	if p, ok := m.peers[peerID]; ok && p.Nick != "" {
		return p.Nick
	}
	return shortID(peerID)
}

func (m *Model) nickOr(peerID, nick string) string {
	if nick != "" {
		return nick
	}
	return m.nick(peerID)
}

func shortID(id string) string {
	if len(id) > 8 {
		return "…" + id[len(id)-6:]
	}
	return id
}

func (m *Model) convName(conv string) string {
	if room, ok := roomOf(conv); ok {
		return "#" + room
	}
	return "@" + m.nick(strings.TrimPrefix(conv, "dm:"))
}

// key handles a key press.
func (m *Model) key(k tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	if m.showHelp && k.String() != "ctrl+c" {
		m.showHelp = false
		return m, nil
	}
	if k.String() != "tab" {
		m.comp = completion{}
	}
	switch k.String() {
	case "ctrl+c":
		return m, tea.Quit
	case "enter":
		text := strings.TrimSpace(m.input.Value())
		if text == "" {
			return m, nil
		}
		m.input.Reset()
		m.layout()
		if strings.HasPrefix(text, "/") {
			return m, m.command(text)
		}
		return m, m.send(m.cur, text)
	case "ctrl+n", "alt+down":
		return m, m.step(1, false)
	case "ctrl+p", "alt+up":
		return m, m.step(-1, false)
	case "alt+a":
		return m, m.step(1, true)
	case "pgup":
		return m, m.scroll(m.timelineHeight() - 2)
	case "pgdown":
		return m, m.scroll(-(m.timelineHeight() - 2))
	case "tab":
		m.complete()
		return m, nil
	}
	if key.Matches(k, m.input.KeyMap.InsertNewline) {
		m.growComposer(1)
	}
	var cmd tea.Cmd
	m.input, cmd = m.input.Update(k)
	m.layout()
	return m, tea.Batch(cmd, m.typingCmd())
}

// typingCmd tells a room we are typing, at most every 3 s.
func (m *Model) typingCmd() tea.Cmd {
	room, ok := roomOf(m.cur)
	if !ok || strings.HasPrefix(m.input.Value(), "/") || m.input.Value() == "" {
		return nil
	}
	now := m.opts.Now()
	if now.Sub(m.lastTyping) < 3*time.Second {
		return nil
	}
	m.lastTyping = now
	return m.ask(func(ctx context.Context) (tea.Msg, error) {
		_ = m.be.Typing(ctx, "#"+room)
		return nil, nil
	})
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

// scroll moves the timeline by lines (positive: up, into the past); at the
// top it loads the previous page.
func (m *Model) scroll(lines int) tea.Cmd {
	t, ok := m.tl[m.cur]
	if !ok {
		return nil
	}
	total := len(m.timelineLines(t, m.timelineWidth()))
	maxScroll := max(0, total-(m.timelineHeight()-1)) // the header takes a line
	t.scroll = min(max(0, t.scroll+lines), maxScroll)
	if lines > 0 && t.scroll == maxScroll && !t.atStart && !t.loading && len(t.msgs) > 0 {
		t.loading = true
		return m.loadHistory(m.cur, t.msgs[0].ID, true)
	}
	return nil
}

func (m *Model) send(conv, text string) tea.Cmd {
	if conv == "" {
		m.setStatus("no conversation open: /join #room or /msg @nick", true)
		return nil
	}
	if t, ok := m.tl[conv]; ok {
		t.scroll = 0
	}
	return m.ask(func(ctx context.Context) (tea.Msg, error) {
		_, err := m.be.Send(ctx, withOf(conv), text)
		return nil, err
	})
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
	return tea.Batch(cmds...)
}
