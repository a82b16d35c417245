package chat

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"

	"github.com/parley-chat/parley/crypto"
	"github.com/parley-chat/parley/internal/wire"
)

const envelopeVersion = 1

// MessageIDOf returns the ID of an encoded envelope.
func MessageIDOf(envelope []byte) MessageID { return sha256.Sum256(envelope) }

// encodeEnvelope encodes m's content fields into m.Envelope and sets m.ID.
func encodeEnvelope(m *Message) error {
	env := &wire.Envelope{
		Version: envelopeVersion,
		Author:  []byte(m.Author),
		ToPeer:  []byte(m.To),
		Room:    m.Room,
		Hlc:     uint64(m.HLC),
		Kind:    wire.Kind(m.Kind),
		Body:    m.Body,
		Op:      m.op,
		Grant:   m.grant,
		Files:   fileManifestsToWire(m.Files),

		AlsoRoom:   m.AlsoRoom,
		MentionAll: m.MentionAll,
		TargetHlc:  uint64(m.TargetHLC),
		Emoji:      m.Emoji,
		Remove:     m.Remove,

		App:     m.App,
		AppIcon: m.AppIcon,
		Rich:    m.Rich,
	}
	if !m.ReplyTo.IsZero() {
		env.ReplyTo = m.ReplyTo[:]
	}
	if !m.Thread.IsZero() {
		env.Thread = m.Thread[:]
	}
	if !m.Target.IsZero() {
		env.Target = m.Target[:]
	}
	for _, p := range m.Mentions {
		env.Mentions = append(env.Mentions, []byte(p))
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(env)
	if err != nil {
		return fmt.Errorf("encode envelope: %w", err)
	}
	m.Envelope = b
	m.ID = MessageIDOf(b)
	return nil
}

// StripEnvelope returns envelope without its text, files and mentions:
// what a store keeps of a message deleted for everyone (its tombstone).
// The result hashes to another ID and carries no signature; the store
// keeps the original ID beside it.
func StripEnvelope(envelope []byte) ([]byte, error) {
	var env wire.Envelope
	if err := proto.Unmarshal(envelope, &env); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadEnvelope, err)
	}
	env.Body, env.Files, env.Mentions, env.MentionAll = "", nil, nil, false
	env.Rich = nil // an app message's formatted text goes with its text; its app name stays
	return proto.MarshalOptions{Deterministic: true}.Marshal(&env)
}

// UnmarshalEnvelope reads an envelope's fields into a message without
// judging them: it is for history this node accepted once (the store reads
// its records with it), so that a stricter rule for what arrives never
// makes stored history unreadable. A room message gets its Conversation; a
// direct message does not. Peer input goes through DecodeEnvelope.
func UnmarshalEnvelope(envelope []byte) (*Message, error) {
	var env wire.Envelope
	if err := proto.Unmarshal(envelope, &env); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadEnvelope, err)
	}
	m := &Message{
		ID:       MessageIDOf(envelope),
		Author:   PeerID(env.Author),
		To:       PeerID(env.ToPeer),
		Room:     env.Room,
		HLC:      HLC(env.Hlc),
		Kind:     Kind(env.Kind),
		Body:     env.Body,
		Envelope: envelope,
		op:       env.Op,
		grant:    env.Grant,
	}
	if m.Room != "" {
		m.Conversation = RoomConversation(m.Room)
	}
	m.Files, _ = fileManifestsFromWire(env.Files, false)
	if len(env.ReplyTo) == len(m.ReplyTo) {
		copy(m.ReplyTo[:], env.ReplyTo)
	}
	readRelations(m, &env)
	for _, p := range env.Mentions {
		m.Mentions = append(m.Mentions, PeerID(p))
	}
	return m, nil
}

// readRelations copies what an envelope says of other messages (thread,
// target) and a reaction into m.
func readRelations(m *Message, env *wire.Envelope) {
	if len(env.Thread) == len(m.Thread) {
		copy(m.Thread[:], env.Thread)
	}
	if len(env.Target) == len(m.Target) {
		copy(m.Target[:], env.Target)
	}
	m.AlsoRoom, m.MentionAll = env.AlsoRoom, env.MentionAll
	m.TargetHLC, m.Emoji, m.Remove = HLC(env.TargetHlc), env.Emoji, env.Remove
	m.App, m.AppIcon, m.Rich = env.App, env.AppIcon, env.Rich
}

// Limits on what a message says of others.
const (
	MaxMentions = 64 // peers one message mentions
	MaxEmojiLen = 64 // bytes of one reaction
)

// Limits on an app message's fields (see PostApp).
const (
	MaxAppNameLen = 80       // bytes of an app's name
	MaxAppIconLen = 512      // bytes of its icon (an emoji code or a URL)
	MaxRichLen    = 64 << 10 // bytes of its formatted payload (JSON)
)

// checkApp checks an app message's fields: only a text message carries
// them, the name is 1 to MaxAppNameLen bytes of UTF-8 on one line, icon
// and rich come only with a name, and rich is a JSON object of at most
// MaxRichLen bytes.
func checkApp(m *Message) error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrBadEnvelope, fmt.Sprintf(format, a...))
	}
	switch {
	case m.App == "" && (m.AppIcon != "" || len(m.Rich) > 0):
		return bad("app_icon and rich go with an app name")
	case m.App == "":
		return nil
	case m.Kind != KindText:
		return bad("only a text message is an app's")
	case len(m.App) > MaxAppNameLen || !utf8.ValidString(m.App) || strings.ContainsAny(m.App, "\r\n") || strings.TrimSpace(m.App) == "":
		return bad("an app name is 1 to %d bytes of UTF-8 on one line", MaxAppNameLen)
	case len(m.AppIcon) > MaxAppIconLen || !utf8.ValidString(m.AppIcon) || strings.ContainsFunc(m.AppIcon, unicode.IsSpace):
		return bad("an app icon is at most %d bytes of UTF-8 without spaces", MaxAppIconLen)
	case len(m.Rich) > MaxRichLen:
		return bad("rich is %d bytes, at most %d", len(m.Rich), MaxRichLen)
	case len(m.Rich) > 0 && (m.Rich[0] != '{' || !json.Valid(m.Rich)):
		return bad("rich is a JSON object")
	}
	return nil
}

// checkRelations checks, for DecodeEnvelope, the fields that tie a
// message to others: which kinds carry a thread, a target, mentions and
// a reaction, and that each is well formed.
func checkRelations(m *Message, env *wire.Envelope) error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrBadEnvelope, fmt.Sprintf(format, a...))
	}
	readRelations(m, env)
	acts := m.Kind == KindEdit || m.Kind == KindDelete || m.Kind == KindReact || m.Kind == KindRead
	switch {
	case len(env.Thread) != 0 && (m.Kind != KindText || len(env.Thread) != len(m.Thread)):
		return bad("a thread is a 32-byte root ID, on a text message")
	case m.AlsoRoom && (m.Thread.IsZero() || m.Room == ""):
		return bad("also_room goes with a thread reply in a room")
	case acts != (len(env.Target) != 0):
		return bad("an edit, delete, reaction or read receipt names its target, and only they do")
	case acts && (len(env.Target) != len(m.Target) || m.TargetHLC == 0 || m.TargetHLC >= m.HLC):
		return bad("a target is a 32-byte ID with an HLC before the message's own")
	case !acts && m.TargetHLC != 0:
		return bad("target_hlc without a target")
	case (m.Kind == KindReact) != (m.Emoji != "") || (m.Remove && m.Kind != KindReact):
		return bad("a reaction has an emoji (and only a reaction)")
	case len(m.Emoji) > MaxEmojiLen || !utf8.ValidString(m.Emoji) || strings.ContainsFunc(m.Emoji, unicode.IsSpace):
		return bad("a reaction is 1 to %d bytes of UTF-8 without spaces", MaxEmojiLen)
	case (len(env.Mentions) > 0 || m.MentionAll) && m.Kind != KindText && m.Kind != KindEdit:
		return bad("only a text or an edit mentions anyone")
	case len(env.Mentions) > MaxMentions:
		return bad("%d mentions, at most %d", len(env.Mentions), MaxMentions)
	case m.Kind == KindEdit && strings.TrimSpace(m.Body) == "":
		return bad("an edit has a text")
	}
	for _, b := range env.Mentions {
		p, err := crypto.PeerIDFromBytes(b)
		if err != nil {
			return bad("mention: %v", err)
		}
		m.Mentions = append(m.Mentions, p)
	}
	return nil
}

// DecodeEnvelope decodes an envelope from a peer and checks everything that
// does not depend on local state, so its verdict is the same on every
// node. A room message gets its Conversation; a direct message does not
// (which side files it where is the caller's business). The returned
// message has no Status yet.
func DecodeEnvelope(envelope []byte) (*Message, error) {
	var env wire.Envelope
	if err := proto.Unmarshal(envelope, &env); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadEnvelope, err)
	}
	if env.Version != envelopeVersion {
		return nil, fmt.Errorf("%w: version %d", ErrBadEnvelope, env.Version)
	}
	author, err := crypto.PeerIDFromBytes(env.Author)
	if err != nil {
		return nil, fmt.Errorf("%w: author: %v", ErrBadEnvelope, err)
	}
	m := &Message{
		ID:       MessageIDOf(envelope),
		Author:   author,
		HLC:      HLC(env.Hlc),
		Kind:     Kind(env.Kind),
		Body:     env.Body,
		Envelope: envelope,
		op:       env.Op,
		grant:    env.Grant,
	}
	switch {
	case len(env.ToPeer) > 0 && env.Room == "":
		to, err := crypto.PeerIDFromBytes(env.ToPeer)
		if err != nil {
			return nil, fmt.Errorf("%w: recipient: %v", ErrBadEnvelope, err)
		}
		m.To = to
	case len(env.ToPeer) == 0 && env.Room != "":
		if err := ValidateRoomName(env.Room); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadEnvelope, err)
		}
		m.Room = env.Room
		m.Conversation = RoomConversation(env.Room)
	default:
		return nil, fmt.Errorf("%w: want exactly one of recipient and room", ErrBadEnvelope)
	}
	switch {
	case m.Kind == KindText:
	case m.Room != "" && (m.Kind == KindJoin || m.Kind == KindLeave || m.Kind == KindTyping || m.Kind == KindOp):
	case m.Room == "" && m.Kind == KindKey:
	case m.Kind == KindEdit || m.Kind == KindDelete || m.Kind == KindReact || m.Kind == KindRead:
	default:
		return nil, fmt.Errorf("%w: unknown kind %d", ErrBadEnvelope, env.Kind)
	}
	if m.Kind != KindText && (m.Body != "" && m.Kind != KindEdit || len(env.Files) > 0) {
		return nil, fmt.Errorf("%w: a %v message has no body and no files", ErrBadEnvelope, m.Kind)
	}
	if err := checkRelations(m, &env); err != nil {
		return nil, err
	}
	if err := checkApp(m); err != nil {
		return nil, err
	}
	if m.Files, err = fileManifestsFromWire(env.Files, true); err != nil {
		return nil, err
	}
	if (m.op != nil) != (m.Kind == KindOp) || (m.grant != nil) != (m.Kind == KindKey) {
		return nil, fmt.Errorf("%w: an op goes with kind op, a key grant with kind key, and only there", ErrBadEnvelope)
	}
	if m.op != nil {
		if err := checkOp(m.op); err != nil {
			return nil, err
		}
	}
	if m.grant != nil {
		if err := checkGrant(m.grant); err != nil {
			return nil, err
		}
	}
	if m.HLC == 0 {
		return nil, fmt.Errorf("%w: no timestamp", ErrBadEnvelope)
	}
	if !utf8.ValidString(m.Body) {
		return nil, fmt.Errorf("%w: body is not UTF-8", ErrBadEnvelope)
	}
	switch len(env.ReplyTo) {
	case 0:
	case len(m.ReplyTo):
		copy(m.ReplyTo[:], env.ReplyTo)
	default:
		return nil, fmt.Errorf("%w: reply_to is %d bytes", ErrBadEnvelope, len(env.ReplyTo))
	}
	return m, nil
}

// fileUnder files a direct message under the conversation with the other
// party, as seen from self.
func fileUnder(m *Message, self PeerID) {
	if m.Room != "" {
		return
	}
	if m.Author == self {
		m.Conversation = DMConversation(m.To)
	} else {
		m.Conversation = DMConversation(m.Author)
	}
}
