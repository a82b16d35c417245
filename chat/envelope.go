package chat

import (
	"crypto/sha256"
	"fmt"
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
	}
	if !m.ReplyTo.IsZero() {
		env.ReplyTo = m.ReplyTo[:]
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(env)
	if err != nil {
		return fmt.Errorf("encode envelope: %w", err)
	}
	m.Envelope = b
	m.ID = MessageIDOf(b)
	return nil
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
	return m, nil
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
	default:
		return nil, fmt.Errorf("%w: unknown kind %d", ErrBadEnvelope, env.Kind)
	}
	if m.Kind != KindText && (m.Body != "" || len(env.Files) > 0) {
		return nil, fmt.Errorf("%w: a %v message has no body and no files", ErrBadEnvelope, m.Kind)
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
