package tui

import (
	"context"
	"os"
	"strings"
	"time"

	"charm.land/bubbles/v2/textarea"
	tea "charm.land/bubbletea/v2"

	"github.com/parley-chat/parley/internal/api"
)

// Options configure the client.
type Options struct {
	Color  bool     // false: plain text (NO_COLOR, --no-color)
	ASCII  bool     // marks in ASCII: [p] for a private room's 🔒, (admin) for ★
	Bell   bool     // ring the terminal bell for DMs and mentions
	Notify Notifier // desktop notifications; nil for none
	Now    func() time.Time
	Loc    *time.Location // time zone of the times shown; Local if nil
	// Home is the home directory: ~ in /share paths, and saved paths
	// shown under it; os.UserHomeDir() if empty.
	Home string
	// Open opens a downloaded file (/open) without waiting for it to
	// close; the desktop's opener (xdg-open, open) if nil.
	Open func(path string) error
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
	rooms         map[string]api.Room // joined rooms by name (without '#'): private, role, removed
	cur           string              // conversation key: "room:<name>" or "dm:<peer ID>"
	tl            map[string]*timeline
	peers         map[string]api.Peer
	members       map[string][]api.Member
	typing        map[string]map[string]time.Time // room -> nick -> shown until
	confirmDelete string                          // a message /delete asked about: Enter on the line again deletes it
	input         textarea.Model
	status        string
	statusErr     bool
	showHelp      bool
	helpScroll    int         // lines of the help scrolled past
	safety        *safetyView // the safety-number screen (/verify), if open
	invite        *inviteView // the invite panel (/invite), if open
	lastTyping    time.Time
	convsBusy     bool // a conversations refresh is running
	convsDirty    bool // and another is wanted after it
	comp          completion
	lineCache     map[string][]string // rendered lines of a message (see timelineLines)
	fileReasons   map[string]string   // why a file's fetch failed, by its hash
	fetching      map[string]bool     // messages whose files /get is fetching, by ID
	thread        *threadView         // the open thread (/thread), if any
	search        *searchView         // search results (/search), if shown
	refs          *refSnapshot        // message numbers, while a command that takes one is typed
	highlight     string              // the ID of a message a search jumped to
	jump          *jumpTarget         // a message to bring into view once loaded
	ephemeralSeq  int                 // ephemeral answers shown so far (their line IDs)
	ready         bool
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
	if opts.Home == "" {
		opts.Home, _ = os.UserHomeDir()
	}
	if opts.Open == nil {
		opts.Open = desktopOpen
	}
	return &Model{
		be: be, ctx: ctx, opts: opts, th: newTheme(opts.Color, opts.ASCII),
		width: 80, height: 24,
		tl:          map[string]*timeline{},
		rooms:       map[string]api.Room{},
		peers:       map[string]api.Peer{},
		members:     map[string][]api.Member{},
		typing:      map[string]map[string]time.Time{},
		lineCache:   map[string][]string{},
		fileReasons: map[string]string{},
		fetching:    map[string]bool{},
		input:       newComposer(),
	}
}

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
		rooms, err := m.be.Rooms(ctx)
		if err != nil {
			return nil, err
		}
		peers, err := m.be.Peers(ctx)
		if err != nil {
			return nil, err
		}
		return initMsg{self, convs, rooms, peers}, nil
	}))
}

// setRooms records what the node says about the joined rooms.
func (m *Model) setRooms(rs []api.Room) {
	clear(m.rooms)
	for _, r := range rs {
		m.rooms[r.Name] = r
	}
}

// addPeers records what the node says about peers.
func (m *Model) addPeers(ps []api.Peer) {
	for _, p := range ps {
		m.peers[p.PeerID] = p
	}
}

func (m *Model) setStatus(text string, isErr bool) {
	m.status, m.statusErr = strings.ReplaceAll(text, "\n", " "), isErr
}
