package tui

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/parley-chat/parley/internal/api"
)

// Peer IDs of the test world. They only need to be distinct and longer
// than eight characters (shortID cuts longer ones).
const (
	selfID  = "12D3KooWSelfSelfSelfSelfSelfSelf0001"
	bobID   = "12D3KooWBobBobBobBobBobBobBobBob0002"
	carolID = "12D3KooWCarolCarolCarolCarolCaro0003"
	daveID  = "12D3KooWDaveDaveDaveDaveDaveDave0004"
	// Two peers who call themselves sam.
	samID      = "12D3KooWSamSamSamSamSamSamSamSamS0005"
	otherSamID = "12D3KooWSamSamSamSamSamSamSamSamS0006"
)

// t0 is the fixed "now" of every test: frames never depend on the clock.
var t0 = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)

// call is one recorded Backend call.
type call struct {
	method string
	args   []string
}

func (c call) String() string { return c.method + "(" + strings.Join(c.args, ", ") + ")" }

// fakeBackend is a Backend over canned data that records every call. All
// methods are safe from any goroutine, as commands run off the event loop.
type fakeBackend struct {
	mu      sync.Mutex
	self    api.Identity
	convs   []api.Conversation
	peers   []api.Peer
	members map[string][]api.Member  // by "#room"
	private map[string]api.Room      // private rooms by name (without '#'); the others are public
	invites map[string]string        // invite link -> the room (without '#') it lets into
	history map[string][]api.Message // by "#room" or peer ID, oldest first
	threads map[string][]api.Message // a thread's replies by its root's ID, oldest first
	calls   []call
	fail    map[string]error // method -> error returned once
	// commands are the slash commands registered on the node, by
	// "/name", with what each answers.
	commands map[string]api.CommandAnswer
	nextID   int

	// historyGate, when set, makes HistoryAll announce itself on
	// historyEntered and wait for a value on historyGate.
	historyGate    chan struct{}
	historyEntered chan string

	events chan api.Event // what Events delivers; nil: Events waits for ctx
}

var _ Backend = (*fakeBackend)(nil)

// newFakeBackend returns a backend for "me" in #lobby and #dev, knowing
// bob (online) and carol (offline), with a DM conversation with bob.
func newFakeBackend() *fakeBackend {
	return &fakeBackend{
		self: api.Identity{PeerID: selfID, Nick: "me", MDNS: false, DHT: "off"},
		convs: []api.Conversation{
			room("lobby", 0),
			room("dev", 0),
			dm(bobID, "bob", true, 0),
		},
		peers: []api.Peer{
			{PeerID: bobID, Nick: "bob", Connected: true},
			{PeerID: carolID, Nick: "carol"},
		},
		members: map[string][]api.Member{},
		private: map[string]api.Room{},
		invites: map[string]string{},
		history: map[string][]api.Message{},
		fail:    map[string]error{},
	}
}

func room(name string, unread int) api.Conversation {
	return api.Conversation{Conversation: "room:" + name, Kind: "room", Name: "#" + name, Room: name, Unread: unread}
}

func dm(peerID, nick string, online bool, unread int) api.Conversation {
	return api.Conversation{Conversation: "dm:" + peerID, Kind: "dm", Name: nick, PeerID: peerID, Online: online, Unread: unread}
}

func (f *fakeBackend) record(method string, args ...string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call{method, args})
	if err, ok := f.fail[method]; ok {
		delete(f.fail, method)
		return err
	}
	return nil
}

// failNext makes the next call of method return err.
func (f *fakeBackend) failNext(method string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail[method] = err
}

// callsOf returns the arguments of every call of method so far.
func (f *fakeBackend) callsOf(method string) [][]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out [][]string
	for _, c := range f.calls {
		if c.method == method {
			out = append(out, c.args)
		}
	}
	return out
}

func (f *fakeBackend) allCalls() []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

func (f *fakeBackend) setConvs(cs ...api.Conversation) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.convs = cs
}

func (f *fakeBackend) setHistory(with string, ms []api.Message) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.history[with] = ms
}

func (f *fakeBackend) Identity(context.Context) (api.Identity, error) {
	if err := f.record("Identity"); err != nil {
		return api.Identity{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.self, nil
}

func (f *fakeBackend) Conversations(context.Context) ([]api.Conversation, error) {
	if err := f.record("Conversations"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.convs), nil
}

// Rooms lists the rooms of the conversation list: private ones as set in
// f.private, the others public.
func (f *fakeBackend) Rooms(context.Context) ([]api.Room, error) {
	if err := f.record("Rooms"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []api.Room
	for _, c := range f.convs {
		if c.Kind != "room" {
			continue
		}
		r, ok := f.private[c.Room]
		if !ok {
			r = api.Room{Name: c.Room, Role: "member"}
		}
		out = append(out, r)
	}
	return out, nil
}

// CreatePrivate joins a new private room as its admin.
func (f *fakeBackend) CreatePrivate(_ context.Context, r string) (api.JoinResponse, error) {
	if err := f.record("CreatePrivate", r); err != nil {
		return api.JoinResponse{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	name := strings.TrimPrefix(r, "#")
	f.private[name] = api.Room{Name: name, Private: true, Role: "admin", Members: 1, History: "join", Invite: "admins"}
	f.members[r] = []api.Member{{PeerID: f.self.PeerID, Nick: f.self.Nick, Online: true, Role: "admin"}}
	f.convs = append(f.convs, room(name, 0))
	return api.JoinResponse{Name: name, Changed: true}, nil
}

// fakeInviteLink is the link the fake makes for an invite into room: as
// long as a real one with two addresses.
func fakeInviteLink(room string, n int) string {
	body := fmt.Sprintf("%s-%d-", room, n)
	return "parley://invite/" + body + strings.Repeat("Q29mZmVlIGFuZCBpbnZpdGVz", 17)[:400-len(body)]
}

// Invite makes a link into a private room, as an admin.
func (f *fakeBackend) Invite(_ context.Context, r string, req api.InviteRequest) (api.InviteResponse, error) {
	if err := f.record("Invite", r, fmt.Sprint(req.Uses), req.Expires); err != nil {
		return api.InviteResponse{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	name := strings.TrimPrefix(r, "#")
	pr, ok := f.private[name]
	switch {
	case !ok:
		return api.InviteResponse{}, &api.Error{Status: 400, Code: api.CodeBadRequest, Message: "#" + name + " is not a private room"}
	case pr.Role != "admin":
		return api.InviteResponse{}, &api.Error{Status: 403, Code: api.CodeForbidden, Message: "not allowed: only an admin may invite into #" + name}
	}
	uses := cmp.Or(req.Uses, 1)
	expires := 7 * 24 * time.Hour
	if req.Expires != "" {
		d, err := time.ParseDuration(req.Expires)
		if err != nil {
			return api.InviteResponse{}, &api.Error{Status: 400, Code: api.CodeBadRequest, Message: fmt.Sprintf("expires %q: want a duration such as 10m, 36h or 7d", req.Expires)}
		}
		expires = d
	}
	f.nextID++
	link := fakeInviteLink(name, f.nextID)
	f.invites[link] = name
	return api.InviteResponse{Link: link, InviteID: fmt.Sprintf("%032x", f.nextID), Room: name, Uses: uses, ExpiresAt: t0.Add(expires)}, nil
}

// AcceptInvite joins the room of a link f.invites knows (as a member);
// any other link is forged.
func (f *fakeBackend) AcceptInvite(_ context.Context, link string) (api.JoinResponse, error) {
	if err := f.record("AcceptInvite", link); err != nil {
		return api.JoinResponse{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	name, ok := f.invites[link]
	if !ok {
		return api.JoinResponse{}, &api.Error{Status: 403, Code: api.CodeForbidden, Message: "invite forged or damaged: the inviter's signature does not match"}
	}
	if slices.ContainsFunc(f.convs, func(c api.Conversation) bool { return c.Conversation == "room:"+name }) {
		return api.JoinResponse{Name: name}, nil
	}
	f.private[name] = api.Room{Name: name, Private: true, Role: "member"}
	f.convs = append(f.convs, room(name, 0))
	return api.JoinResponse{Name: name, Changed: true}, nil
}

// memberLocked finds a member of a private room, as an admin acting on
// it.
func (f *fakeBackend) memberLocked(r, peer string) (int, error) {
	name := strings.TrimPrefix(r, "#")
	pr, ok := f.private[name]
	switch {
	case !ok:
		return -1, &api.Error{Status: 400, Code: api.CodeBadRequest, Message: "#" + name + " is not a private room"}
	case pr.Removed:
		return -1, &api.Error{Status: 403, Code: api.CodeForbidden, Message: "not a member of #" + name + " any more"}
	case pr.Role != "admin":
		return -1, &api.Error{Status: 403, Code: api.CodeForbidden, Message: "not allowed: only an admin of #" + name + " may do that"}
	}
	i, err := f.peerLocked(peer)
	if err != nil {
		return -1, &api.Error{Status: 404, Code: api.CodeNotFound, Message: err.Error()}
	}
	id := f.peers[i].PeerID
	j := slices.IndexFunc(f.members[r], func(m api.Member) bool { return m.PeerID == id })
	if j < 0 {
		return -1, &api.Error{Status: 404, Code: api.CodeNotFound, Message: "not found: " + peer + " is no member of #" + name}
	}
	return j, nil
}

func (f *fakeBackend) RemoveMember(_ context.Context, r, peer string) error {
	if err := f.record("RemoveMember", r, peer); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	j, err := f.memberLocked(r, peer)
	if err != nil {
		return err
	}
	f.members[r] = slices.Delete(slices.Clone(f.members[r]), j, j+1)
	return nil
}

func (f *fakeBackend) PromoteMember(_ context.Context, r, peer string) error {
	if err := f.record("PromoteMember", r, peer); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	j, err := f.memberLocked(r, peer)
	if err != nil {
		return err
	}
	ms := slices.Clone(f.members[r])
	ms[j].Role = "admin"
	f.members[r] = ms
	return nil
}

func (f *fakeBackend) Peers(context.Context) ([]api.Peer, error) {
	if err := f.record("Peers"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.peers), nil
}

// fakeSafetyNumber is the safety number the fake gives every peer.
const fakeSafetyNumber = "12345 67890 11111 22222 33333 44444 55555 66666 77777 88888 99999 00000"

// peerLocked finds a peer by ID or "@nick" as the API does (refusing a
// shared nickname).
func (f *fakeBackend) peerLocked(ref string) (int, error) {
	var found []int
	for i, p := range f.peers {
		if p.PeerID == ref || strings.EqualFold("@"+p.Nick, ref) {
			found = append(found, i)
		}
	}
	switch len(found) {
	case 0:
		return -1, fmt.Errorf("unknown peer %s", ref)
	case 1:
		return found[0], nil
	}
	return -1, fmt.Errorf("ambiguous peer %s", ref)
}

func (f *fakeBackend) Safety(_ context.Context, peer string) (api.Safety, error) {
	if err := f.record("Safety", peer); err != nil {
		return api.Safety{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	i, err := f.peerLocked(peer)
	if err != nil {
		return api.Safety{}, err
	}
	return api.Safety{PeerID: f.peers[i].PeerID, SafetyNumber: fakeSafetyNumber, Verified: f.peers[i].Verified}, nil
}

// Verify marks the peer verified, and shows it with ✓ as the node does.
func (f *fakeBackend) Verify(_ context.Context, peer string) (api.Safety, error) {
	if err := f.record("Verify", peer); err != nil {
		return api.Safety{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	i, err := f.peerLocked(peer)
	if err != nil {
		return api.Safety{}, err
	}
	p := &f.peers[i]
	if !p.Verified {
		p.Verified = true
		p.Display = strings.TrimSpace(cmp.Or(p.Display, p.Nick) + " ✓")
	}
	return api.Safety{PeerID: p.PeerID, SafetyNumber: fakeSafetyNumber, Verified: true}, nil
}

func (f *fakeBackend) Members(_ context.Context, room string) ([]api.Member, error) {
	if err := f.record("Members", room); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.members[room]), nil
}

// HistoryAll answers as the API does: the newest limit messages older
// than before (all of them when before is ""), oldest first; join and
// leave lines only with all.
func (f *fakeBackend) HistoryAll(ctx context.Context, with string, limit int, before string, all bool) ([]api.Message, error) {
	if err := f.record("HistoryAll", with, fmt.Sprint(limit), before, fmt.Sprint(all)); err != nil {
		return nil, err
	}
	f.mu.Lock()
	gate, entered := f.historyGate, f.historyEntered
	f.mu.Unlock()
	if gate != nil {
		entered <- before
		select {
		case <-gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	ms := f.history[with]
	if !all {
		ms = slices.DeleteFunc(slices.Clone(ms), func(m api.Message) bool { return m.Kind != "text" })
	}
	end := len(ms)
	if before != "" {
		end = slices.IndexFunc(ms, func(m api.Message) bool { return m.ID == before })
		if end < 0 {
			return nil, fmt.Errorf("unknown message %s", before)
		}
	}
	return slices.Clone(ms[max(0, end-limit):end]), nil
}

func (f *fakeBackend) Send(_ context.Context, to, text string) (api.Message, error) {
	if err := f.record("Send", to, text); err != nil {
		return api.Message{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextID++
	msg := api.Message{ID: fmt.Sprintf("sent-%04d", f.nextID), From: f.self.PeerID, Kind: "text", Text: text,
		SentAt: t0.Format(time.RFC3339Nano), Status: "queued"}
	switch {
	case strings.HasPrefix(to, "#"):
		msg.Room = to[1:]
		msg.Conversation = "room:" + msg.Room
		msg.Status = "sent"
	case strings.HasPrefix(to, "@"):
		i := slices.IndexFunc(f.peers, func(p api.Peer) bool { return "@"+p.Nick == to })
		if i < 0 {
			return api.Message{}, fmt.Errorf("unknown peer %s", to)
		}
		msg.To = f.peers[i].PeerID
	default:
		msg.To = to
	}
	if msg.To != "" {
		msg.Conversation = "dm:" + msg.To
	}
	return msg, nil
}

func (f *fakeBackend) Join(_ context.Context, r string) (api.JoinResponse, error) {
	if err := f.record("Join", r); err != nil {
		return api.JoinResponse{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	name := strings.TrimPrefix(r, "#")
	if slices.ContainsFunc(f.convs, func(c api.Conversation) bool { return c.Conversation == "room:"+name }) {
		return api.JoinResponse{Name: name}, nil
	}
	f.convs = append(f.convs, room(name, 0))
	return api.JoinResponse{Name: name, Changed: true}, nil
}

func (f *fakeBackend) Leave(_ context.Context, r string) (api.JoinResponse, error) {
	if err := f.record("Leave", r); err != nil {
		return api.JoinResponse{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	name := strings.TrimPrefix(r, "#")
	n := len(f.convs)
	f.convs = slices.DeleteFunc(f.convs, func(c api.Conversation) bool { return c.Conversation == "room:"+name })
	return api.JoinResponse{Name: name, Changed: len(f.convs) != n}, nil
}

func (f *fakeBackend) Connect(_ context.Context, addr string) (string, error) {
	if err := f.record("Connect", addr); err != nil {
		return "", err
	}
	_, id, _ := strings.Cut(addr, "/p2p/")
	return id, nil
}

func (f *fakeBackend) SetNick(_ context.Context, nick string) error {
	if err := f.record("SetNick", nick); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.self.Nick = nick
	return nil
}

func (f *fakeBackend) MarkRead(_ context.Context, with, id string) error {
	return f.record("MarkRead", with, id)
}

func (f *fakeBackend) Typing(_ context.Context, r string) error { return f.record("Typing", r) }

// Share records the paths (joined by "|") and answers with the message
// the node would make of them.
func (f *fakeBackend) Share(_ context.Context, to string, paths []string, text string) (api.Message, error) {
	if err := f.record("Share", to, strings.Join(paths, "|"), text); err != nil {
		return api.Message{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextID++
	msg := api.Message{ID: fmt.Sprintf("shared-%04d", f.nextID), From: f.self.PeerID, Kind: "text", Text: text,
		SentAt: t0.Format(time.RFC3339Nano), Status: "sent"}
	for _, p := range paths {
		msg.Files = append(msg.Files, api.File{Name: filepath.Base(p), State: "complete", Path: p})
	}
	return msg, nil
}

// fakeDownloads is where the fake's Fetch saves files.
const fakeDownloads = "/home/me/Downloads"

// Fetch answers with every file of the message saved in fakeDownloads.
func (f *fakeBackend) Fetch(_ context.Context, id, out, timeout string) (api.FetchResponse, error) {
	if err := f.record("Fetch", id, out, timeout); err != nil {
		return api.FetchResponse{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, ms := range f.history {
		for _, m := range ms {
			if m.ID != id {
				continue
			}
			var resp api.FetchResponse
			for _, file := range m.Files {
				file.State, file.Have, file.Path = "complete", file.Size, fakeDownloads+"/"+file.Name
				resp.Files = append(resp.Files, file)
			}
			return resp, nil
		}
	}
	return api.FetchResponse{}, fmt.Errorf("message %s not found", id)
}

func (f *fakeBackend) Follow(ctx context.Context, opened func(), fn func(api.Event) error) error {
	if err := f.record("Events"); err != nil {
		return err
	}
	if opened != nil {
		opened()
	}
	if f.events == nil {
		<-ctx.Done()
		return nil
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case e, ok := <-f.events:
			if !ok {
				return errors.New("stream closed")
			}
			if err := fn(e); err != nil {
				return err
			}
		}
	}
}

// fakeNotifier records desktop notifications.
type fakeNotifier struct {
	mu    sync.Mutex
	shown []string // "title: body"
}

func (n *fakeNotifier) Notify(title, body string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.shown = append(n.shown, title+": "+body)
}

func (n *fakeNotifier) all() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.shown)
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// harness drives a Model the way Bubble Tea does, synchronously: every
// command is executed and its message fed back into Update until nothing
// is left, except timers (the model's tick and the cursor blink), which
// would wait for real time and loop forever.
type harness struct {
	t      testing.TB
	m      *Model
	fb     *fakeBackend
	notes  *fakeNotifier
	bell   *bytes.Buffer
	clock  *fakeClock
	opened []string // what /open opened
	quit   bool
	timers int // timer commands skipped
}

// newHarness starts a model over fb in a width x height terminal, runs
// Init to completion and returns the harness.
func newHarness(t testing.TB, fb *fakeBackend, width, height int) *harness {
	t.Helper()
	return newHarnessColor(t, fb, width, height, false)
}

// newHarnessColor is newHarness with or without colours.
func newHarnessColor(t testing.TB, fb *fakeBackend, width, height int, color bool) *harness {
	t.Helper()
	h := &harness{t: t, fb: fb, notes: &fakeNotifier{}, bell: &bytes.Buffer{}, clock: &fakeClock{now: t0}}
	h.m = New(t.Context(), fb, Options{Color: color, Bell: true, Notify: h.notes, Now: h.clock.Now, Loc: time.UTC, Home: "/home/me",
		Open: func(path string) error {
			h.opened = append(h.opened, path) // commands run on the test's goroutine
			return nil
		}})
	h.send(tea.WindowSizeMsg{Width: width, Height: height})
	h.run(h.m.Init())
	return h
}

// isTimer reports whether cmd waits for a timer: tea.Tick and tea.Every
// (also when inlined into the model's tick) and the cursor's blink.
func isTimer(cmd tea.Cmd) bool {
	name := runtime.FuncForPC(reflect.ValueOf(cmd).Pointer()).Name()
	for _, s := range []string{".Tick.func", ".Every.func", "/tui.tick", "bubbles/v2/cursor."} {
		if strings.Contains(name, s) {
			return true
		}
	}
	return false
}

// update calls Update once and returns its command without running it.
func (h *harness) update(msg tea.Msg) tea.Cmd {
	h.t.Helper()
	model, cmd := h.m.Update(msg)
	if model != h.m {
		h.t.Fatalf("Update returned model %p, want the same %p", model, h.m)
	}
	return cmd
}

// send feeds msg to Update and runs what follows to a fixed point.
func (h *harness) send(msg tea.Msg) {
	h.t.Helper()
	h.run(h.update(msg))
}

// run executes cmd and everything it leads to.
func (h *harness) run(cmd tea.Cmd) {
	h.t.Helper()
	queue := []tea.Cmd{cmd}
	for steps := 0; len(queue) > 0; steps++ {
		if steps > 10000 {
			h.t.Fatalf("commands still running after %d steps", steps)
		}
		c := queue[0]
		queue = queue[1:]
		if c == nil {
			continue
		}
		if isTimer(c) {
			h.timers++
			continue
		}
		switch msg := c().(type) {
		case nil:
		case tea.BatchMsg:
			queue = append(queue, msg...)
		case tea.QuitMsg:
			h.quit = true
		case tea.RawMsg:
			// What Bubble Tea would print between frames (the bell).
			_, _ = fmt.Fprint(h.bell, msg.Msg)
		default:
			queue = append(queue, h.update(msg))
		}
	}
}

// Keys as Bubble Tea v2 decodes them from a terminal.
var (
	keyEnter    = tea.KeyPressMsg{Code: tea.KeyEnter}
	keyAltEnter = tea.KeyPressMsg{Code: tea.KeyEnter, Mod: tea.ModAlt}
	keyTab      = tea.KeyPressMsg{Code: tea.KeyTab}
	keyCtrlN    = tea.KeyPressMsg{Code: 'n', Mod: tea.ModCtrl}
	keyCtrlP    = tea.KeyPressMsg{Code: 'p', Mod: tea.ModCtrl}
	keyAltUp    = tea.KeyPressMsg{Code: tea.KeyUp, Mod: tea.ModAlt}
	keyAltDown  = tea.KeyPressMsg{Code: tea.KeyDown, Mod: tea.ModAlt}
	keyAltA     = tea.KeyPressMsg{Code: 'a', Mod: tea.ModAlt}
	keyPgUp     = tea.KeyPressMsg{Code: tea.KeyPgUp}
	keyPgDown   = tea.KeyPressMsg{Code: tea.KeyPgDown}
	keyCtrlC    = tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl}
	keyEsc      = tea.KeyPressMsg{Code: tea.KeyEscape}
	keyDown     = tea.KeyPressMsg{Code: tea.KeyDown}
)

// textKey is a printable key as the terminal sends it.
func textKey(r rune) tea.KeyPressMsg {
	if r == ' ' {
		return tea.KeyPressMsg{Code: tea.KeySpace, Text: " "}
	}
	return tea.KeyPressMsg{Code: r, Text: string(r)}
}

// typeText presses one key per rune of s.
func (h *harness) typeText(s string) {
	h.t.Helper()
	for _, r := range s {
		h.send(textKey(r))
	}
}

// enter types line and presses Enter.
func (h *harness) enter(line string) {
	h.t.Helper()
	h.typeText(line)
	h.send(keyEnter)
}

func (h *harness) event(e api.Event) {
	h.t.Helper()
	h.send(EventMsg(e))
}

// frame is the screen as text: View's content without escape sequences.
func (h *harness) frame() string { return stripANSI(h.m.View().Content) }

var ansiSeq = regexp.MustCompile(`\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[PX^_][^\x1b]*\x1b\\`)

func stripANSI(s string) string { return ansiSeq.ReplaceAllString(s, "") }

// timelineText returns the visible timeline column of the frame (without
// the sidebar), one string per screen line, right-trimmed.
func (h *harness) timelineText() []string {
	lines := strings.Split(h.frame(), "\n")
	var out []string
	for _, l := range lines[:h.m.timelineHeight()] {
		r := []rune(l)
		if len(r) > sidebarWidth+1 {
			r = r[sidebarWidth+1:]
		} else {
			r = nil
		}
		if h.m.showMembers() && len(r) > h.m.timelineWidth() {
			r = r[:h.m.timelineWidth()]
		}
		out = append(out, strings.TrimRight(string(r), " "))
	}
	return out
}

// statusLine is the last line of the frame.
func (h *harness) statusLine() string {
	lines := strings.Split(h.frame(), "\n")
	return lines[len(lines)-1]
}

// textMsg returns a text message; at is minutes after t0's midnight.
func textMsg(id, conv, from, text string, at time.Time) api.Message {
	m := api.Message{ID: id, From: from, Kind: "text", Conversation: conv, Text: text, SentAt: at.UTC().Format(time.RFC3339Nano), Status: "received"}
	if r, ok := strings.CutPrefix(conv, "room:"); ok {
		m.Room = r
	} else {
		peer := strings.TrimPrefix(conv, "dm:")
		if from == selfID {
			m.To = peer
		} else {
			m.To = selfID
		}
	}
	return m
}

// roomHistory returns n text messages in room from bob and carol, one a
// second, ending a minute before t0.
func roomHistory(r string, n int) []api.Message {
	ms := make([]api.Message, n)
	start := t0.Add(-time.Minute - time.Duration(n)*time.Second)
	for i := range ms {
		from := bobID
		if i%2 == 1 {
			from = carolID
		}
		ms[i] = textMsg(fmt.Sprintf("m%05d", i), "room:"+r, from, fmt.Sprintf("message %d", i), start.Add(time.Duration(i)*time.Second))
	}
	return ms
}

func hasLine(lines []string, want string) bool {
	return slices.ContainsFunc(lines, func(l string) bool { return strings.Contains(l, want) })
}
