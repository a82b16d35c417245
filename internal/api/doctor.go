package api

import (
	"context"
	"net/http"
)

// Diagnosis is GET /api/v1/doctor: what only the daemon knows of its own
// health, for parley doctor. Peers (with last_error and clock_skew_ms)
// come from GET /peers.
type Diagnosis struct {
	PeerID string `json:"peer_id"`
	// Listen is every address the node was asked to listen on, with the
	// addresses bound for it (none: that listen failed).
	Listen []ListenState `json:"listen"`
	// ListenDefault: no listen address was configured, so the node asked
	// for port 7714, or for any free port when 7714 was taken.
	ListenDefault bool        `json:"listen_default"`
	MDNS          bool        `json:"mdns"`
	Store         StoreHealth `json:"store"`
	// HooksListen is the address of the webhook listener ("" when off).
	HooksListen string `json:"hooks_listen,omitempty"`
}

// ListenState is one configured listen address and what was bound for it.
type ListenState struct {
	Addr    string   `json:"addr"`    // the multiaddr asked for
	Network string   `json:"network"` // "tcp" or "udp"
	Host    string   `json:"host"`    // its IP address
	Port    int      `json:"port"`    // 0: any free port
	Bound   []string `json:"bound"`   // the multiaddrs bound for it
}

// StoreHealth is what the daemon found reading its store.
type StoreHealth struct {
	OK        bool   `json:"ok"`
	Error     string `json:"error,omitempty"`
	LSMBytes  int64  `json:"lsm_bytes"`
	VLogBytes int64  `json:"vlog_bytes"`
	Read      int    `json:"read"` // records read back whole
}

func (s *Server) handleDoctor(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Diagnose == nil {
		writeError(w, http.StatusServiceUnavailable, CodeUnavailable, "this node does not report its health")
		return
	}
	d := s.cfg.Diagnose(r.Context())
	if d.Listen == nil {
		d.Listen = []ListenState{}
	}
	writeJSON(w, http.StatusOK, d)
}

// Diagnosis calls GET /api/v1/doctor.
func (c *Client) Diagnosis(ctx context.Context) (Diagnosis, error) {
	var out Diagnosis
	return out, c.do(ctx, http.MethodGet, "/api/v1/doctor", nil, &out)
}
