package api

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/parley-chat/parley/chat"
)

// History page sizes (see chat.HistoryQuery).
const (
	DefaultHistoryLimit = chat.DefaultHistoryLimit
	MaxHistoryLimit     = chat.MaxHistoryLimit
)

func (s *Server) handleSend(w http.ResponseWriter, r *http.Request) {
	var req SendRequest
	if !readJSON(w, r, &req) {
		return
	}
	conv, err := s.backend.Resolve(req.To)
	if err != nil {
		writeErr(w, err)
		return
	}
	if !allowConv(w, r, conv) || s.runCommand(w, r, conv, req.Text, req.Command) {
		return
	}
	var m *chat.Message
	if room, ok := conv.Room(); ok {
		m, err = s.backend.SendRoom(r.Context(), room, req.Text)
	} else {
		p, _ := conv.Peer()
		m, err = s.backend.SendDM(r.Context(), p, req.Text)
	}
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, s.messageOf(m))
}

func (s *Server) handleMessage(w http.ResponseWriter, r *http.Request) {
	id, err := chat.ParseMessageID(r.PathValue("id"))
	if err != nil {
		writeError(w, http.StatusBadRequest, CodeBadRequest, err.Error())
		return
	}
	m, err := s.backend.Message(id)
	if err != nil {
		writeErr(w, err)
		return
	}
	if !allowConv(w, r, m.Conversation) {
		return
	}
	writeJSON(w, http.StatusOK, s.messageOf(m))
}

func (s *Server) handleHistory(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	with := q.Get("with")
	if with == "" {
		writeError(w, http.StatusBadRequest, CodeBadRequest, "missing ?with=<#room, peer ID or @nick>")
		return
	}
	hq, ok := historyQuery(w, q)
	if !ok {
		return
	}
	if v := q.Get("thread"); v != "" {
		root, err := chat.ParseMessageID(v)
		if err != nil {
			writeError(w, http.StatusBadRequest, CodeBadRequest, err.Error())
			return
		}
		if !s.allowMessage(w, r, root) {
			return
		}
		s.writeThread(w, root, q, hq)
		return
	}
	conv, err := s.backend.Resolve(with)
	if err != nil {
		writeErr(w, err)
		return
	}
	if !allowConv(w, r, conv) {
		return
	}
	ms, err := s.backend.History(conv, hq)
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

// historyQuery reads a page's limit, before and all from q.
func historyQuery(w http.ResponseWriter, q url.Values) (chat.HistoryQuery, bool) {
	hq := chat.HistoryQuery{All: q.Get("all") == "true" || q.Get("all") == "1"}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxHistoryLimit {
			writeError(w, http.StatusBadRequest, CodeBadRequest, fmt.Sprintf("limit %q: want a number from 1 to %d", v, MaxHistoryLimit))
			return hq, false
		}
		hq.Limit = n
	}
	if v := q.Get("before"); v != "" {
		id, err := chat.ParseMessageID(v)
		if err != nil {
			writeError(w, http.StatusBadRequest, CodeBadRequest, err.Error())
			return hq, false
		}
		hq.Before = id
	}
	return hq, true
}

func (s *Server) handleRead(w http.ResponseWriter, r *http.Request) {
	var req ReadRequest
	if !readJSON(w, r, &req) {
		return
	}
	conv, err := s.backend.Resolve(req.With)
	if err != nil {
		writeErr(w, err)
		return
	}
	var upTo chat.MessageID
	if req.ID != "" {
		if upTo, err = chat.ParseMessageID(req.ID); err != nil {
			writeError(w, http.StatusBadRequest, CodeBadRequest, err.Error())
			return
		}
	}
	if err := s.backend.MarkRead(conv, upTo); err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

func (s *Server) handleConversations(w http.ResponseWriter, r *http.Request) {
	convs, err := s.backend.Conversations()
	if err != nil {
		writeErr(w, err)
		return
	}
	out := make([]Conversation, 0, len(convs))
	for _, c := range convs {
		if covers(r, c.Conversation) {
			out = append(out, ConversationOf(c))
		}
	}
	writeJSON(w, http.StatusOK, out)
}
