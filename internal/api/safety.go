package api

import (
	"net/http"
	"strings"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/crypto"
)

// messageOf converts a message for the API, its author named as chat
// names them.
func (s *Server) messageOf(m *chat.Message) Message {
	out := MessageOf(m, s.backend.DisplayName(m.Author))
	out.Files = s.filesOf(m)
	return out
}

// safetyOf answers for the peer the path names ({peer}: a peer ID or
// @nick): its safety number with this node, formatted for reading aloud,
// and whether it is verified.
func (s *Server) safetyOf(r *http.Request) (Safety, string, error) {
	p, err := s.backend.ResolvePeer(r.PathValue("peer"))
	if err != nil {
		return Safety{}, "", err
	}
	digits, err := s.backend.SafetyNumber(p)
	if err != nil {
		return Safety{}, "", err
	}
	known, _ := s.backend.Peer(p)
	return Safety{PeerID: p.String(), SafetyNumber: crypto.FormatSafetyNumber(digits), Verified: known.Verified}, digits, nil
}

func (s *Server) handleSafety(w http.ResponseWriter, r *http.Request) {
	safety, _, err := s.safetyOf(r)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, safety)
}

// handleSafetyQR serves the safety number as a QR code (PNG) of its 60
// digits, for the web client to show beside the digits.
func (s *Server) handleSafetyQR(w http.ResponseWriter, r *http.Request) {
	_, digits, err := s.safetyOf(r)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeQR(w, digits)
}

func (s *Server) handleVerify(w http.ResponseWriter, r *http.Request) {
	p, err := s.backend.ResolvePeer(r.PathValue("peer"))
	if err == nil {
		err = s.backend.Verify(p)
	}
	if err != nil {
		writeErr(w, err)
		return
	}
	// Answer for the peer ID, not again for what was typed: a nickname may
	// have changed hands in between.
	r.SetPathValue("peer", p.String())
	safety, _, err := s.safetyOf(r)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, safety)
}

// SafetyDigits returns the digits of a formatted safety number (what a QR
// code of it holds).
func SafetyDigits(formatted string) string { return strings.ReplaceAll(formatted, " ", "") }
