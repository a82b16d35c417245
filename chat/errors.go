package chat

import (
	"errors"
	"fmt"
)

var (
	// ErrUnknownPeer is returned for a @nick or peer no known peer matches.
	ErrUnknownPeer = errors.New("unknown peer")
	// ErrAmbiguousPeer is returned for a @nick that several known peers share.
	ErrAmbiguousPeer = errors.New("ambiguous peer")
	// ErrTooLarge is returned for a message that does not fit in one frame.
	ErrTooLarge = errors.New("message too large")
	// ErrEmptyMessage is returned for a message with no text.
	ErrEmptyMessage = errors.New("empty message")
	// ErrSelf is returned when messaging this node itself.
	ErrSelf = errors.New("cannot message yourself")
	// ErrBadEnvelope is returned for an envelope that fails validation.
	ErrBadEnvelope = errors.New("invalid envelope")
	// ErrFrameTooLarge is returned when a frame's length prefix exceeds the cap.
	ErrFrameTooLarge = errors.New("frame too large")
	// ErrNotFound is returned for a message (or anything else asked for by
	// name) that is not held.
	ErrNotFound = errors.New("not found")
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("closed")
	// ErrNotJoined is returned for a room this node has not joined.
	ErrNotJoined = errors.New("not in room")
	// ErrBadRoom is returned for a room name that breaks the rules.
	ErrBadRoom = errors.New("invalid room name")
	// ErrBadNick is returned for a nickname that breaks the rules.
	ErrBadNick = errors.New("invalid nickname")
	// ErrBadAddr is returned for an address that is not a valid multiaddr
	// ending in /p2p/<peer ID>.
	ErrBadAddr = errors.New("invalid multiaddr")
	// ErrInvalid is returned for any other argument that breaks the rules
	// (a history limit, a message in another conversation, ...).
	ErrInvalid = errors.New("invalid argument")
)

// ErrFileTooLarge is returned for a file over the size limit (when it is
// shared, or when a manifest claims it). It wraps ErrTooLarge.
var ErrFileTooLarge error = &wrappedSentinel{"file too large", ErrTooLarge}

// wrappedSentinel is a sentinel error that is also another.
type wrappedSentinel struct {
	msg    string
	parent error
}

func (e *wrappedSentinel) Error() string { return e.msg }
func (e *wrappedSentinel) Unwrap() error { return e.parent }

func errNotJoined(room string) error { return fmt.Errorf("%w: #%s", ErrNotJoined, room) }
