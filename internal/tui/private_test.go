package tui

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/parley-chat/parley/internal/api"
)

// privateWorld is #lobby and two private rooms: #secret, where this node
// is an admin with bob (admin) and carol (member), whose history holds
// membership operations among its lines, and #old, which this node was
// removed from. #secret is open.
func privateWorld() *fakeBackend {
	fb := newFakeBackend()
	fb.setConvs(room("lobby", 0), room("secret", 0), room("old", 0), dm(bobID, "bob", true, 0))
	fb.private["secret"] = api.Room{Name: "secret", Private: true, Role: "admin", Members: 3}
	fb.private["old"] = api.Room{Name: "old", Private: true, Removed: true}
	fb.members["#secret"] = []api.Member{
		{PeerID: selfID, Nick: "me", Online: true, Role: "admin"},
		{PeerID: bobID, Nick: "bob", Online: true, Role: "admin"},
		{PeerID: carolID, Nick: "carol", Role: "member"},
	}
	op := func(id, kind string, min int) api.Message {
		return api.Message{ID: id, From: selfID, Kind: kind, Room: "secret", Conversation: "room:secret", SentAt: saturday.Add(time.Duration(min) * time.Minute).Format(time.RFC3339Nano), Status: "sent"}
	}
	fb.setHistory("#secret", []api.Message{
		op("p1", "op", 0),
		textMsg("p2", "room:secret", selfID, "welcome to the plans room", saturday.Add(time.Minute)),
		op("p3", "op", 2),
		textMsg("p4", "room:secret", bobID, "thanks for the invite", saturday.Add(3*time.Minute)),
		op("p5", "kind(9)", 4),
	})
	return fb
}

// openSecret opens #secret (the second room).
func openSecret(h *harness) { h.send(keyCtrlN) }

func TestPrivateRoomMarks(t *testing.T) {
	fb := privateWorld()
	h := newHarness(t, fb, 120, 30)
	openSecret(h)
	if h.m.cur != "room:secret" {
		t.Fatalf("open conversation: got %q, want room:secret", h.m.cur)
	}
	frame := h.frame()
	for _, want := range []string{"▸#secret 🔒", " #old 🔒 removed", "#secret 🔒  private · you are an admin", "● me ★", "● bob ★", "○ carol "} {
		if !strings.Contains(frame, want) {
			t.Errorf("frame: got\n%s\nwant %q", frame, want)
		}
	}
	if strings.Contains(frame, "#lobby 🔒") || strings.Contains(frame, "carol ★") {
		t.Errorf("frame: got\n%s\nwant no lock on #lobby and no ★ for carol", frame)
	}

	// ASCII marks.
	fb = privateWorld()
	h = newHarness(t, fb, 120, 30)
	h.m.th = newTheme(false, true)
	openSecret(h)
	frame = h.frame()
	for _, want := range []string{"▸#secret [p]", "#old [p] removed", "● me (admin)", "● bob (admin)"} {
		if !strings.Contains(frame, want) {
			t.Errorf("ASCII frame: got\n%s\nwant %q", frame, want)
		}
	}
	if strings.ContainsAny(frame, "🔒★") {
		t.Errorf("ASCII frame: got\n%s\nwant no 🔒 or ★", frame)
	}
}

// TestHiddenKinds keeps membership operations and kinds the client does
// not know out of the timeline, from history and from events.
func TestHiddenKinds(t *testing.T) {
	fb := privateWorld()
	h := newHarness(t, fb, 80, 24)
	openSecret(h)
	want := []string{"#secret 🔒  private · you are an admin", "── Sat 14 Mar 2026", "14:03 me: welcome to the plans room", "14:05 bob: thanks for the invite"}
	tl := slices.DeleteFunc(h.timelineText(), func(l string) bool { return l == "" })
	for i := range tl {
		tl[i] = strings.TrimRight(strings.TrimRight(tl[i], "─"), " ")
	}
	if !slices.Equal(tl, want) {
		t.Errorf("timeline: got %q, want %q", tl, want)
	}
	members := len(fb.callsOf("Members"))
	for _, kind := range []string{"op", "key", "kind(7)"} {
		msg := api.Message{ID: "e-" + kind, From: bobID, Kind: kind, Room: "secret", Conversation: "room:secret", SentAt: t0.Format(time.RFC3339Nano), Status: "received"}
		h.event(api.Event{Type: "message", Message: &msg})
	}
	if got := slices.DeleteFunc(h.timelineText(), func(l string) bool { return l == "" }); len(got) != len(want) {
		t.Errorf("timeline after op events: got %q, want it unchanged", got)
	}
	if got := len(fb.callsOf("Members")) - members; got != 3 {
		t.Errorf("Members calls after 3 op events: got %d, want 3 (an op may change roles)", got)
	}
	if len(h.notes.all()) != 0 {
		t.Errorf("notifications: got %q, want none for ops", h.notes.all())
	}
}

func TestRemovedRoom(t *testing.T) {
	fb := privateWorld()
	h := newHarness(t, fb, 80, 24)
	h.send(keyCtrlN)
	h.send(keyCtrlN)
	if h.m.cur != "room:old" {
		t.Fatalf("open conversation: got %q, want room:old", h.m.cur)
	}
	if got := h.timelineText()[0]; got != "#old 🔒  removed: you are no longer a member" {
		t.Errorf("header: got %q", got)
	}
	fb.failNext("Send", &api.Error{Status: 403, Code: api.CodeForbidden, Message: "not a member of #old any more"})
	h.enter("hello?")
	if h.m.status != "not a member of #old any more" || !h.m.statusErr {
		t.Errorf("status: got %q (error %v), want the API's error", h.m.status, h.m.statusErr)
	}
}

// lastStatus runs line and returns the status and whether it is an error.
func lastStatus(h *harness, line string) (string, bool) {
	h.t.Helper()
	h.enter(line)
	return h.m.status, h.m.statusErr
}

func TestCreateCommand(t *testing.T) {
	for _, tt := range []struct {
		name      string
		line      string
		fail      error
		wantCalls []call
		wantCur   string
		wantStat  string
		wantErr   bool
	}{
		{name: "public", line: "/create #team", wantCalls: []call{{"Join", []string{"#team"}}}, wantCur: "room:team"},
		{name: "private", line: "/create #plans --private", wantCalls: []call{{"CreatePrivate", []string{"#plans"}}}, wantCur: "room:plans",
			wantStat: "created private room #plans: /invite makes a link"},
		{name: "flag first, no #", line: "/create --private plans", wantCalls: []call{{"CreatePrivate", []string{"#plans"}}}, wantCur: "room:plans"},
		{name: "no room", line: "/create --private", wantStat: "usage: /create #room [--private]", wantErr: true},
		{name: "two rooms", line: "/create #a #b", wantStat: "usage: /create", wantErr: true},
		{name: "unknown flag", line: "/create #a --secret", wantStat: "usage: /create", wantErr: true},
		{name: "refused", line: "/create #Bad! --private", fail: &api.Error{Status: 400, Code: api.CodeBadRequest, Message: `invalid room name "Bad!"`},
			wantCalls: []call{{"CreatePrivate", []string{"#Bad!"}}}, wantStat: "invalid room name", wantErr: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fb := newFakeBackend()
			h := newHarness(t, fb, 80, 24)
			if tt.fail != nil {
				fb.failNext("CreatePrivate", tt.fail)
			}
			stat, isErr := lastStatus(h, tt.line)
			var got []call
			for _, c := range fb.allCalls() {
				if c.method == "Join" || c.method == "CreatePrivate" {
					got = append(got, c)
				}
			}
			if !reflect.DeepEqual(got, tt.wantCalls) {
				t.Errorf("calls: got %v, want %v", got, tt.wantCalls)
			}
			if tt.wantCur != "" && h.m.cur != tt.wantCur {
				t.Errorf("open conversation: got %q, want %q", h.m.cur, tt.wantCur)
			}
			if !strings.Contains(stat, tt.wantStat) || isErr != tt.wantErr {
				t.Errorf("status: got %q (error %v), want %q (error %v)", stat, isErr, tt.wantStat, tt.wantErr)
			}
		})
	}
	// A private room made shows its lock and this node as admin.
	fb := newFakeBackend()
	h := newHarness(t, fb, 120, 30)
	h.enter("/create --private #plans")
	if frame := h.frame(); !strings.Contains(frame, "▸#plans 🔒") || !strings.Contains(frame, "● me ★") {
		t.Errorf("frame: got\n%s\nwant #plans locked and me its admin", frame)
	}
}

func TestInviteCommand(t *testing.T) {
	for _, tt := range []struct {
		name     string
		setup    func(*harness)
		line     string
		want     []string // Invite's arguments; nil: no call
		wantStat string
	}{
		{name: "open room", setup: openSecret, line: "/invite", want: []string{"#secret", "0", ""}},
		{name: "named, with flags", line: "/invite #secret --uses 3 --expires 10m", want: []string{"#secret", "3", "10m"}},
		{name: "flags first", line: "/invite --expires 36h #secret", want: []string{"#secret", "0", "36h"}},
		{name: "public room", line: "/invite", wantStat: "#lobby is public"},
		{name: "bad uses", line: "/invite #secret --uses none", wantStat: "--uses none: want a number of 1 or more"},
		{name: "zero uses", line: "/invite #secret --uses 0", wantStat: "--uses 0: want a number"},
		{name: "flag without value", line: "/invite #secret --expires", wantStat: "usage: /invite"},
		{name: "no room open", setup: func(h *harness) { h.send(keyCtrlP) }, line: "/invite", wantStat: "usage: /invite [#room]"},
		{name: "bad expiry", line: "/invite #secret --expires soon", want: []string{"#secret", "0", "soon"}, wantStat: `expires "soon": want a duration`},
		{name: "not admin", setup: func(h *harness) {
			h.fb.mu.Lock()
			r := h.fb.private["secret"]
			r.Role = "member"
			h.fb.private["secret"] = r
			h.fb.mu.Unlock()
		}, line: "/invite #secret", want: []string{"#secret", "0", ""}, wantStat: "not allowed: only an admin may invite into #secret"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fb := privateWorld()
			h := newHarness(t, fb, 80, 24)
			if tt.setup != nil {
				tt.setup(h)
			}
			stat, isErr := lastStatus(h, tt.line)
			got := fb.callsOf("Invite")
			if tt.want == nil {
				if len(got) != 0 {
					t.Errorf("Invite calls: got %q, want none", got)
				}
			} else if len(got) != 1 || !slices.Equal(got[0], tt.want) {
				t.Errorf("Invite calls: got %q, want one with %q", got, tt.want)
			}
			if tt.wantStat == "" {
				if h.m.invite == nil {
					t.Errorf("invite panel not open; status %q", stat)
				}
				return
			}
			if h.m.invite != nil || !strings.Contains(stat, tt.wantStat) || !isErr {
				t.Errorf("status: got %q (error %v, panel %v), want error %q and no panel", stat, isErr, h.m.invite != nil, tt.wantStat)
			}
		})
	}
}

// panelLink joins the lines of the invite panel that hold the link.
func panelLink(h *harness) string {
	var b strings.Builder
	for _, l := range strings.Split(h.frame(), "\n") {
		if l = strings.TrimRight(l, " "); strings.HasPrefix(l, "parley://invite/") || (b.Len() > 0 && !strings.Contains(l, " ") && l != "") {
			b.WriteString(l)
		} else if b.Len() > 0 {
			break
		}
	}
	return b.String()
}

func TestInvitePanel(t *testing.T) {
	fb := privateWorld()
	h := newHarness(t, fb, 80, 24)
	openSecret(h)
	h.enter("/invite --uses 2")
	if h.m.invite == nil {
		t.Fatalf("invite panel not open; status %q", h.m.status)
	}
	link := h.m.invite.invite.Link
	if got := panelLink(h); got != link {
		t.Errorf("link on the panel: got %q, want %q", got, link)
	}
	frame := h.frame()
	for _, want := range []string{"Invite into #secret 🔒", "Works for 2 uses, until Sat 21 Mar 2026 15:09 (in 7 days).", "c: copy the link", "Esc: close", "The QR code of the link needs a terminal of at least"} {
		if !strings.Contains(strings.ReplaceAll(frame, "\n", " "), want) && !strings.Contains(frame, want) {
			t.Errorf("panel: got\n%s\nwant %q", frame, want)
		}
	}
	if strings.Contains(frame, "Rooms") {
		t.Errorf("panel: got\n%s\nwant it the whole width, without the sidebar", frame)
	}

	// c copies by OSC 52 and keeps the panel open.
	cmd := h.update(textKey('c'))
	if cmd == nil {
		t.Fatal("c: got no command, want the clipboard set")
	}
	if got, want := cmd(), tea.SetClipboard(link)(); !reflect.DeepEqual(got, want) {
		t.Errorf("c: got %#v, want %#v", got, want)
	}
	if h.m.invite == nil || !strings.Contains(h.m.status, "clipboard") {
		t.Errorf("after c: panel open %v, status %q", h.m.invite != nil, h.m.status)
	}
	// Other keys do nothing; Esc closes.
	h.send(textKey('x'))
	if h.m.invite == nil || h.m.input.Value() != "" {
		t.Errorf("after x: panel open %v, composer %q; want open and empty", h.m.invite != nil, h.m.input.Value())
	}
	h.send(keyEsc)
	if h.m.invite != nil || !strings.Contains(h.frame(), "▸#secret 🔒") {
		t.Errorf("after Esc: got\n%s\nwant the room back", h.frame())
	}

	// A tall terminal shows the QR code.
	h.send(teaWindowSize(120, 60))
	h.enter("/invite")
	if !hasLine(strings.Split(h.frame(), "\n"), "▄▄▄▄▄") {
		t.Errorf("120x60: got\n%s\nwant the QR code", h.frame())
	}
}

func TestJoinByLink(t *testing.T) {
	fb := privateWorld()
	h := newHarness(t, fb, 80, 24)
	fb.mu.Lock()
	link := fakeInviteLink("hidden", 99)
	fb.invites[link] = "hidden"
	fb.mu.Unlock()
	stat, isErr := lastStatus(h, "/join "+link)
	if got := fb.callsOf("AcceptInvite"); len(got) != 1 || got[0][0] != link {
		t.Errorf("AcceptInvite calls: got %q, want one with the link", got)
	}
	if len(fb.callsOf("Join")) != 0 {
		t.Errorf("Join calls: got %q, want none for a link", fb.callsOf("Join"))
	}
	if h.m.cur != "room:hidden" || stat != "joined private room #hidden" || isErr {
		t.Errorf("after the link: open %q, status %q (error %v)", h.m.cur, stat, isErr)
	}
	if !strings.Contains(h.frame(), "▸#hidden 🔒") {
		t.Errorf("frame: got\n%s\nwant #hidden locked", h.frame())
	}
	if stat, _ := lastStatus(h, "/join "+link); stat != "already in #hidden" {
		t.Errorf("joined twice: status %q", stat)
	}

	for _, tt := range []struct {
		name string
		err  error
		want string
	}{
		{"used up", &api.Error{Status: 410, Code: api.CodeGone, Message: "invite used up"}, "join by invite: invite used up: ask for a new link"},
		{"expired", &api.Error{Status: 410, Code: api.CodeGone, Message: "invite expired on 2026-03-01T00:00:00Z"}, "join by invite: invite expired on 2026-03-01T00:00:00Z: ask for a new link"},
		{"revoked", &api.Error{Status: 410, Code: api.CodeGone, Message: "invite revoked"}, "join by invite: invite revoked: ask for a new link"},
		{"forged", &api.Error{Status: 403, Code: api.CodeForbidden, Message: "invite forged or damaged: malformed"}, "join by invite: invite forged or damaged: malformed: check that the whole link was copied"},
		{"unknown", &api.Error{Status: 404, Code: api.CodeNotFound, Message: "invite not known to any member reached"}, "join by invite: invite not known to any member reached: try again when a member of the room is online"},
		{"no daemon", errors.New("daemon not running"), "join by invite: daemon not running"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fb := privateWorld()
			h := newHarness(t, fb, 80, 24)
			fb.failNext("AcceptInvite", tt.err)
			stat, isErr := lastStatus(h, "/join parley://invite/whatever")
			if !strings.HasPrefix(stat, tt.want) || !isErr {
				t.Errorf("status: got %q (error %v), want error %q", stat, isErr, tt.want)
			}
			if h.m.cur != "room:lobby" {
				t.Errorf("open conversation: got %q, want room:lobby still", h.m.cur)
			}
		})
	}
}

func TestMemberCommands(t *testing.T) {
	for _, tt := range []struct {
		name      string
		setup     func(*harness)
		line      string
		method    string
		wantArgs  []string
		wantStat  string
		wantErr   bool
		wantFrame string // in the members pane after
	}{
		{name: "remove", line: "/remove @carol", method: "RemoveMember", wantArgs: []string{"#secret", "@carol"}, wantStat: "removed @carol in #secret"},
		{name: "remove by ID", line: "/remove " + carolID, method: "RemoveMember", wantArgs: []string{"#secret", carolID}, wantStat: "removed " + carolID + " in #secret"},
		{name: "promote", line: "/promote @carol", method: "PromoteMember", wantArgs: []string{"#secret", "@carol"}, wantStat: "made admin: @carol in #secret", wantFrame: "○ carol ★"},
		{name: "unknown peer", line: "/promote @zed", method: "PromoteMember", wantArgs: []string{"#secret", "@zed"}, wantStat: "unknown peer @zed", wantErr: true},
		{name: "not admin", setup: func(h *harness) {
			h.fb.mu.Lock()
			r := h.fb.private["secret"]
			r.Role = "member"
			h.fb.private["secret"] = r
			h.fb.mu.Unlock()
		}, line: "/remove @bob", method: "RemoveMember", wantArgs: []string{"#secret", "@bob"}, wantStat: "not allowed: only an admin of #secret", wantErr: true},
		{name: "no peer", line: "/remove", wantStat: "usage: /remove @nick|peer-id", wantErr: true},
		{name: "public room", setup: func(h *harness) { h.send(keyCtrlP) }, line: "/promote @bob", wantStat: "#lobby is public", wantErr: true},
		{name: "not in a room", setup: func(h *harness) { h.send(keyCtrlP); h.send(keyCtrlP) }, line: "/promote @bob", wantStat: "usage: /promote", wantErr: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fb := privateWorld()
			h := newHarness(t, fb, 120, 30)
			openSecret(h)
			if tt.setup != nil {
				tt.setup(h)
			}
			members := len(fb.callsOf("Members"))
			stat, isErr := lastStatus(h, tt.line)
			for _, method := range []string{"RemoveMember", "PromoteMember"} {
				got := fb.callsOf(method)
				if method != tt.method {
					if len(got) != 0 {
						t.Errorf("%s calls: got %q, want none", method, got)
					}
					continue
				}
				if len(got) != 1 || !slices.Equal(got[0], tt.wantArgs) {
					t.Errorf("%s calls: got %q, want one with %q", method, got, tt.wantArgs)
				}
			}
			if !strings.HasPrefix(stat, tt.wantStat) || isErr != tt.wantErr {
				t.Errorf("status: got %q (error %v), want %q (error %v)", stat, isErr, tt.wantStat, tt.wantErr)
			}
			if !tt.wantErr && len(fb.callsOf("Members")) == members {
				t.Errorf("members not reloaded after %s", tt.line)
			}
			if tt.wantFrame != "" && !strings.Contains(h.frame(), tt.wantFrame) {
				t.Errorf("frame: got\n%s\nwant %q", h.frame(), tt.wantFrame)
			}
		})
	}
	// The removed member leaves the pane.
	fb := privateWorld()
	h := newHarness(t, fb, 120, 30)
	openSecret(h)
	h.enter("/remove @carol")
	if frame := h.frame(); strings.Contains(frame, "○ carol") || !strings.Contains(frame, "Members 2/2") {
		t.Errorf("frame after removing carol: got\n%s\nwant Members 2/2 without her", h.frame())
	}
}

func TestMembersCommand(t *testing.T) {
	fb := privateWorld()
	h := newHarness(t, fb, 80, 24)
	openSecret(h)
	if stat, isErr := lastStatus(h, "/members"); stat != "#secret: me ★, bob ★, carol" || isErr {
		t.Errorf("status: got %q (error %v), want the members with their roles", stat, isErr)
	}
	h.send(keyCtrlP)
	h.send(keyCtrlP)
	if stat, isErr := lastStatus(h, "/members"); !strings.HasPrefix(stat, "usage: /members") || !isErr {
		t.Errorf("in a DM: status %q (error %v), want the usage", stat, isErr)
	}
}

// TestCompleteMembers completes @nick from the open room's members too,
// including one the peer list does not hold.
func TestCompleteMembers(t *testing.T) {
	fb := privateWorld()
	fb.members["#secret"] = append(fb.members["#secret"], api.Member{PeerID: daveID, Nick: "dave", Role: "member"})
	h := newHarness(t, fb, 80, 24)
	openSecret(h)
	h.typeText("/remove @d")
	h.send(keyTab)
	if got := h.m.input.Value(); got != "/remove @dave " {
		t.Errorf("composer: got %q, want /remove @dave ", got)
	}
}
