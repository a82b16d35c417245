package chat_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/chat/chattest"
	"github.com/parley-chat/parley/internal/wire"
)

// This file fuzzes what a member decodes in a sync session, through a
// real Service on a chattest.Net: the frames an opener sends a server
// (FuzzSyncServe), the frames a server answers an opener with
// (FuzzSyncOpen), and the messages either side takes (FuzzCheckSynced).
// The member under fuzz has a fixed history and a store that checks and
// then forgets what the service stores, so every input meets the same
// member. The seeds are real sessions, recorded against that member
// through a relay, and frames that break the rules.

// fuzzHistoryStart and fuzzHistorySize fix the fuzzed member's history.
var fuzzHistoryStart = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)

const fuzzHistorySize = 300

// frozenStore is a member's store that checks what the service stores
// (each message must be a valid message of syncRoom) and then forgets it.
type frozenStore struct {
	chat.Store
	ps *chattest.PubSub

	mu     sync.Mutex
	stored []*chat.Message
	bad    []string
}

func (s *frozenStore) AddMessages(ms []*chat.Message) ([]bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range ms {
		s.stored = append(s.stored, m)
		switch {
		case m.Room != syncRoom || m.Conversation != syncConv:
			s.bad = append(s.bad, fmt.Sprintf("message %s of room %q filed under %s", m.ID, m.Room, m.Conversation))
		case !m.Kind.Stored():
			s.bad = append(s.bad, fmt.Sprintf("message %s of kind %v", m.ID, m.Kind))
		case m.ID != chat.MessageIDOf(m.Envelope):
			s.bad = append(s.bad, fmt.Sprintf("message %s with the envelope of %s", m.ID, chat.MessageIDOf(m.Envelope)))
		case s.ps.VerifyProof(chat.RoomTopic(syncRoom), m.Author, m.Envelope, m.Proof) != nil:
			s.bad = append(s.bad, fmt.Sprintf("message %s whose proof does not verify", m.ID))
		}
	}
	return make([]bool, len(ms)), nil
}

// take returns what the service stored since the last take, and what was
// wrong with it.
func (s *frozenStore) take() (stored []*chat.Message, bad []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	stored, bad = s.stored, s.bad
	s.stored, s.bad = nil, nil
	return stored, bad
}

// fuzzRig is a member of syncRoom with the fixed history and a frozen
// store, and a stub on the same Net that opens sessions to it and serves
// the sessions it opens.
type fuzzRig struct {
	net     *chattest.Net
	history []*chat.Message
	member  *chattest.Node
	store   *frozenStore
	stub    *chattest.Transport
	stubID  chat.PeerID

	mu     sync.Mutex
	answer []byte        // what the stub answers the member's next session with
	served chan struct{} // closed when the stub has served it
}

func newFuzzRig(tb testing.TB) *fuzzRig {
	tb.Helper()
	rig := &fuzzRig{net: chattest.NewNet(tb), history: syncHistory(tb, fuzzHistoryStart, fuzzHistorySize)}
	rig.member = chattest.NewNode(tb, rig.net, chattest.WithRooms(),
		chattest.WithConfig(func(c *chat.Config) { c.AntiEntropy = time.Hour }),
		chattest.WithStore(func(st chat.Store) chat.Store {
			if err := st.PutRoom(chat.Room{Name: syncRoom, JoinedAt: time.Now()}); err != nil {
				tb.Fatalf("put room: %v", err)
			}
			if _, err := st.AddMessages(rig.history); err != nil {
				tb.Fatalf("add history: %v", err)
			}
			rig.store = &frozenStore{Store: st}
			return rig.store
		}))
	rig.store.mu.Lock()
	rig.store.ps = rig.member.PS
	rig.store.mu.Unlock()
	syncWaitRoom(tb, rig.member)
	sid := chattest.NewIdentity(tb)
	rig.stubID = sid.PeerID()
	rig.stub = rig.net.AddNode(rig.stubID)
	rig.net.Connect(rig.member.ID, rig.stubID)
	rig.stub.SetStreamHandler(chat.SyncProtocol, rig.serveAnswer)
	return rig
}

// syncWaitRoom waits until n has opened syncRoom.
func syncWaitRoom(tb testing.TB, n *chattest.Node) {
	tb.Helper()
	chattest.WaitFor(tb, 0, "the room open", func() bool {
		rooms, err := n.Svc.Rooms()
		return err == nil && slices.ContainsFunc(rooms, func(r chat.RoomInfo) bool { return r.Name == syncRoom })
	})
}

// serve feeds data to a session the stub opens to the member, as the
// opener's side, and reads what the member answers until it ends the
// session.
func (rig *fuzzRig) serve(t testing.TB, data []byte) {
	st, err := rig.stub.OpenStream(t.Context(), rig.member.ID, chat.SyncProtocol)
	if err != nil {
		t.Fatalf("open a sync stream: %v", err)
	}
	if err := streamExchange(st, data, io.Discard); errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("the member still runs the session after %v", chattest.Timeout)
	}
}

// streamExchange writes data on st and closes its writing, while it reads
// what the other side sends into got until it closes or resets the
// stream; then it resets st. It returns the error that ended the reading
// (nil: a close).
func streamExchange(st chat.Stream, data []byte, got io.Writer) error {
	_ = st.SetReadDeadline(time.Now().Add(chattest.Timeout))
	_ = st.SetWriteDeadline(time.Now().Add(chattest.Timeout))
	wrote := make(chan struct{})
	go func() {
		defer close(wrote)
		_, _ = st.Write(data)
		if cw, ok := st.(interface{ CloseWrite() error }); ok {
			_ = cw.CloseWrite()
		}
	}()
	_, err := io.Copy(got, st)
	<-wrote
	_ = st.Reset()
	return err
}

// serveAnswer is the stub's sync handler: it answers the member's session
// with rig.answer.
func (rig *fuzzRig) serveAnswer(_ chat.PeerID, st chat.Stream) {
	rig.mu.Lock()
	data, served := rig.answer, rig.served
	rig.mu.Unlock()
	defer close(served)
	_ = streamExchange(st, data, io.Discard)
}

// open has the member open a session to the stub, which answers with
// data; it returns the session's error.
func (rig *fuzzRig) open(t testing.TB, data []byte) error {
	served := make(chan struct{})
	rig.mu.Lock()
	rig.answer, rig.served = data, served
	rig.mu.Unlock()
	ctx, cancel := context.WithTimeout(t.Context(), chattest.Timeout)
	defer cancel()
	_, err := rig.member.Svc.SyncRoomWith(ctx, syncRoom, rig.stubID)
	select {
	case <-served:
	case <-time.After(chattest.Timeout):
		t.Fatalf("the stub still serves the session after %v", chattest.Timeout)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("the member's session still runs after %v", chattest.Timeout)
	}
	return err
}

// checkStored fails the test if the member stored anything it should
// not have, and returns what it stored.
func (rig *fuzzRig) checkStored(t testing.TB) []*chat.Message {
	stored, bad := rig.store.take()
	if len(bad) > 0 {
		t.Fatalf("the member stored what it must not: %s", strings.Join(bad, "; "))
	}
	return stored
}

// ---- seeds: real sessions ----

// fuzzScenarios are the histories of the other side of the recorded
// sessions, against the rig member's history h (fuzzHistorySize
// messages); more are messages the member lacks.
func fuzzScenarios(h, more []*chat.Message) map[string][]*chat.Message {
	var odd []*chat.Message
	for i, m := range h {
		if i%2 == 1 {
			odd = append(odd, m)
		}
	}
	return map[string][]*chat.Message{
		"equal":          h,
		"empty":          nil,
		"lacks-newest":   h[:250],
		"holds-more":     syncUnion(h, more),
		"odd-and-more":   syncUnion(odd, more[:20]),
		"lacks-a-few":    syncWithout(h, []*chat.Message{h[3], h[150], h[299]}),
		"only-the-extra": more,
	}
}

// fuzzMore is history the rig member lacks: 60 messages among its own.
func fuzzMore(tb testing.TB) []*chat.Message {
	authors := syncAuthors()
	out := make([]*chat.Message, 60)
	for i := range out {
		h := chat.HLCFromTime(fuzzHistoryStart.Add(time.Duration(i*5)*time.Millisecond + 500*time.Microsecond))
		out[i] = syncMessage(tb, authors[i%3], syncRoom, h, fmt.Sprintf("more %d", i), uint64(10000+i))
	}
	return out
}

// recordSessions runs a real session between the rig member and a member
// holding each scenario's history, through a relay that records the
// bytes each way. memberOpens says who opens. It returns what the other
// member sent, by scenario.
func (rig *fuzzRig) recordSessions(tb testing.TB, memberOpens bool) map[string][]byte {
	tb.Helper()
	out := make(map[string][]byte)
	for name, history := range fuzzScenarios(rig.history, fuzzMore(tb)) {
		other := chattest.NewNode(tb, rig.net, chattest.WithRooms(),
			chattest.WithConfig(func(c *chat.Config) { c.AntiEntropy = time.Hour }),
			chattest.WithStore(func(st chat.Store) chat.Store {
				if err := st.PutRoom(chat.Room{Name: syncRoom, JoinedAt: time.Now()}); err != nil {
					tb.Fatalf("put room: %v", err)
				}
				if len(history) > 0 {
					if _, err := st.AddMessages(history); err != nil {
						tb.Fatalf("add history: %v", err)
					}
				}
				return st
			}))
		syncWaitRoom(tb, other)
		// The relay: the opener opens to it, it opens to the server.
		relayID := chattest.NewIdentity(tb).PeerID()
		relay := rig.net.AddNode(relayID)
		opener, server := other, rig.member
		if memberOpens {
			opener, server = rig.member, other
		}
		rig.net.Connect(opener.ID, relayID)
		rig.net.Connect(relayID, server.ID)
		var fromOpener, fromServer bytes.Buffer
		relayed := make(chan struct{})
		relay.SetStreamHandler(chat.SyncProtocol, func(_ chat.PeerID, in chat.Stream) {
			defer close(relayed)
			out, err := relay.OpenStream(tb.Context(), server.ID, chat.SyncProtocol)
			if err != nil {
				_ = in.Reset()
				return
			}
			var wg sync.WaitGroup
			wg.Go(func() { syncPump(out, in, &fromOpener) })
			wg.Go(func() { syncPump(in, out, &fromServer) })
			wg.Wait()
		})
		if _, err := opener.Svc.SyncRoomWith(tb.Context(), syncRoom, relayID); err != nil {
			tb.Fatalf("recording %q: %v", name, err)
		}
		<-relayed
		rig.store.take()
		other.Stop()
		if memberOpens {
			out[name] = fromServer.Bytes()
		} else {
			out[name] = fromOpener.Bytes()
		}
	}
	return out
}

// syncPump copies src to dst, and a copy to rec, until src ends; then it
// closes dst's writing (or resets both on an error).
func syncPump(dst, src chat.Stream, rec *bytes.Buffer) {
	_ = src.SetReadDeadline(time.Now().Add(chattest.Timeout))
	if _, err := io.Copy(io.MultiWriter(dst, rec), src); err != nil {
		_ = dst.Reset()
		_ = src.Reset()
		return
	}
	if cw, ok := dst.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
}

// syncFrames returns fs as they travel on a stream.
func syncFrames(tb testing.TB, fs ...*wire.SyncFrame) []byte {
	tb.Helper()
	var out []byte
	for _, f := range fs {
		b, err := proto.Marshal(f)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, chattest.Frame(b)...)
	}
	return out
}

// ---- the fuzz targets ----

// syncServeSeeds are what openers send: real sessions, and sessions that
// break the rules.
func syncServeSeeds(tb testing.TB, rig *fuzzRig) map[string][]byte {
	seeds := rig.recordSessions(tb, false)
	pos := func(i int) *wire.SyncPosition { return syncPosition(rig.history[i]) }
	for name, b := range map[string][]byte{
		"stage-goes-back":     syncFrames(tb, syncOpenStage(0), &wire.SyncFrame{}, syncOpenStage(0)),
		"stage-skips-ahead":   syncFrames(tb, syncOpenStage(0), &wire.SyncFrame{}, syncOpenStage(1, pos(3))),
		"stage-of-one":        syncFrames(tb, &wire.SyncFrame{Room: syncRoom, Stage: &wire.SyncStage{Limit: 1}}),
		"proposal-above-end":  syncFrames(tb, syncOpenStage(0), &wire.SyncFrame{}, &wire.SyncFrame{Stage: &wire.SyncStage{Limit: 1024, Upper: pos(236), Lower: pos(299)}}),
		"wants":               syncFrames(tb, syncOpenStage(0), &wire.SyncFrame{Want: syncPrefixes(5), Ranges: syncNothingHeld()}),
		"invalid-messages":    syncFrames(tb, syncOpenStage(0), &wire.SyncFrame{Messages: syncBadMessageList(tb)}),
		"unjoined-room":       syncFrames(tb, &wire.SyncFrame{Room: "kitchen", Stage: &wire.SyncStage{Limit: 64}}),
		"length-over-the-cap": {0xff, 0xff, 0xff, 0xff, 0x0f},
	} {
		seeds[name] = b
	}
	return seeds
}

// FuzzSyncServe feeds a served session what an opener may send: the
// bytes of a whole session, frame after frame. The member must end every
// session (closing or resetting it) and store nothing but valid messages
// of the room.
func FuzzSyncServe(f *testing.F) {
	rig := newFuzzRig(f)
	seeds := syncServeSeeds(f, rig)
	for _, b := range seeds {
		f.Add(b)
	}
	// The recorded sessions replay: an opener holding more gives it.
	rig.serve(f, seeds["holds-more"])
	if got := rig.checkStored(f); !slices.Equal(syncCursors(got), syncCursors(fuzzMore(f))) {
		f.Fatalf("replaying a session that gives %d messages: the member stored %d", len(fuzzMore(f)), len(got))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rig.serve(t, data)
		rig.checkStored(t)
	})
}

// syncOpenSeeds are what servers answer: real sessions, and answers that
// break the rules.
func syncOpenSeeds(tb testing.TB, rig *fuzzRig) map[string][]byte {
	seeds := rig.recordSessions(tb, true)
	h := rig.history
	last := &wire.SyncStage{Last: true}
	for name, b := range map[string][]byte{
		"answer-equal":        syncFrames(tb, &wire.SyncFrame{Equal: true}),
		"messages-it-holds":   syncFrames(tb, &wire.SyncFrame{Stage: &wire.SyncStage{Lower: syncPosition(h[236])}, Ranges: syncNothingHeld(), Messages: syncRoomMessages(h[298:])}),
		"invalid-messages":    syncFrames(tb, &wire.SyncFrame{Stage: &wire.SyncStage{Lower: syncPosition(h[236])}, Ranges: syncNothingHeld(), Messages: syncBadMessageList(tb)}),
		"below-the-proposal":  syncFrames(tb, &wire.SyncFrame{Stage: last, Ranges: syncNothingHeld()}),
		"at-the-end":          syncFrames(tb, &wire.SyncFrame{Stage: &wire.SyncStage{Lower: syncPosition(h[236])}, Ranges: syncNothingHeld()}, &wire.SyncFrame{Stage: &wire.SyncStage{Lower: syncPosition(h[236])}, Ranges: syncNothingHeld()}),
		"turn-over-frames":    syncFrames(tb, &wire.SyncFrame{Stage: &wire.SyncStage{Lower: syncPosition(h[250])}, Ranges: syncNothingHeld(), More: true}, &wire.SyncFrame{Want: syncPrefixes(3)}),
		"length-over-the-cap": {0xff, 0xff, 0xff, 0xff, 0x0f},
	} {
		seeds[name] = b
	}
	return seeds
}

// FuzzSyncOpen answers a session the member opens with what a server may
// send: the bytes of a whole session. The member's SyncRoomWith must
// return, and it must store nothing but valid messages of the room.
func FuzzSyncOpen(f *testing.F) {
	rig := newFuzzRig(f)
	seeds := syncOpenSeeds(f, rig)
	for _, b := range seeds {
		f.Add(b)
	}
	// The recorded sessions replay: a server holding more gives it.
	if err := rig.open(f, seeds["holds-more"]); err != nil {
		f.Fatalf("replaying a session that gives messages: %v", err)
	}
	if got := rig.checkStored(f); !slices.Equal(syncCursors(got), syncCursors(fuzzMore(f))) {
		f.Fatalf("replaying a session that gives %d messages: the member stored %d", len(fuzzMore(f)), len(got))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_ = rig.open(t, data)
		rig.checkStored(t)
	})
}

// syncBadMessageList returns badMessages in a fixed order.
func syncBadMessageList(tb testing.TB) []*wire.RoomMessage {
	m := syncBadMessages(tb)
	names := slices.Sorted(maps.Keys(m))
	out := make([]*wire.RoomMessage, len(names))
	for i, n := range names {
		out[i] = m[n]
	}
	return out
}

// checkSyncedSeeds are what FuzzCheckSynced starts from: two valid
// messages by a fixed author at a fixed time (the fuzzer cannot sign, so
// these are the only messages a member may ever take from it), and
// variations that must be refused.
func checkSyncedSeeds(tb testing.TB) (valid, invalid map[string]*wire.RoomMessage) {
	author := syncIdentity(0x42)
	h := chat.HLCFromTime(fuzzHistoryStart.Add(time.Hour))
	text := syncRoomMessages([]*chat.Message{syncMessage(tb, author, syncRoom, h, "hello, lobby", 1)})[0]
	join := chattest.Env{Author: author.PeerID(), Room: syncRoom, HLC: h + 1, Kind: chat.KindJoin}.Message(tb)
	join.Proof = chattest.Prove(author, chat.RoomTopic(syncRoom), join.Envelope, 2)
	valid = map[string]*wire.RoomMessage{"valid-text": text, "valid-join": syncRoomMessages([]*chat.Message{join})[0]}
	other := syncIdentity(0x43)
	invalid = map[string]*wire.RoomMessage{
		"garbage":              {Envelope: []byte("garbage"), Seqno: text.Seqno, Signature: text.Signature},
		"no-signature":         {Envelope: text.Envelope, Seqno: text.Seqno},
		"bad-signature":        {Envelope: text.Envelope, Seqno: text.Seqno, Signature: append([]byte{text.Signature[0] ^ 1}, text.Signature[1:]...)},
		"seqno-of-another":     {Envelope: text.Envelope, Seqno: join.Proof.Seqno, Signature: text.Signature},
		"signature-of-another": {Envelope: text.Envelope, Seqno: text.Seqno, Signature: chattest.Prove(other, chat.RoomTopic(syncRoom), text.Envelope, 1).Signature},
	}
	for name, m := range syncBadMessages(tb) {
		invalid[strings.ReplaceAll(name, " ", "-")] = m
	}
	return valid, invalid
}

// FuzzCheckSynced feeds a served session one turn of one message made of
// arbitrary (envelope, seqno, signature): what checkSynced judges. The
// member must take nothing but the seeds' valid messages, exactly as
// sent.
func FuzzCheckSynced(f *testing.F) {
	valid, invalid := checkSyncedSeeds(f)
	ok := make(map[string]bool)
	for _, m := range valid {
		f.Add(m.Envelope, m.Seqno, m.Signature)
		ok[string(m.Envelope)+"\x00"+string(m.Seqno)+"\x00"+string(m.Signature)] = true
	}
	for _, m := range invalid {
		f.Add(m.Envelope, m.Seqno, m.Signature)
	}
	rig := newFuzzRig(f)
	take := func(t testing.TB, rm *wire.RoomMessage) []*chat.Message {
		rig.serve(t, syncFrames(t, syncOpenStage(0), &wire.SyncFrame{Messages: []*wire.RoomMessage{rm}}))
		return rig.checkStored(t)
	}
	for name, m := range valid {
		if got := take(f, m); len(got) != 1 || got[0].ID != chat.MessageIDOf(m.Envelope) {
			f.Fatalf("the valid seed %s: the member stored %d messages, want it", name, len(got))
		}
	}
	f.Fuzz(func(t *testing.T, envelope, seqno, signature []byte) {
		for _, m := range take(t, &wire.RoomMessage{Envelope: envelope, Seqno: seqno, Signature: signature}) {
			if !ok[string(m.Envelope)+"\x00"+string(m.Proof.Seqno)+"\x00"+string(m.Proof.Signature)] {
				t.Fatalf("the member took a message that is not a seed: envelope %x seqno %x signature %x", envelope, seqno, signature)
			}
			if m.Status != chat.StatusReceived || m.ReceivedAt.IsZero() {
				t.Fatalf("the member took a message with status %v, received at %v", m.Status, m.ReceivedAt)
			}
		}
	})
}
