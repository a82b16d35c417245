package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/chat/chattest"
)

// tcpDo sends a request to the TCP listener with the given Host header
// ("" for the address dialled) and Authorization header (none if empty).
func (ts *testServer) tcpDo(t *testing.T, method, path, body, host, auth string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, "http://"+ts.tcpAddr+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := ts.http.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

// tcpGet sends GET path to the TCP listener (see tcpDo).
func (ts *testServer) tcpGet(t *testing.T, path, host, auth string) (int, http.Header, []byte) {
	t.Helper()
	return ts.tcpDo(t, http.MethodGet, path, "", host, auth)
}

// errorBody decodes an error response and checks its shape: JSON with
// exactly the keys "error" (non-empty) and "code".
func errorBody(t *testing.T, header http.Header, body []byte) ErrorBody {
	t.Helper()
	if ct := header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type: got %q, want application/json", ct)
	}
	var raw map[string]any
	if err := json.Unmarshal(body, &raw); err != nil {
		t.Fatalf("error body %q: %v", body, err)
	}
	if got := sortedKeys(raw); !slices.Equal(got, []string{"code", "error"}) {
		t.Errorf("error body keys: got %v, want [code error]", got)
	}
	var eb ErrorBody
	if err := json.Unmarshal(body, &eb); err != nil {
		t.Fatal(err)
	}
	if eb.Error == "" {
		t.Errorf("error body %s: got empty error, want a message", body)
	}
	return eb
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestTCPGuard(t *testing.T) {
	ts := serve(t)
	otherPort := strconv.Itoa(mustAtoi(t, ts.port) + 1)
	if otherPort == "65536" {
		otherPort = "1"
	}
	bearer := "Bearer " + testToken
	for _, tc := range []struct {
		name       string
		host       string // "" means the address dialled, 127.0.0.1:PORT
		auth       string
		wantStatus int
		wantCode   string
	}{
		{"no token", "", "", http.StatusUnauthorized, CodeAuth},
		{"wrong token", "", "Bearer " + strings.Repeat("0", len(testToken)), http.StatusUnauthorized, CodeAuth},
		{"token prefix", "", "Bearer " + testToken[:10], http.StatusUnauthorized, CodeAuth},
		{"token without scheme", "", testToken, http.StatusUnauthorized, CodeAuth},
		{"basic scheme", "", "Basic " + testToken, http.StatusUnauthorized, CodeAuth},
		{"empty bearer", "", "Bearer ", http.StatusUnauthorized, CodeAuth},
		{"right token", "", bearer, http.StatusOK, ""},
		{"127.0.0.1 with port", "127.0.0.1:" + ts.port, bearer, http.StatusOK, ""},
		{"localhost with port", "localhost:" + ts.port, bearer, http.StatusOK, ""},
		{"ipv6 loopback with port", "[::1]:" + ts.port, bearer, http.StatusOK, ""},
		{"foreign host", "evil.example:" + ts.port, bearer, http.StatusForbidden, CodeForbidden},
		{"foreign host without token", "evil.example:" + ts.port, "", http.StatusForbidden, CodeForbidden},
		{"loopback on another port", "127.0.0.1:" + otherPort, bearer, http.StatusForbidden, CodeForbidden},
		{"localhost on another port", "localhost:" + otherPort, bearer, http.StatusForbidden, CodeForbidden},
		{"loopback without port", "127.0.0.1", bearer, http.StatusForbidden, CodeForbidden},
		{"localhost without port", "localhost", bearer, http.StatusForbidden, CodeForbidden},
		{"rebinding name", "localhost.evil.example:" + ts.port, bearer, http.StatusForbidden, CodeForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, header, body := ts.tcpGet(t, "/api/v1/id", tc.host, tc.auth)
			if status != tc.wantStatus {
				t.Fatalf("status: got %d (%s), want %d", status, body, tc.wantStatus)
			}
			if tc.wantCode == "" {
				var id Identity
				if err := json.Unmarshal(body, &id); err != nil {
					t.Fatalf("identity %s: %v", body, err)
				}
				if want := identity(ts.node); !reflect.DeepEqual(id, want) {
					t.Errorf("identity: got %+v, want %+v", id, want)
				}
				return
			}
			if eb := errorBody(t, header, body); eb.Code != tc.wantCode {
				t.Errorf("code: got %q, want %q", eb.Code, tc.wantCode)
			}
		})
	}
}

func TestTCPGuardCoversEveryEndpoint(t *testing.T) {
	ws := &watchedStore{}
	ts := serve(t, withWatchedStore(ws))
	if _, err := ts.node.Svc.JoinRoom(t.Context(), "dev"); err != nil {
		t.Fatal(err)
	}
	bob := newPeerID(t)
	for _, req := range []struct{ method, path, body string }{
		{http.MethodGet, "/api/v1/health", ""},
		{http.MethodGet, "/api/v1/id", ""},
		{http.MethodGet, "/api/v1/peers", ""},
		{http.MethodGet, "/api/v1/peers/" + bob.String() + "/safety", ""},
		{http.MethodGet, "/api/v1/peers/" + bob.String() + "/safety.png", ""},
		{http.MethodGet, "/api/v1/qr?text=parley%3A%2F%2Finvite%2Fabc", ""},
		{http.MethodPost, "/api/v1/peers/" + bob.String() + "/verify", ""},
		{http.MethodGet, "/api/v1/history?with=" + bob.String(), ""},
		{http.MethodGet, "/api/v1/events", ""},
		{http.MethodGet, "/api/v1/nope", ""},
		{http.MethodPost, "/api/v1/login-link", ""},
		{http.MethodPost, "/api/v1/messages", `{"to":"` + bob.String() + `","text":"hi"}`},
		{http.MethodPatch, "/api/v1/rooms/dev", `{"retention":"1d"}`},
		{http.MethodDelete, "/api/v1/rooms/dev", ""},
	} {
		t.Run(req.method+" "+req.path, func(t *testing.T) {
			status, header, body := ts.tcpDo(t, req.method, req.path, req.body, "", "")
			if status != http.StatusUnauthorized {
				t.Fatalf("status without token: got %d (%s), want %d", status, body, http.StatusUnauthorized)
			}
			if eb := errorBody(t, header, body); eb.Code != CodeAuth {
				t.Errorf("code: got %q, want %q", eb.Code, CodeAuth)
			}
		})
	}
	if n := ws.messagesCalls(chat.DMConversation(bob)); n != 0 {
		t.Errorf("history reads without a token: got %d, want 0", n)
	}
	if n := ws.enqueueCalls(); n != 0 {
		t.Errorf("messages stored without a token: got %d, want 0", n)
	}
	rooms, err := ts.node.Svc.Rooms()
	if err != nil || len(rooms) != 1 || rooms[0].Retention != 0 {
		t.Errorf("rooms after refused requests: got %+v, %v; want #dev, unchanged", rooms, err)
	}
}

func TestUnixSocketNeedsNoToken(t *testing.T) {
	ts := serve(t)
	id, err := ts.client.Identity(t.Context())
	if err != nil {
		t.Fatalf("Identity: %v", err)
	}
	if want := identity(ts.node); !reflect.DeepEqual(id, want) {
		t.Errorf("Identity: got %+v, want %+v", id, want)
	}
	// A Host header that the TCP listener would refuse means nothing here.
	status, _, body := ts.unixDo(t, http.MethodGet, "/api/v1/health", nil, http.Header{"Host": {"evil.example"}})
	if status != http.StatusOK {
		t.Fatalf("health: got %d (%s), want 200", status, body)
	}
	if got := strings.TrimSpace(string(body)); got != `{"ok":true}` {
		t.Errorf("health body: got %s, want {\"ok\":true}", got)
	}
}

func TestSendErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		// setup prepares alice's world and returns the request.
		setup       func(t *testing.T, c *cluster, alice *chattest.Node, ws *watchedStore) (to, text string)
		wantStatus  int
		wantCode    string
		wantMessage *regexp.Regexp
		wantStored  int // Enqueue calls
	}{
		{
			name:        "unknown nick",
			setup:       func(*testing.T, *cluster, *chattest.Node, *watchedStore) (string, string) { return "@carol", "hi" },
			wantStatus:  http.StatusNotFound,
			wantCode:    CodeNotFound,
			wantMessage: regexp.MustCompile(`^unknown peer @carol: no known peer has that nickname$`),
		},
		{
			name:        "not a peer ID",
			setup:       func(*testing.T, *cluster, *chattest.Node, *watchedStore) (string, string) { return "junk", "hi" },
			wantStatus:  http.StatusNotFound,
			wantCode:    CodeNotFound,
			wantMessage: regexp.MustCompile(`^unknown peer "junk": want a peer ID or @nick$`),
		},
		{
			name: "ambiguous nick",
			setup: func(_ *testing.T, c *cluster, alice *chattest.Node, _ *watchedStore) (string, string) {
				c.connect(alice, c.node("bob"))
				c.connect(alice, c.node("bob"))
				return "@bob", "hi"
			},
			wantStatus:  http.StatusConflict,
			wantCode:    CodeConflict,
			wantMessage: regexp.MustCompile(`^ambiguous peer @bob: 2 known peers use that nickname, name one by peer ID: bob \(\w{8}\) = 12D3KooW\w+; bob \(\w{8}\) = 12D3KooW\w+$`),
		},
		{
			name: "too large",
			setup: func(t *testing.T, _ *cluster, _ *chattest.Node, _ *watchedStore) (string, string) {
				return newPeerID(t).String(), strings.Repeat("x", chat.DefaultMaxFrame)
			},
			wantStatus:  http.StatusRequestEntityTooLarge,
			wantCode:    CodeTooLarge,
			wantMessage: regexp.MustCompile(`^message too large: 65536 bytes of text make a \d+-byte frame, the limit is 65536$`),
		},
		{
			name: "empty text",
			setup: func(t *testing.T, _ *cluster, _ *chattest.Node, _ *watchedStore) (string, string) {
				return newPeerID(t).String(), " \n "
			},
			wantStatus:  http.StatusBadRequest,
			wantCode:    CodeBadRequest,
			wantMessage: regexp.MustCompile(`^empty message$`),
		},
		{
			name: "to yourself",
			setup: func(_ *testing.T, _ *cluster, alice *chattest.Node, _ *watchedStore) (string, string) {
				return alice.ID.String(), "hi me"
			},
			wantStatus:  http.StatusBadRequest,
			wantCode:    CodeBadRequest,
			wantMessage: regexp.MustCompile(`^cannot message yourself$`),
		},
		{
			name:        "room not joined",
			setup:       func(*testing.T, *cluster, *chattest.Node, *watchedStore) (string, string) { return "#nowhere", "hi" },
			wantStatus:  http.StatusNotFound,
			wantCode:    CodeNotFound,
			wantMessage: regexp.MustCompile(`^not in room: #nowhere \(join it first\)$`),
		},
		{
			name:        "bad room name",
			setup:       func(*testing.T, *cluster, *chattest.Node, *watchedStore) (string, string) { return "#Bad Room", "hi" },
			wantStatus:  http.StatusBadRequest,
			wantCode:    CodeBadRequest,
			wantMessage: regexp.MustCompile(`^invalid room name "Bad Room"`),
		},
		{
			name: "node shutting down",
			setup: func(t *testing.T, _ *cluster, alice *chattest.Node, _ *watchedStore) (string, string) {
				if err := alice.Svc.Close(); err != nil {
					t.Fatal(err)
				}
				return newPeerID(t).String(), "hi"
			},
			wantStatus:  http.StatusServiceUnavailable,
			wantCode:    CodeUnavailable,
			wantMessage: regexp.MustCompile(`^the node is shutting down$`),
		},
		{
			name: "storage failure",
			setup: func(t *testing.T, _ *cluster, _ *chattest.Node, ws *watchedStore) (string, string) {
				ws.breakStore()
				return newPeerID(t).String(), "hi"
			},
			wantStatus:  http.StatusInternalServerError,
			wantCode:    CodeInternal,
			wantMessage: regexp.MustCompile(`^store message: disk on fire$`),
			wantStored:  1,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCluster(t)
			ws := &watchedStore{}
			alice := c.node("alice", withWatchedStore(ws))
			ts := startServer(t, alice)
			to, text := tc.setup(t, c, alice, ws)

			_, err := ts.client.Send(t.Context(), to, text)
			ae := apiError(t, err, tc.wantStatus, tc.wantCode)
			if !tc.wantMessage.MatchString(ae.Message) {
				t.Errorf("message: got %q, want it to match %s", ae.Message, tc.wantMessage)
			}
			if ae.Error() != ae.Message {
				t.Errorf("Error(): got %q, want %q", ae.Error(), ae.Message)
			}
			if got := ws.enqueueCalls(); got != tc.wantStored {
				t.Errorf("messages stored: got %d, want %d", got, tc.wantStored)
			}
		})
	}
}

func TestSend(t *testing.T) {
	c := newCluster(t)
	alice, bob := c.node("alice"), c.node("bob")
	c.connect(alice, bob)
	ts := startServer(t, alice)

	m, err := ts.client.Send(t.Context(), "@bob", "hello bob")
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	id, err := chat.ParseMessageID(m.ID)
	if err != nil {
		t.Fatalf("Send: id %q: %v", m.ID, err)
	}
	stored, err := alice.Store.Message(id)
	if err != nil {
		t.Fatalf("the sent message in alice's store: %v", err)
	}
	want := Message{
		ID:           m.ID,
		From:         alice.ID.String(),
		FromDisplay:  "alice",
		To:           bob.ID.String(),
		Kind:         "text",
		Conversation: string(chat.DMConversation(bob.ID)),
		Text:         "hello bob",
		SentAt:       stored.SentAt().Format(time.RFC3339Nano),
		Status:       "queued",
		Reactions:    []Reaction{},
		Mentions:     []string{},
	}
	if !reflect.DeepEqual(m, want) {
		t.Errorf("Send: got %+v, want %+v", m, want)
	}
	if _, err := time.Parse(time.RFC3339, m.SentAt); err != nil {
		t.Errorf("sent_at %q is not RFC 3339: %v", m.SentAt, err)
	}
	got := bob.Events.WaitFor(t, "bob receives the message", chattest.MessageIs(id))
	if got.Message.Body != "hello bob" || got.Message.Author != alice.ID {
		t.Errorf("bob's copy: got %+v", got.Message)
	}
	alice.Events.WaitFor(t, "delivery", chattest.StatusIs(id, chat.StatusDelivered))
	status, _, body := ts.unixDo(t, http.MethodGet, "/api/v1/messages/"+m.ID, nil, nil)
	var after Message
	if err := json.Unmarshal(body, &after); status != http.StatusOK || err != nil || after.Status != "delivered" {
		t.Errorf("GET the message after delivery: got %d %s, want status delivered", status, body)
	}

	// The raw answer is 201 Created, for a peer and for a room.
	if _, err := alice.Svc.JoinRoom(t.Context(), "dev"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		body string
		want map[string]any
	}{
		{`{"to":"@bob","text":"again"}`, map[string]any{"to": bob.ID.String(), "conversation": "dm:" + bob.ID.String(), "text": "again"}},
		{`{"to":"#dev","text":"hello room"}`, map[string]any{"room": "dev", "conversation": "room:dev", "text": "hello room", "status": "queued"}},
	} {
		status, _, body := ts.unixDo(t, http.MethodPost, "/api/v1/messages", strings.NewReader(tc.body), nil)
		if status != http.StatusCreated {
			t.Errorf("POST %s: got %d (%s), want %d", tc.body, status, body, http.StatusCreated)
			continue
		}
		var raw map[string]any
		if err := json.Unmarshal(body, &raw); err != nil {
			t.Fatal(err)
		}
		for k, v := range tc.want {
			if raw[k] != v {
				t.Errorf("POST %s: %s: got %#v, want %#v", tc.body, k, raw[k], v)
			}
		}
	}
}

func TestConnect(t *testing.T) {
	c := newCluster(t)
	alice, bob := c.node("alice"), c.node("bob")
	ts := startServer(t, alice)
	nw := alice.Config.Network.(*memNetwork)

	got, err := ts.client.Connect(t.Context(), chattest.Addr(bob.ID))
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	if got != bob.ID.String() {
		t.Errorf("Connect: got %q, want %q", got, bob.ID)
	}
	if got := nw.connectDeadlines(); !slices.Equal(got, []bool{true}) {
		t.Errorf("Connect calls with a deadline: got %v, want [true] (POST /connect bounds the dial)", got)
	}
	if p, ok := alice.Svc.Peer(bob.ID); !ok || !p.Connected {
		t.Errorf("bob after Connect returned: got %+v, want connected", p)
	}

	for _, tc := range []struct{ name, addr string }{
		{"junk", "junk"},
		{"not a peer ID", "/memory/12D3KooWnotapeer"},
		{"this node", chattest.Addr(alice.ID)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ts.client.Connect(t.Context(), tc.addr)
			ae := apiError(t, err, http.StatusBadRequest, CodeBadRequest)
			if !strings.Contains(ae.Message, "invalid multiaddr") {
				t.Errorf("message: got %q, want it to say the multiaddr is invalid", ae.Message)
			}
		})
	}
}

func TestRequestBody(t *testing.T) {
	to := newPeerID(t).String()
	// sendBody is a valid send request padded in front with JSON
	// whitespace to exactly n bytes, so that the decoder must read all of
	// it.
	sendBody := func(n int) string {
		body := `{"to":"` + to + `","text":"hi"}`
		return strings.Repeat(" ", n-len(body)) + body
	}
	for _, tc := range []struct {
		name       string
		body       string
		wantStatus int
		wantCode   string
		wantInMsg  string
	}{
		{"at the limit", sendBody(MaxRequestBody), http.StatusCreated, "", ""},
		{"over the limit", sendBody(MaxRequestBody + 1), http.StatusRequestEntityTooLarge, CodeTooLarge, strconv.Itoa(MaxRequestBody)},
		{"far over the limit", sendBody(3 * MaxRequestBody), http.StatusRequestEntityTooLarge, CodeTooLarge, ""},
		{"malformed", `{"to":"` + to + `","text":`, http.StatusBadRequest, CodeBadRequest, "bad JSON"},
		{"not an object", `["` + to + `","hi"]`, http.StatusBadRequest, CodeBadRequest, ""},
		{"wrong type", `{"to":1,"text":"hi"}`, http.StatusBadRequest, CodeBadRequest, ""},
		{"unknown field", `{"to":"` + to + `","text":"hi","urgent":true}`, http.StatusBadRequest, CodeBadRequest, "urgent"},
		{"empty", ``, http.StatusBadRequest, CodeBadRequest, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ws := &watchedStore{}
			ts := serve(t, withWatchedStore(ws))
			status, header, body := ts.unixDo(t, http.MethodPost, "/api/v1/messages", strings.NewReader(tc.body), http.Header{"Content-Type": {"application/json"}})
			if status != tc.wantStatus {
				t.Fatalf("status: got %d (%.200s), want %d", status, body, tc.wantStatus)
			}
			stored := ws.enqueueCalls()
			if tc.wantCode == "" {
				if stored != 1 {
					t.Fatalf("messages stored: got %d, want 1", stored)
				}
				return
			}
			if stored != 0 {
				t.Errorf("messages stored after a refused body: got %d, want 0", stored)
			}
			eb := errorBody(t, header, body)
			if eb.Code != tc.wantCode {
				t.Errorf("code: got %q, want %q", eb.Code, tc.wantCode)
			}
			if !strings.Contains(eb.Error, tc.wantInMsg) {
				t.Errorf("error: got %q, want it to mention %q", eb.Error, tc.wantInMsg)
			}
		})
	}
}

func TestUnknownEndpoint(t *testing.T) {
	ts := serve(t)
	for _, tc := range []struct {
		method, path string
	}{
		{http.MethodGet, "/api/v1/nope"},
		{http.MethodGet, "/api/v2/id"},
		{http.MethodPost, "/api/v1/nope"},
		{http.MethodDelete, "/api/v1/messages/x/y"},
		{http.MethodPatch, "/api/v1/rooms/dev/nope"},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			status, header, body := ts.unixDo(t, tc.method, tc.path, nil, nil)
			if status != http.StatusNotFound {
				t.Fatalf("status: got %d (%s), want 404", status, body)
			}
			eb := errorBody(t, header, body)
			if eb.Code != CodeNotFound {
				t.Errorf("code: got %q, want %q", eb.Code, CodeNotFound)
			}
			if !strings.Contains(eb.Error, tc.path) {
				t.Errorf("error: got %q, want it to name %s", eb.Error, tc.path)
			}
		})
	}
}

func TestWrongMethodIsAnError(t *testing.T) {
	ts := serve(t)
	for _, tc := range []struct {
		method, path, wantAllow string
	}{
		{http.MethodPost, "/api/v1/peers", "GET"},
		{http.MethodPut, "/api/v1/rooms", "GET, POST"},
		{http.MethodGet, "/api/v1/rooms/dev", "PATCH, DELETE"},
		{http.MethodPost, "/api/v1/messages/" + strings.Repeat("ab", 32), "GET, DELETE"},
		{http.MethodDelete, "/api/v1/read", "POST"},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			status, header, body := ts.unixDo(t, tc.method, tc.path, strings.NewReader("{}"), nil)
			if status != http.StatusMethodNotAllowed || header.Get("Allow") != tc.wantAllow {
				t.Fatalf("got %d, Allow %q (%s); want 405 and Allow %q", status, header.Get("Allow"), body, tc.wantAllow)
			}
			if eb := errorBody(t, header, body); eb.Code != CodeBadRequest || !strings.Contains(eb.Error, tc.method+" "+tc.path+" is not allowed") {
				t.Errorf("error: got %+v, want bad_request saying %s %s is not allowed", eb, tc.method, tc.path)
			}
		})
	}
}

func TestBearerSchemeIsCaseInsensitive(t *testing.T) {
	ts := serve(t)
	for _, scheme := range []string{"Bearer", "bearer", "BEARER"} {
		status, _, body := ts.tcpGet(t, "/api/v1/health", "", scheme+" "+testToken)
		if status != http.StatusOK {
			t.Errorf("%s <token>: got %d (%s), want 200", scheme, status, body)
		}
	}
}

// texts lists the texts of ms (join and leave lines as "+" and "-").
func texts(ms []Message) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		switch m.Kind {
		case "join":
			out[i] = "+"
		case "leave":
			out[i] = "-"
		default:
			out[i] = m.Text
		}
	}
	return out
}

func numbered(from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprintf("m%02d", i))
	}
	return out
}

func TestHistory(t *testing.T) {
	c := newCluster(t)
	ws := &watchedStore{}
	alice, bob := c.node("alice", withWatchedStore(ws)), c.node("bob")
	c.connect(alice, bob)
	ts := startServer(t, alice)
	dm := chat.DMConversation(bob.ID)
	var ids []string
	for _, text := range numbered(0, 60) {
		m, err := alice.Svc.SendDM(t.Context(), bob.ID, text)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.ID.String())
	}
	// Text-only paging in a room: join, three messages, leave, join again,
	// two more.
	ctx := t.Context()
	for _, step := range []func() error{
		func() error { _, err := alice.Svc.JoinRoom(ctx, "dev"); return err },
		func() error { _, err := alice.Svc.SendRoom(ctx, "dev", "t0"); return err },
		func() error { _, err := alice.Svc.SendRoom(ctx, "dev", "t1"); return err },
		func() error { _, err := alice.Svc.SendRoom(ctx, "dev", "t2"); return err },
		func() error { _, err := alice.Svc.LeaveRoom(ctx, "dev"); return err },
		func() error { _, err := alice.Svc.JoinRoom(ctx, "dev"); return err },
		func() error { _, err := alice.Svc.SendRoom(ctx, "dev", "t3"); return err },
		func() error { _, err := alice.Svc.SendRoom(ctx, "dev", "t4"); return err },
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	room := alice.History(chat.RoomConversation("dev"))
	roomID := func(text string) string {
		for _, m := range room {
			if m.Body == text {
				return m.ID.String()
			}
		}
		t.Fatalf("no room message %q", text)
		return ""
	}

	t.Run("pages", func(t *testing.T) {
		for _, tc := range []struct {
			name   string
			with   string
			limit  int
			before string
			all    bool
			want   []string
		}{
			{"default limit", "@bob", 0, "", false, numbered(10, 60)},
			{"limit", "@bob", 7, "", false, numbered(53, 60)},
			{"by peer ID", bob.ID.String(), 3, "", false, numbered(57, 60)},
			{"max limit", "@bob", MaxHistoryLimit, "", false, numbered(0, 60)},
			{"before", "@bob", 1, ids[59], false, []string{"m58"}},
			{"before, default limit", "@bob", 0, ids[59], false, numbered(9, 59)},
			{"before the first", "@bob", 0, ids[0], false, []string{}},
			{"room, text only", "#dev", 3, "", false, []string{"t2", "t3", "t4"}},
			{"room, all", "#dev", 3, "", true, []string{"+", "t3", "t4"}},
			{"room, everything", "#dev", 0, "", true, []string{"+", "t0", "t1", "t2", "-", "+", "t3", "t4"}},
			{"room, text only before", "#dev", 2, roomID("t3"), false, []string{"t1", "t2"}},
			{"room, all before", "#dev", 2, roomID("t3"), true, []string{"-", "+"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				ms, err := ts.client.HistoryAll(t.Context(), tc.with, tc.limit, tc.before, tc.all)
				if err != nil {
					t.Fatalf("History: %v", err)
				}
				if got := texts(ms); !slices.Equal(got, tc.want) {
					t.Errorf("History: got %q, want %q", got, tc.want)
				}
			})
		}
		// The page is the messages as the messenger has them.
		ms, err := ts.client.History(t.Context(), "@bob", 2, "")
		if err != nil {
			t.Fatal(err)
		}
		page, err := alice.Svc.History(dm, chat.HistoryQuery{Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		for i, m := range page {
			if want := MessageOf(m, "alice"); ms[i].FromDisplay != want.FromDisplay || ms[i].ID != want.ID || ms[i].Text != want.Text || ms[i].SentAt != want.SentAt || ms[i].From != want.From {
				t.Errorf("message %d: got %+v, want %+v", i, ms[i], want)
			}
		}
	})

	t.Run("a room's history stays readable after leaving", func(t *testing.T) {
		if _, err := alice.Svc.LeaveRoom(t.Context(), "dev"); err != nil {
			t.Fatal(err)
		}
		ms, err := ts.client.History(t.Context(), "#dev", 0, "")
		if got, want := texts(ms), []string{"t0", "t1", "t2", "t3", "t4"}; err != nil || !slices.Equal(got, want) {
			t.Errorf("History after leaving: got %q, %v; want %q", got, err, want)
		}
	})

	t.Run("refused", func(t *testing.T) {
		unknown := chat.MessageID{1, 2, 3}
		for _, tc := range []struct {
			name       string
			query      string
			wantStatus int
			wantCode   string
			wantInMsg  string
		}{
			{"missing with", "", http.StatusBadRequest, CodeBadRequest, "missing ?with="},
			{"empty with", "with=", http.StatusBadRequest, CodeBadRequest, "missing ?with="},
			{"limit zero", "with=@bob&limit=0", http.StatusBadRequest, CodeBadRequest, "from 1 to 10000"},
			{"limit negative", "with=@bob&limit=-1", http.StatusBadRequest, CodeBadRequest, "from 1 to 10000"},
			{"limit not a number", "with=@bob&limit=ten", http.StatusBadRequest, CodeBadRequest, `limit "ten"`},
			{"limit over max", "with=@bob&limit=" + strconv.Itoa(MaxHistoryLimit+1), http.StatusBadRequest, CodeBadRequest, "from 1 to 10000"},
			{"unknown peer", "with=@carol", http.StatusNotFound, CodeNotFound, "@carol"},
			{"bad room", "with=%23Dev", http.StatusBadRequest, CodeBadRequest, "invalid room name"},
			{"bad before", "with=@bob&before=xyz", http.StatusBadRequest, CodeBadRequest, "invalid message ID"},
			{"unknown before", "with=@bob&before=" + unknown.String(), http.StatusNotFound, CodeNotFound, unknown.String()},
			{"before in another conversation", "with=@bob&before=" + roomID("t3"), http.StatusBadRequest, CodeBadRequest, "is not in " + bob.ID.String()},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := ws.messagesCalls(dm)
				status, header, body := ts.unixDo(t, http.MethodGet, "/api/v1/history?"+tc.query, nil, nil)
				if status != tc.wantStatus {
					t.Fatalf("status: got %d (%s), want %d", status, body, tc.wantStatus)
				}
				eb := errorBody(t, header, body)
				if eb.Code != tc.wantCode || !strings.Contains(eb.Error, tc.wantInMsg) {
					t.Errorf("error: got %+v, want code %q mentioning %q", eb, tc.wantCode, tc.wantInMsg)
				}
				if n := ws.messagesCalls(dm) - before; n != 0 {
					t.Errorf("history reads: got %d, want none", n)
				}
			})
		}
	})

	t.Run("missing with through the client", func(t *testing.T) {
		_, err := ts.client.History(t.Context(), "", 0, "")
		apiError(t, err, http.StatusBadRequest, CodeBadRequest)
	})

	t.Run("empty is a JSON array", func(t *testing.T) {
		status, _, body := ts.unixDo(t, http.MethodGet, "/api/v1/history?with="+newPeerID(t).String(), nil, nil)
		if status != http.StatusOK {
			t.Fatalf("status: got %d (%s), want 200", status, body)
		}
		if got := strings.TrimSpace(string(body)); got != "[]" {
			t.Errorf("body: got %s, want []", got)
		}
	})

	t.Run("storage failure", func(t *testing.T) {
		ws.breakStore()
		_, err := ts.client.History(t.Context(), "@bob", 0, "")
		if ae := apiError(t, err, http.StatusInternalServerError, CodeInternal); ae.Message != errDisk.Error() {
			t.Errorf("message: got %q, want %q", ae.Message, errDisk)
		}
	})
}

func TestGetMessage(t *testing.T) {
	c := newCluster(t)
	alice, bob := c.node("alice"), c.node("bob")
	c.connect(alice, bob)
	ts := startServer(t, alice)
	sent, err := bob.Svc.SendDM(t.Context(), alice.ID, "hi alice")
	if err != nil {
		t.Fatal(err)
	}
	alice.Events.WaitFor(t, "alice stores bob's message", chattest.MessageIs(sent.ID))
	m, err := alice.Svc.Message(sent.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name       string
		id         string
		wantStatus int
	}{
		{"known", sent.ID.String(), http.StatusOK},
		{"unknown", chat.MessageID{9}.String(), http.StatusNotFound},
		{"malformed", "nothex", http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, header, body := ts.unixDo(t, http.MethodGet, "/api/v1/messages/"+tc.id, nil, nil)
			if status != tc.wantStatus {
				t.Fatalf("status: got %d (%s), want %d", status, body, tc.wantStatus)
			}
			if status != http.StatusOK {
				errorBody(t, header, body)
				return
			}
			var got Message
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatal(err)
			}
			if want := MessageOf(m, "bob"); !reflect.DeepEqual(got, want) || got.Status != "received" || got.From != bob.ID.String() {
				t.Errorf("message: got %+v, want %+v", got, want)
			}
		})
	}
}

// TestMessageLiveStatus checks that GET /messages/{id} and GET /history
// report a direct message on the wire but not yet acknowledged as sent,
// though the store still has it queued.
func TestMessageLiveStatus(t *testing.T) {
	c := newCluster(t)
	patient := chattest.WithConfig(func(cfg *chat.Config) {
		cfg.AckTimeout = time.Hour
		cfg.StreamIdleTimeout = time.Hour
	})
	alice, bob := c.node("alice", patient), c.node("bob", patient)
	c.connect(alice, bob)
	// bob receives, but his acknowledgements are lost.
	c.net.SetWriteHook(bob.ID, chat.DMProtocol, func(p []byte, _ func([]byte) (int, error)) (int, error) { return len(p), nil })
	ts := startServer(t, alice)

	m, err := ts.client.Send(t.Context(), "@bob", "are you there?")
	if err != nil {
		t.Fatal(err)
	}
	id, _ := chat.ParseMessageID(m.ID)
	bob.Events.WaitFor(t, "bob receives the message", chattest.MessageIs(id))
	alice.Events.WaitFor(t, "the message is on the wire", chattest.StatusIs(id, chat.StatusSent))

	status, _, body := ts.unixDo(t, http.MethodGet, "/api/v1/messages/"+m.ID, nil, nil)
	var got Message
	if err := json.Unmarshal(body, &got); status != http.StatusOK || err != nil || got.Status != "sent" {
		t.Errorf("GET /messages/{id}: got %d %s, want status sent", status, body)
	}
	ms, err := ts.client.History(t.Context(), "@bob", 1, "")
	if err != nil || len(ms) != 1 || ms[0].ID != m.ID || ms[0].Status != "sent" {
		t.Errorf("history: got %+v, %v; want the message, sent", ms, err)
	}
	stored, err := alice.Store.Message(id)
	if err != nil || stored.Status != chat.StatusQueued {
		t.Errorf("stored: got %v, %v; want queued (sent is live state only)", stored, err)
	}
}

func TestPeersJSON(t *testing.T) {
	c := newCluster(t)
	alice, bob := c.node("alice"), c.node("bob")
	c.connect(alice, bob)
	ts := startServer(t, alice)
	offline := newPeerID(t)
	if _, err := alice.Svc.SendDM(t.Context(), offline, "are you there?"); err != nil {
		t.Fatal(err)
	}
	known, _ := alice.Svc.Peer(bob.ID)

	status, header, body := ts.unixDo(t, http.MethodGet, "/api/v1/peers", nil, nil)
	if status != http.StatusOK {
		t.Fatalf("status: got %d (%s), want 200", status, body)
	}
	if ct := header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type: got %q, want application/json", ct)
	}
	var raw []map[string]any
	if err := json.Unmarshal(body, &raw); err != nil {
		t.Fatalf("peers %s: %v", body, err)
	}
	if len(raw) != 2 {
		t.Fatalf("peers: got %d entries, want 2: %s", len(raw), body)
	}
	for i, tc := range []struct {
		wantKeys        []string
		wantID          string
		wantNick        string
		wantConnected   bool
		wantConnections float64
	}{
		{[]string{"addrs", "clock_skew_ms", "connected", "connections", "display", "last_seen", "nick", "peer_id", "verified"}, bob.ID.String(), "bob", true, 1},
		{[]string{"connected", "connections", "display", "last_error", "last_error_at", "nick", "peer_id", "verified"}, offline.String(), "", false, 0},
	} {
		p := raw[i]
		if got := sortedKeys(p); !slices.Equal(got, tc.wantKeys) {
			t.Errorf("peer %d keys: got %v, want %v", i, got, tc.wantKeys)
		}
		if p["peer_id"] != tc.wantID {
			t.Errorf("peer %d peer_id: got %v, want %s", i, p["peer_id"], tc.wantID)
		}
		if p["nick"] != tc.wantNick {
			t.Errorf("peer %d nick: got %v, want %q", i, p["nick"], tc.wantNick)
		}
		if c, ok := p["connected"].(bool); !ok || c != tc.wantConnected {
			t.Errorf("peer %d connected: got %#v, want bool %v", i, p["connected"], tc.wantConnected)
		}
		if c, ok := p["connections"].(float64); !ok || c != tc.wantConnections {
			t.Errorf("peer %d connections: got %#v, want number %v", i, p["connections"], tc.wantConnections)
		}
	}
	if raw[1]["last_error"] != "no link" || raw[1]["last_error_at"] != "2023-11-14T22:13:20Z" {
		t.Errorf("offline peer: last_error %#v at %#v, want the network's", raw[1]["last_error"], raw[1]["last_error_at"])
	}
	if skew, ok := raw[0]["clock_skew_ms"].(float64); !ok || skew < -5000 || skew > 5000 {
		t.Errorf("bob's clock_skew_ms: got %#v, want a number near 0", raw[0]["clock_skew_ms"])
	}
	ls, _ := raw[0]["last_seen"].(string)
	got, err := time.Parse(time.RFC3339, ls)
	if err != nil {
		t.Fatalf("last_seen %q: %v", ls, err)
	}
	if !got.Equal(known.LastSeen) || got.Location() != time.UTC {
		t.Errorf("last_seen: got %v, want %v in UTC", got, known.LastSeen.UTC())
	}
	if addrs, _ := raw[0]["addrs"].([]any); len(addrs) != 1 || addrs[0] != chattest.Addr(bob.ID) {
		t.Errorf("addrs: got %#v, want [%s]", raw[0]["addrs"], chattest.Addr(bob.ID))
	}

	// The typed client sees the same.
	peers, err := ts.client.Peers(t.Context())
	if err != nil {
		t.Fatalf("Peers: %v", err)
	}
	if len(peers) != 2 || peers[0].Connections != 1 || peers[0].LastSeen == nil || peers[1].LastSeen != nil {
		t.Errorf("Peers: got %+v", peers)
	}
}

func TestPeersEmptyIsJSONArray(t *testing.T) {
	ts := serve(t)
	status, _, body := ts.unixDo(t, http.MethodGet, "/api/v1/peers", nil, nil)
	if status != http.StatusOK {
		t.Fatalf("status: got %d, want 200", status)
	}
	if got := strings.TrimSpace(string(body)); got != "[]" {
		t.Errorf("body: got %s, want []", got)
	}
}

func TestMessageJSON(t *testing.T) {
	c := newCluster(t)
	alice, bob := c.node("alice"), c.node("bob")
	c.connect(alice, bob)
	ts := startServer(t, alice)
	in, err := bob.Svc.SendDM(t.Context(), alice.ID, "hello\nworld")
	if err != nil {
		t.Fatal(err)
	}
	alice.Events.WaitFor(t, "alice stores bob's message", chattest.MessageIs(in.ID))
	if _, err := alice.Svc.JoinRoom(t.Context(), "dev"); err != nil {
		t.Fatal(err)
	}
	out, err := alice.Svc.SendRoom(t.Context(), "dev", "to the room")
	if err != nil {
		t.Fatal(err)
	}
	alice.Events.WaitFor(t, "the room message is published", chattest.StatusIs(out.ID, chat.StatusSent))

	for _, tc := range []struct {
		name     string
		m        *chat.Message
		wantKeys []string
		want     map[string]string
	}{
		{
			name:     "received",
			m:        in,
			wantKeys: []string{"conversation", "deleted", "edited", "from", "from_display", "id", "kind", "mentions", "reactions", "replies", "sent_at", "status", "text", "to"},
			want: map[string]string{
				"id":           in.ID.String(),
				"from":         bob.ID.String(),
				"from_display": "bob",
				"to":           alice.ID.String(),
				"kind":         "text",
				"conversation": "dm:" + bob.ID.String(),
				"text":         "hello\nworld",
				"status":       "received",
			},
		},
		{
			name:     "room",
			m:        out,
			wantKeys: []string{"conversation", "deleted", "edited", "from", "from_display", "id", "kind", "mentions", "reactions", "replies", "room", "sent_at", "status", "text"},
			want: map[string]string{
				"id":           out.ID.String(),
				"from":         alice.ID.String(),
				"from_display": "alice",
				"room":         "dev",
				"kind":         "text",
				"conversation": "room:dev",
				"text":         "to the room",
				"status":       "sent",
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, _, body := ts.unixDo(t, http.MethodGet, "/api/v1/messages/"+tc.m.ID.String(), nil, nil)
			if status != http.StatusOK {
				t.Fatalf("status: got %d (%s), want 200", status, body)
			}
			var raw map[string]any
			if err := json.Unmarshal(body, &raw); err != nil {
				t.Fatal(err)
			}
			if got := sortedKeys(raw); !slices.Equal(got, tc.wantKeys) {
				t.Errorf("keys: got %v, want %v", got, tc.wantKeys)
			}
			for k, want := range tc.want {
				if raw[k] != want {
					t.Errorf("%s: got %#v, want %q", k, raw[k], want)
				}
			}
			s, _ := raw["sent_at"].(string)
			got, err := time.Parse(time.RFC3339, s)
			if err != nil {
				t.Fatalf("sent_at %q is not RFC 3339: %v", s, err)
			}
			if !got.Equal(tc.m.SentAt()) {
				t.Errorf("sent_at: got %v, want %v", got, tc.m.SentAt())
			}
			if id, _ := raw["id"].(string); len(id) != 64 {
				t.Errorf("id: got %q, want 64 hex characters", id)
			}
		})
	}
}

func TestResponsesAreJSONLines(t *testing.T) {
	ts := serve(t)
	for _, path := range []string{"/api/v1/id", "/api/v1/peers", "/api/v1/rooms", "/api/v1/nope"} {
		_, _, body := ts.unixDo(t, http.MethodGet, path, nil, nil)
		if !bytes.HasSuffix(body, []byte("\n")) || bytes.Count(body, []byte("\n")) != 1 || !json.Valid(body) {
			t.Errorf("GET %s: got %q, want one JSON line", path, body)
		}
	}
}

func TestNick(t *testing.T) {
	c := newCluster(t)
	alice, bob := c.node("alice"), c.node("bob")
	c.connect(alice, bob)
	ts := startServer(t, alice)
	if err := ts.client.SetNick(t.Context(), "alicia"); err != nil {
		t.Fatalf("SetNick: %v", err)
	}
	if id, err := ts.client.Identity(t.Context()); err != nil || id.Nick != "alicia" {
		t.Errorf("Identity after SetNick: got %+v, %v; want nick alicia", id, err)
	}
	bob.Events.WaitFor(t, "bob learns the new nickname", chattest.PeerNickIs(alice.ID, "alicia"))

	err := ts.client.SetNick(t.Context(), "bad nick!")
	if ae := apiError(t, err, http.StatusBadRequest, CodeBadRequest); !strings.Contains(ae.Message, "invalid nickname") {
		t.Errorf("bad nick: got %q, want it to say the nickname is invalid", ae.Message)
	}
	if id, _ := ts.client.Identity(t.Context()); id.Nick != "alicia" {
		t.Errorf("nick after a refused change: got %q, want alicia", id.Nick)
	}
}
