package chat

import (
	"slices"
	"strings"
	"time"
)

// RoomMember is one member of a room as shown.
type RoomMember struct {
	Peer     PeerID
	Nick     string
	Display  string // how to show them (Service.DisplayName)
	Verified bool
	Online   bool
	LastSeen time.Time // zero if never seen
	Role     Role
}

// RoomMembers lists who is in a room: this node, every peer subscribed to
// the room now, and every author whose latest join or leave line is a
// join; online ones first, then by nickname.
func (s *Service) RoomMembers(name string) ([]RoomMember, error) {
	r := s.rooms.get(name)
	if r == nil {
		return nil, errNotJoined(name)
	}
	if r.priv != nil {
		return s.privateMembers(r), nil
	}
	now := s.cfg.Now()
	byPeer := map[PeerID]*RoomMember{s.self: {Peer: s.self, Online: true, LastSeen: now}}
	for _, p := range r.topicPeers() {
		byPeer[p] = &RoomMember{Peer: p, Online: true, LastSeen: now}
	}
	stored, err := s.cfg.Store.Members(name)
	if err != nil {
		return nil, err
	}
	for _, m := range stored {
		rm, ok := byPeer[m.Peer]
		if !ok {
			if !m.Joined {
				continue
			}
			rm = &RoomMember{Peer: m.Peer}
			byPeer[m.Peer] = rm
		}
		if t := m.LastHLC.Time(); t.After(rm.LastSeen) {
			rm.LastSeen = t
		}
	}
	return s.sortMembers(byPeer, RoleMember), nil
}

// privateMembers lists a private room's members as its ops say, with
// their roles; online if on the topic now.
func (s *Service) privateMembers(r *room) []RoomMember {
	st := r.priv.state()
	online := map[PeerID]bool{s.self: true}
	for _, p := range r.topicPeers() {
		online[p] = true
	}
	now := s.cfg.Now()
	byPeer := make(map[PeerID]*RoomMember, len(st.members))
	for p, mi := range st.members {
		rm := &RoomMember{Peer: p, Online: online[p], Role: mi.role}
		if rm.Online {
			rm.LastSeen = now
		}
		byPeer[p] = rm
	}
	return s.sortMembers(byPeer, "")
}

// sortMembers fills in nicknames (and role, if unset) and sorts: online
// first, then by nickname.
func (s *Service) sortMembers(byPeer map[PeerID]*RoomMember, role Role) []RoomMember {
	out := make([]RoomMember, 0, len(byPeer))
	for _, rm := range byPeer {
		if rm.Role == "" {
			rm.Role = role
		}
		rm.Nick = s.peers.nickOf(rm.Peer)
		rm.Display = s.DisplayName(rm.Peer)
		if p, ok := s.Peer(rm.Peer); ok {
			rm.Verified = p.Verified
			if p.LastSeen.After(rm.LastSeen) && !rm.Online {
				rm.LastSeen = p.LastSeen
			}
		}
		out = append(out, *rm)
	}
	slices.SortFunc(out, func(a, b RoomMember) int {
		if a.Online != b.Online {
			if a.Online {
				return -1
			}
			return 1
		}
		if c := strings.Compare(strings.ToLower(a.Nick), strings.ToLower(b.Nick)); c != 0 {
			return c
		}
		return strings.Compare(string(a.Peer), string(b.Peer))
	})
	return out
}
