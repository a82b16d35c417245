package api

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/chat/chattest"
)

func TestJoinLeaveRooms(t *testing.T) {
	ts := serve(t)
	ctx := t.Context()
	before := time.Now().UTC().Truncate(time.Second)

	for _, tc := range []struct {
		name string
		do   func() (JoinResponse, error)
		want JoinResponse
	}{
		{"join", func() (JoinResponse, error) { return ts.client.Join(ctx, "#dev") }, JoinResponse{Name: "dev", Changed: true}},
		{"join again", func() (JoinResponse, error) { return ts.client.Join(ctx, "dev") }, JoinResponse{Name: "dev", Changed: false}},
		{"join another", func() (JoinResponse, error) { return ts.client.Join(ctx, "#ops") }, JoinResponse{Name: "ops", Changed: true}},
	} {
		got, err := tc.do()
		if err != nil || got != tc.want {
			t.Errorf("%s: got %+v, %v; want %+v", tc.name, got, err, tc.want)
		}
	}
	rooms, err := ts.client.Rooms(ctx)
	if err != nil {
		t.Fatalf("Rooms: %v", err)
	}
	if len(rooms) != 2 || rooms[0].Name != "dev" || rooms[1].Name != "ops" {
		t.Fatalf("Rooms: got %+v, want dev and ops", rooms)
	}
	for _, r := range rooms {
		if r.Members != 1 || r.Online != 1 || r.Unread != 0 || r.Retention != "forever" || r.JoinedAt.Before(before) || r.JoinedAt.Location() != time.UTC {
			t.Errorf("room %s: got %+v, want this node alone, nothing unread, kept forever, joined now (UTC)", r.Name, r)
		}
	}
	status, _, body := ts.unixDo(t, http.MethodGet, "/api/v1/rooms", nil, nil)
	var raw []map[string]any
	if err := json.Unmarshal(body, &raw); status != http.StatusOK || err != nil || len(raw) != 2 {
		t.Fatalf("GET /rooms: got %d %s", status, body)
	}
	if got, want := sortedKeys(raw[0]), []string{"joined_at", "members", "name", "online", "private", "retention", "role", "unread"}; !slices.Equal(got, want) {
		t.Errorf("room keys: got %v, want %v", got, want)
	}

	for _, tc := range []struct {
		name string
		room string
		want JoinResponse
	}{
		{"leave", "#dev", JoinResponse{Name: "dev", Changed: true}},
		{"leave again", "dev", JoinResponse{Name: "dev", Changed: false}},
	} {
		got, err := ts.client.Leave(ctx, tc.room)
		if err != nil || got != tc.want {
			t.Errorf("%s: got %+v, %v; want %+v", tc.name, got, err, tc.want)
		}
	}
	if rooms, err := ts.client.Rooms(ctx); err != nil || len(rooms) != 1 || rooms[0].Name != "ops" {
		t.Errorf("Rooms after leaving dev: got %+v, %v; want ops", rooms, err)
	}
	if _, err := ts.client.Leave(ctx, "#ops"); err != nil {
		t.Fatal(err)
	}
	status, _, body = ts.unixDo(t, http.MethodGet, "/api/v1/rooms", nil, nil)
	if status != http.StatusOK || strings.TrimSpace(string(body)) != "[]" {
		t.Errorf("GET /rooms in no room: got %d %s, want []", status, body)
	}

	for _, tc := range []struct {
		name string
		call func() error
	}{
		{"join a bad name", func() error { _, err := ts.client.Join(ctx, "#Dev"); return err }},
		{"join no name", func() error { _, err := ts.client.Join(ctx, ""); return err }},
		{"leave a bad name", func() error { _, err := ts.client.Leave(ctx, "#a.b"); return err }},
		{"members of a bad name", func() error { _, err := ts.client.Members(ctx, "#a.b"); return err }},
		{"typing in a bad name", func() error { return ts.client.Typing(ctx, "@bob") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ae := apiError(t, tc.call(), http.StatusBadRequest, CodeBadRequest)
			if !strings.HasPrefix(ae.Message, "invalid room name") {
				t.Errorf("message: got %q, want it to start with \"invalid room name\"", ae.Message)
			}
		})
	}
}

func TestMembersAndTyping(t *testing.T) {
	c := newCluster(t)
	alice, bob := c.node("alice"), c.node("bob")
	c.connect(alice, bob)
	ts := startServer(t, alice)
	ctx := t.Context()
	for _, n := range []*chattest.Node{alice, bob} {
		if _, err := n.Svc.JoinRoom(ctx, "dev"); err != nil {
			t.Fatal(err)
		}
	}
	chattest.WaitFor(t, 0, "alice sees bob in #dev", func() bool {
		ms, err := alice.Svc.RoomMembers("dev")
		return err == nil && len(ms) == 2 && ms[0].Online && ms[1].Online
	})
	members, err := ts.client.Members(ctx, "#dev")
	if err != nil {
		t.Fatalf("Members: %v", err)
	}
	if len(members) != 2 || members[0].Nick != "alice" || members[0].Display != "alice" || members[0].PeerID != alice.ID.String() || !members[0].Online ||
		members[1].Nick != "bob" || members[1].Display != "bob" || members[1].PeerID != bob.ID.String() || !members[1].Online || members[1].LastSeen == nil {
		t.Errorf("Members: got %+v, want alice and bob online", members)
	}
	if rooms, err := ts.client.Rooms(ctx); err != nil || len(rooms) != 1 || rooms[0].Members != 2 || rooms[0].Online != 2 {
		t.Errorf("Rooms: got %+v, %v; want #dev with 2 members online", rooms, err)
	}

	if err := ts.client.Typing(ctx, "#dev"); err != nil {
		t.Fatalf("Typing: %v", err)
	}
	bob.Events.WaitFor(t, "bob sees alice typing", func(e chat.Event) bool {
		return e.Type == chat.EventTyping && e.Room == "dev" && e.Peer.ID == alice.ID
	})

	for _, tc := range []struct {
		name string
		call func() error
	}{
		{"members", func() error { _, err := ts.client.Members(ctx, "#ops"); return err }},
		{"typing", func() error { return ts.client.Typing(ctx, "#ops") }},
		{"send", func() error { _, err := ts.client.Send(ctx, "#ops", "hi"); return err }},
		{"retention", func() error { _, err := ts.client.SetRoomRetention(ctx, "#ops", "1d"); return err }},
	} {
		t.Run(tc.name+" in a room not joined", func(t *testing.T) {
			ae := apiError(t, tc.call(), http.StatusNotFound, CodeNotFound)
			if !strings.Contains(ae.Message, "not in room: #ops") {
				t.Errorf("message: got %q, want it to say this node is not in #ops", ae.Message)
			}
		})
	}
}

func TestRoomRetention(t *testing.T) {
	ws := &watchedStore{}
	ts := serve(t, withWatchedStore(ws))
	ctx := t.Context()
	if _, err := ts.client.Join(ctx, "#dev"); err != nil {
		t.Fatal(err)
	}
	retention := func() time.Duration {
		t.Helper()
		rooms, err := ts.node.Svc.Rooms()
		if err != nil || len(rooms) != 1 {
			t.Fatalf("rooms: %+v, %v", rooms, err)
		}
		return rooms[0].Retention
	}

	for _, tc := range []struct {
		set  string
		want string
		keep time.Duration
	}{
		{"90d", "90d", 90 * 24 * time.Hour},
		{"2w", "14d", 14 * 24 * time.Hour},
		{"36h", "36h0m0s", 36 * time.Hour},
		{" 1d ", "1d", 24 * time.Hour},
		{"forever", "forever", 0},
		{"30m", "30m0s", 30 * time.Minute},
		{"0", "forever", 0},
	} {
		t.Run(tc.set, func(t *testing.T) {
			room, err := ts.client.SetRoomRetention(ctx, "#dev", tc.set)
			if err != nil {
				t.Fatalf("SetRoomRetention(%q): %v", tc.set, err)
			}
			if room.Name != "dev" || room.Retention != tc.want || room.Members != 1 {
				t.Errorf("SetRoomRetention(%q): got %+v, want #dev with retention %q", tc.set, room, tc.want)
			}
			rooms, err := ts.client.Rooms(ctx)
			if err != nil || len(rooms) != 1 || rooms[0] != room {
				t.Errorf("Rooms after the change: got %+v, %v; want [%+v]", rooms, err, room)
			}
			if got := retention(); got != tc.keep {
				t.Errorf("the messenger keeps #dev for %v, want %v", got, tc.keep)
			}
		})
	}

	if _, err := ts.client.SetRoomRetention(ctx, "dev", "7d"); err != nil {
		t.Fatal(err)
	}
	t.Run("refused", func(t *testing.T) {
		for _, tc := range []struct {
			name       string
			path, body string
			wantStatus int
			wantCode   string
			wantInMsg  string
		}{
			{"bad duration", "/api/v1/rooms/dev", `{"retention":"soon"}`, http.StatusBadRequest, CodeBadRequest, `retention "soon"`},
			{"negative", "/api/v1/rooms/dev", `{"retention":"-5h"}`, http.StatusBadRequest, CodeBadRequest, `retention "-5h"`},
			{"zero days", "/api/v1/rooms/dev", `{"retention":"0d"}`, http.StatusBadRequest, CodeBadRequest, `retention "0d"`},
			{"not a string", "/api/v1/rooms/dev", `{"retention":90}`, http.StatusBadRequest, CodeBadRequest, "bad JSON"},
			{"unknown setting", "/api/v1/rooms/dev", `{"retention":"1d","colour":"red"}`, http.StatusBadRequest, CodeBadRequest, "colour"},
			{"malformed", "/api/v1/rooms/dev", `{"retention":`, http.StatusBadRequest, CodeBadRequest, "bad JSON"},
			{"bad room", "/api/v1/rooms/Dev", `{"retention":"1d"}`, http.StatusBadRequest, CodeBadRequest, "invalid room name"},
			{"room not joined", "/api/v1/rooms/ops", `{"retention":"1d"}`, http.StatusNotFound, CodeNotFound, "not in room: #ops"},
			{"too large", "/api/v1/rooms/dev", `{"retention":"` + strings.Repeat("9", MaxRequestBody) + `"}`, http.StatusRequestEntityTooLarge, CodeTooLarge, "1048576"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				status, header, body := ts.unixDo(t, http.MethodPatch, tc.path, strings.NewReader(tc.body), nil)
				if status != tc.wantStatus {
					t.Fatalf("status: got %d (%.200s), want %d", status, body, tc.wantStatus)
				}
				if eb := errorBody(t, header, body); eb.Code != tc.wantCode || !strings.Contains(eb.Error, tc.wantInMsg) {
					t.Errorf("error: got %+v, want code %q mentioning %q", eb, tc.wantCode, tc.wantInMsg)
				}
				if got := retention(); got != 7*24*time.Hour {
					t.Errorf("retention after a refused change: got %v, want 7 days", got)
				}
			})
		}
	})

	t.Run("no change answers the room", func(t *testing.T) {
		status, _, body := ts.unixDo(t, http.MethodPatch, "/api/v1/rooms/%23dev", strings.NewReader(`{}`), nil)
		var room Room
		if err := json.Unmarshal(body, &room); status != http.StatusOK || err != nil || room.Name != "dev" || room.Retention != "7d" {
			t.Errorf("PATCH {}: got %d %s, want #dev kept 7d", status, body)
		}
	})

	t.Run("storage failure", func(t *testing.T) {
		ws.breakStore()
		_, err := ts.client.SetRoomRetention(ctx, "#dev", "1d")
		if ae := apiError(t, err, http.StatusInternalServerError, CodeInternal); ae.Message != "remember room: "+errDisk.Error() {
			t.Errorf("message: got %q, want %q", ae.Message, "remember room: "+errDisk.Error())
		}
		if got := retention(); got != 7*24*time.Hour {
			t.Errorf("retention after a failed change: got %v, want 7 days", got)
		}
	})
}

// TestRoomRetentionDefault checks that a room without a setting of its own
// shows the node's default, and that "forever" goes back to it.
func TestRoomRetentionDefault(t *testing.T) {
	ts := serve(t, chattest.WithConfig(func(cfg *chat.Config) { cfg.Retention = 30 * 24 * time.Hour }))
	ctx := t.Context()
	if _, err := ts.client.Join(ctx, "#dev"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ set, want string }{
		{"", "30d"},
		{"90d", "90d"},
		{"forever", "forever"},
		{"default", "30d"},
	} {
		var room Room
		var err error
		if tc.set == "" {
			var rooms []Room
			rooms, err = ts.client.Rooms(ctx)
			if len(rooms) == 1 {
				room = rooms[0]
			}
		} else {
			room, err = ts.client.SetRoomRetention(ctx, "#dev", tc.set)
		}
		if err != nil || room.Retention != tc.want {
			t.Errorf("after %q: got %+v, %v; want retention %q", tc.set, room, err, tc.want)
		}
	}
}

func TestConversationsAndReadMarkers(t *testing.T) {
	c := newCluster(t)
	alice, bob := c.node("alice"), c.node("bob")
	c.connect(alice, bob)
	ts := startServer(t, alice)
	ctx := t.Context()
	for _, n := range []*chattest.Node{alice, bob} {
		if _, err := n.Svc.JoinRoom(ctx, "dev"); err != nil {
			t.Fatal(err)
		}
	}
	chattest.WaitFor(t, 0, "bob online in #dev", func() bool {
		rooms, err := alice.Svc.Rooms()
		return err == nil && len(rooms) == 1 && rooms[0].Online == 2
	})
	var dms, roomMsgs []*chat.Message
	for _, text := range []string{"one", "two", "three"} {
		m, err := bob.Svc.SendDM(ctx, alice.ID, text)
		if err != nil {
			t.Fatal(err)
		}
		dms = append(dms, m)
		r, err := bob.Svc.SendRoom(ctx, "dev", "room "+text)
		if err != nil {
			t.Fatal(err)
		}
		roomMsgs = append(roomMsgs, r)
	}
	for _, m := range append(slices.Clone(dms), roomMsgs...) {
		alice.Events.WaitFor(t, "alice stores "+m.Body, chattest.MessageIs(m.ID))
	}
	// Alice's own messages are never unread.
	if _, err := alice.Svc.SendDM(ctx, bob.ID, "mine"); err != nil {
		t.Fatal(err)
	}

	unread := func() (room, dm int) {
		t.Helper()
		convs, err := ts.client.Conversations(ctx)
		if err != nil {
			t.Fatalf("Conversations: %v", err)
		}
		want := []Conversation{
			{Conversation: "room:dev", Kind: "room", Name: "#dev", Room: "dev", Online: true},
			{Conversation: "dm:" + bob.ID.String(), Kind: "dm", Name: "bob", PeerID: bob.ID.String(), Online: true},
		}
		if len(convs) != 2 {
			t.Fatalf("Conversations: got %+v, want #dev and bob", convs)
		}
		for i := range want {
			got := convs[i]
			got.Unread = 0
			if got != want[i] {
				t.Errorf("conversation %d: got %+v, want %+v", i, convs[i], want[i])
			}
		}
		rooms, err := ts.client.Rooms(ctx)
		if err != nil || len(rooms) != 1 || rooms[0].Unread != convs[0].Unread {
			t.Errorf("Rooms: got %+v, %v; want the unread count of the conversation list (%d)", rooms, err, convs[0].Unread)
		}
		return convs[0].Unread, convs[1].Unread
	}
	if r, d := unread(); r != 3 || d != 3 {
		t.Fatalf("unread: got room %d, dm %d; want 3 and 3", r, d)
	}

	// Up to a message; never back; the newest by default.
	for _, tc := range []struct {
		with, id         string
		wantRoom, wantDM int
	}{
		{"@bob", dms[0].ID.String(), 3, 2},
		{bob.ID.String(), dms[1].ID.String(), 3, 1},
		{"@bob", dms[0].ID.String(), 3, 1},
		{"#dev", roomMsgs[1].ID.String(), 1, 1},
		{"#dev", "", 0, 1},
		{"@bob", "", 0, 0},
	} {
		if err := ts.client.MarkRead(ctx, tc.with, tc.id); err != nil {
			t.Fatalf("MarkRead(%s, %s): %v", tc.with, tc.id, err)
		}
		if r, d := unread(); r != tc.wantRoom || d != tc.wantDM {
			t.Errorf("after MarkRead(%s, %.8s): unread room %d, dm %d; want %d and %d", tc.with, tc.id, r, d, tc.wantRoom, tc.wantDM)
		}
	}

	t.Run("refused", func(t *testing.T) {
		for _, tc := range []struct {
			name       string
			body       string
			wantStatus int
			wantCode   string
			wantInMsg  string
		}{
			{"message of another conversation", `{"with":"#dev","id":"` + dms[0].ID.String() + `"}`, http.StatusBadRequest, CodeBadRequest, "is not in #dev"},
			{"unknown message", `{"with":"@bob","id":"` + strings.Repeat("0", 63) + `1"}`, http.StatusNotFound, CodeNotFound, "not found"},
			{"malformed message ID", `{"with":"@bob","id":"xyz"}`, http.StatusBadRequest, CodeBadRequest, "invalid message ID"},
			{"unknown peer", `{"with":"@carol"}`, http.StatusNotFound, CodeNotFound, "@carol"},
			{"bad room", `{"with":"#Dev"}`, http.StatusBadRequest, CodeBadRequest, "invalid room name"},
			{"unknown field", `{"with":"@bob","upto":"x"}`, http.StatusBadRequest, CodeBadRequest, "upto"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				status, header, body := ts.unixDo(t, http.MethodPost, "/api/v1/read", strings.NewReader(tc.body), nil)
				if status != tc.wantStatus {
					t.Fatalf("status: got %d (%s), want %d", status, body, tc.wantStatus)
				}
				if eb := errorBody(t, header, body); eb.Code != tc.wantCode || !strings.Contains(eb.Error, tc.wantInMsg) {
					t.Errorf("error: got %+v, want code %q mentioning %q", eb, tc.wantCode, tc.wantInMsg)
				}
			})
		}
	})

	// A peer gone offline with history stays in the list; one without
	// history is left out.
	c.net.Disconnect(alice.ID, bob.ID)
	chattest.WaitFor(t, 0, "bob offline", func() bool {
		p, _ := alice.Svc.Peer(bob.ID)
		rooms, err := alice.Svc.Rooms()
		return !p.Connected && err == nil && len(rooms) == 1 && rooms[0].Online == 1
	})
	convs, err := ts.client.Conversations(ctx)
	if err != nil || len(convs) != 2 || convs[1].Online || convs[0].Online {
		t.Errorf("Conversations with bob offline: got %+v, %v; want #dev and bob, both offline", convs, err)
	}
}

func TestConversationsEmptyIsJSONArray(t *testing.T) {
	ts := serve(t)
	status, _, body := ts.unixDo(t, http.MethodGet, "/api/v1/conversations", nil, nil)
	if status != http.StatusOK || strings.TrimSpace(string(body)) != "[]" {
		t.Errorf("GET /conversations of a lone node: got %d %s, want []", status, body)
	}
}

// TestRoomsListPrivateSettings checks that GET /rooms gives a private
// room's settings, as PATCH answers them, so that a client knows whether
// its node may invite without changing anything.
func TestRoomsListPrivateSettings(t *testing.T) {
	ts := serve(t)
	ctx := t.Context()
	if _, err := ts.client.CreatePrivate(ctx, "#vault"); err != nil {
		t.Fatalf("CreatePrivate: %v", err)
	}
	if _, err := ts.client.Join(ctx, "#dev"); err != nil {
		t.Fatalf("Join: %v", err)
	}
	patched, err := ts.client.SetPrivateSettings(ctx, "#vault", "all", "members")
	if err != nil {
		t.Fatalf("SetPrivateSettings: %v", err)
	}
	rooms, err := ts.client.Rooms(ctx)
	if err != nil {
		t.Fatalf("Rooms: %v", err)
	}
	for _, r := range rooms {
		switch r.Name {
		case "vault":
			if r != patched || r.History != "all" || r.Invite != "members" || r.Role != "admin" {
				t.Errorf("Rooms: #vault is %+v, want %+v (history all, invite members, admin)", r, patched)
			}
		case "dev":
			if r.Private || r.History != "" || r.Invite != "" {
				t.Errorf("Rooms: #dev is %+v, want public without private settings", r)
			}
		}
	}
}
