package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/chat"
)

// tcpGet sends GET path to the TCP listener with the given Host header and
// Authorization header (none if empty).
func (ts *testServer) tcpGet(t *testing.T, path, host, auth string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+ts.tcpAddr+path, nil)
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
		t.Fatalf("GET %s: %v", path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
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

func TestTCPGuard(t *testing.T) {
	ts := startServer(t, newFakeBackend())
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
				if !reflect.DeepEqual(id, ts.backend.identity) {
					t.Errorf("identity: got %+v, want %+v", id, ts.backend.identity)
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
	ts := startServer(t, newFakeBackend())
	for _, path := range []string{"/api/v1/health", "/api/v1/id", "/api/v1/peers", "/api/v1/history?with=x", "/api/v1/events", "/api/v1/nope", "/api/v1/login-link"} {
		t.Run(path, func(t *testing.T) {
			status, header, body := ts.tcpGet(t, path, "", "")
			if status != http.StatusUnauthorized {
				t.Fatalf("status without token: got %d (%s), want %d", status, body, http.StatusUnauthorized)
			}
			if eb := errorBody(t, header, body); eb.Code != CodeAuth {
				t.Errorf("code: got %q, want %q", eb.Code, CodeAuth)
			}
		})
	}
	if calls := ts.backend.historyCalls(); len(calls) != 0 {
		t.Errorf("backend History calls without a token: got %d, want 0", len(calls))
	}
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestUnixSocketNeedsNoToken(t *testing.T) {
	b := newFakeBackend()
	ts := startServer(t, b)
	id, err := ts.client.Identity(t.Context())
	if err != nil {
		t.Fatalf("Identity: %v", err)
	}
	if !reflect.DeepEqual(id, b.identity) {
		t.Errorf("Identity: got %+v, want %+v", id, b.identity)
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

func TestSendErrorMapping(t *testing.T) {
	for _, tc := range []struct {
		name        string
		resolveErr  error
		sendErr     error
		wantStatus  int
		wantCode    string
		wantMessage string // "" means the backend error's text
	}{
		{name: "unknown peer", resolveErr: fmt.Errorf("%w @bob: no known peer has that nickname", chat.ErrUnknownPeer), wantStatus: http.StatusNotFound, wantCode: CodeNotFound},
		{name: "ambiguous peer", resolveErr: fmt.Errorf("%w @bob: 2 peers share it", chat.ErrAmbiguousPeer), wantStatus: http.StatusConflict, wantCode: CodeConflict},
		{name: "too large", sendErr: fmt.Errorf("%w: 70000 bytes", chat.ErrTooLarge), wantStatus: http.StatusRequestEntityTooLarge, wantCode: CodeTooLarge},
		{name: "empty message", sendErr: chat.ErrEmptyMessage, wantStatus: http.StatusBadRequest, wantCode: CodeBadRequest},
		{name: "bad request wrapped", sendErr: fmt.Errorf("%w: no such thing", ErrBadRequest), wantStatus: http.StatusBadRequest, wantCode: CodeBadRequest, wantMessage: "no such thing"},
		{name: "self", sendErr: chat.ErrSelf, wantStatus: http.StatusBadRequest, wantCode: CodeBadRequest},
		{name: "bad nick", sendErr: chat.ErrBadNick, wantStatus: http.StatusBadRequest, wantCode: CodeBadRequest},
		{name: "not found", sendErr: fmt.Errorf("message: %w", chat.ErrNotFound), wantStatus: http.StatusNotFound, wantCode: CodeNotFound},
		{name: "timeout", sendErr: fmt.Errorf("dial: %w", context.DeadlineExceeded), wantStatus: http.StatusGatewayTimeout, wantCode: CodeTimeout},
		{name: "closed", sendErr: chat.ErrClosed, wantStatus: http.StatusServiceUnavailable, wantCode: CodeUnavailable, wantMessage: "the node is shutting down"},
		{name: "other", sendErr: errors.New("disk on fire"), wantStatus: http.StatusInternalServerError, wantCode: CodeInternal},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newFakeBackend()
			b.resolve["@bob"] = newPeerID(t)
			b.resolveErr = tc.resolveErr
			b.sendErr = tc.sendErr
			ts := startServer(t, b)

			_, err := ts.client.Send(t.Context(), "@bob", "hello")
			ae := apiError(t, err, tc.wantStatus, tc.wantCode)
			want := tc.wantMessage
			if want == "" {
				want = cmpErr(tc.resolveErr, tc.sendErr).Error()
			}
			if ae.Message != want {
				t.Errorf("message: got %q, want %q", ae.Message, want)
			}
			if ae.Error() != ae.Message {
				t.Errorf("Error(): got %q, want %q", ae.Error(), ae.Message)
			}
			wantSends := 1
			if tc.resolveErr != nil {
				wantSends = 0
			}
			if got := len(b.sendCalls()); got != wantSends {
				t.Errorf("SendDM calls: got %d, want %d", got, wantSends)
			}
		})
	}
}

func cmpErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func TestSend(t *testing.T) {
	b := newFakeBackend()
	self, bob := newPeerID(t), newPeerID(t)
	b.resolve["@bob"] = bob
	sentAt := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	b.sendReply = directMessage(t, self, self, bob, "hello bob", sentAt, chat.StatusQueued)
	ts := startServer(t, b)

	m, err := ts.client.Send(t.Context(), "@bob", "hello bob")
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	want := Message{
		ID:           b.sendReply.ID.String(),
		From:         self.String(),
		To:           bob.String(),
		Kind:         "text",
		Conversation: string(chat.DMConversation(bob)),
		Text:         "hello bob",
		SentAt:       sentAt.Format(time.RFC3339Nano),
		Status:       "queued",
	}
	if m != want {
		t.Errorf("Send: got %+v, want %+v", m, want)
	}
	if got, want := b.sendCalls(), []sendCall{{to: bob, text: "hello bob"}}; !slices.Equal(got, want) {
		t.Errorf("SendDM calls: got %+v, want %+v", got, want)
	}

	// The raw answer is 201 Created.
	status, _, body := ts.unixDo(t, http.MethodPost, "/api/v1/messages", strings.NewReader(`{"to":"@bob","text":"again"}`), nil)
	if status != http.StatusCreated {
		t.Errorf("status: got %d (%s), want %d", status, body, http.StatusCreated)
	}
}

func TestConnect(t *testing.T) {
	t.Run("ok", func(t *testing.T) {
		b := newFakeBackend()
		b.connectPeer = newPeerID(t)
		ts := startServer(t, b)
		addr := "/ip4/127.0.0.1/tcp/4001/p2p/" + b.connectPeer.String()
		got, err := ts.client.Connect(t.Context(), addr)
		if err != nil {
			t.Fatalf("Connect: %v", err)
		}
		if got != b.connectPeer.String() {
			t.Errorf("Connect: got %q, want %q", got, b.connectPeer.String())
		}
		calls := b.connectCalls()
		if len(calls) != 1 || calls[0].addr != addr {
			t.Fatalf("Connect calls: got %+v, want one with addr %q", calls, addr)
		}
		if !calls[0].hasDeadline {
			t.Errorf("Connect context: got no deadline, want one")
		}
	})
	t.Run("bad address", func(t *testing.T) {
		b := newFakeBackend()
		b.connectErr = fmt.Errorf("%w: multiaddr %q: no /p2p", ErrBadRequest, "junk")
		ts := startServer(t, b)
		_, err := ts.client.Connect(t.Context(), "junk")
		apiError(t, err, http.StatusBadRequest, CodeBadRequest)
	})
}

func TestRequestBody(t *testing.T) {
	// sendBody is a send request padded with text to exactly n bytes.
	sendBody := func(n int) string {
		const head, tail = `{"to":"@bob","text":"`, `"}`
		return head + strings.Repeat("a", n-len(head)-len(tail)) + tail
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
		{"malformed", `{"to":"@bob","text":`, http.StatusBadRequest, CodeBadRequest, "bad JSON"},
		{"not an object", `["@bob","hi"]`, http.StatusBadRequest, CodeBadRequest, ""},
		{"wrong type", `{"to":1,"text":"hi"}`, http.StatusBadRequest, CodeBadRequest, ""},
		{"unknown field", `{"to":"@bob","text":"hi","urgent":true}`, http.StatusBadRequest, CodeBadRequest, "urgent"},
		{"empty", ``, http.StatusBadRequest, CodeBadRequest, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newFakeBackend()
			b.resolve["@bob"] = newPeerID(t)
			b.sendReply = directMessage(t, newPeerID(t), newPeerID(t), b.resolve["@bob"], "x", time.Now(), chat.StatusQueued)
			ts := startServer(t, b)
			status, header, body := ts.unixDo(t, http.MethodPost, "/api/v1/messages", strings.NewReader(tc.body), http.Header{"Content-Type": {"application/json"}})
			if status != tc.wantStatus {
				t.Fatalf("status: got %d (%.200s), want %d", status, body, tc.wantStatus)
			}
			sends := b.sendCalls()
			if tc.wantCode == "" {
				if len(sends) != 1 {
					t.Fatalf("SendDM calls: got %d, want 1", len(sends))
				}
				return
			}
			if len(sends) != 0 {
				t.Errorf("SendDM calls after a refused body: got %d, want 0", len(sends))
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
	ts := startServer(t, newFakeBackend())
	for _, tc := range []struct {
		method, path string
	}{
		{http.MethodGet, "/api/v1/nope"},
		{http.MethodGet, "/api/v2/id"},
		{http.MethodPost, "/api/v1/nope"},
		{http.MethodDelete, "/api/v1/messages/x/y"},
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
	ts := startServer(t, newFakeBackend())
	status, header, body := ts.unixDo(t, http.MethodPost, "/api/v1/peers", strings.NewReader("{}"), nil)
	if status != http.StatusMethodNotAllowed || header.Get("Allow") != "GET" {
		t.Fatalf("POST /api/v1/peers: got %d, Allow %q (%s); want 405 and Allow GET", status, header.Get("Allow"), body)
	}
	errorBody(t, header, body)
}

func TestBearerSchemeIsCaseInsensitive(t *testing.T) {
	ts := startServer(t, newFakeBackend())
	for _, scheme := range []string{"Bearer", "bearer", "BEARER"} {
		status, _, body := ts.tcpGet(t, "/api/v1/health", "", scheme+" "+testToken)
		if status != http.StatusOK {
			t.Errorf("%s <token>: got %d (%s), want 200", scheme, status, body)
		}
	}
}

func TestHistory(t *testing.T) {
	self, bob := newPeerID(t), newPeerID(t)
	base := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	m1 := directMessage(t, self, bob, self, "one", base, chat.StatusReceived)
	m2 := directMessage(t, self, self, bob, "two", base.Add(time.Second), chat.StatusDelivered)
	newBackend := func() *fakeBackend {
		b := newFakeBackend()
		b.resolve["@bob"] = bob
		b.resolve[bob.String()] = bob
		b.messages[m1.ID] = m1
		b.messages[m2.ID] = m2
		b.history = []*chat.Message{m1, m2}
		return b
	}

	t.Run("client", func(t *testing.T) {
		for _, tc := range []struct {
			name       string
			with       string
			limit      int
			before     string
			wantCursor chat.Cursor
			wantLimit  int
		}{
			{"default limit", "@bob", 0, "", chat.Cursor{}, DefaultHistoryLimit},
			{"limit passed", "@bob", 7, "", chat.Cursor{}, 7},
			{"max limit", bob.String(), MaxHistoryLimit, "", chat.Cursor{}, MaxHistoryLimit},
			{"before", "@bob", 1, m2.ID.String(), chat.CursorOf(m2), 1},
		} {
			t.Run(tc.name, func(t *testing.T) {
				b := newBackend()
				ts := startServer(t, b)
				ms, err := ts.client.History(t.Context(), tc.with, tc.limit, tc.before)
				if err != nil {
					t.Fatalf("History: %v", err)
				}
				want := []Message{MessageOf(m1), MessageOf(m2)}
				if !slices.Equal(ms, want) {
					t.Errorf("History: got %+v, want %+v", ms, want)
				}
				calls := b.historyCalls()
				wantCall := historyCall{conv: chat.DMConversation(bob), before: tc.wantCursor, limit: tc.wantLimit}
				if len(calls) != 1 || calls[0] != wantCall {
					t.Errorf("History calls: got %+v, want [%+v]", calls, wantCall)
				}
			})
		}
	})

	t.Run("refused", func(t *testing.T) {
		unknown := chat.MessageID{1, 2, 3}
		for _, tc := range []struct {
			name       string
			query      string
			wantStatus int
			wantCode   string
		}{
			{"missing with", "", http.StatusBadRequest, CodeBadRequest},
			{"empty with", "with=", http.StatusBadRequest, CodeBadRequest},
			{"limit zero", "with=@bob&limit=0", http.StatusBadRequest, CodeBadRequest},
			{"limit negative", "with=@bob&limit=-1", http.StatusBadRequest, CodeBadRequest},
			{"limit not a number", "with=@bob&limit=ten", http.StatusBadRequest, CodeBadRequest},
			{"limit over max", "with=@bob&limit=" + strconv.Itoa(MaxHistoryLimit+1), http.StatusBadRequest, CodeBadRequest},
			{"unknown peer", "with=@carol", http.StatusNotFound, CodeNotFound},
			{"bad before", "with=@bob&before=xyz", http.StatusBadRequest, CodeBadRequest},
			{"unknown before", "with=@bob&before=" + unknown.String(), http.StatusNotFound, CodeNotFound},
		} {
			t.Run(tc.name, func(t *testing.T) {
				b := newBackend()
				ts := startServer(t, b)
				status, header, body := ts.unixDo(t, http.MethodGet, "/api/v1/history?"+tc.query, nil, nil)
				if status != tc.wantStatus {
					t.Fatalf("status: got %d (%s), want %d", status, body, tc.wantStatus)
				}
				if eb := errorBody(t, header, body); eb.Code != tc.wantCode {
					t.Errorf("code: got %q, want %q", eb.Code, tc.wantCode)
				}
				if calls := b.historyCalls(); len(calls) != 0 {
					t.Errorf("History calls: got %+v, want none", calls)
				}
			})
		}
	})

	t.Run("missing with through the client", func(t *testing.T) {
		ts := startServer(t, newBackend())
		_, err := ts.client.History(t.Context(), "", 0, "")
		apiError(t, err, http.StatusBadRequest, CodeBadRequest)
	})

	t.Run("backend error", func(t *testing.T) {
		b := newBackend()
		b.historyErr = chat.ErrClosed
		ts := startServer(t, b)
		_, err := ts.client.History(t.Context(), "@bob", 0, "")
		apiError(t, err, http.StatusServiceUnavailable, CodeUnavailable)
	})

	t.Run("empty is a JSON array", func(t *testing.T) {
		b := newBackend()
		b.history = nil
		ts := startServer(t, b)
		status, _, body := ts.unixDo(t, http.MethodGet, "/api/v1/history?with=@bob", nil, nil)
		if status != http.StatusOK {
			t.Fatalf("status: got %d (%s), want 200", status, body)
		}
		if got := strings.TrimSpace(string(body)); got != "[]" {
			t.Errorf("body: got %s, want []", got)
		}
	})
}

func TestGetMessage(t *testing.T) {
	self, bob := newPeerID(t), newPeerID(t)
	m := directMessage(t, self, bob, self, "hi", time.Date(2025, 6, 7, 8, 9, 10, 0, time.UTC), chat.StatusReceived)
	b := newFakeBackend()
	b.messages[m.ID] = m
	ts := startServer(t, b)
	for _, tc := range []struct {
		name       string
		id         string
		wantStatus int
	}{
		{"known", m.ID.String(), http.StatusOK},
		{"unknown", chat.MessageID{9}.String(), http.StatusNotFound},
		{"malformed", "nothex", http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, _, body := ts.unixDo(t, http.MethodGet, "/api/v1/messages/"+tc.id, nil, nil)
			if status != tc.wantStatus {
				t.Fatalf("status: got %d (%s), want %d", status, body, tc.wantStatus)
			}
			if status != http.StatusOK {
				return
			}
			var got Message
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatal(err)
			}
			if want := MessageOf(m); got != want {
				t.Errorf("message: got %+v, want %+v", got, want)
			}
		})
	}
}

func TestPeersJSON(t *testing.T) {
	b := newFakeBackend()
	online, offline, epoch := newPeerID(t), newPeerID(t), newPeerID(t)
	seen := time.Date(2025, 2, 3, 4, 5, 6, 0, time.FixedZone("CET", 3600))
	b.peers = []chat.Peer{
		{ID: online, Nick: "bob", Connected: true, LastSeen: seen, Addrs: []string{"/ip4/127.0.0.1/tcp/4001"}},
		{ID: offline, Nick: ""},
		{ID: epoch, Nick: "old", LastSeen: time.Unix(0, 0)},
	}
	b.conns[online] = 2
	ts := startServer(t, b)

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
	if len(raw) != 3 {
		t.Fatalf("peers: got %d entries, want 3: %s", len(raw), body)
	}
	for i, tc := range []struct {
		wantKeys        []string
		wantID          string
		wantNick        string
		wantConnected   bool
		wantConnections float64
	}{
		{[]string{"addrs", "connected", "connections", "last_seen", "nick", "peer_id"}, online.String(), "bob", true, 2},
		{[]string{"connected", "connections", "nick", "peer_id"}, offline.String(), "", false, 0},
		{[]string{"connected", "connections", "nick", "peer_id"}, epoch.String(), "old", false, 0},
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
	ls, _ := raw[0]["last_seen"].(string)
	got, err := time.Parse(time.RFC3339, ls)
	if err != nil {
		t.Fatalf("last_seen %q: %v", ls, err)
	}
	if !got.Equal(seen) || got.Location() != time.UTC {
		t.Errorf("last_seen: got %v, want %v in UTC", got, seen.UTC())
	}
	if addrs, _ := raw[0]["addrs"].([]any); len(addrs) != 1 || addrs[0] != "/ip4/127.0.0.1/tcp/4001" {
		t.Errorf("addrs: got %#v, want [/ip4/127.0.0.1/tcp/4001]", raw[0]["addrs"])
	}

	// The typed client sees the same.
	peers, err := ts.client.Peers(t.Context())
	if err != nil {
		t.Fatalf("Peers: %v", err)
	}
	if len(peers) != 3 || peers[0].Connections != 2 || peers[0].LastSeen == nil || peers[1].LastSeen != nil {
		t.Errorf("Peers: got %+v", peers)
	}
}

func TestPeersEmptyIsJSONArray(t *testing.T) {
	ts := startServer(t, newFakeBackend())
	status, _, body := ts.unixDo(t, http.MethodGet, "/api/v1/peers", nil, nil)
	if status != http.StatusOK {
		t.Fatalf("status: got %d, want 200", status)
	}
	if got := strings.TrimSpace(string(body)); got != "[]" {
		t.Errorf("body: got %s, want []", got)
	}
}

func TestMessageJSON(t *testing.T) {
	self, bob := newPeerID(t), newPeerID(t)
	sentAt := time.Date(2025, 12, 31, 23, 59, 58, 123e6, time.UTC)
	in := directMessage(t, self, bob, self, "hello\nworld", sentAt, chat.StatusReceived)
	out := directMessage(t, self, self, bob, "bye", sentAt, chat.StatusFailed)
	out.Reason = "rejected: too large"
	out.ReplyTo = in.ID

	for _, tc := range []struct {
		name     string
		m        *chat.Message
		wantKeys []string
		want     map[string]string
	}{
		{
			name:     "received",
			m:        in,
			wantKeys: []string{"conversation", "from", "id", "kind", "sent_at", "status", "text", "to"},
			want: map[string]string{
				"id":           in.ID.String(),
				"from":         bob.String(),
				"to":           self.String(),
				"conversation": "dm:" + bob.String(),
				"text":         "hello\nworld",
				"status":       "received",
			},
		},
		{
			name:     "failed reply",
			m:        out,
			wantKeys: []string{"conversation", "from", "id", "kind", "reason", "reply_to", "sent_at", "status", "text", "to"},
			want: map[string]string{
				"id":           out.ID.String(),
				"from":         self.String(),
				"to":           bob.String(),
				"conversation": "dm:" + bob.String(),
				"text":         "bye",
				"status":       "failed",
				"reason":       "rejected: too large",
				"reply_to":     in.ID.String(),
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newFakeBackend()
			b.messages[tc.m.ID] = tc.m
			ts := startServer(t, b)
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
			if !got.Equal(sentAt) {
				t.Errorf("sent_at: got %v, want %v", got, sentAt)
			}
			if len(tc.m.ID.String()) != 64 {
				t.Errorf("id: got %q, want 64 hex characters", tc.m.ID)
			}
		})
	}
}

func TestResponsesAreJSONLines(t *testing.T) {
	ts := startServer(t, newFakeBackend())
	status, _, body := ts.unixDo(t, http.MethodGet, "/api/v1/id", nil, nil)
	if status != http.StatusOK {
		t.Fatalf("status: got %d, want 200", status)
	}
	if !bytes.HasSuffix(body, []byte("\n")) || bytes.Count(body, []byte("\n")) != 1 {
		t.Errorf("body: got %q, want one JSON line", body)
	}
}
