package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/internal/hooks"
)

// Commands runs the slash commands a client's text names, for every
// client at once: POST /messages (and a reply) whose text is "/NAME
// args", NAME a registered command, runs it instead of sending the text.
// *hooks.CommandRunner implements it.
type Commands interface {
	// Lookup returns the registered command a text names.
	Lookup(line string) (hooks.Command, bool)
	// Run runs it in conv (ok false: the text names no command).
	Run(ctx context.Context, conv chat.Conversation, line string) (res hooks.CommandResult, ok bool, err error)
	// Subscribe streams the ephemeral answers (this node's user only).
	Subscribe() (<-chan hooks.EphemeralAnswer, func())
}

var _ Commands = (*hooks.CommandRunner)(nil)

// CommandAnswer answers POST /api/v1/messages (200) when the text ran a
// slash command: what it answered, as shown.
type CommandAnswer struct {
	Command      string `json:"command"`       // "/deploy"
	ResponseType string `json:"response_type"` // "ephemeral" (to this node's user only) or "in_channel" (posted)
	// Text is the answer as plain text, links kept ("label (url)"); ""
	// when the command answered nothing (yet: it may answer through its
	// response_url).
	Text    string          `json:"text"`
	Rich    json.RawMessage `json:"rich,omitempty"`     // the answer as a sanitised Slack payload
	AppIcon string          `json:"app_icon,omitempty"` // its icon_emoji or icon_url
	// Message is the message an in_channel answer posted.
	Message *Message `json:"message,omitempty"`
}

// SendResult is what POST /api/v1/messages came to: a message sent, or
// a slash command run (Client.Submit).
type SendResult struct {
	Message *Message
	Command *CommandAnswer
}

func (s *Server) commandAnswerOf(res hooks.CommandResult) CommandAnswer {
	out := CommandAnswer{Command: res.Command, ResponseType: res.Type, Text: res.Text, AppIcon: res.Icon}
	if len(res.Rich) > 0 && json.Valid(res.Rich) {
		out.Rich = json.RawMessage(res.Rich)
	}
	if res.Message != nil {
		m := s.messageOf(res.Message)
		out.Message = &m
	}
	return out
}

// EphemeralEvent is the "ephemeral" event of an answer shown to this
// node's user only.
func EphemeralEvent(e hooks.EphemeralAnswer) Event {
	out := Event{Type: "ephemeral", Time: e.Time.UTC(), Conversation: string(e.Conversation), Command: e.Command, Text: e.Text, AppIcon: e.Icon}
	if len(e.Rich) > 0 && json.Valid(e.Rich) {
		out.Rich = json.RawMessage(e.Rich)
	}
	return out
}

// runCommand runs text in conv when it names a registered slash command
// and answers the request; it reports whether it did. must (the
// request's "command") says what the text is meant to be: nil, a command
// when one is registered by that name, else a message; true, a command
// (404 when none is registered by that name); false, a message.
func (s *Server) runCommand(w http.ResponseWriter, r *http.Request, conv chat.Conversation, text string, must *bool) bool {
	if must != nil && !*must {
		return false
	}
	required := must != nil
	name, _, parsed := hooks.ParseCommandLine(text)
	if !s.namesCommand(text) {
		switch {
		case !required:
			return false
		case !parsed:
			writeError(w, http.StatusBadRequest, CodeBadRequest, fmt.Sprintf("%q is no slash command: want /NAME args", text))
		default:
			writeError(w, http.StatusNotFound, CodeNotFound, "unknown command /"+name+": 'parley command list' shows the registered ones")
		}
		return true
	}
	if room, ok := conv.Room(); ok {
		rooms, err := s.backend.Rooms()
		if err != nil {
			writeErr(w, err)
			return true
		}
		if !slices.ContainsFunc(rooms, func(ri chat.RoomInfo) bool { return ri.Name == room && !ri.Removed }) {
			writeErr(w, fmt.Errorf("%w: #%s: join it first", chat.ErrNotJoined, room))
			return true
		}
	}
	res, ok, err := s.cfg.Commands.Run(r.Context(), conv, text)
	switch {
	case !ok:
		// Deleted since the lookup: as if it never was.
		writeError(w, http.StatusNotFound, CodeNotFound, "unknown command /"+name+": 'parley command list' shows the registered ones")
	case err != nil:
		writeErr(w, err)
	default:
		writeJSON(w, http.StatusOK, s.commandAnswerOf(res))
	}
	return true
}

// namesCommand reports whether text names a registered slash command.
func (s *Server) namesCommand(text string) bool {
	if s.cfg.Commands == nil {
		return false
	}
	_, ok := s.cfg.Commands.Lookup(text)
	return ok
}

// ephemerals streams the ephemeral answers, or nothing on a node without
// slash commands.
func (s *Server) ephemerals() (<-chan hooks.EphemeralAnswer, func()) {
	if s.cfg.Commands == nil {
		return nil, func() {}
	}
	return s.cfg.Commands.Subscribe()
}
