package tui

import (
	"strings"

	"github.com/parley-chat/parley/crypto"
)

// withOf names a conversation ("room:<name>" or "dm:<peer ID>") as the
// API takes it: "#name" or the peer ID.
func withOf(conv string) string {
	if room, ok := strings.CutPrefix(conv, "room:"); ok {
		return "#" + room
	}
	return strings.TrimPrefix(conv, "dm:")
}

func roomOf(conv string) (string, bool) { return strings.CutPrefix(conv, "room:") }

// nick names a peer: its nickname, else the end of its ID.
func (m *Model) nick(peerID string) string {
	if peerID == m.self.PeerID && m.self.Nick != "" {
		return m.self.Nick
	}
	if p, ok := m.peers[peerID]; ok && p.Nick != "" {
		return p.Nick
	}
	return shortID(peerID)
}

func (m *Model) nickOr(peerID, nick string) string {
	if nick != "" {
		return nick
	}
	return m.nick(peerID)
}

func shortID(id string) string { return crypto.Short(id) }

func (m *Model) convName(conv string) string {
	if room, ok := roomOf(conv); ok {
		return "#" + room
	}
	return "@" + m.nick(strings.TrimPrefix(conv, "dm:"))
}

// resolve finds a peer ID for "@nick" or a peer ID; "" if unknown.
func (m *Model) resolve(ref string) string {
	if nick, ok := strings.CutPrefix(ref, "@"); ok {
		for id, p := range m.peers {
			if strings.EqualFold(p.Nick, nick) {
				return id
			}
		}
		return ""
	}
	return ref
}
