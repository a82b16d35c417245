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

	RoomStore
}

// Verdict is a validator's decision on a pubsub message.
type Verdict int

// Verdicts. Reject only for faults every node sees the same way (a bad
// envelope, a forged author): pubsub penalises whoever relayed it. Ignore
// for anything that depends on local state (a duplicate, a rate limit, a
// clock), so honest relays are never punished.
const (
	Accept Verdict = iota
	Reject
	Ignore
)

// Validator decides on a pubsub message before it is delivered or relayed.
// from is the message's author and signer.
type Validator func(from PeerID, data []byte) Verdict

// PubSubMessage is a message delivered on a Topic.
type PubSubMessage struct {
	From      PeerID // author and signer
	Data      []byte
	Seqno     []byte
	Signature []byte
	Local     bool // published by this node
}

// TopicPeerEvent reports a peer joining or leaving a topic.
type TopicPeerEvent struct {
	Peer   PeerID
	Joined bool
}

// Topic is one joined pubsub topic.
type Topic interface {
	// Publish signs and publishes data, waiting briefly for the topic to
	// have peers so the first message into a fresh mesh is not lost.
	Publish(ctx context.Context, data []byte) error
	// Next returns the next validated message (this node's own included).
	Next(ctx context.Context) (*PubSubMessage, error)
	// NextPeerEvent returns the next join or leave of a peer.
	NextPeerEvent(ctx context.Context) (TopicPeerEvent, error)
	// Peers returns the connected peers subscribed to the topic.
	Peers() []PeerID
	// Close leaves the topic.
	Close() error
}

// PubSub carries room messages. Package node implements it with GossipSub.
type PubSub interface {
	// JoinTopic subscribes to topic; validate judges every message, this
	// node's own included, before it is delivered or relayed.
	JoinTopic(topic string, validate Validator) (Topic, error)
	// Penalize lowers p's application-specific score after misbehaviour
	// that is not a deterministic fault (flooding).
	Penalize(p PeerID)
}

// RoomStore is what rooms need from the store, beyond Store.
type RoomStore interface {
	Rooms() ([]Room, error)
	PutRoom(r Room) error
	DeleteRoom(name string) error
	Members(room string) ([]Member, error)
	// EnqueueRoom persists this node's room message before it is
	// published, remembering it as unpublished until SetProof.
	EnqueueRoom(m *Message) error
	// SetProof records that m was published (Seqno and Signature set).
	SetProof(m *Message) error
	// Unpublished returns this node's room messages never published.
	Unpublished() ([]*Message, error)
	// Has reports whether a message is held.
	Has(id MessageID) (bool, error)
	// SyncItems returns the positions of conv's published messages with
	// HLC >= since, in order.
	SyncItems(conv Conversation, since HLC) ([]Cursor, error)
	// Marker and SetMarker keep a conversation's read marker.
	Marker(conv Conversation) (Cursor, error)
	SetMarker(conv Conversation, c Cursor) error
	// CountAfter counts text messages of conv after a position, not written by except.
	CountAfter(conv Conversation, after Cursor, except PeerID) (int, error)
	// Flag and SetFlag keep one-time facts ("lobby joined").
	Flag(name string) (bool, error)
	SetFlag(name string) error
}
