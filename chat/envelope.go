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

// sealEnvelope encodes m's content fields into m.Envelope and sets m.ID.
func sealEnvelope(m *Message) error {
	env := &wire.Envelope{
		Version: envelopeVersion,
		Author:  []byte(m.Author),
		ToPeer:  []byte(m.To),
		Room:    m.Room,
		Hlc:     uint64(m.HLC),
		Kind:    wire.Kind(m.Kind),
		Body:    m.Body,
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

// OpenEnvelope is DecodeEnvelope that also files a direct message under
// the conversation with the other party as seen from self.
func OpenEnvelope(envelope, signature []byte, self PeerID) (*Message, error) {
	m, err := DecodeEnvelope(envelope, signature)
	if err != nil {
		return nil, err
	}
	if m.Room == "" {
		if m.Author == self {
			m.Conversation = DMConversation(m.To)
		} else {
			m.Conversation = DMConversation(m.Author)
		}
	}
	return m, nil
}

// DecodeEnvelope decodes and checks an envelope. It checks everything that
// does not depend on local state, so its verdict is the same on every
// node. A room message gets its Conversation; a direct message does not
// (which side files it where is the caller's business). The returned
// message has no Status yet.
func DecodeEnvelope(envelope, signature []byte) (*Message, error) {
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
		ID:        MessageIDOf(envelope),
		Author:    author,
		HLC:       HLC(env.Hlc),
		Kind:      Kind(env.Kind),
		Body:      env.Body,
		Envelope:  envelope,
		Signature: signature,
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
	case m.Room != "" && (m.Kind == KindJoin || m.Kind == KindLeave || m.Kind == KindTyping):
		if m.Body != "" {
			return nil, fmt.Errorf("%w: a %v message has no body", ErrBadEnvelope, m.Kind)
		}
	default:
		return nil, fmt.Errorf("%w: unknown kind %d", ErrBadEnvelope, env.Kind)
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
