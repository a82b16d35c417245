package chat

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/parley-chat/parley/internal/wire"
)

// SyncProtocol is the history sync protocol.
const SyncProtocol = "/parley/sync/1.0.0"

// Reconciliation parameters.
const (
	syncBranch     = 8                // a differing range splits into this many
	syncListMax    = 32               // a differing range this small is sent as an ID list
	syncPrefixLen  = 8                // ID prefix length in ID lists and wants
	maxSyncFrame   = 1 << 20          // frame cap
	maxSyncBatch   = 512 << 10        // messages per frame, in bytes
	maxSyncRanges  = 1 << 14          // ranges per turn
	maxSyncWants   = 1 << 14          // wants per turn
	syncTimeout    = 2 * time.Minute  // a whole session
	syncTurnTimout = 30 * time.Second // one turn
)

var errSyncProtocol = errors.New("sync protocol violation")

// bound is an upper bound of a range: items sort below it when their
// (HLC, ID) is smaller than (hlc, id zero-padded). hlc == MaxUint64 is
// "no bound".
type bound struct {
	hlc uint64
	id  []byte
}

var infinity = bound{hlc: math.MaxUint64}

func (b bound) above(c Cursor) bool {
	if b.hlc == math.MaxUint64 {
		return true
	}
	if uint64(c.HLC) != b.hlc {
		return uint64(c.HLC) < b.hlc
	}
	return bytes.Compare(c.ID[:len(b.id)], b.id) < 0
}

// cmp orders bounds as the positions they stand for (IDs zero-padded).
func (b bound) cmp(o bound) int {
	if b.hlc != o.hlc {
		if b.hlc < o.hlc {
			return -1
		}
		return 1
	}
	var x, y MessageID
	copy(x[:], b.id)
	copy(y[:], o.id)
	return bytes.Compare(x[:], y[:])
}

func boundOf(r *wire.SyncRange) (bound, error) {
	if r.UpperHlc == 0 && len(r.UpperId) == 0 {
		return infinity, nil
	}
	if len(r.UpperId) > len(MessageID{}) {
		return bound{}, fmt.Errorf("%w: bound ID of %d bytes", errSyncProtocol, len(r.UpperId))
	}
	return bound{hlc: r.UpperHlc, id: r.UpperId}, nil
}

func (b bound) put(r *wire.SyncRange) {
	if b.hlc != math.MaxUint64 {
		r.UpperHlc, r.UpperId = b.hlc, b.id
	}
}

// between returns the shortest bound above prev and not above next
// (prev < next).
func between(prev, next Cursor) bound {
	if prev.HLC != next.HLC {
		return bound{hlc: uint64(next.HLC)}
	}
	n := 0
	for n < len(next.ID) && prev.ID[n] == next.ID[n] {
		n++
	}
	return bound{hlc: uint64(next.HLC), id: next.ID[:n+1]}
}

// fingerprint of a set of items: SHA-256 of the count and the sum of the
// IDs as 256-bit little-endian numbers, cut to 16 bytes. A sum (unlike an
// XOR) cannot be matched by choosing a few crafted IDs.
func fingerprint(items []Cursor) []byte {
	var sum [4]uint64
	for i := range items {
		id := &items[i].ID
		var carry uint64
		for w := range 4 {
			v := binary.LittleEndian.Uint64(id[w*8:])
			s := sum[w] + v
			c1 := s < v
			s2 := s + carry
			c2 := s2 < s
			sum[w] = s2
			carry = 0
			if c1 || c2 {
				carry = 1
			}
		}
	}
	var buf [40]byte
	binary.LittleEndian.PutUint64(buf[:8], uint64(len(items)))
	for w := range 4 {
		binary.LittleEndian.PutUint64(buf[8+w*8:], sum[w])
	}
	h := sha256.Sum256(buf[:])
	return h[:16]
}

// reconciler holds one side's items of the window and works out, range by
// range, what the other side lacks and what this side wants.
type reconciler struct {
	items []Cursor // sorted
	byPfx map[[syncPrefixLen]byte]MessageID
	give  []MessageID // ours, they lack
	want  [][]byte    // their prefixes we lack
}

func newReconciler(items []Cursor) *reconciler {
	r := &reconciler{items: items, byPfx: make(map[[syncPrefixLen]byte]MessageID, len(items))}
	for _, it := range items {
		r.byPfx[prefixOf(it.ID)] = it.ID
	}
	return r
}

func prefixOf(id MessageID) (p [syncPrefixLen]byte) {
	copy(p[:], id[:])
	return p
}

// span returns our items in [lo, hi).
func (r *reconciler) span(lo, hi bound, loIsStart bool) []Cursor {
	i := 0
	if !loIsStart {
		i = sort.Search(len(r.items), func(k int) bool { return !lo.above(r.items[k]) })
	}
	j := sort.Search(len(r.items), func(k int) bool { return !hi.above(r.items[k]) })
	if j < i {
		j = i
	}
	return r.items[i:j]
}

// describe returns ranges describing items (which end at upper): an ID
// list if small, else split fingerprints.
func describe(items []Cursor, upper bound) []*wire.SyncRange {
	if len(items) <= syncListMax {
		ids := make([][]byte, len(items))
		for i, it := range items {
			p := prefixOf(it.ID)
			ids[i] = p[:]
		}
		r := &wire.SyncRange{Payload: &wire.SyncRange_Ids{Ids: &wire.IdList{Ids: ids}}}
		upper.put(r)
		return []*wire.SyncRange{r}
	}
	out := make([]*wire.SyncRange, 0, syncBranch)
	n := len(items)
	for k := range syncBranch {
		lo, hi := k*n/syncBranch, (k+1)*n/syncBranch
		ub := upper
		if k < syncBranch-1 {
			ub = between(items[hi-1], items[hi])
		}
		r := &wire.SyncRange{Payload: &wire.SyncRange_Fingerprint{Fingerprint: fingerprint(items[lo:hi])}}
		ub.put(r)
		out = append(out, r)
	}
	return out
}

// answer processes the other side's ranges and returns ours in reply.
// Ranges that match become skips (no payload), merged with neighbours.
func (r *reconciler) answer(in []*wire.SyncRange) ([]*wire.SyncRange, error) {
	var out []*wire.SyncRange
	skip := func(upper bound) {
		if n := len(out); n > 0 && out[n-1].Payload == nil {
			out = out[:n-1]
		}
		s := &wire.SyncRange{}
		upper.put(s)
		out = append(out, s)
	}
	lo, start := bound{}, true
	for i, rg := range in {
		hi, err := boundOf(rg)
		if err != nil {
			return nil, err
		}
		if !start && hi.cmp(lo) <= 0 {
			return nil, fmt.Errorf("%w: range bounds out of order", errSyncProtocol)
		}
		mine := r.span(lo, hi, start)
		switch p := rg.Payload.(type) {
		case nil:
			skip(hi)
		case *wire.SyncRange_Fingerprint:
			fp := fingerprint(mine)
			switch {
			case bytes.Equal(p.Fingerprint, fp):
				skip(hi)
			case len(mine) > syncListMax && len(out)+syncBranch+len(in)-i-1 > maxSyncRanges:
				// No room to split: say what we hold there as one range;
				// the other side splits it (or lists it) in its turn.
				r := &wire.SyncRange{Payload: &wire.SyncRange_Fingerprint{Fingerprint: fp}}
				hi.put(r)
				out = append(out, r)
			default:
				out = append(out, describe(mine, hi)...)
			}
		case *wire.SyncRange_Ids:
			theirs := make(map[[syncPrefixLen]byte]bool, len(p.Ids.Ids))
			for _, id := range p.Ids.Ids {
				if len(id) != syncPrefixLen {
					return nil, fmt.Errorf("%w: ID prefix of %d bytes", errSyncProtocol, len(id))
				}
				var k [syncPrefixLen]byte
				copy(k[:], id)
				theirs[k] = true
				if _, ok := r.byPfx[k]; !ok && len(r.want) < maxSyncWants {
					r.want = append(r.want, id)
				}
			}
			for _, it := range mine {
				if !theirs[prefixOf(it.ID)] {
					r.give = append(r.give, it.ID)
				}
			}
			skip(hi)
		}
		lo, start = hi, false
	}
	// Trailing skips say nothing.
	for len(out) > 0 && out[len(out)-1].Payload == nil {
		out = out[:len(out)-1]
	}
	if len(out) > maxSyncRanges {
		return nil, fmt.Errorf("%w: %d ranges", errSyncProtocol, len(out))
	}
	return out, nil
}

// resolve turns wanted prefixes into our message IDs.
func (r *reconciler) resolve(want [][]byte) []MessageID {
	out := make([]MessageID, 0, len(want))
	seen := make(map[[syncPrefixLen]byte]bool, len(want))
	for _, p := range want {
		if len(p) != syncPrefixLen {
			continue
		}
		k := [syncPrefixLen]byte(p)
		if seen[k] {
			continue
		}
		seen[k] = true
		if id, ok := r.byPfx[k]; ok {
			out = append(out, id)
		}
	}
	return out
}

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
	_ = c.st.SetWriteDeadline(time.Now().Add(syncTurnTimout))
	_, err = c.bw.Write(c.buf)
	return err
}

func (c *syncConn) flush() error { return c.bw.Flush() }

func (c *syncConn) recv() (*wire.SyncFrame, error) {
	_ = c.st.SetReadDeadline(time.Now().Add(syncTurnTimout))
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

// turn is one side's say: ranges, wants, and messages (over one or more frames).
type turn struct {
	ranges   []*wire.SyncRange
	want     [][]byte
	messages []*wire.RoomMessage
}

func (c *syncConn) recvTurn(first *wire.SyncFrame, maxMessages int) (*turn, error) {
	t := &turn{}
	f := first
	for {
		if f == nil {
			var err error
			if f, err = c.recv(); err != nil {
				return nil, err
			}
		}
		t.ranges = append(t.ranges, f.Ranges...)
		t.want = append(t.want, f.Want...)
		t.messages = append(t.messages, f.Messages...)
		if len(t.ranges) > maxSyncRanges || len(t.want) > maxSyncWants || len(t.messages) > maxMessages {
			return nil, fmt.Errorf("%w: turn too large", errSyncProtocol)
		}
		if !f.More {
			return t, nil
		}
		f = nil
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

// syncSession runs the turns of a session once the window is fixed.
// in is the other side's first turn. It returns how many messages arrived.
func (s *Service) syncSession(ctx context.Context, c *syncConn, r *room, rec *reconciler, in *turn) (received int, err error) {
	maxIn := s.cfg.SyncMaxMessages
	for {
		if ctx.Err() != nil {
			return received, ctx.Err()
		}
		n, err := s.takeSynced(r, in.messages, maxIn-received)
		received += n
		if err != nil {
			return received, err
		}
		if len(in.ranges) == 0 && len(in.want) == 0 {
			return received, nil // they have nothing more to say
		}
		rec.give, rec.want = rec.give[:0], rec.want[:0]
		out, err := rec.answer(in.ranges)
		if err != nil {
			return received, err
		}
		ids := dedupIDs(append(rec.resolve(in.want), rec.give...))
		msgs, err := s.syncMessages(ids)
		if err != nil {
			return received, err
		}
		want := rec.want
		if err := c.sendTurn(nil, out, want, msgs); err != nil {
			return received, err
		}
		if len(out) == 0 && len(want) == 0 {
			// Our turn said nothing to answer; only their messages may follow.
			if len(rec.want) == 0 {
				return received, nil
			}
		}
		if in, err = c.recvTurn(nil, s.cfg.SyncMaxMessages); err != nil {
			return received, err
		}
	}
}

// takeSynced validates and stores messages that arrived by sync.
func (s *Service) takeSynced(r *room, in []*wire.RoomMessage, budget int) (int, error) {
	if len(in) == 0 {
		return 0, nil
	}
	if len(in) > budget {
		in = in[len(in)-max(budget, 0):]
	}
	ms := make([]*Message, 0, len(in))
	for _, rm := range in {
		m, err := s.checkSynced(r.name, rm.Envelope, rm.Seqno, rm.Signature)
		if err != nil {
			s.log.Debug("dropped a synced message", "room", r.name, "err", err)
			continue
		}
		m.Conversation = r.conv
		ms = append(ms, m)
	}
	return len(ms), s.storeRoomMessages(ms)
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
		if len(m.Signature) == 0 {
			continue // not published yet: nothing to prove it with
		}
		out = append(out, &wire.RoomMessage{Envelope: m.Envelope, Seqno: m.Seqno, Signature: m.Signature})
	}
	return out, nil
}

// window returns our sync items for a room since a lower bound, cut to
// the newest SyncMaxMessages, and the window's start.
func (s *Service) window(r *room, since HLC) ([]Cursor, HLC, error) {
	if floor := HLCFromTime(s.cfg.Now().Add(-s.cfg.SyncWindow)); since < floor {
		since = floor
	}
	items, err := s.cfg.Store.SyncItems(r.conv, since)
	if err != nil {
		return nil, 0, err
	}
	if n := len(items); n > s.cfg.SyncMaxMessages {
		since = items[n-s.cfg.SyncMaxMessages].HLC
		items, err = s.cfg.Store.SyncItems(r.conv, since)
	}
	return items, since, err
}

// SyncStats reports one sync session.
type SyncStats struct {
	BytesIn, BytesOut int64
	Received          int
	Took              time.Duration
}

// SyncRoomWith syncs a joined room with peer p now and reports the traffic.
func (s *Service) SyncRoomWith(ctx context.Context, name string, p PeerID) (SyncStats, error) {
	var stats SyncStats
	start := time.Now()
	r := s.room(name)
	if r == nil {
		return stats, fmt.Errorf("%w: #%s", ErrNotJoined, name)
	}
	ctx, cancel := context.WithTimeout(ctx, syncTimeout)
	defer cancel()
	st, err := s.cfg.Transport.OpenStream(ctx, p, SyncProtocol)
	if err != nil {
		return stats, err
	}
	stop := context.AfterFunc(ctx, func() { _ = st.Reset() })
	defer stop()
	c := newSyncConn(st)
	// Ask for our own window (SyncWindow, cut to our newest
	// SyncMaxMessages): the server's is no wider, so neither side offers
	// what lies outside the other's.
	_, since, err := s.window(r, 0)
	if err != nil {
		_ = st.Reset()
		return stats, err
	}
	if err := c.sendTurn(&wire.SyncFrame{Room: r.name, Since: uint64(since)}, nil, nil, nil); err != nil {
		_ = st.Reset()
		return stats, err
	}
	first, err := c.recv()
	if err != nil {
		_ = st.Reset()
		return stats, err
	}
	// The server may move the window's start later, never earlier.
	items, err := s.cfg.Store.SyncItems(r.conv, max(HLC(first.WindowStart), since))
	if err != nil {
		_ = st.Reset()
		return stats, err
	}
	in, err := c.recvTurn(first, s.cfg.SyncMaxMessages)
	if err != nil {
		_ = st.Reset()
		return stats, err
	}
	stats.Received, err = s.syncSession(ctx, c, r, newReconciler(items), in)
	stats.BytesIn, stats.BytesOut, stats.Took = c.in, c.out, time.Since(start)
	if err != nil {
		_ = st.Reset()
		return stats, err
	}
	_ = st.Close()
	return stats, nil
}

// handleSync serves a sync session opened by a peer.
func (s *Service) handleSync(p PeerID, st Stream) {
	if !s.trackInbound(st) {
		_ = st.Reset()
		return
	}
	defer s.untrackInbound(st)
	if err := s.serveSync(p, st); err != nil {
		s.log.Debug("sync session ended", "peer", p, "err", err)
		_ = st.Reset()
		return
	}
	_ = st.Close()
}

// Sync sessions a node serves at once: two per peer (a background one
// and one asked for), a few in all.
const (
	maxServedSyncs        = 8
	maxServedSyncsPerPeer = 2
)

// claimSync reserves a served session for p; release it with the func.
func (s *Service) claimSync(p PeerID) (func(), bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	total := 0
	for _, n := range s.serving {
		total += n
	}
	if s.serving[p] >= maxServedSyncsPerPeer || total >= maxServedSyncs {
		return nil, false
	}
	s.serving[p]++
	return func() {
		s.mu.Lock()
		if s.serving[p]--; s.serving[p] == 0 {
			delete(s.serving, p)
		}
		s.mu.Unlock()
	}, true
}

func (s *Service) serveSync(p PeerID, st Stream) error {
	release, ok := s.claimSync(p)
	if !ok {
		return errors.New("too many sync sessions")
	}
	defer release()
	ctx, cancel := context.WithTimeout(s.ctx, syncTimeout)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { _ = st.Reset() })
	defer stop()
	c := newSyncConn(st)
	first, err := c.recv()
	if err != nil {
		return err
	}
	r := s.room(first.Room)
	if r == nil {
		return fmt.Errorf("%w: #%s", ErrNotJoined, first.Room)
	}
	items, start, err := s.window(r, HLC(first.Since))
	if err != nil {
		return err
	}
	rec := newReconciler(items)
	head := &wire.SyncFrame{WindowStart: uint64(start)}
	var ranges []*wire.SyncRange
	if len(items) > 0 {
		ranges = describe(items, infinity)
	} else {
		ranges = []*wire.SyncRange{{Payload: &wire.SyncRange_Ids{Ids: &wire.IdList{}}}}
	}
	if err := c.sendTurn(head, ranges, nil, nil); err != nil {
		return err
	}
	in, err := c.recvTurn(nil, s.cfg.SyncMaxMessages)
	if err != nil {
		return err
	}
	_, err = s.syncSession(ctx, c, r, rec, in)
	return err
}

// dedupIDs drops repeated IDs, keeping the first of each.
func dedupIDs(ids []MessageID) []MessageID {
	seen := make(map[MessageID]bool, len(ids))
	out := ids[:0]
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}
