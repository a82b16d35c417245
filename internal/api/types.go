package api

import (
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/parley-chat/parley/chat"
)

// Identity is GET /api/v1/id.
type Identity struct {
	PeerID      string   `json:"peer_id"`
	Nick        string   `json:"nick"`
	Fingerprint string   `json:"fingerprint"`
	Addrs       []string `json:"addrs"`
	MDNS        bool     `json:"mdns"`
	DHT         string   `json:"dht"` // "server", "client" or "off"
	Version     string   `json:"version"`
	MaxFileSize int64    `json:"max_file_size"` // the largest file this node shares or fetches (0: file sharing is off)
}

// Peer is one entry of GET /api/v1/peers.
type Peer struct {
	PeerID      string     `json:"peer_id"`
	Nick        string     `json:"nick"`
	Display     string     `json:"display"`  // the name to show: the nickname, "nick (SHORTID)" when shared, "✓" after a verified peer's
	Verified    bool       `json:"verified"` // safety numbers compared and confirmed (POST /peers/{peer}/verify)
	Connected   bool       `json:"connected"`
	Connections int        `json:"connections"` // open transport connections (normally 0 or 1)
	LastSeen    *time.Time `json:"last_seen,omitempty"`
	Addrs       []string   `json:"addrs,omitempty"`
	// While not connected: why the peer was last unreachable (a dial
	// error, missed pings, "connection lost"), and when.
	LastError   string     `json:"last_error,omitempty"`
	LastErrorAt *time.Time `json:"last_error_at,omitempty"`
	// How far the peer's clock is ahead of this node's, in milliseconds
	// (negative: behind), measured when it last connected; absent when
	// never measured (a peer of an older version).
	ClockSkewMs *int64 `json:"clock_skew_ms,omitempty"`
}

// Message is a message as the API shows it.
type Message struct {
	ID           string `json:"id"`
	From         string `json:"from"`
	FromDisplay  string `json:"from_display"`   // the author as shown (see Peer.Display)
	To           string `json:"to,omitempty"`   // direct messages: the recipient
	Room         string `json:"room,omitempty"` // room messages: the room, without '#'
	Kind         string `json:"kind"`           // "text", or in rooms "join"/"leave" (system lines)
	Conversation string `json:"conversation"`
	Text         string `json:"text"`
	SentAt       string `json:"sent_at"` // RFC 3339, the author's clock
	Status       string `json:"status"`
	Reason       string `json:"reason,omitempty"`
	ReplyTo      string `json:"reply_to,omitempty"`
	Files        []File `json:"files,omitempty"` // files shared with the message, with their state here

	// Threads: a thread reply names its root (thread), and is in the
	// room's history only when also_room; a root counts its replies.
	Thread      string `json:"thread,omitempty"`
	AlsoRoom    bool   `json:"also_room,omitempty"`
	Replies     int    `json:"replies"`
	LastReplyAt string `json:"last_reply_at,omitempty"` // RFC 3339, the newest reply's
	// What others said of it: text is the newest edit's; versions the
	// earlier texts, oldest first; a deleted message has no text.
	Edited     bool       `json:"edited"`
	Deleted    bool       `json:"deleted"`
	Versions   []Version  `json:"versions,omitempty"`
	Reactions  []Reaction `json:"reactions"`
	Mentions   []string   `json:"mentions"`              // peer IDs
	MentionAll bool       `json:"mention_all,omitempty"` // @room or @here
	// SeenBy (room messages): the members other than the author whose read
	// receipts have reached it (absent: none yet). Read: a direct message
	// of this node's that the peer has read (status stays "delivered").
	SeenBy []string `json:"seen_by,omitempty"`
	Read   bool     `json:"read,omitempty"`
	// Kinds "edit", "delete", "react" (in events): the message acted on.
	Target string `json:"target,omitempty"`
	Emoji  string `json:"emoji,omitempty"`
	Remove bool   `json:"remove,omitempty"`
	// App messages (posted by an integration this node or another member
	// hosts): the app's name, its icon (icon_emoji or icon_url), and the
	// sanitised Slack payload clients render with formatting; text is
	// that payload as plain text.
	App     string          `json:"app,omitempty"`
	AppIcon string          `json:"app_icon,omitempty"`
	Rich    json.RawMessage `json:"rich,omitempty"`
}

// Version is one earlier text of an edited message.
type Version struct {
	Text   string `json:"text"`
	SentAt string `json:"sent_at"`
}

// Reaction is one emoji on a message and who put it there (peer IDs).
type Reaction struct {
	Emoji string   `json:"emoji"`
	By    []string `json:"by"`
}

// ReplyRequest is POST /api/v1/messages/{id}/reply.
type ReplyRequest struct {
	Text     string `json:"text"`
	Thread   bool   `json:"thread,omitempty"`    // a reply in the thread of the message's root
	AlsoRoom bool   `json:"also_room,omitempty"` // a thread reply shown in the room too
	// Command: as SendRequest's (a command runs in the message's
	// conversation; an in_channel answer is posted there, not in the
	// thread).
	Command *bool `json:"command,omitempty"`
}

// EditRequest is POST /api/v1/messages/{id}/edit.
type EditRequest struct {
	Text string `json:"text"`
}

// ReactRequest is POST /api/v1/messages/{id}/react.
type ReactRequest struct {
	Emoji string `json:"emoji"`
}

// ReactResponse answers it: the reaction's message, and whether the emoji
// is now there (false: it was taken back).
type ReactResponse struct {
	Message Message `json:"message"`
	Added   bool    `json:"added"`
}

// StatusChange is the payload of a "status" event.
type StatusChange struct {
	ID           string `json:"id"`
	Conversation string `json:"conversation"`
	Status       string `json:"status"`
	Reason       string `json:"reason,omitempty"`
}

// Event is one entry of GET /api/v1/events.
type Event struct {
	Type         string        `json:"type"` // "message", "status", "peer", "typing", "presence", "room", "read", "receipt", "members", "notify", "ephemeral"
	Time         time.Time     `json:"time"`
	Message      *Message      `json:"message,omitempty"`
	Status       *StatusChange `json:"status,omitempty"`
	Peer         *Peer         `json:"peer,omitempty"`         // peer, typing, presence (connected = online in the room), receipt (who read)
	Room         string        `json:"room,omitempty"`         // typing, presence, room, members
	Joined       *bool         `json:"joined,omitempty"`       // room
	Conversation string        `json:"conversation,omitempty"` // read, receipt, notify, ephemeral

	// notify: the daemon's rules say message ID notifies (see NotifySettings);
	// Title and Body are what the desktop notification shows. receipt: peer
	// has read conversation up to message ID.
	ID      string `json:"id,omitempty"`
	Title   string `json:"title,omitempty"`
	Body    string `json:"body,omitempty"`
	Mention bool   `json:"mention,omitempty"` // the message mentions this node

	// file.progress and file.complete (and file.failed): a file being fetched.
	Hash    string `json:"hash,omitempty"`
	Have    *int64 `json:"have,omitempty"`
	Size    *int64 `json:"size,omitempty"`
	Sources *int   `json:"sources,omitempty"`
	Path    string `json:"path,omitempty"`
	Reason  string `json:"reason,omitempty"`

	// ephemeral: a slash command's answer shown to this node's user only
	// (never sent to peers, never in history): the command, the answer as
	// plain text with links kept, and as a sanitised Slack payload.
	Command string          `json:"command,omitempty"`
	Text    string          `json:"text,omitempty"`
	Rich    json.RawMessage `json:"rich,omitempty"`
	AppIcon string          `json:"app_icon,omitempty"`
}

// Room is one entry of GET /api/v1/rooms.
type Room struct {
	Name      string    `json:"name"`    // without '#'
	Members   int       `json:"members"` // members known to be in the room, this node included
	Online    int       `json:"online"`  // of which online now
	Unread    int       `json:"unread"`
	JoinedAt  time.Time `json:"joined_at"`
	Retention string    `json:"retention"` // how long this node keeps its history: "90d", "36h0m0s", or "forever"
	Private   bool      `json:"private"`
	Role      string    `json:"role"`              // this node's role: "admin" or "member"; "" once removed from a private room
	Removed   bool      `json:"removed,omitempty"` // private rooms: this node is no longer a member
	History   string    `json:"history,omitempty"` // private rooms: who reads earlier history: "join" or "all"
	Invite    string    `json:"invite,omitempty"`  // private rooms: who may invite: "admins" or "members"
}

// RoomSettings is PATCH /api/v1/rooms/{name}: the settings to change.
type RoomSettings struct {
	Retention *string `json:"retention,omitempty"` // "90d", "2w", "36h", or "forever" (the node's default: "")
	History   string  `json:"history,omitempty"`   // private rooms, admins: "join" or "all"
	Invite    string  `json:"invite,omitempty"`    // private rooms, admins: "admins" or "members"
}

// InviteRequest is POST /api/v1/rooms/{name}/invites.
type InviteRequest struct {
	Uses    int    `json:"uses,omitempty"`    // default 1
	Expires string `json:"expires,omitempty"` // a duration ("10m", "36h", "7d"); default 7 days
}

// InviteResponse answers it.
type InviteResponse struct {
	Link      string    `json:"link"`
	InviteID  string    `json:"invite_id"`
	Room      string    `json:"room"`
	Uses      int       `json:"uses"`
	ExpiresAt time.Time `json:"expires_at"`
}

// InviteRef is POST /api/v1/invites/revoke (invite: a link or an invite
// ID) and POST /api/v1/invites/accept (link).
type InviteRef struct {
	Invite string `json:"invite,omitempty"`
	Link   string `json:"link,omitempty"`
}

// Member is one entry of GET /api/v1/rooms/{name}/members.
type Member struct {
	PeerID   string     `json:"peer_id"`
	Nick     string     `json:"nick"`
	Display  string     `json:"display"` // as Peer.Display
	Verified bool       `json:"verified"`
	Online   bool       `json:"online"`
	LastSeen *time.Time `json:"last_seen,omitempty"`
	Role     string     `json:"role"` // "admin" or "member"
}

// JoinRequest is POST /api/v1/rooms.
type JoinRequest struct {
	Name    string `json:"name"`              // "#name" or "name"
	Private bool   `json:"private,omitempty"` // create a private room (this node its first admin)
}

// JoinResponse answers POST /api/v1/rooms and DELETE /api/v1/rooms/{name}.
type JoinResponse struct {
	Name    string `json:"name"`
	Changed bool   `json:"changed"` // false: already joined (or already left)
}

// ReadRequest is POST /api/v1/read: mark a conversation read up to a
// message (default: the newest).
type ReadRequest struct {
	With string `json:"with"` // "#room", peer ID or @nick
	ID   string `json:"id,omitempty"`
}

// TypingRequest is POST /api/v1/typing.
type TypingRequest struct {
	With string `json:"with"` // "#room"
}

// SendRequest is POST /api/v1/messages.
type SendRequest struct {
	To   string `json:"to"` // "#room", peer ID or @nick
	Text string `json:"text"`
	// Command says what a text "/NAME args" is: absent, a slash command
	// when NAME is registered, else a message; true, a slash command (404
	// when NAME is not registered); false, a message whatever it says.
	Command *bool `json:"command,omitempty"`
}

// ConnectRequest is POST /api/v1/connect.
type ConnectRequest struct {
	Addr string `json:"addr"`
}

// ConnectResponse answers POST /api/v1/connect.
type ConnectResponse struct {
	PeerID string `json:"peer_id"`
}

// Safety answers GET /api/v1/peers/{peer}/safety and POST
// /api/v1/peers/{peer}/verify.
type Safety struct {
	PeerID       string `json:"peer_id"`
	SafetyNumber string `json:"safety_number"` // 60 digits in groups of five, the same on both sides
	Verified     bool   `json:"verified"`
}

// ErrorBody is every error response.
type ErrorBody struct {
	Error string `json:"error"`
	Code  string `json:"code"`
}

// Error codes.
const (
	CodeBadRequest  = "bad_request"
	CodeNotFound    = "not_found"
	CodeConflict    = "conflict"
	CodeTooLarge    = "too_large"
	CodeUnavailable = "unavailable"
	CodeInternal    = "internal"
	CodeAuth        = "unauthorized"
	CodeForbidden   = "forbidden"
	CodeTimeout     = "timeout"
	CodeGone        = "gone" // an invite used up, expired or revoked
	// CodeCommandFailed: a slash command's URL failed (no 2xx answer
	// within 3 s, unreachable, an answer that is not Slack's): 502.
	CodeCommandFailed = "command_failed"
)

// IdentityOf converts what chat says of this node for GET /id.
func IdentityOf(info chat.NodeInfo, version string) Identity {
	return Identity{
		PeerID:      info.PeerID.String(),
		Nick:        info.Nick,
		Fingerprint: info.Fingerprint,
		Addrs:       info.Addrs,
		MDNS:        info.MDNS,
		DHT:         info.DHT,
		Version:     version,
		MaxFileSize: info.MaxFileSize,
	}
}

// RoomOf converts a joined room for the API.
func RoomOf(r chat.RoomInfo) Room {
	return Room{Name: r.Name, Members: r.Members, Online: r.Online, Unread: r.Unread, JoinedAt: r.JoinedAt.UTC(), Retention: chat.FormatRetention(r.Retention),
		Private: r.Private, Role: string(r.Role), Removed: r.Removed}
}

// MemberOf converts a room member for the API.
func MemberOf(m chat.RoomMember) Member {
	out := Member{PeerID: m.Peer.String(), Nick: m.Nick, Display: m.Display, Verified: m.Verified, Online: m.Online, Role: string(m.Role)}
	if !m.LastSeen.IsZero() {
		t := m.LastSeen.UTC()
		out.LastSeen = &t
	}
	return out
}

// ConversationOf converts a sidebar entry for the API.
func ConversationOf(c chat.ConversationInfo) Conversation {
	out := Conversation{Conversation: string(c.Conversation), Online: c.Online, Unread: c.Unread}
	if c.Room != "" {
		out.Kind, out.Room, out.Name = "room", c.Room, "#"+c.Room
		return out
	}
	out.Kind, out.PeerID, out.Name = "dm", c.Peer.String(), c.Display
	if out.Name == "" {
		out.Name = c.Peer.Short()
	}
	return out
}

// MessageOf converts a chat message for the API; fromDisplay is how its
// author is shown (chat.Service.DisplayName).
func MessageOf(m *chat.Message, fromDisplay string) Message {
	out := Message{
		ID:           m.ID.String(),
		From:         m.Author.String(),
		FromDisplay:  fromDisplay,
		To:           m.To.String(),
		Room:         m.Room,
		Kind:         m.Kind.String(),
		Conversation: string(m.Conversation),
		Text:         m.Body,
		SentAt:       m.SentAt().Format(time.RFC3339Nano),
		Status:       m.Status.String(),
		Reason:       m.Reason,
	}
	if !m.ReplyTo.IsZero() {
		out.ReplyTo = m.ReplyTo.String()
	}
	if !m.Thread.IsZero() {
		out.Thread, out.AlsoRoom = m.Thread.String(), m.AlsoRoom
	}
	if m.LastReply != 0 {
		out.LastReplyAt = m.LastReply.Time().Format(time.RFC3339Nano)
	}
	out.Replies, out.Edited, out.Deleted = m.Replies, m.Edited, m.Deleted
	for _, v := range m.Versions {
		out.Versions = append(out.Versions, Version{Text: v.Body, SentAt: v.HLC.Time().Format(time.RFC3339Nano)})
	}
	out.Reactions = make([]Reaction, 0, len(m.Reactions))
	for _, r := range m.Reactions {
		by := make([]string, len(r.By))
		for i, p := range r.By {
			by[i] = p.String()
		}
		out.Reactions = append(out.Reactions, Reaction{Emoji: r.Emoji, By: by})
	}
	out.Mentions = make([]string, 0, len(m.Mentions))
	for _, p := range m.Mentions {
		out.Mentions = append(out.Mentions, p.String())
	}
	out.MentionAll = m.MentionAll
	out.Read = m.Read
	for _, p := range m.SeenBy {
		out.SeenBy = append(out.SeenBy, p.String())
	}
	if !m.Target.IsZero() {
		out.Target, out.Emoji, out.Remove = m.Target.String(), m.Emoji, m.Remove
	}
	out.App, out.AppIcon = m.App, m.AppIcon
	if len(m.Rich) > 0 && json.Valid(m.Rich) {
		out.Rich = json.RawMessage(m.Rich)
	}
	return out
}

// PeerOf converts a chat peer for the API.
func PeerOf(p chat.Peer) Peer {
	out := Peer{PeerID: p.ID.String(), Nick: p.Nick, Display: p.Display, Verified: p.Verified, Connected: p.Connected, Connections: p.Connections, Addrs: p.Addrs}
	if out.Display == "" {
		out.Display = p.ID.Short()
	}
	if !p.LastSeen.IsZero() && p.LastSeen.Unix() > 0 {
		t := p.LastSeen.UTC()
		out.LastSeen = &t
	}
	if p.LastError != "" {
		out.LastError = p.LastError
		t := p.LastErrorAt.UTC()
		out.LastErrorAt = &t
	}
	if !p.SkewMeasured.IsZero() {
		ms := p.ClockSkew.Milliseconds()
		out.ClockSkewMs = &ms
	}
	return out
}

// EventOf converts a chat event for the API; display names a message's
// author (chat.Service.DisplayName).
func EventOf(e chat.Event, display func(chat.PeerID) string) Event {
	out := Event{Type: string(e.Type), Time: e.Time.UTC()}
	switch e.Type {
	case chat.EventMessage:
		m := MessageOf(e.Message, display(e.Message.Author))
		out.Message = &m
	case chat.EventStatus:
		out.Status = &StatusChange{ID: e.Message.ID.String(), Conversation: string(e.Message.Conversation), Status: e.Message.Status.String(), Reason: e.Message.Reason}
	case chat.EventPeer, chat.EventTyping, chat.EventPresence:
		p := PeerOf(*e.Peer)
		out.Peer = &p
		out.Room = e.Room
	case chat.EventMembers:
		out.Room = e.Room
	case chat.EventRoom:
		out.Room = e.Room
		joined := e.Joined
		out.Joined = &joined
	case chat.EventRead:
		out.Conversation = string(e.Conversation)
	case chat.EventReceipt:
		out.Conversation = string(e.Conversation)
		out.ID = e.ID.String()
		p := PeerOf(*e.Peer)
		out.Peer = &p
	case chat.EventFile:
		f := e.File
		out.Type = "file.progress"
		switch f.State {
		case chat.FileComplete:
			out.Type = "file.complete"
			out.Path = f.Path
		case chat.FileFailed:
			out.Type = "file.failed"
			out.Reason = f.Reason
		}
		out.Hash = hex.EncodeToString(f.Hash[:])
		have, size, sources := f.Have, f.Size, f.Sources
		out.Have, out.Size, out.Sources = &have, &size, &sources
	}
	return out
}

// Conversation is one entry of GET /api/v1/conversations.
type Conversation struct {
	Conversation string `json:"conversation"` // "room:<name>" or "dm:<peer ID>"
	Kind         string `json:"kind"`         // "room" or "dm"
	Name         string `json:"name"`         // "#room" or the peer's display name (see Peer.Display)
	Room         string `json:"room,omitempty"`
	PeerID       string `json:"peer_id,omitempty"`
	Online       bool   `json:"online"` // dm: the peer is connected; room: someone else is
	Unread       int    `json:"unread"`
}

// NickRequest is POST /api/v1/nick.
type NickRequest struct {
	Nick string `json:"nick"`
}
