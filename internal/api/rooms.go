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

func (s *Server) handleRooms(w http.ResponseWriter, req *http.Request) {
	rooms, err := s.backend.Rooms()
	if err != nil {
		writeErr(w, err)
		return
	}
	out := make([]Room, 0, len(rooms))
	for _, r := range rooms {
		if !covers(req, chat.RoomConversation(r.Name)) {
			continue
		}
		room, err := s.roomOf(r)
		if err != nil {
			writeErr(w, err)
			return
		}
		out = append(out, room)
	}
	writeJSON(w, http.StatusOK, out)
}

// roomOf converts a joined room for the API, with a private room's
// settings.
func (s *Server) roomOf(info chat.RoomInfo) (Room, error) {
	out := RoomOf(info)
	if info.Private {
		var err error
		if out.History, out.Invite, err = s.backend.PrivateSettings(info.Name); err != nil {
			return Room{}, err
		}
	}
	return out, nil
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
	if req.Private {
		if err := s.backend.CreatePrivateRoom(r.Context(), name); err != nil {
			writeErr(w, err)
			return
		}
		writeJSON(w, http.StatusOK, JoinResponse{Name: name, Changed: true})
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
	if req.History != "" || req.Invite != "" {
		if err := s.backend.SetPrivateSettings(r.Context(), name, req.History, req.Invite); err != nil {
			writeErr(w, err)
			return
		}
	}
	s.writeRoom(w, name)
}

// writeRoom answers with one joined room.
func (s *Server) writeRoom(w http.ResponseWriter, name string) {
	rooms, err := s.backend.Rooms()
	if err != nil {
		writeErr(w, err)
		return
	}
	for _, info := range rooms {
		if info.Name != name {
			continue
		}
		out, err := s.roomOf(info)
		if err != nil {
			writeErr(w, err)
			return
		}
		writeJSON(w, http.StatusOK, out)
		return
	}
	writeErr(w, fmt.Errorf("%w: #%s", chat.ErrNotJoined, name))
}

// handleInvite makes an invite into a private room.
func (s *Server) handleInvite(w http.ResponseWriter, r *http.Request) {
	name, err := roomArg(r.PathValue("name"))
	if err != nil {
		writeErr(w, err)
		return
	}
	var req InviteRequest
	if !readJSON(w, r, &req) {
		return
	}
	if req.Uses == 0 {
		req.Uses = chat.DefaultInviteUses
	}
	expires := chat.DefaultInviteExpiry
	if req.Expires != "" {
		if expires, err = chat.ParseRetention(req.Expires); err != nil || expires <= 0 {
			writeError(w, http.StatusBadRequest, CodeBadRequest, fmt.Sprintf("expires %q: want a duration such as 10m, 36h or 7d", req.Expires))
			return
		}
	}
	link, inv, err := s.backend.CreateInvite(r.Context(), name, req.Uses, expires)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, InviteResponse{Link: link, InviteID: inv.IDString(), Room: name, Uses: req.Uses, ExpiresAt: inv.Expires.UTC()})
}

func (s *Server) handleRevokeInvite(w http.ResponseWriter, r *http.Request) {
	var req InviteRef
	if !readJSON(w, r, &req) {
		return
	}
	ref := req.Invite
	if ref == "" {
		ref = req.Link
	}
	room, err := s.backend.RevokeInvite(r.Context(), ref)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, JoinResponse{Name: room, Changed: true})
}

func (s *Server) handleAcceptInvite(w http.ResponseWriter, r *http.Request) {
	var req InviteRef
	if !readJSON(w, r, &req) {
		return
	}
	name, changed, err := s.backend.JoinInvite(r.Context(), req.Link)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, JoinResponse{Name: name, Changed: changed})
}

// memberArgs reads a room and a peer (ID or @nick) from the path.
func (s *Server) memberArgs(w http.ResponseWriter, r *http.Request) (string, chat.PeerID, bool) {
	name, err := roomArg(r.PathValue("name"))
	if err != nil {
		writeErr(w, err)
		return "", "", false
	}
	p, err := s.backend.ResolvePeer(r.PathValue("peer"))
	if err != nil {
		writeErr(w, err)
		return "", "", false
	}
	return name, p, true
}

func (s *Server) handleRemoveMember(w http.ResponseWriter, r *http.Request) {
	name, p, ok := s.memberArgs(w, r)
	if !ok {
		return
	}
	if err := s.backend.RemoveMember(r.Context(), name, p); err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"room": name, "peer_id": p.String()})
}

func (s *Server) handlePromoteMember(w http.ResponseWriter, r *http.Request) {
	name, p, ok := s.memberArgs(w, r)
	if !ok {
		return
	}
	if err := s.backend.PromoteMember(r.Context(), name, p); err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"room": name, "peer_id": p.String()})
}

func (s *Server) handleMembers(w http.ResponseWriter, r *http.Request) {
	name, err := roomArg(r.PathValue("name"))
	if err != nil {
		writeErr(w, err)
		return
	}
	if !allowConv(w, r, chat.RoomConversation(name)) {
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
