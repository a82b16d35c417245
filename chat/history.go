package chat

import (
	"fmt"
	"strings"
)

// History page sizes.
const (
	DefaultHistoryLimit = 50    // messages in a page unless asked
	MaxHistoryLimit     = 10000 // the most in one page
)

// HistoryQuery selects one page of a conversation's history.
type HistoryQuery struct {
	Before MessageID // the page ends before this message; zero: at the newest
	Limit  int       // how many messages (1 to MaxHistoryLimit); DefaultHistoryLimit if 0
	All    bool      // rooms: also join and leave lines (else text messages only)
}

// History returns a page of conv, oldest first, with live delivery
// states: the newest q.Limit messages before q.Before. Without q.All, join
// and leave lines are left out and do not count: pages are read until
// q.Limit text messages are found or history begins. Edits, deletes and
// reactions are never lines of their own, nor are thread replies not
// also sent to the room (see Thread); each message shows what they say of
// it (see Message's view fields).
func (s *Service) History(conv Conversation, q HistoryQuery) ([]*Message, error) {
	if q.Limit == 0 {
		q.Limit = DefaultHistoryLimit
	}
	if q.Limit < 1 || q.Limit > MaxHistoryLimit {
		return nil, fmt.Errorf("%w: limit %d: want a number from 1 to %d", ErrInvalid, q.Limit, MaxHistoryLimit)
	}
	var before Cursor
	if !q.Before.IsZero() {
		m, err := s.cfg.Store.Message(q.Before)
		if err != nil {
			return nil, fmt.Errorf("message %s: %w", q.Before, err)
		}
		if m.Conversation != conv {
			return nil, fmt.Errorf("%w: message %s is not in %s", ErrInvalid, q.Before, conv.Display())
		}
		before = CursorOf(m)
	}
	var out []*Message
	for len(out) < q.Limit {
		want := q.Limit - len(out)
		ms, err := s.cfg.Store.Lines(conv, before, want)
		if err != nil {
			return nil, err
		}
		page := make([]*Message, 0, len(ms))
		for _, m := range ms {
			if m.IsLine() && (q.All || m.Kind == KindText) {
				page = append(page, m)
			}
		}
		out = append(page, out...)
		if len(ms) < want {
			break // the beginning of history
		}
		before = CursorOf(ms[0])
	}
	if err := s.decorate(out); err != nil {
		return nil, err
	}
	s.dms.overlaySent(conv, out)
	return out, nil
}

// Message returns one message by ID, with its live delivery state.
func (s *Service) Message(id MessageID) (*Message, error) {
	m, err := s.cfg.Store.Message(id)
	if err != nil {
		return nil, err
	}
	if err := s.decorate([]*Message{m}); err != nil {
		return nil, err
	}
	s.dms.overlaySent(m.Conversation, []*Message{m})
	return m, nil
}

// Resolve turns what a person typed into a conversation: "#room" (any
// valid name, joined or not), or a peer ID or @nick for the direct
// conversation with that peer.
func (s *Service) Resolve(ref string) (Conversation, error) {
	if strings.HasPrefix(ref, "#") {
		room, err := ParseRoom(ref)
		if err != nil {
			return "", err
		}
		return RoomConversation(room), nil
	}
	p, err := s.ResolvePeer(ref)
	if err != nil {
		return "", err
	}
	return s.peers.dmConversation(p), nil
}

// ConversationInfo is one entry of a client's sidebar: a joined room, or a
// peer with whom there is a direct conversation (or who is online).
type ConversationInfo struct {
	Conversation Conversation
	Room         string // rooms
	Peer         PeerID // direct conversations
	Nick         string
	Display      string // direct conversations: how to show the peer (Service.DisplayName)
	Online       bool
	Unread       int
}

// Conversations lists the joined rooms (by name) and then the direct
// conversations: every known peer that is online or has history with
// this node (by nickname).
func (s *Service) Conversations() ([]ConversationInfo, error) {
	rooms, err := s.Rooms()
	if err != nil {
		return nil, err
	}
	out := make([]ConversationInfo, 0, len(rooms))
	for _, r := range rooms {
		out = append(out, ConversationInfo{Conversation: RoomConversation(r.Name), Room: r.Name, Online: r.Online > 1, Unread: r.Unread})
	}
	for _, p := range s.Peers() {
		conv := s.peers.dmConversation(p.ID)
		newest, err := s.cfg.Store.Messages(conv, Cursor{}, 1)
		if err != nil {
			return nil, err
		}
		if len(newest) == 0 && !p.Connected {
			continue
		}
		unread, err := s.Unread(conv)
		if err != nil {
			return nil, err
		}
		out = append(out, ConversationInfo{Conversation: conv, Peer: p.ID, Nick: p.Nick, Display: p.Display, Online: p.Connected, Unread: unread})
	}
	return out, nil
}
