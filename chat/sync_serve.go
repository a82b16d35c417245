package chat

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/parley-chat/parley/internal/wire"
)

// Sync sessions a node serves at once: two per peer (a background one
// and one asked for), a few in all.
const (
	maxServedSyncs        = 8
	maxServedSyncsPerPeer = 2
)

// maxServedSession bounds one served session, so that an opener that
// keeps opening tiny stages cannot hold a place for ever. An honest
// session of a million messages on a LAN takes well under a minute.
const maxServedSession = 15 * time.Minute

// syncServer serves sync sessions other members open, within limits.
type syncServer struct {
	mu      sync.Mutex
	serving map[PeerID]int // sessions being served, by peer
}

func newSyncServer() *syncServer { return &syncServer{serving: make(map[PeerID]int)} }

// claim reserves a served session for p; release it with the func.
func (ss *syncServer) claim(p PeerID) (func(), bool) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	total := 0
	for _, n := range ss.serving {
		total += n
	}
	if ss.serving[p] >= maxServedSyncsPerPeer || total >= maxServedSyncs {
		return nil, false
	}
	ss.serving[p]++
	return func() {
		ss.mu.Lock()
		if ss.serving[p]--; ss.serving[p] == 0 {
			delete(ss.serving, p)
		}
		ss.mu.Unlock()
	}, true
}

// handle returns the stream handler of SyncProtocol.
func (ss *syncServer) handle(s *Service) StreamHandler {
	return func(p PeerID, st Stream) {
		s.serveInbound(st, "sync session", p, func() error {
			release, ok := ss.claim(p)
			if !ok {
				return errors.New("too many sync sessions")
			}
			defer release()
			ctx, cancel := context.WithTimeout(s.ctx(), maxServedSession)
			defer cancel()
			stop := context.AfterFunc(ctx, func() { _ = st.Reset() })
			defer stop()
			c := newSyncConn(st)
			err := s.serveSync(ctx, p, c)
			s.stats.syncDone(false, c.in, c.out, err)
			return err
		})
	}
}

// serveSync runs the server's side of a session: it answers the summary,
// then fixes each stage's window and reconciles it, until the opener
// stops opening stages.
func (s *Service) serveSync(ctx context.Context, p PeerID, c *syncConn) error {
	first, err := c.recv()
	if err != nil {
		return err
	}
	r, err := s.servedRoom(p, first)
	if err != nil {
		return err
	}
	defer r.served(p)()
	// The summary covers what the opener holds from its floor on; compare
	// it with what this node holds from there, whatever its own floor (two
	// members that keep the same time reckon floors a moment apart). A
	// private room's member reads from where the room lets it.
	theirFloor := HLC(first.Floor)
	if r.priv != nil {
		theirFloor = max(theirFloor, r.priv.state().readsFrom(p))
	}
	held, err := s.cfg.Store.SyncItems(r.conv, theirFloor)
	if err != nil {
		return err
	}
	if equalSummary(first.Summary, fingerprint(held)) {
		return c.sendTurn(&wire.SyncFrame{Equal: true}, nil, nil, nil)
	}
	// The floor of the session is the later of both sides': what either
	// side no longer keeps is not synced.
	var floor *Cursor
	if f := max(theirFloor, r.floor()); f > 0 {
		floor = &Cursor{HLC: f}
	}
	items := window(held, floor, nil)
	var upper *Cursor // the end of the next stage: where the last one began
	for f := first; ; {
		lower, last, err := fixStage(f.Stage, upper, items, floor)
		if err != nil {
			return err
		}
		mine := window(items, lower, upper)
		answer := &wire.SyncStage{Last: last}
		if lower != nil {
			answer.Lower = positionOf(*lower)
		}
		ranges := []*wire.SyncRange{{Payload: &wire.SyncRange_Ids{Ids: &wire.IdList{}}}}
		if len(mine) > 0 {
			ranges = describe(mine, infinity)
		}
		if err := c.sendTurn(&wire.SyncFrame{Stage: answer}, ranges, nil, nil); err != nil {
			return err
		}
		if _, err := s.reconcileStage(ctx, c, r, newReconciler(mine), nil); err != nil {
			return err
		}
		if last {
			return nil
		}
		upper = lower
		// The opener opens the next stage, or ends the session.
		if f, err = c.recv(); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}

// fixStage fixes the window of a stage the opener opened: its lower bound
// is the later of both sides' proposals and the floor (nil: none), and
// the stage is the last when that is the floor. Stages go from the end of
// history back to the floor, each ending where the previous one began, so
// the stage must end at upper (nil for the first stage: the end).
func fixStage(stage *wire.SyncStage, upper *Cursor, items []Cursor, floor *Cursor) (lower *Cursor, last bool, err error) {
	if stage == nil {
		return nil, false, fmt.Errorf("%w: no stage", errSyncProtocol)
	}
	switch {
	case stage.Upper == nil && upper == nil:
	case stage.Upper == nil || upper == nil:
		return nil, false, fmt.Errorf("%w: a stage that does not end where the previous one began", errSyncProtocol)
	default:
		u, err := cursorFrom(stage.Upper)
		if err != nil {
			return nil, false, err
		}
		if u != *upper {
			return nil, false, fmt.Errorf("%w: a stage that does not end where the previous one began", errSyncProtocol)
		}
	}
	var theirs *Cursor
	if stage.Lower != nil {
		l, err := cursorFrom(stage.Lower)
		if err != nil {
			return nil, false, err
		}
		if upper != nil && !cursorLess(l, *upper) {
			return nil, false, fmt.Errorf("%w: a proposal at or above its stage's end", errSyncProtocol)
		}
		theirs = &l
	}
	limit := min(max(int(stage.Limit), 1), maxStageItems)
	lower = laterOf(laterOf(theirs, proposal(items, upper, limit)), floor)
	last = lower == nil || (floor != nil && !cursorLess(*floor, *lower))
	return lower, last, nil
}

// servedRoom finds the room a session opened by p is about: a public room
// by name, a private one by ID, and then only for a member.
func (s *Service) servedRoom(p PeerID, first *wire.SyncFrame) (*room, error) {
	if len(first.RoomId) == 0 {
		r := s.rooms.get(first.Room)
		if r == nil || r.priv != nil {
			return nil, errNotJoined(first.Room)
		}
		return r, nil
	}
	if len(first.RoomId) != len(RoomID{}) {
		return nil, fmt.Errorf("%w: room ID of %d bytes", errSyncProtocol, len(first.RoomId))
	}
	pv := s.rooms.private(RoomID(first.RoomId))
	if pv == nil || pv.isRemoved() {
		return nil, errors.New("not in that room")
	}
	if !pv.state().member(p) {
		return nil, fmt.Errorf("%w: %s", ErrNotMember, p.Short())
	}
	return pv.r, nil
}
