package hooks

// Manager is what the local API manages: the registry, and the URL each
// incoming hook is reached at (none while the hooks listener is off).
type Manager struct {
	*Registry
	srv *Server // nil: hooks_listen is off
}

// NewManager manages reg; srv is the hooks server, or nil when the
// listener is off.
func NewManager(reg *Registry, srv *Server) *Manager { return &Manager{Registry: reg, srv: srv} }

// HookURL is the URL to POST to for an incoming hook ("" while the hooks
// listener is off), and for an outgoing hook the URL it POSTs to.
func (m *Manager) HookURL(h Hook) string {
	switch {
	case !h.Incoming():
		return h.URL
	case m.srv == nil:
		return ""
	}
	return m.srv.URL(h)
}

// Listening reports whether the hooks listener is on.
func (m *Manager) Listening() bool { return m.srv != nil }
