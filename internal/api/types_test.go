package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/chat/chattest"
)

// TestErrorMapping checks the one place where errors become HTTP: every
// sentinel, wrapped as the messenger wraps it.
func TestErrorMapping(t *testing.T) {
	for _, tc := range []struct {
		err         error
		wantStatus  int
		wantCode    string
		wantMessage string
	}{
		{fmt.Errorf("%w: 70000 bytes", chat.ErrTooLarge), http.StatusRequestEntityTooLarge, CodeTooLarge, "message too large: 70000 bytes"},
		{fmt.Errorf("%w: no such thing", ErrBadRequest), http.StatusBadRequest, CodeBadRequest, "no such thing"},
		{fmt.Errorf("%w: limit 0: want a number from 1 to 10000", chat.ErrInvalid), http.StatusBadRequest, CodeBadRequest, "limit 0: want a number from 1 to 10000"},
		{chat.ErrEmptyMessage, http.StatusBadRequest, CodeBadRequest, "empty message"},
		{chat.ErrSelf, http.StatusBadRequest, CodeBadRequest, "cannot message yourself"},
		{fmt.Errorf("%w: text is not UTF-8", chat.ErrBadEnvelope), http.StatusBadRequest, CodeBadRequest, "invalid envelope: text is not UTF-8"},
		{fmt.Errorf("%w \"a b\"", chat.ErrBadNick), http.StatusBadRequest, CodeBadRequest, `invalid nickname "a b"`},
		{fmt.Errorf("%w \"A\"", chat.ErrBadRoom), http.StatusBadRequest, CodeBadRequest, `invalid room name "A"`},
		{fmt.Errorf("%w \"x\"", chat.ErrBadAddr), http.StatusBadRequest, CodeBadRequest, `invalid multiaddr "x"`},
		{fmt.Errorf("%w @bob", chat.ErrUnknownPeer), http.StatusNotFound, CodeNotFound, "unknown peer @bob"},
		{fmt.Errorf("message x: %w", chat.ErrNotFound), http.StatusNotFound, CodeNotFound, "message x: not found"},
		{fmt.Errorf("%w: #dev", chat.ErrNotJoined), http.StatusNotFound, CodeNotFound, "not in room: #dev"},
		{fmt.Errorf("%w @bob: 2 peers share it", chat.ErrAmbiguousPeer), http.StatusConflict, CodeConflict, "ambiguous peer @bob: 2 peers share it"},
		{fmt.Errorf("dial: %w", context.DeadlineExceeded), http.StatusGatewayTimeout, CodeTimeout, "dial: context deadline exceeded"},
		{chat.ErrClosed, http.StatusServiceUnavailable, CodeUnavailable, "the node is shutting down"},
		{errDisk, http.StatusInternalServerError, CodeInternal, "disk on fire"},
	} {
		t.Run(tc.err.Error(), func(t *testing.T) {
			rec := httptest.NewRecorder()
			writeErr(rec, tc.err)
			if rec.Code != tc.wantStatus {
				t.Errorf("status: got %d, want %d", rec.Code, tc.wantStatus)
			}
			eb := errorBody(t, rec.Header(), rec.Body.Bytes())
			if eb != (ErrorBody{Error: tc.wantMessage, Code: tc.wantCode}) {
				t.Errorf("body: got %+v, want %q (%s)", eb, tc.wantMessage, tc.wantCode)
			}
		})
	}
}

func TestPeerOf(t *testing.T) {
	id := newPeerID(t)
	seen := time.Date(2025, 2, 3, 4, 5, 6, 0, time.FixedZone("CET", 3600))
	for _, tc := range []struct {
		name string
		in   chat.Peer
		want Peer
	}{
		{"seen", chat.Peer{ID: id, Nick: "bob", Connected: true, Connections: 2, LastSeen: seen, Addrs: []string{"/ip4/127.0.0.1/tcp/4001"}},
			Peer{PeerID: id.String(), Nick: "bob", Connected: true, Connections: 2, LastSeen: ptr(seen.UTC()), Addrs: []string{"/ip4/127.0.0.1/tcp/4001"}}},
		{"never seen", chat.Peer{ID: id}, Peer{PeerID: id.String()}},
		{"seen at the epoch", chat.Peer{ID: id, Nick: "old", LastSeen: time.Unix(0, 0)}, Peer{PeerID: id.String(), Nick: "old"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := PeerOf(tc.in)
			if got.PeerID != tc.want.PeerID || got.Nick != tc.want.Nick || got.Connected != tc.want.Connected ||
				got.Connections != tc.want.Connections || !slices.Equal(got.Addrs, tc.want.Addrs) ||
				(got.LastSeen == nil) != (tc.want.LastSeen == nil) ||
				(got.LastSeen != nil && (!got.LastSeen.Equal(*tc.want.LastSeen) || got.LastSeen.Location() != time.UTC)) {
				t.Errorf("PeerOf: got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// TestMessageOfFailedReply checks the JSON of what the messenger shows of
// a reply that failed: its reason and what it replies to.
func TestMessageOfFailedReply(t *testing.T) {
	self, bob := newPeerID(t), newPeerID(t)
	sentAt := time.Date(2025, 12, 31, 23, 59, 58, 123e6, time.UTC)
	in := chattest.Env{Author: bob, To: self, HLC: chat.HLCFromTime(sentAt), Body: "hello"}.Message(t)
	out := chattest.Env{Author: self, To: bob, HLC: chat.HLCFromTime(sentAt), Body: "bye", ReplyTo: in.ID}.Message(t)
	out.Conversation = chat.DMConversation(bob)
	out.Status, out.Reason = chat.StatusFailed, "rejected by the recipient: too large"
	b, err := json.Marshal(MessageOf(out, "me"))
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	if got, want := sortedKeys(raw), []string{"conversation", "deleted", "edited", "from", "from_display", "id", "kind", "mentions", "reactions", "reason", "replies", "reply_to", "sent_at", "status", "text", "to"}; !slices.Equal(got, want) {
		t.Errorf("keys: got %v, want %v", got, want)
	}
	for k, want := range map[string]string{
		"id":           out.ID.String(),
		"from":         self.String(),
		"from_display": "me",
		"to":           bob.String(),
		"conversation": "dm:" + bob.String(),
		"text":         "bye",
		"status":       "failed",
		"reason":       "rejected by the recipient: too large",
		"reply_to":     in.ID.String(),
		"sent_at":      sentAt.Format(time.RFC3339Nano),
	} {
		if raw[k] != want {
			t.Errorf("%s: got %#v, want %q", k, raw[k], want)
		}
	}
}

func TestRoomOf(t *testing.T) {
	joined := time.Date(2025, 1, 2, 3, 4, 5, 0, time.FixedZone("CET", 3600))
	for _, tc := range []struct {
		keep time.Duration
		want string
	}{
		{0, "forever"},
		{90 * 24 * time.Hour, "90d"},
		{36 * time.Hour, "36h0m0s"},
	} {
		got := RoomOf(chat.RoomInfo{Name: "dev", JoinedAt: joined, Members: 3, Online: 2, Unread: 1, Retention: tc.keep})
		want := Room{Name: "dev", Members: 3, Online: 2, Unread: 1, JoinedAt: joined.UTC(), Retention: tc.want}
		if got != want || got.JoinedAt.Location() != time.UTC {
			t.Errorf("RoomOf(retention %v): got %+v, want %+v", tc.keep, got, want)
		}
	}
}
