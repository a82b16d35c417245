package chat_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/chat/chattest"
	"github.com/parley-chat/parley/crypto"
	"github.com/parley-chat/parley/internal/wire"
)

// This file fuzzes the server side of the invite protocol: a running
// member of a private room, with an invite, serves what a stub on the
// same Net sends on /parley/invite/1.0.0. The room and the invite are
// made afresh by every run, so the seeds name them by placeholders
// (inviteRig.fill puts in this run's values): a seed that shows the
// invite stays one across runs.

// Placeholders of the room ID, the invite ID and the invite's secret.
var (
	placeRoom   = bytes.Repeat([]byte{0xd1}, 16)
	placeInvite = bytes.Repeat([]byte{0xd2}, 16)
	placeSecret = bytes.Repeat([]byte{0xd3}, 32)
)

// inviteRig is ann, admin of private #payroll with a 10,000-use invite,
// and a stub connected to her that shows her invites.
type inviteRig struct {
	ann    *chattest.Node
	inv    *chat.Invite
	secret crypto.Key // the room's
	stub   *chattest.Transport
}

func newInviteRig(tb testing.TB) *inviteRig {
	tb.Helper()
	net := chattest.NewNet(tb)
	// The stub serves no direct messages: ann's key grants to it wait
	// long between tries.
	ann := chattest.NewNode(tb, net, chattest.WithRooms(), chattest.WithConfig(func(c *chat.Config) {
		c.RetryMin, c.RetryMax = time.Minute, time.Hour
	}))
	if err := ann.Svc.CreatePrivateRoom(tb.Context(), payroll); err != nil {
		tb.Fatal(err)
	}
	_, inv, err := ann.Svc.CreateInvite(tb.Context(), payroll, 10000, time.Hour)
	if err != nil {
		tb.Fatal(err)
	}
	rooms, err := ann.Store.Rooms()
	if err != nil || len(rooms) != 1 || rooms[0].Private == nil {
		tb.Fatalf("ann's rooms: got (%v, %v), want #payroll, private", rooms, err)
	}
	stubID := chattest.NewIdentity(tb).PeerID()
	rig := &inviteRig{ann: ann, inv: inv, secret: rooms[0].Private.Secret, stub: net.AddNode(stubID)}
	net.Connect(ann.ID, stubID)
	ann.Tr.WaitServing(tb, chat.InviteProtocol)
	return rig
}

// fill puts this run's room ID, invite ID and secret in place of the
// placeholders.
func (rig *inviteRig) fill(data []byte) []byte {
	data = bytes.ReplaceAll(data, placeRoom, rig.inv.RoomID[:])
	data = bytes.ReplaceAll(data, placeInvite, rig.inv.ID[:])
	return bytes.ReplaceAll(data, placeSecret, rig.inv.Secret[:])
}

// show sends data to ann on a fresh invite stream and returns what she
// answers before she closes or resets it.
func (rig *inviteRig) show(t testing.TB, data []byte) []byte {
	t.Helper()
	st, err := rig.stub.OpenStream(t.Context(), rig.ann.ID, chat.InviteProtocol)
	if err != nil {
		t.Fatalf("open an invite stream: %v", err)
	}
	var got bytes.Buffer
	if err := streamExchange(st, data, &got); errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("ann still serves the invite stream after %v", chattest.Timeout)
	}
	return got.Bytes()
}

// firstRequest reads data's first frame as an invite request, as far as
// it can.
func firstRequest(data []byte) (*wire.InviteRequest, bool) {
	n, k := binary.Uvarint(data)
	if k <= 0 || uint64(len(data)-k) < n {
		return nil, false
	}
	var req wire.InviteRequest
	if proto.Unmarshal(data[k:k+int(n)], &req) != nil {
		return nil, false
	}
	return &req, true
}

// inviteRequestSeeds are what a joiner may send, with placeholders.
func inviteRequestSeeds(tb testing.TB) map[string][]byte {
	tb.Helper()
	frame := func(req *wire.InviteRequest) []byte {
		b, err := proto.Marshal(req)
		if err != nil {
			tb.Fatal(err)
		}
		return chattest.Frame(b)
	}
	valid := frame(&wire.InviteRequest{RoomId: placeRoom, InviteId: placeInvite, Secret: placeSecret})
	wrongSecret := bytes.Repeat([]byte{0xd4}, 32)
	return map[string][]byte{
		"valid":               valid,
		"valid-twice":         append(append([]byte{}, valid...), valid...),
		"valid-then-garbage":  append(append([]byte{}, valid...), "garbage"...),
		"wrong-secret":        frame(&wire.InviteRequest{RoomId: placeRoom, InviteId: placeInvite, Secret: wrongSecret}),
		"unknown-invite":      frame(&wire.InviteRequest{RoomId: placeRoom, InviteId: placeRoom, Secret: placeSecret}),
		"unknown-room":        frame(&wire.InviteRequest{RoomId: placeInvite, InviteId: placeInvite, Secret: placeSecret}),
		"short-room-id":       frame(&wire.InviteRequest{RoomId: placeRoom[:15], InviteId: placeInvite, Secret: placeSecret}),
		"short-secret":        frame(&wire.InviteRequest{RoomId: placeRoom, InviteId: placeInvite, Secret: placeSecret[:31]}),
		"empty-request":       chattest.Frame(nil),
		"not-protobuf":        chattest.Frame([]byte("\xff\xff\xff")),
		"truncated":           valid[:len(valid)-5],
		"nothing":             {},
		"length-over-the-cap": {0x81, 0x20},
	}
}

// FuzzInviteRequest sends ann what a joiner may send on an invite stream.
// She must end every stream (answering or resetting it) without a panic;
// an answer must be one InviteResponse frame; and she must admit (answer
// with the room's secret) only a request that shows the invite: the right
// room, invite and secret.
func FuzzInviteRequest(f *testing.F) {
	rig := newInviteRig(f)
	for _, b := range inviteRequestSeeds(f) {
		f.Add(b)
	}
	// The valid seed admits, again and again.
	for range 2 {
		resp := rig.answer(f, rig.show(f, rig.fill(inviteRequestSeeds(f)["valid"])))
		if resp == nil || resp.Error != wire.InviteResponse_ERROR_UNSPECIFIED || !bytes.Equal(resp.RoomSecret, rig.secret[:]) || len(resp.Ops) < 3 {
			f.Fatalf("the valid seed: got %v, want an admission with the create, invite and add ops", resp)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		data = rig.fill(data)
		resp := rig.answer(t, rig.show(t, data))
		if resp == nil || resp.Error != wire.InviteResponse_ERROR_UNSPECIFIED {
			if resp != nil && len(resp.RoomSecret)+len(resp.Ops)+len(resp.Keys) > 0 {
				t.Fatalf("a refusal (%v) with the room's secret, ops or keys", resp.Error)
			}
			return
		}
		req, ok := firstRequest(data)
		if !ok || !bytes.Equal(req.RoomId, rig.inv.RoomID[:]) || !bytes.Equal(req.InviteId, rig.inv.ID[:]) || !bytes.Equal(req.Secret, rig.inv.Secret[:]) {
			t.Fatalf("admitted a request that does not show the invite: %x", data)
		}
		if !bytes.Equal(resp.RoomSecret, rig.secret[:]) || resp.Name != payroll {
			t.Fatalf("an admission to %q with another secret", resp.Name)
		}
	})
}

// answer decodes what ann answered: nothing (she reset the stream), or one
// InviteResponse frame.
func (rig *inviteRig) answer(t testing.TB, got []byte) *wire.InviteResponse {
	t.Helper()
	if len(got) == 0 {
		return nil
	}
	n, k := binary.Uvarint(got)
	if k <= 0 || uint64(len(got)-k) != n {
		t.Fatalf("ann answered %d bytes that are not one frame", len(got))
	}
	var resp wire.InviteResponse
	if err := proto.Unmarshal(got[k:], &resp); err != nil {
		t.Fatalf("ann answered a frame that is not an InviteResponse: %v", err)
	}
	return &resp
}
