package api

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/internal/hooks"
)

// Webhooks is the node's webhooks and slash commands. *hooks.Manager
// implements it.
type Webhooks interface {
	CreateHook(h hooks.Hook) (hooks.Hook, error)
	DeleteHook(name string) error
	Hooks() []hooks.Hook
	CreateCommand(c hooks.Command) (hooks.Command, error)
	DeleteCommand(name string) error
	Commands() []hooks.Command
	HookURL(h hooks.Hook) string
	Listening() bool
}

var _ Webhooks = (*hooks.Manager)(nil)

// WebhookRequest is POST /api/v1/webhooks.
type WebhookRequest struct {
	Conversation string   `json:"conversation"`       // "#room" (joined), or a peer ID or @nick
	Name         string   `json:"name"`               // unique on this node; the app name its messages show
	Kind         string   `json:"kind,omitempty"`     // "slack" (default), "github", "gitlab", "jira" or "outgoing"
	Secret       string   `json:"secret,omitempty"`   // github, gitlab, jira: the secret the tool signs with (made if empty)
	URL          string   `json:"url,omitempty"`      // outgoing: where matching messages are POSTed
	Triggers     []string `json:"triggers,omitempty"` // outgoing: words that make a message match (none: every message)
}

// Webhook is one webhook as the API shows it.
type Webhook struct {
	Name         string    `json:"name"`
	URL          string    `json:"url"` // incoming: the full URL to POST to ("" while hooks_listen is off); outgoing: where it POSTs
	Conversation string    `json:"conversation"`
	Kind         string    `json:"kind"`
	Secret       string    `json:"secret,omitempty"` // outgoing: the whsec_ signing secret; github, gitlab, jira: the verification secret
	Triggers     []string  `json:"triggers,omitempty"`
	Created      time.Time `json:"created"`
}

// CommandRequest is POST /api/v1/commands.
type CommandRequest struct {
	Name  string `json:"name"`            // "/deploy"
	URL   string `json:"url"`             // where the command's fields are POSTed
	Token string `json:"token,omitempty"` // sent as Slack's verification token (made if empty)
}

// Command is one slash command as the API shows it.
type Command struct {
	Name    string    `json:"name"`
	URL     string    `json:"url"`
	Token   string    `json:"token"`
	Created time.Time `json:"created"`
}

func (s *Server) webhooks(w http.ResponseWriter) (Webhooks, bool) {
	if s.cfg.Hooks == nil {
		writeError(w, http.StatusServiceUnavailable, CodeUnavailable, "this node has no webhooks")
		return nil, false
	}
	return s.cfg.Hooks, true
}

func (s *Server) webhookOf(wh Webhooks, h hooks.Hook) Webhook {
	return Webhook{Name: h.Name, URL: wh.HookURL(h), Conversation: h.Conversation, Kind: h.Kind, Secret: h.Secret, Triggers: h.Triggers, Created: h.Created}
}

func (s *Server) handleWebhooks(w http.ResponseWriter, _ *http.Request) {
	wh, ok := s.webhooks(w)
	if !ok {
		return
	}
	out := []Webhook{}
	for _, h := range wh.Hooks() {
		out = append(out, s.webhookOf(wh, h))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleCreateWebhook(w http.ResponseWriter, r *http.Request) {
	wh, ok := s.webhooks(w)
	if !ok {
		return
	}
	var req WebhookRequest
	if !readJSON(w, r, &req) {
		return
	}
	conv, err := s.backend.Resolve(req.Conversation)
	if err != nil {
		writeErr(w, fmt.Errorf("%w: conversation %q: %v", ErrBadRequest, req.Conversation, err))
		return
	}
	if room, isRoom := conv.Room(); isRoom {
		rooms, err := s.backend.Rooms()
		if err != nil {
			writeErr(w, err)
			return
		}
		if !slices.ContainsFunc(rooms, func(ri chat.RoomInfo) bool { return ri.Name == room }) {
			writeErr(w, fmt.Errorf("%w: not in room #%s: join it first", ErrBadRequest, room))
			return
		}
	}
	h, err := wh.CreateHook(hooks.Hook{Name: req.Name, Conversation: string(conv), Kind: req.Kind, Secret: req.Secret, URL: req.URL, Triggers: req.Triggers})
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, s.webhookOf(wh, h))
}

func (s *Server) handleDeleteWebhook(w http.ResponseWriter, r *http.Request) {
	wh, ok := s.webhooks(w)
	if !ok {
		return
	}
	if err := wh.DeleteHook(r.PathValue("name")); err != nil {
		writeErr(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func commandOf(c hooks.Command) Command {
	return Command{Name: c.Name, URL: c.URL, Token: c.Token, Created: c.Created}
}

func (s *Server) handleCommands(w http.ResponseWriter, _ *http.Request) {
	wh, ok := s.webhooks(w)
	if !ok {
		return
	}
	out := []Command{}
	for _, c := range wh.Commands() {
		out = append(out, commandOf(c))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleCreateCommand(w http.ResponseWriter, r *http.Request) {
	wh, ok := s.webhooks(w)
	if !ok {
		return
	}
	var req CommandRequest
	if !readJSON(w, r, &req) {
		return
	}
	c, err := wh.CreateCommand(hooks.Command{Name: req.Name, URL: req.URL, Token: req.Token})
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, commandOf(c))
}

func (s *Server) handleDeleteCommand(w http.ResponseWriter, r *http.Request) {
	wh, ok := s.webhooks(w)
	if !ok {
		return
	}
	if err := wh.DeleteCommand(r.PathValue("name")); err != nil {
		writeErr(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// hookError maps the registry's errors, for writeErr.
func hookError(w http.ResponseWriter, err error) bool {
	switch {
	case errors.Is(err, hooks.ErrExists):
		writeError(w, http.StatusConflict, CodeConflict, err.Error())
	case errors.Is(err, hooks.ErrInvalid):
		writeError(w, http.StatusBadRequest, CodeBadRequest, strings.TrimPrefix(err.Error(), hooks.ErrInvalid.Error()+": "))
	case errors.Is(err, hooks.ErrNotFound):
		writeError(w, http.StatusNotFound, CodeNotFound, err.Error())
	case errors.Is(err, hooks.ErrCommandFailed):
		writeError(w, http.StatusBadGateway, CodeCommandFailed, err.Error())
	default:
		return false
	}
	return true
}
