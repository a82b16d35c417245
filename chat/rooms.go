package chat

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/parley-chat/parley/internal/wire"
)

// RoomTopicPrefix starts the GossipSub topic of every public room:
// "/parley/room/1/<name>". It is also the DHT rendezvous namespace.
const RoomTopicPrefix = "/parley/room/1/"

// RoomTopic is the pubsub topic of room name.
func RoomTopic(name string) string { return RoomTopicPrefix + name }

// MaxRoomMessage caps a room message's envelope.
const MaxRoomMessage = 60 << 10

// ParseRoom turns "#name" (or "name") into a validated room name.
func ParseRoom(ref string) (string, error) {
	name := strings.TrimPrefix(ref, "#")
	if err := ValidateRoomName(name); err != nil {
		return "", err
	}
	return name, nil
}

// roomSet is the joined rooms. Joins and leaves are serialised by joinMu;
// the map is guarded by mu.
type roomSet struct {
	s *Service

	joinMu sync.Mutex

	mu      sync.Mutex
	rooms   map[string]*room
	joining map[RoomID]int // private rooms being joined by invite
}

func newRoomSet(s *Service) *roomSet {
	return &roomSet{s: s, rooms: make(map[string]*room), joining: make(map[RoomID]int)}
}

// private returns the joined private room with ID id.
func (rs *roomSet) private(id RoomID) *private {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	for _, r := range rs.rooms {
		if r.priv != nil && r.priv.id == id {
			return r.priv
		}
	}
	return nil
}

// isJoining reports whether a private room is being joined.
func (rs *roomSet) isJoining(id RoomID) bool {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return rs.joining[id] > 0
}

// startJoining marks a private room as being joined; the func unmarks it.
func (rs *roomSet) startJoining(id RoomID) func() {
	rs.mu.Lock()
	rs.joining[id]++
	rs.mu.Unlock()
	return func() {
		rs.mu.Lock()
		if rs.joining[id]--; rs.joining[id] == 0 {
			delete(rs.joining, id)
		}
		rs.mu.Unlock()
	}
}

// markRemoved records that this node is no longer a member of private
// room r: the room stops (its history stays readable) and says so.
func (rs *roomSet) markRemoved(r *room) {
	s := rs.s
	s.goTracked(func() {
		rs.joinMu.Lock()
		defer rs.joinMu.Unlock()
		if rs.get(r.name) != r {
			return // left meanwhile
		}
		r.close()
		info := r.info()
		if info.Private != nil {
			p := *info.Private
			p.Removed = true
			info.Private = &p
		}
		if err := s.cfg.Store.PutRoom(info); err != nil {
			s.log.Warn("could not record the removal from a room", "room", r.name, "err", err)
		}
		r.setInfo(info)
		s.log.Info("removed from a private room", "room", r.name)
		s.publish(Event{Type: EventRoom, Room: r.name, Joined: false})
	})
}

func (rs *roomSet) get(name string) *room {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return rs.rooms[name]
}

func (rs *roomSet) all() []*room {
	rs.mu.Lock()
	out := make([]*room, 0, len(rs.rooms))
	for _, r := range rs.rooms {
		out = append(out, r)
	}
	rs.mu.Unlock()
	slices.SortFunc(out, func(a, b *room) int { return strings.Compare(a.name, b.name) })
	return out
}

func (rs *roomSet) put(r *room) {
	rs.mu.Lock()
	rs.rooms[r.name] = r
	rs.mu.Unlock()
}

func (rs *roomSet) pubsub() (PubSub, error) {
	if rs.s.cfg.PubSub == nil {
		return nil, errors.New("rooms are not available on this node")
	}
	return rs.s.cfg.PubSub, nil
}

// start opens the rooms joined before this start (a JoinRoom may have
// opened one already) and joins the auto-join rooms on the very first
// start.
func (rs *roomSet) start() error {
	s := rs.s
	if s.cfg.PubSub == nil {
		return nil
	}
	rs.joinMu.Lock()
	joined, err := s.cfg.Store.Rooms()
	if err == nil {
		for _, jr := range joined {
			if rs.get(jr.Name) != nil {
				continue
			}
			var r *room
			if r, err = rs.open(jr); err != nil {
				break
			}
			rs.put(r)
		}
	}
	rs.joinMu.Unlock()
	if err != nil {
		return err
	}
	done, err := s.cfg.Store.Flag("auto-joined")
	if err != nil || done {
		return err
	}
	for _, name := range s.cfg.AutoJoin {
		if _, err := s.JoinRoom(s.ctx(), name); err != nil {
			return fmt.Errorf("join #%s: %w", name, err)
		}
	}
	return s.cfg.Store.SetFlag("auto-joined")
}

// stop closes every room (they stay joined).
func (rs *roomSet) stop() {
	for _, r := range rs.all() {
		r.close()
	}
}

// ---- the Service's room API ----

// JoinRoom joins a room: subscribes, remembers it across restarts, and
// posts a join line. It reports false if the room was already joined.
func (s *Service) JoinRoom(ctx context.Context, name string) (bool, error) {
	if err := ValidateRoomName(name); err != nil {
		return false, err
	}
	rs := s.rooms
	rs.joinMu.Lock()
	defer rs.joinMu.Unlock()
	if rs.get(name) != nil {
		return false, nil
	}
	info := Room{Name: name, JoinedAt: s.cfg.Now()}
	r, err := rs.open(info)
	if err != nil {
		return false, err
	}
	if err := s.cfg.Store.PutRoom(info); err != nil {
		r.close()
		return false, fmt.Errorf("remember room: %w", err)
	}
	rs.put(r)
	if _, err := r.post(ctx, KindJoin, "", nil); err != nil {
		s.log.Warn("could not post the join line", "room", name, "err", err)
	}
	s.publish(Event{Type: EventRoom, Room: name, Joined: true})
	return true, nil
}

// leaveWait bounds how long leaving waits for the leave line to go out.
const leaveWait = 5 * time.Second

// LeaveRoom posts a leave line, unsubscribes and forgets the room (its
// history stays). It reports false if the room was not joined.
func (s *Service) LeaveRoom(ctx context.Context, name string) (bool, error) {
	if err := ValidateRoomName(name); err != nil {
		return false, err
	}
	rs := s.rooms
	rs.joinMu.Lock()
	defer rs.joinMu.Unlock()
	r := rs.get(name)
	if r == nil {
		return false, nil
	}
	published := make(chan struct{})
	var err error
	done := func(*Message, error) { close(published) }
	if r.priv != nil {
		_, err = r.priv.postOp(ctx, &wire.RoomOp{Type: wire.RoomOp_TYPE_LEAVE}, done)
	} else {
		_, err = r.post(ctx, KindLeave, "", done)
	}
	if err == nil {
		t := time.NewTimer(leaveWait)
		select {
		case <-published:
		case <-t.C:
		case <-ctx.Done():
		}
		t.Stop()
	}
	rs.mu.Lock()
	delete(rs.rooms, name)
	rs.mu.Unlock()
	r.close()
	if err := s.cfg.Store.DeleteRoom(name); err != nil {
		return true, fmt.Errorf("forget room: %w", err)
	}
	s.publish(Event{Type: EventRoom, Room: name, Joined: false})
	return true, nil
}

// joined returns a joined room or ErrNotJoined.
func (s *Service) joined(name string) (*room, error) {
	r := s.rooms.get(name)
	if r == nil {
		return nil, fmt.Errorf("%w (join it first)", errNotJoined(name))
	}
	return r, nil
}

// SendRoom posts a text message to a joined room and returns it once it
// is stored; it is published in the background. A sender that outruns
// the room waits here (until ctx ends) for the room's queue to drain.
func (s *Service) SendRoom(ctx context.Context, name, body string) (*Message, error) {
	if strings.TrimSpace(body) == "" {
		return nil, ErrEmptyMessage
	}
	r, err := s.joined(name)
	if err != nil {
		return nil, err
	}
	return r.post(ctx, KindText, body, nil)
}

// typingThrottle is how often a typing notice is sent at most, and
// TypingTimeout how long a received one lasts.
const (
	typingThrottle = 3 * time.Second
	TypingTimeout  = 6 * time.Second
)

// Typing tells a room this node is typing (at most every few seconds).
func (s *Service) Typing(ctx context.Context, name string) error {
	r, err := s.joined(name)
	if err != nil {
		return err
	}
	r.mu.Lock()
	if time.Since(r.lastTyping) < typingThrottle {
		r.mu.Unlock()
		return nil
	}
	r.lastTyping = time.Now()
	r.mu.Unlock()
	_, err = r.post(ctx, KindTyping, "", nil)
	return err
}

// RoomInfo is a joined room as listed.
type RoomInfo struct {
	Name      string
	JoinedAt  time.Time
	Members   int           // members known to be in the room, this node included
	Online    int           // members online now, this node included
	Unread    int           // text messages from others after the read marker
	Retention time.Duration // how long its history is kept (its own setting, else the node's); 0: forever
	Private   bool
	Role      Role // this node's role: RoleMember in a public room; empty once removed from a private one
	Removed   bool // private rooms: this node is no longer a member
}

// Rooms lists the joined rooms by name.
func (s *Service) Rooms() ([]RoomInfo, error) {
	rooms := s.rooms.all()
	out := make([]RoomInfo, 0, len(rooms))
	for _, r := range rooms {
		members, err := s.RoomMembers(r.name)
		if err != nil {
			return nil, err
		}
		info := RoomInfo{Name: r.name, JoinedAt: r.info().JoinedAt, Members: len(members), Retention: r.retention(), Role: RoleMember}
		if r.priv != nil {
			info.Private = true
			info.Removed = r.priv.isRemoved()
			info.Role = r.priv.state().roleOf(s.self)
		}
		for _, m := range members {
			if m.Online {
				info.Online++
			}
		}
		if info.Unread, err = s.Unread(r.conv); err != nil {
			return nil, err
		}
		out = append(out, info)
	}
	return out, nil
}

// SetRoomRetention sets how long a joined room's history is kept on this
// node: 0 for the node's default, RetentionForever for no limit. History
// older than that is deleted soon after and no longer synced.
func (s *Service) SetRoomRetention(name string, keep time.Duration) error {
	if keep < 0 && keep != RetentionForever {
		return fmt.Errorf("%w: retention %v is negative", ErrInvalid, keep)
	}
	rs := s.rooms
	rs.joinMu.Lock()
	defer rs.joinMu.Unlock()
	r, err := s.joined(name)
	if err != nil {
		return err
	}
	info := r.info()
	info.Retention = keep
	if err := s.cfg.Store.PutRoom(info); err != nil {
		return fmt.Errorf("remember room: %w", err)
	}
	r.setInfo(info)
	poke(r.prune)
	return nil
}
