package chat

import (
	"context"
	"io"
	"time"
)

// Stream is a reliable, ordered, bidirectional byte stream to one peer, as
// a Transport opens or accepts it. libp2p's network.Stream satisfies it.
// Writes must be buffered by the transport (a small write returns before
// the peer reads it): the profile exchange has both sides write first.
type Stream interface {
	io.ReadWriteCloser
	// Reset aborts the stream in both directions.
	Reset() error
	SetReadDeadline(time.Time) error
	SetWriteDeadline(time.Time) error
}

// StreamHandler serves one inbound stream from the authenticated peer p.
// It owns the stream and must close or reset it.
type StreamHandler func(p PeerID, s Stream)

// PeerEvent reports that a Parley peer became reachable (Up) or lost its
// last connection.
type PeerEvent struct {
	Peer  PeerID
	Up    bool
	Addrs []string // multiaddrs the peer is reachable at (Up only)
}

// Transport carries streams between peers. Package node implements it over
// libp2p; tests use an in-memory one.
type Transport interface {
	// Self is this node's peer ID.
	Self() PeerID
	// OpenStream opens a stream to p for protocol, dialling p if needed.
	OpenStream(ctx context.Context, p PeerID, protocol string) (Stream, error)
	// SetStreamHandler serves inbound streams of protocol with h.
	SetStreamHandler(protocol string, h StreamHandler)
	// RemoveStreamHandler stops serving protocol.
	RemoveStreamHandler(protocol string)
	// SubscribePeers delivers peer events until cancel is called. Events
	// for peers already up when it is called are delivered first.
	SubscribePeers() (events <-chan PeerEvent, cancel func())
	// AddPeerAddrs tells the transport where a known peer was last seen, so
	// it can reconnect after a restart.
	AddPeerAddrs(p PeerID, addrs []string)
}

// Store keeps history, the outbox and known peers. Package store implements
// it over Badger. All methods are safe for concurrent use.
type Store interface {
	// Enqueue persists an outgoing direct message and its outbox entry in
	// one transaction.
	Enqueue(m *Message) error
	// AddMessages persists messages idempotently by ID: added[i] reports
	// whether ms[i] was new. A message already held is left as it is.
	AddMessages(ms []*Message) (added []bool, err error)
	// SetStatus records delivery outcomes of enqueued messages and drops
	// their outbox entries, in one transaction.
	SetStatus(updates []StatusUpdate) error
	// Outbox returns every undelivered outgoing direct message, by
	// recipient, oldest first.
	Outbox() (map[PeerID][]*Message, error)
	// Messages returns up to limit messages of conv that sort before
	// `before` (the zero Cursor: the end), oldest first.
	Messages(conv Conversation, before Cursor, limit int) ([]*Message, error)
	// Message returns one message by ID, or ErrNotFound.
	Message(id MessageID) (*Message, error)
	// Peers returns every known peer.
	Peers() ([]Peer, error)
	// PutPeer creates or replaces a known peer.
	PutPeer(p Peer) error
}
