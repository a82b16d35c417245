package api

import (
	"context"
	"net/http"
	"net/url"

	"github.com/parley-chat/parley/internal/hooks"
)

// Deliveries lists an outgoing webhook's deliveries; *hooks.Outgoing
// implements it.
type Deliveries interface {
	// Deliveries is the hook's deliveries, newest first, or an error
	// wrapping hooks.ErrNotFound when name is no outgoing hook.
	Deliveries(name string) ([]hooks.Delivery, error)
}

var _ Deliveries = (*hooks.Outgoing)(nil)

// handleDeliveries is GET /api/v1/webhooks/{name}/deliveries:
// [{"id", "status", "attempts", "last_error", "next_attempt"?}].
func (s *Server) handleDeliveries(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Outgoing == nil {
		writeError(w, http.StatusServiceUnavailable, CodeUnavailable, "this node has no outgoing webhooks")
		return
	}
	dels, err := s.cfg.Outgoing.Deliveries(r.PathValue("name"))
	if err != nil {
		writeErr(w, err)
		return
	}
	if dels == nil {
		dels = []hooks.Delivery{}
	}
	writeJSON(w, http.StatusOK, dels)
}

// Deliveries calls GET /api/v1/webhooks/{name}/deliveries.
func (c *Client) Deliveries(ctx context.Context, name string) ([]hooks.Delivery, error) {
	var out []hooks.Delivery
	return out, c.do(ctx, http.MethodGet, "/api/v1/webhooks/"+url.PathEscape(name)+"/deliveries", nil, &out)
}
