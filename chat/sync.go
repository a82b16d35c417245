package chat

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/parley-chat/parley/internal/wire"
)

// SyncProtocol is the history sync protocol.
const SyncProtocol = "/parley/sync/2.0.0"

// Sync session parameters. A session reconciles a room's whole history (down
// to the later of both sides' retention floors) in stages, newest first;
// in each stage each side holds at most one stage limit of items, which
// bounds every turn whatever the room's size.
const (
	maxSyncFrame    = 1 << 20          // frame cap
	maxSyncBatch    = 512 << 10        // messages per frame, in bytes
	maxStageItems   = 4096             // the largest stage limit
	maxStageTurns   = 64               // turns of a stage, both sides' together
	syncTurnTimeout = 30 * time.Second // one turn
)

// stageLimits are the stage limits in order; the last repeats. The first
// stage is the newest page a client shows, so it arrives first.
var stageLimits = []int{64, 1024, maxStageItems}

func stageLimit(i int) int { return stageLimits[min(i, len(stageLimits)-1)] }

var errSyncProtocol = errors.New("sync protocol violation")

// syncConn frames a sync session and counts its bytes.
type syncConn struct {
	st      Stream
	fr      *frameReader
	bw      *bufio.Writer
	buf     []byte
	in, out int64
}

func newSyncConn(st Stream) *syncConn {
	c := &syncConn{st: st, bw: bufio.NewWriterSize(st, 64<<10)}
	c.fr = newFrameReader(countingReader{st, &c.in}, maxSyncFrame)
	return c
}

type countingReader struct {
	r io.Reader
	n *int64
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	*c.n += int64(n)
	return n, err
}

func (c *syncConn) send(f *wire.SyncFrame) error {
	b, err := proto.Marshal(f)
	if err != nil {
		return err
	}
	c.buf = appendFrame(c.buf[:0], b)
	c.out += int64(len(c.buf))
	_ = c.st.SetWriteDeadline(time.Now().Add(syncTurnTimeout))
	_, err = c.bw.Write(c.buf)
	return err
}

func (c *syncConn) flush() error { return c.bw.Flush() }

func (c *syncConn) recv() (*wire.SyncFrame, error) {
	_ = c.st.SetReadDeadline(time.Now().Add(syncTurnTimeout))
	b, err := c.fr.Next()
	if err != nil {
		return nil, err
	}
	var f wire.SyncFrame
	if err := proto.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("%w: %v", errSyncProtocol, err)
	}
	return &f, nil
}

// turn is one side's say: ranges and wants, and how many messages came
// with them (handed over frame by frame as they arrived).
type turn struct {
	ranges   []*wire.SyncRange
	want     [][]byte
	messages int
}

// recvTurn reads a turn, first (if set) being its first frame. The
// messages of each frame go to take as the frame arrives, so a turn holds
// at most one frame of messages in memory. Within a stage each side holds
// at most maxStageItems items, so a turn never carries more wants or
// messages than that.
func (c *syncConn) recvTurn(first *wire.SyncFrame, take func([]*wire.RoomMessage) error) (*turn, error) {
	t := &turn{}
	for f := first; ; f = nil {
		if f == nil {
			var err error
			if f, err = c.recv(); err != nil {
				return nil, err
			}
		}
		t.ranges = append(t.ranges, f.Ranges...)
		t.want = append(t.want, f.Want...)
		t.messages += len(f.Messages)
		if len(t.ranges) > maxSyncRanges || len(t.want) > maxStageItems || t.messages > maxStageItems {
			return nil, fmt.Errorf("%w: turn too large", errSyncProtocol)
		}
		if len(f.Messages) > 0 {
			if err := take(f.Messages); err != nil {
				return nil, err
			}
		}
		if !f.More {
			return t, nil
		}
	}
}

// sendTurn sends ranges and wants in the first frame, then messages in
// frames of at most maxSyncBatch bytes. head (if set) is merged into the
// first frame.
func (c *syncConn) sendTurn(head *wire.SyncFrame, ranges []*wire.SyncRange, want [][]byte, msgs []*wire.RoomMessage) error {
	f := head
	if f == nil {
		f = &wire.SyncFrame{}
	}
	size := proto.Size(f)
	next := func(n int) error {
		if size+n > maxSyncBatch && size > 0 {
			f.More = true
			if err := c.send(f); err != nil {
				return err
			}
			f = &wire.SyncFrame{}
			size = 0
		}
		size += n
		return nil
	}
	for _, r := range ranges {
		if err := next(proto.Size(r) + 8); err != nil {
			return err
		}
		f.Ranges = append(f.Ranges, r)
	}
	for _, w := range want {
		if err := next(len(w) + 8); err != nil {
			return err
		}
		f.Want = append(f.Want, w)
	}
	for _, m := range msgs {
		if err := next(proto.Size(m) + 8); err != nil {
			return err
		}
		f.Messages = append(f.Messages, m)
	}
	if err := c.send(f); err != nil {
		return err
	}
	return c.flush()
}

// ---- positions and windows ----

// position is an item's exact place in the order, as a stage bound.
func positionOf(c Cursor) *wire.SyncPosition {
	return &wire.SyncPosition{Hlc: uint64(c.HLC), Id: c.ID[:]}
}

func cursorFrom(p *wire.SyncPosition) (Cursor, error) {
	var c Cursor
	if len(p.Id) != len(c.ID) {
		return c, fmt.Errorf("%w: position ID of %d bytes", errSyncProtocol, len(p.Id))
	}
	c.HLC = HLC(p.Hlc)
	copy(c.ID[:], p.Id)
	return c, nil
}

// below returns the index of the first item at or above upper (nil: the
// end), so items[:i] are those below it.
func below(items []Cursor, upper *Cursor) int {
	if upper == nil {
		return len(items)
	}
	return sort.Search(len(items), func(k int) bool { return !cursorLess(items[k], *upper) })
}

// proposal is this side's lower bound for a stage: its limit-th newest item
// below upper, or nil if it holds no more than limit there.
func proposal(items []Cursor, upper *Cursor, limit int) *Cursor {
	j := below(items, upper)
	if j <= limit {
		return nil
	}
	c := items[j-limit]
	return &c
}

// window returns the items in [lower, upper) (lower nil: from the start).
func window(items []Cursor, lower, upper *Cursor) []Cursor {
	i := 0
	if lower != nil {
		i = below(items, lower)
	}
	return items[i:below(items, upper)]
}

// laterOf returns the later of two proposals (nil: the start).
func laterOf(a, b *Cursor) *Cursor {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	case cursorLess(*a, *b):
		return b
	}
	return a
}

// checkWindow checks the window a server fixed for a stage: its lower
// bound is never earlier than this side's proposal (so this side holds at
// most the stage limit in it) and lies below upper.
func checkWindow(stage *wire.SyncStage, mine, upper *Cursor) (*Cursor, error) {
	if stage.Lower == nil {
		if mine != nil {
			return nil, fmt.Errorf("%w: window below the proposal", errSyncProtocol)
		}
		return nil, nil
	}
	l, err := cursorFrom(stage.Lower)
	if err != nil {
		return nil, err
	}
	if (mine != nil && cursorLess(l, *mine)) || (upper != nil && !cursorLess(l, *upper)) {
		return nil, fmt.Errorf("%w: window out of bounds", errSyncProtocol)
	}
	return &l, nil
}

// ---- the opener ----

// SyncStats reports one sync session.
type SyncStats struct {
	BytesIn, BytesOut int64
	Received          int           // new messages stored
	Stages            int           // windows reconciled (0: the summaries matched)
	FirstStage        time.Duration // until the newest window was reconciled
	Took              time.Duration
}

// SyncRoomWith syncs a joined room's history with peer p now and reports
// the traffic.
func (s *Service) SyncRoomWith(ctx context.Context, name string, p PeerID) (SyncStats, error) {
	r := s.rooms.get(name)
	if r == nil {
		return SyncStats{}, errNotJoined(name)
	}
	return s.syncRoom(ctx, r, p)
}

func (s *Service) syncRoom(ctx context.Context, r *room, p PeerID) (SyncStats, error) {
	var stats SyncStats
	if r.priv != nil && !r.priv.isMember(p) {
		// A private room's history is pulled from members only: a former
		// member still on the topic could feed it messages dated before
		// its removal.
		return stats, fmt.Errorf("%w: %s is not a member of #%s", ErrNotMember, p.Short(), r.name)
	}
	start := time.Now()
	st, err := s.cfg.Transport.OpenStream(ctx, p, SyncProtocol)
	if err != nil {
		return stats, err
	}
	stop := context.AfterFunc(ctx, func() { _ = st.Reset() })
	defer stop()
	c := newSyncConn(st)
	err = s.openSync(ctx, c, r, &stats, start)
	stats.BytesIn, stats.BytesOut, stats.Took = c.in, c.out, time.Since(start)
	s.stats.syncDone(true, c.in, c.out, err)
	if err != nil {
		_ = st.Reset()
		return stats, err
	}
	_ = st.Close()
	return stats, nil
}

// openSync runs the opener's side of a session: the summary, then stage
// after stage down to the floor both keep.
func (s *Service) openSync(ctx context.Context, c *syncConn, r *room, stats *SyncStats, start time.Time) error {
	floor := r.floor()
	if r.priv != nil {
		floor = max(floor, r.priv.state().readsFrom(s.self))
	}
	items, err := s.cfg.Store.SyncItems(r.conv, floor)
	if err != nil {
		return err
	}
	var upper *Cursor
	for i := 0; ; i++ {
		limit := stageLimit(i)
		stage := &wire.SyncStage{Limit: uint32(limit)}
		if upper != nil {
			stage.Upper = positionOf(*upper)
		}
		if lower := proposal(items, upper, limit); lower != nil {
			stage.Lower = positionOf(*lower)
		}
		head := &wire.SyncFrame{Stage: stage}
		if i == 0 {
			head.Room, head.Floor, head.Summary = r.name, uint64(floor), fingerprint(items)
			if r.priv != nil {
				head.Room, head.RoomId = "", r.priv.id[:]
			}
		}
		if err := c.sendTurn(head, nil, nil, nil); err != nil {
			return err
		}
		first, err := c.recv()
		if err != nil {
			return err
		}
		if i == 0 && first.Equal {
			return nil
		}
		if first.Stage == nil {
			return fmt.Errorf("%w: no stage in the answer", errSyncProtocol)
		}
		lower, err := checkWindow(first.Stage, proposal(items, upper, limit), upper)
		if err != nil {
			return err
		}
		n, err := s.reconcileStage(ctx, c, r, newReconciler(window(items, lower, upper)), first)
		stats.Received += n
		stats.Stages++
		if i == 0 {
			stats.FirstStage = time.Since(start)
		}
		if err != nil {
			return err
		}
		if first.Stage.Last || lower == nil {
			return nil
		}
		upper = lower
	}
}

// reconcileStage runs the turns of one stage once its window is fixed,
// starting with the other side's turn; first (if set) is that turn's first
// frame. It returns how many new messages were stored.
func (s *Service) reconcileStage(ctx context.Context, c *syncConn, r *room, rec *reconciler, first *wire.SyncFrame) (received int, err error) {
	take := func(ms []*wire.RoomMessage) error {
		n, err := s.takeSynced(r, ms)
		received += n
		return err
	}
	for turns := 0; ; turns += 2 {
		if err := ctx.Err(); err != nil {
			return received, err
		}
		if turns >= maxStageTurns {
			return received, fmt.Errorf("%w: a stage of more than %d turns", errSyncProtocol, maxStageTurns)
		}
		in, err := c.recvTurn(first, take)
		if err != nil {
			return received, err
		}
		first = nil
		if len(in.ranges) == 0 && len(in.want) == 0 {
			return received, nil // they have nothing more to say
		}
		rec.give, rec.want = rec.give[:0], rec.want[:0]
		out, err := rec.answer(in.ranges)
		if err != nil {
			return received, err
		}
		msgs, err := s.syncMessages(dedupIDs(append(rec.resolve(in.want), rec.give...)))
		if err != nil {
			return received, err
		}
		if err := c.sendTurn(nil, out, rec.want, msgs); err != nil {
			return received, err
		}
		if len(out) == 0 && len(rec.want) == 0 {
			return received, nil // our turn asked nothing: the stage is over
		}
	}
}

// takeSynced validates and stores messages that arrived by sync, and
// reports how many were new. A message that fails a check every node
// makes alike (a bad envelope or proof, another room, a kind that is not
// kept) ends the session: an honest member sends only what it validated.
// One too far ahead of this node's clock, or past its retention, is
// skipped: that depends on this node.
func (s *Service) takeSynced(r *room, in []*wire.RoomMessage) (int, error) {
	floor := r.floor()
	ms := make([]*Message, 0, len(in))
	for _, rm := range in {
		m, err := s.checkSynced(r, rm)
		switch {
		case errors.Is(err, ErrBadEnvelope):
			return 0, fmt.Errorf("%w: %v", errSyncProtocol, err)
		case err != nil:
			s.log.Debug("skipped a synced message", "room", r.name, "err", err)
			continue
		case m.HLC < floor:
			continue // past this node's retention
		}
		ms = append(ms, m)
	}
	n, err := s.storeArrived(ms)
	if n > 0 {
		r.opsArrived(ms) // a private room applies the ops it got
	}
	return n, err
}

// syncMessages loads messages to send.
func (s *Service) syncMessages(ids []MessageID) ([]*wire.RoomMessage, error) {
	out := make([]*wire.RoomMessage, 0, len(ids))
	for _, id := range ids {
		m, err := s.cfg.Store.Message(id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if len(m.Proof.Signature) == 0 {
			continue // not published yet: nothing to prove it with
		}
		out = append(out, roomMessageOf(m))
	}
	return out, nil
}

// roomMessageOf is how m travels by sync: its envelope, or in a private
// room what was published (sealed) and its author; with its proof.
func roomMessageOf(m *Message) *wire.RoomMessage {
	if m.Sealed != nil {
		return &wire.RoomMessage{Envelope: m.Sealed, Author: peerIDBytes(m.Author), Seqno: m.Proof.Seqno, Signature: m.Proof.Signature}
	}
	return &wire.RoomMessage{Envelope: m.Envelope, Seqno: m.Proof.Seqno, Signature: m.Proof.Signature}
}

// equalSummary reports whether two summaries match.
func equalSummary(a, b []byte) bool { return len(a) > 0 && bytes.Equal(a, b) }
