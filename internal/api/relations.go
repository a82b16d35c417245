package api

import (
	"net/http"
	"net/url"

	"github.com/parley-chat/parley/chat"
)

// Operations on one message: reply (in its thread or not), edit, delete,
// react, and its thread.

// messageIDOf parses the {id} of a path, answering 400 when it is not one.
func messageIDOf(w http.ResponseWriter, r *http.Request) (chat.MessageID, bool) {
	id, err := chat.ParseMessageID(r.PathValue("id"))
	if err != nil {
		writeError(w, http.StatusBadRequest, CodeBadRequest, err.Error())
		return id, false
	}
	return id, true
}

// writeMessage answers with m, or the error.
func (s *Server) writeMessage(w http.ResponseWriter, status int, m *chat.Message, err error) {
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, status, s.messageOf(m))
}

func (s *Server) handleReply(w http.ResponseWriter, r *http.Request) {
	id, ok := messageIDOf(w, r)
	var req ReplyRequest
	if !ok || !readJSON(w, r, &req) || !s.allowMessage(w, r, id) {
		return
	}
	if req.Command == nil && s.namesCommand(req.Text) || req.Command != nil && *req.Command {
		// A command typed as a reply runs in the message's conversation.
		parent, err := s.backend.Message(id)
		if err != nil {
			writeErr(w, err)
			return
		}
		if s.runCommand(w, r, parent.Conversation, req.Text, req.Command) {
			return
		}
	}
	m, err := s.backend.Reply(r.Context(), id, req.Text, req.Thread, req.AlsoRoom)
	s.writeMessage(w, http.StatusCreated, m, err)
}

func (s *Server) handleEdit(w http.ResponseWriter, r *http.Request) {
	id, ok := messageIDOf(w, r)
	var req EditRequest
	if !ok || !readJSON(w, r, &req) {
		return
	}
	m, err := s.backend.Edit(r.Context(), id, req.Text)
	s.writeMessage(w, http.StatusCreated, m, err)
}

func (s *Server) handleDelete(w http.ResponseWriter, r *http.Request) {
	id, ok := messageIDOf(w, r)
	if !ok {
		return
	}
	m, err := s.backend.Delete(r.Context(), id)
	s.writeMessage(w, http.StatusCreated, m, err)
}

func (s *Server) handleReact(w http.ResponseWriter, r *http.Request) {
	id, ok := messageIDOf(w, r)
	var req ReactRequest
	if !ok || !readJSON(w, r, &req) || !s.allowMessage(w, r, id) {
		return
	}
	m, added, err := s.backend.React(r.Context(), id, req.Emoji)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, ReactResponse{Message: s.messageOf(m), Added: added})
}

func (s *Server) handleThread(w http.ResponseWriter, r *http.Request) {
	id, ok := messageIDOf(w, r)
	if !ok || !s.allowMessage(w, r, id) {
		return
	}
	q := r.URL.Query()
	hq, ok := historyQuery(w, q)
	if !ok {
		return
	}
	s.writeThread(w, id, q, hq)
}

// writeThread answers with a thread: its root, then its replies: all of
// them, or with limit or before in q, the page hq asks for.
func (s *Server) writeThread(w http.ResponseWriter, root chat.MessageID, q url.Values, hq chat.HistoryQuery) {
	var ms []*chat.Message
	var err error
	if q.Has("limit") || q.Has("before") {
		ms, err = s.backend.ThreadPage(root, hq)
	} else {
		ms, err = s.backend.Thread(root)
	}
	if err != nil {
		writeErr(w, err)
		return
	}
	out := make([]Message, len(ms))
	for i, m := range ms {
		out[i] = s.messageOf(m)
	}
	writeJSON(w, http.StatusOK, out)
}
