package api

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/internal/notify"
)

// Notifications is the daemon's notification rules and the alerts they
// pass. *notify.Engine implements it.
type Notifications interface {
	Settings() notify.Settings
	Level(conv chat.Conversation) (notify.Level, bool)
	SetLevel(conv chat.Conversation, l notify.Level) error
	SetDND(mode, until string) (notify.DND, error)
	Now() time.Time
	Subscribe() (<-chan notify.Alert, func())
}

var _ Notifications = (*notify.Engine)(nil)

// NotifySettings is GET /api/v1/notify.
type NotifySettings struct {
	Defaults      NotifyDefaults `json:"defaults"`
	Conversations []NotifyLevel  `json:"conversations"` // those with a level of their own
	DND           DND            `json:"dnd"`
	Keywords      []string       `json:"keywords"` // config notify_keywords
	Desktop       bool           `json:"desktop"`  // the daemon reaches a desktop (D-Bus session bus)
}

// NotifyDefaults are the levels of conversations without their own.
type NotifyDefaults struct {
	Direct string `json:"direct"` // "all"
	Room   string `json:"room"`   // "mentions"
}

// NotifyLevel is a conversation's level; it answers
// PUT /api/v1/notify/{conv}.
type NotifyLevel struct {
	Conversation string `json:"conversation"` // "room:<name>" or "dm:<peer ID>"
	Name         string `json:"name"`         // "#room", or the peer's display name
	Level        string `json:"level"`        // "all", "mentions" or "none"
	Default      bool   `json:"default"`      // the level is the default for its kind
}

// NotifyRequest is PUT /api/v1/notify/{conv}.
type NotifyRequest struct {
	Level string `json:"level"` // "all", "mentions", "none", or "default" (take the conversation's own away)
}

// DNDRequest is PUT /api/v1/dnd.
type DNDRequest struct {
	Mode  string `json:"mode"`            // "on", "off" or "until"
	Until string `json:"until,omitempty"` // mode "until": a local time "HH:MM" (the next one to come)
}

// DND is do-not-disturb as GET /api/v1/notify and PUT /api/v1/dnd show it.
type DND struct {
	Mode   string     `json:"mode"`            // "on", "off" or "until"
	Until  *time.Time `json:"until,omitempty"` // mode "until": when it ends (RFC 3339, local time)
	Active bool       `json:"active"`          // it silences notifications now
}

// AlertEvent is the "notify" event of an alert.
func AlertEvent(a notify.Alert, now time.Time) Event {
	return Event{Type: "notify", Time: now.UTC(), Conversation: string(a.Conversation), ID: a.ID.String(), Title: a.Title, Body: a.Body, Mention: a.Mention}
}

func dndOf(d notify.DND, now time.Time) DND {
	out := DND{Mode: string(d.Mode), Active: d.Active(now)}
	if out.Mode == "" {
		out.Mode = string(notify.DNDOff)
	}
	if d.Mode == notify.DNDUntil {
		u := d.Until
		out.Until = &u
	}
	return out
}

// notifications returns the rules, or answers 503 when the daemon has none.
func (s *Server) notifications(w http.ResponseWriter) (Notifications, bool) {
	if s.cfg.Notify == nil {
		writeError(w, http.StatusServiceUnavailable, CodeUnavailable, "this node has no notifications")
		return nil, false
	}
	return s.cfg.Notify, true
}

func (s *Server) handleNotifySettings(w http.ResponseWriter, _ *http.Request) {
	n, ok := s.notifications(w)
	if !ok {
		return
	}
	set := n.Settings()
	out := NotifySettings{
		Defaults:      NotifyDefaults{Direct: string(notify.DefaultDirect), Room: string(notify.DefaultRoom)},
		Conversations: []NotifyLevel{},
		DND:           dndOf(set.DND, n.Now()),
		Keywords:      nonNilStrings(set.Keywords),
		Desktop:       set.Desktop,
	}
	for conv, l := range set.Levels {
		out.Conversations = append(out.Conversations, NotifyLevel{Conversation: string(conv), Name: s.convName(conv), Level: string(l)})
	}
	slices.SortFunc(out.Conversations, func(a, b NotifyLevel) int { return strings.Compare(a.Conversation, b.Conversation) })
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleNotifyLevel(w http.ResponseWriter, r *http.Request) {
	n, ok := s.notifications(w)
	if !ok {
		return
	}
	conv, err := s.notifyConversation(r.PathValue("conv"))
	if err != nil {
		writeErr(w, err)
		return
	}
	var req NotifyRequest
	if !readJSON(w, r, &req) {
		return
	}
	l, err := notify.ParseLevel(req.Level)
	if err != nil {
		writeErr(w, err)
		return
	}
	if err := n.SetLevel(conv, l); err != nil {
		writeErr(w, err)
		return
	}
	l, own := n.Level(conv)
	writeJSON(w, http.StatusOK, NotifyLevel{Conversation: string(conv), Name: s.convName(conv), Level: string(l), Default: !own})
}

func (s *Server) handleDND(w http.ResponseWriter, r *http.Request) {
	n, ok := s.notifications(w)
	if !ok {
		return
	}
	var req DNDRequest
	if !readJSON(w, r, &req) {
		return
	}
	if req.Mode != string(notify.DNDUntil) && req.Until != "" {
		writeErr(w, fmt.Errorf("%w: until goes with mode \"until\"", notify.ErrBadDND))
		return
	}
	d, err := n.SetDND(req.Mode, req.Until)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, dndOf(d, n.Now()))
}

// notifyConversation reads a conversation as a person or a client names
// it: "#room", a peer ID or @nick, or the "room:<name>" and "dm:<peer>"
// forms the API prints.
func (s *Server) notifyConversation(ref string) (chat.Conversation, error) {
	if name, ok := strings.CutPrefix(ref, "room:"); ok {
		ref = "#" + name
	}
	ref = strings.TrimPrefix(ref, "dm:")
	return s.backend.Resolve(ref)
}

// convName is how a person names conv.
func (s *Server) convName(conv chat.Conversation) string {
	if p, ok := conv.Peer(); ok {
		return s.backend.DisplayName(p)
	}
	return conv.Display()
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// NotifySettings calls GET /api/v1/notify.
func (c *Client) NotifySettings(ctx context.Context) (NotifySettings, error) {
	var out NotifySettings
	return out, c.do(ctx, http.MethodGet, "/api/v1/notify", nil, &out)
}

// SetNotify calls PUT /api/v1/notify/{conv}: conv is "#room", a peer ID
// or @nick; level "all", "mentions", "none" or "default".
func (c *Client) SetNotify(ctx context.Context, conv, level string) (NotifyLevel, error) {
	var out NotifyLevel
	return out, c.do(ctx, http.MethodPut, "/api/v1/notify/"+url.PathEscape(conv), NotifyRequest{Level: level}, &out)
}

// SetDND calls PUT /api/v1/dnd: mode "on", "off" or "until" with a local
// time "HH:MM".
func (c *Client) SetDND(ctx context.Context, mode, until string) (DND, error) {
	var out DND
	return out, c.do(ctx, http.MethodPut, "/api/v1/dnd", DNDRequest{Mode: mode, Until: until}, &out)
}
