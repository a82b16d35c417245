package api

import (
	"fmt"
	"net/http"

	"github.com/parley-chat/parley/chat"
)

func roomArg(ref string) (string, error) {
	name, err := chat.ParseRoom(ref)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrBadRequest, err)
	}
	return name, nil
}

func (s *Server) handleRooms(w http.ResponseWriter, _ *http.Request) {
	rooms, err := s.backend.Rooms()
	if err != nil {
		writeErr(w, err)
		return
	}
	out := make([]Room, len(rooms))
	for i, r := range rooms {
		out[i] = RoomOf(r)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleJoin(w http.ResponseWriter, r *http.Request) {
	var req JoinRequest
	if !readJSON(w, r, &req) {
		return
	}
	name, err := roomArg(req.Name)
	if err != nil {
		writeErr(w, err)
		return
	}
	changed, err := s.backend.JoinRoom(r.Context(), name)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, JoinResponse{Name: name, Changed: changed})
}

func (s *Server) handleLeave(w http.ResponseWriter, r *http.Request) {
	name, err := roomArg(r.PathValue("name"))
	if err != nil {
		writeErr(w, err)
		return
	}
	changed, err := s.backend.LeaveRoom(r.Context(), name)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, JoinResponse{Name: name, Changed: changed})
}

// handleRoomSettings changes a joined room's settings on this node.
func (s *Server) handleRoomSettings(w http.ResponseWriter, r *http.Request) {
	name, err := roomArg(r.PathValue("name"))
	if err != nil {
		writeErr(w, err)
		return
	}
	var req RoomSettings
	if !readJSON(w, r, &req) {
		return
	}
	if req.Retention != nil {
		keep, err := chat.ParseRetention(*req.Retention)
		if err != nil {
			writeError(w, http.StatusBadRequest, CodeBadRequest, err.Error())
			return
		}
		if err := s.backend.SetRoomRetention(name, keep); err != nil {
			writeErr(w, err)
			return
		}
	}
	rooms, err := s.backend.Rooms()
	if err != nil {
		writeErr(w, err)
		return
	}
	for _, info := range rooms {
		if info.Name == name {
			writeJSON(w, http.StatusOK, RoomOf(info))
			return
		}
	}
	writeErr(w, fmt.Errorf("%w: #%s", chat.ErrNotJoined, name))
}

func (s *Server) handleMembers(w http.ResponseWriter, r *http.Request) {
	name, err := roomArg(r.PathValue("name"))
	if err != nil {
		writeErr(w, err)
		return
	}
	members, err := s.backend.RoomMembers(name)
	if err != nil {
		writeErr(w, err)
		return
	}
	out := make([]Member, len(members))
	for i, m := range members {
		out[i] = MemberOf(m)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleTyping(w http.ResponseWriter, r *http.Request) {
	var req TypingRequest
	if !readJSON(w, r, &req) {
		return
	}
	name, err := roomArg(req.With)
	if err != nil {
		writeErr(w, err)
		return
	}
	if err := s.backend.Typing(r.Context(), name); err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}
