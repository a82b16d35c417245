package chat

import (
	"fmt"
	"slices"
	"sync"
)

// markers moves read markers. A marker only moves forward; moves are
// serialised so two never race past each other.
type markers struct {
	mu sync.Mutex
}

// Unread counts text messages from others after conv's read marker.
func (s *Service) Unread(conv Conversation) (int, error) {
	marker, err := s.cfg.Store.Marker(conv)
	if err != nil {
		return 0, err
	}
	return s.cfg.Store.CountAfter(conv, marker, s.self)
}

// MarkRead moves conv's read marker up to message id (zero: the newest
// message). The marker never moves back. When it moves, the
// conversation's members get this node's read receipt (see receipts.go).
func (s *Service) MarkRead(conv Conversation, id MessageID) error {
	var upTo Cursor
	if id.IsZero() {
		newest, err := s.cfg.Store.Messages(conv, Cursor{}, 1)
		if err != nil {
			return err
		}
		if len(newest) == 0 {
			return nil
		}
		upTo = CursorOf(newest[0])
	} else {
		m, err := s.cfg.Store.Message(id)
		if err != nil {
			return fmt.Errorf("message %s: %w", id, err)
		}
		if m.Conversation != conv {
			return fmt.Errorf("%w: message %s is not in %s", ErrInvalid, id, conv.Display())
		}
		upTo = CursorOf(m)
	}
	s.markers.mu.Lock()
	defer s.markers.mu.Unlock()
	cur, err := s.cfg.Store.Marker(conv)
	if err != nil {
		return err
	}
	if !cursorLess(cur, upTo) {
		return nil
	}
	// A direct receipt is a stored message: sent only when the peer's
	// messages were read, not for reading one's own.
	tell := true
	if _, room := conv.Room(); !room {
		n, err := s.cfg.Store.CountAfter(conv, cur, s.self)
		if err != nil {
			return err
		}
		tell = n > 0
	}
	if err := s.cfg.Store.SetMarker(conv, upTo); err != nil {
		return err
	}
	s.publish(Event{Type: EventRead, Conversation: conv})
	if tell {
		s.sendReceipt(conv, upTo)
	}
	return nil
}

// Less reports whether c sorts before d (conversation order).
func (c Cursor) Less(d Cursor) bool { return cursorLess(c, d) }

func cursorLess(a, b Cursor) bool {
	if a.HLC != b.HLC {
		return a.HLC < b.HLC
	}
	return slices.Compare(a.ID[:], b.ID[:]) < 0
}
