package chat

import (
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/parley-chat/parley/crypto"
	"github.com/parley-chat/parley/internal/wire"
)

// PeerID names a node (see crypto.PeerID).
type PeerID = crypto.PeerID

// MessageID is the SHA-256 of a message's envelope bytes; it is the same on
// every node that holds the message.
type MessageID [32]byte

// ParseMessageID parses the hex text form of a message ID.
func ParseMessageID(s string) (MessageID, error) {
	var id MessageID
	if len(s) != 64 {
		return id, fmt.Errorf("invalid message ID %q: want 64 hex characters", s)
	}
	if _, err := hex.Decode(id[:], []byte(s)); err != nil {
		return id, fmt.Errorf("invalid message ID %q: %w", s, err)
	}
	return id, nil
}

// String returns the lower-case hex form.
func (id MessageID) String() string { return hex.EncodeToString(id[:]) }

// IsZero reports whether id is the zero (absent) ID.
func (id MessageID) IsZero() bool { return id == MessageID{} }

// MarshalText implements encoding.TextMarshaler.
func (id MessageID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (id *MessageID) UnmarshalText(b []byte) error {
	p, err := ParseMessageID(string(b))
	if err != nil {
		return err
	}
	*id = p
	return nil
}

// Conversation names a history: "dm:<peer ID>" or "room:<name>".
type Conversation string

const (
	dmPrefix   = "dm:"
	roomPrefix = "room:"
)

// DMConversation is the conversation with peer p.
func DMConversation(p PeerID) Conversation { return Conversation(dmPrefix + p.String()) }

// RoomConversation is the conversation of room name (without '#').
func RoomConversation(name string) Conversation { return Conversation(roomPrefix + name) }

// Peer returns the other party of a direct conversation.
func (c Conversation) Peer() (PeerID, bool) {
	s, ok := strings.CutPrefix(string(c), dmPrefix)
	if !ok {
		return "", false
	}
	p, err := crypto.ParsePeerID(s)
	return p, err == nil
}

// Display is how a person names the conversation: "#room", or the peer ID.
func (c Conversation) Display() string {
	if room, ok := c.Room(); ok {
		return "#" + room
	}
	if p, ok := c.Peer(); ok {
		return p.String()
	}
	return string(c)
}

// Room returns the room name of a room conversation.
func (c Conversation) Room() (string, bool) {
	return strings.CutPrefix(string(c), roomPrefix)
}

// MaxRoomNameLen is the longest room name.
const MaxRoomNameLen = 64

// ValidateRoomName checks a room name (without '#'): 1 to 64 lower-case
// letters a-z, digits, '-' and '_'. Names are plain ASCII so that they are
// typed the same everywhere and can never smuggle a separator into a key.
func ValidateRoomName(name string) error {
	if name == "" || len(name) > MaxRoomNameLen {
		return fmt.Errorf("%w %q: want 1 to %d characters", ErrBadRoom, name, MaxRoomNameLen)
	}
	for i := range len(name) {
		c := name[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' && c != '_' {
			return fmt.Errorf("%w %q: use lower-case letters a-z, digits, '-' and '_'", ErrBadRoom, name)
		}
	}
	return nil
}

// Kind says how a message body is read.
type Kind uint8

// Kinds of message. The numbers match the wire enum.
const (
	KindText   Kind = 1
	KindJoin   Kind = 2  // rooms: the author joined (a system line)
	KindLeave  Kind = 3  // rooms: the author left (a system line)
	KindTyping Kind = 4  // rooms: the author is typing (ephemeral, never stored)
	KindOp     Kind = 5  // private rooms: a membership operation (kept and synced, not shown)
	KindKey    Kind = 6  // direct: a private room's epoch key (never shown)
	KindEdit   Kind = 7  // the author replaces Target's text (Body: the new text)
	KindDelete Kind = 8  // the author (or a private room's admin) deletes Target for everyone
	KindReact  Kind = 9  // a member adds (or, with Remove, takes back) Emoji on Target
	KindRead   Kind = 10 // a member has read its conversation up to Target
)

// Stored reports whether room messages of kind k are kept in history.
func (k Kind) Stored() bool {
	return k == KindText || k == KindJoin || k == KindLeave || k == KindOp || k.Acts() && k != KindRead
}

// Acts reports whether messages of kind k act on another message (their
// Target): edits, deletes, reactions and read receipts. They are never
// shown as lines of their own.
func (k Kind) Acts() bool { return k == KindEdit || k == KindDelete || k == KindReact || k == KindRead }

func (k Kind) String() string {
	switch k {
	case KindText:
		return "text"
	case KindJoin:
		return "join"
	case KindLeave:
		return "leave"
	case KindTyping:
		return "typing"
	case KindOp:
		return "op"
	case KindKey:
		return "key"
	case KindEdit:
		return "edit"
	case KindDelete:
		return "delete"
	case KindReact:
		return "react"
	case KindRead:
		return "read"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Status is where a message stands. Outgoing messages go queued -> sent ->
// delivered (or failed, when the receiver rejects them for good); incoming
// ones are received.
type Status uint8

// Statuses. The numbers are persisted; never reorder them.
const (
	StatusQueued Status = iota + 1
	StatusSent
	StatusDelivered
	StatusFailed
	StatusReceived
)

var statusNames = map[Status]string{
	StatusQueued:    "queued",
	StatusSent:      "sent",
	StatusDelivered: "delivered",
	StatusFailed:    "failed",
	StatusReceived:  "received",
}

func (s Status) String() string {
	if n, ok := statusNames[s]; ok {
		return n
	}
	return fmt.Sprintf("status(%d)", uint8(s))
}

// MarshalText implements encoding.TextMarshaler.
func (s Status) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Message is one chat message with its local delivery state.
type Message struct {
	ID           MessageID
	Conversation Conversation
	Author       PeerID
	To           PeerID // recipient of a direct message; zero for rooms
	Room         string // room of a room message; empty for direct messages
	HLC          HLC
	Kind         Kind
	Body         string
	ReplyTo      MessageID
	Files        []FileManifest // files shared with the message (KindText; Body is then the caption)
	// Thread is, for a thread reply (KindText), the thread's root message;
	// zero otherwise. AlsoRoom: the reply is shown in the room too.
	Thread   MessageID
	AlsoRoom bool
	// Mentions are the peers the text mentions (@nick, resolved to the
	// peer when sent, so a rename does not break it); MentionAll is @room
	// or @here.
	Mentions   []PeerID
	MentionAll bool
	// Target is the message an edit, delete, reaction or read receipt
	// acts on; TargetHLC its position (a delete's tombstone keeps it).
	Target    MessageID
	TargetHLC HLC
	// Emoji is a reaction's emoji; Remove takes the author's back.
	Emoji  string
	Remove bool
	// App marks a text message posted by an integration this node hosts
	// (an incoming webhook): the hook's name. AppIcon is its icon_emoji or
	// icon_url; Rich the sanitised Slack payload (JSON) clients render
	// formatted, Body being its plain text. See PostApp.
	App     string
	AppIcon string
	Rich    []byte

	// Envelope is the exact encoded envelope the ID was computed from.
	Envelope []byte
	// Sealed is, in a private room, what was published: the envelope
	// sealed (a wire.Sealed), which the Proof covers. Empty elsewhere.
	Sealed []byte
	op     *wire.RoomOp   // KindOp: the operation
	grant  *wire.KeyGrant // KindKey: the key
	// heldFor marks a sealed message from the topic that this node cannot
	// open yet: the epoch whose key it waits for.
	heldFor MessageID
	// Proof is a room message's proof of publication by its author
	// (checked again when the message arrives by sync); empty until
	// published. Direct messages carry none: the authenticated stream
	// they arrive on is their proof.
	Proof Proof

	Status     Status
	Reason     string    // why a message failed, for a person
	ReceivedAt time.Time // when this node stored it

	// Deleted: the message was deleted for everyone (by DeletedBy); its
	// text, files and mentions are gone from the store and Envelope is
	// the original stripped of them. Placeholder: it was deleted before
	// it arrived here, so only its ID, position and deleter are known.
	Deleted     bool
	DeletedBy   PeerID
	Placeholder bool

	// View: what other messages say of this one, filled in by the Service
	// when it lists history (see Service.History).
	Edited    bool      // Body is the newest edit's text
	Versions  []Version // earlier texts, oldest first (the original first)
	Reactions []Reaction
	Replies   int // a thread root: its replies
	LastReply HLC // a thread root: the newest reply's HLC
	// SeenBy (room messages): the members other than the author whose
	// read position has reached the message, by their read receipts (this
	// node by its read marker, unless it sends none). Read: a direct
	// message of this node's that the recipient has read (its status stays
	// what delivery made it).
	SeenBy []PeerID
	Read   bool
}

// Version is one earlier text of an edited message.
type Version struct {
	Body string
	HLC  HLC // when it was written (the original's HLC, or the edit's)
}

// Reaction is one emoji on a message and who put it there, in the order
// they did.
type Reaction struct {
	Emoji string
	By    []PeerID
}

// SentAt is the author's wall-clock time of the message, from its HLC.
func (m *Message) SentAt() time.Time { return m.HLC.Time() }

// Cursor is a position in a conversation's order, (HLC, ID). The zero
// Cursor means "the end".
type Cursor struct {
	HLC HLC
	ID  MessageID
}

// CursorOf returns the position of m.
func CursorOf(m *Message) Cursor { return Cursor{HLC: m.HLC, ID: m.ID} }

// Peer is a known peer as this node sees it.
type Peer struct {
	ID        PeerID
	Nick      string
	Addrs     []string // multiaddrs last seen for the peer
	FirstSeen time.Time
	LastSeen  time.Time
	// Verified: this node's user compared safety numbers with the peer
	// and confirmed them (Service.Verify).
	Verified bool
	// Runtime only; never persisted.
	Connected   bool
	Connections int    // open transport connections (normally 0 or 1)
	Display     string // how to show the peer to a person (see Service.DisplayName)
	// LastError is why the peer was last unreachable (Network.LastError),
	// while it is not connected; LastErrorAt when.
	LastError   string
	LastErrorAt time.Time
	// ClockSkew is how far the peer's wall clock is ahead of this node's
	// (negative: behind), measured at the last profile exchange
	// (SkewMeasured; zero when never measured, e.g. an older peer).
	ClockSkew    time.Duration
	SkewMeasured time.Time
}

// Room is a joined room.
type Room struct {
	Name      string // without '#'
	JoinedAt  time.Time
	Retention time.Duration // history older than this is deleted and not synced; 0: the node's default; RetentionForever: no limit
	Private   *PrivateRoom  // nil for a public room
}

// Member is what a room's history says of one author.
type Member struct {
	Peer    PeerID
	Joined  bool // their latest membership event is a join or a message, not a leave
	LastHLC HLC  // their latest message or event in the room
}

// StatusUpdate records the delivery outcome of an outgoing direct message.
type StatusUpdate struct {
	Message *Message // the message as enqueued (its stored fields are rewritten as they are)
	Status  Status   // StatusDelivered or StatusFailed
	Reason  string
}

// View is what other messages say of one message: its edits, deletes and
// reactions (ApplyOperations) and its thread's replies. The store keeps
// one per message that something acts on or replies to (Store.Views).
type View struct {
	Edited     bool
	Body       string // Edited: the newest edit's text
	Mentions   []PeerID
	MentionAll bool
	Versions   []Version
	Reactions  []Reaction
	Replies    int
	LastReply  HLC
}

// IsZero reports whether v says nothing of its message.
func (v *View) IsZero() bool {
	return !v.Edited && len(v.Versions) == 0 && len(v.Reactions) == 0 && v.Replies == 0 && v.LastReply == 0
}

// IsLine reports whether m is a line of its conversation's history: not
// an operation on another message, not a thread reply kept to its thread.
func (m *Message) IsLine() bool {
	return !m.Kind.Acts() && (m.Thread.IsZero() || m.AlsoRoom)
}
