package api

import (
	"context"
	"net/http"
	"time"
)

// connectTimeout bounds POST /connect.
const connectTimeout = 30 * time.Second

func (s *Server) handleID(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, IdentityOf(s.backend.Info(), s.cfg.Version))
}

func (s *Server) handlePeers(w http.ResponseWriter, r *http.Request) {
	peers := s.backend.Peers()
	seen := s.peersSeenBy(r)
	out := make([]Peer, 0, len(peers))
	for _, p := range peers {
		if seen == nil || seen[p.ID] {
			out = append(out, PeerOf(p))
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleConnect(w http.ResponseWriter, r *http.Request) {
	var req ConnectRequest
	if !readJSON(w, r, &req) {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), connectTimeout)
	defer cancel()
	p, err := s.backend.Connect(ctx, req.Addr)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, ConnectResponse{PeerID: p.String()})
}

func (s *Server) handleNick(w http.ResponseWriter, r *http.Request) {
	var req NickRequest
	if !readJSON(w, r, &req) {
		return
	}
	if err := s.backend.SetNick(req.Nick); err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"nick": req.Nick})
}
