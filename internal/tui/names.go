package tui

import (
	"fmt"
	"sort"
	"strings"

	"github.com/parley-chat/parley/crypto"
	"github.com/parley-chat/parley/internal/api"
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

// nick names a peer as the node does (its display name: the nickname,
// "nick (SHORTID)" while another peer shares it, ✓ after a verified
// peer), else by the end of its ID; this node by its nickname.
func (m *Model) nick(peerID string) string {
	if peerID == m.self.PeerID && m.self.Nick != "" {
		return m.self.Nick
	}
	if p, ok := m.peers[peerID]; ok {
		return m.nameOf(p)
	}
	return shortID(peerID)
}

// nameOf names a peer as the node described it.
func (m *Model) nameOf(p api.Peer) string {
	switch {
	case p.PeerID == m.self.PeerID && m.self.Nick != "":
		return m.self.Nick
	case p.Display != "":
		return p.Display
	case p.Nick != "":
		return p.Nick
	}
	return shortID(p.PeerID)
}

// author names a message's author: an app by its name with the app
// mark; a peer as known now (a ✓ given later shows on old messages too),
// else as the message came.
func (m *Model) author(msg api.Message) string {
	if msg.App != "" {
		return appName(msg.App) + " " + appMark
	}
	if _, known := m.peers[msg.From]; known || msg.From == m.self.PeerID || msg.FromDisplay == "" {
		return m.nick(msg.From)
	}
	return msg.FromDisplay
}

func shortID(id string) string { return crypto.Short(id) }

func (m *Model) convName(conv string) string {
	if room, ok := roomOf(conv); ok {
		return "#" + room
	}
	return "@" + m.nick(strings.TrimPrefix(conv, "dm:"))
}

// resolve finds a peer ID for "@nick" (refusing a nickname several peers
// share, naming them) or a peer ID.
func (m *Model) resolve(ref string) (string, error) {
	nick, ok := strings.CutPrefix(ref, "@")
	if !ok {
		return ref, nil
	}
	var found []string
	id := ""
	for pid, p := range m.peers {
		if strings.EqualFold(p.Nick, nick) {
			id = pid
			found = append(found, m.nameOf(p))
		}
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("unknown peer %s", ref)
	case 1:
		return id, nil
	}
	sort.Strings(found)
	return "", fmt.Errorf("ambiguous peer %s: %s share that nickname; use /msg with a peer ID", ref, strings.Join(found, ", "))
}
