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
// libp2p; tests use chattest's in-memory one.
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

// Network answers what people ask about the node under the messenger:
// where it listens, how it finds peers, and its connections. Package node
// implements it; it is optional (a Service without one reports no
// addresses and cannot connect by address).
type Network interface {
	// Addrs are this node's listen addresses, each ending in /p2p/<peer ID>.
	Addrs() []string
	// Discovery reports whether mDNS runs, and the DHT's mode: "server",
	// "client" or "off".
	Discovery() (mdns bool, dht string)
	// ConnCount is the number of open connections to p.
	ConnCount(p PeerID) int
	// LastError is why p was last unreachable (a failed dial, missed
	// pings, a lost connection) in one line, and when; "" once it is up
	// again, or when nothing failed yet.
	LastError(p PeerID) (reason string, at time.Time)
	// Connect dials a multiaddr ending in /p2p/<peer ID> and returns once
	// that peer is up as a Parley peer. A malformed address is an error
	// wrapping ErrBadAddr.
	Connect(ctx context.Context, addr string) (PeerID, error)
}

// Store keeps history, the outbox and known peers. Package store implements
// it over Badger. All methods are safe for concurrent use.
type Store interface {
	// Enqueue persists an outgoing direct message and its outbox entry in
	// one transaction.
	Enqueue(m *Message) error
	// AddMessages persists messages idempotently by ID: added[i] reports
	// whether ms[i] was new. A message already held is left as it is,
	// except a placeholder tombstone (Message.Placeholder), which the
	// message itself replaces when it arrives.
	AddMessages(ms []*Message) (added []bool, err error)
	// SetStatus records delivery outcomes of enqueued messages and drops
	// their outbox entries, in one transaction.
	SetStatus(updates []StatusUpdate) error
	// Outbox returns every undelivered outgoing direct message, by
	// recipient, oldest first.
	Outbox() (map[PeerID][]*Message, error)
	// Messages returns up to limit messages of conv that sort before
	// `before` (the zero Cursor: the end), oldest first: every message
	// stored, operations and thread replies included.
	Messages(conv Conversation, before Cursor, limit int) ([]*Message, error)
	// Lines is Messages for the lines of conv's history only: no
	// operations on other messages (edits, deletes, reactions), no thread
	// replies kept to their thread (see Message.IsLine).
	Lines(conv Conversation, before Cursor, limit int) ([]*Message, error)
	// Message returns one message by ID, or ErrNotFound.
	Message(id MessageID) (*Message, error)
	// Related returns the held operations on id (its edits, deletes and
	// reactions), in conversation order.
	Related(id MessageID) ([]*Message, error)
	// ThreadReplies returns up to limit held replies in root's thread
	// that sort before `before` (the zero Cursor: the end), oldest first.
	ThreadReplies(root MessageID, before Cursor, limit int) ([]*Message, error)
	// Views returns the stored views of ids (only those something acts
	// on or replies to are in the map). The store keeps each view in step
	// with the messages it derives from, in the transaction that writes,
	// erases or deletes one of them: ApplyOperations over the target and
	// its operations, and the count and newest HLC of its thread replies.
	Views(ids []MessageID) (map[MessageID]View, error)
	// Erase deletes a held message's text, files and mentions for good,
	// keeping its tombstone (ID, position, author, reply and thread),
	// deleted by `by`. Erasing a tombstone again changes nothing.
	Erase(id MessageID, by PeerID) error
	// Peers returns every known peer.
	Peers() ([]Peer, error)
	// PutPeer creates or replaces a known peer.
	PutPeer(p Peer) error

	RoomStore
}

// RoomStore is what rooms need from the store, beyond Store.
type RoomStore interface {
	Rooms() ([]Room, error)
	PutRoom(r Room) error
	DeleteRoom(name string) error
	Members(room string) ([]Member, error)
	// EnqueueRoom persists this node's room messages before they are
	// published, remembering each as unpublished until SetProofs.
	EnqueueRoom(ms ...*Message) error
	// SetProofs records that messages were published (Proof set).
	SetProofs(ms []*Message) error
	// Unpublished returns this node's room messages never published.
	Unpublished() ([]*Message, error)
	// Has reports whether a message is held.
	Has(id MessageID) (bool, error)
	// SyncItems returns the positions of conv's published messages with
	// HLC >= since, in order, leaving out those deleted for everyone.
	SyncItems(conv Conversation, since HLC) ([]Cursor, error)
	// DeleteBefore deletes conv's messages with HLC < before (retention)
	// and reports how many it deleted.
	DeleteBefore(conv Conversation, before HLC) (int, error)
	// Marker and SetMarker keep a conversation's read marker.
	Marker(conv Conversation) (Cursor, error)
	SetMarker(conv Conversation, c Cursor) error
	// SetReceipt moves p's read position (its read receipt) in conv
	// forward to c, never back, and reports whether it moved; Receipts
	// returns every member's.
	SetReceipt(conv Conversation, p PeerID, c Cursor) (moved bool, err error)
	Receipts(conv Conversation) (map[PeerID]Cursor, error)
	// CountAfter counts text messages of conv after a position, not written by except.
	CountAfter(conv Conversation, after Cursor, except PeerID) (int, error)
	// Flag and SetFlag keep one-time facts ("lobby joined").
	Flag(name string) (bool, error)
	SetFlag(name string) error
	// Ops returns a private room's ops (KindOp messages), in room order.
	// Retention never deletes them.
	Ops(conv Conversation) ([]*Message, error)
	// PutRoomKeys and RoomKeys keep a private room's epoch secrets.
	PutRoomKeys(room RoomID, keys ...RoomKey) error
	RoomKeys(room RoomID) ([]RoomKey, error)
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

// Validator decides on a pubsub message from another node before it is
// delivered or relayed. from is the message's author and signer. With
// Accept it returns the decoded message, which the subscription then
// delivers with the data (PubSubMessage.Message), so nothing is decoded
// twice.
type Validator func(from PeerID, data []byte) (Verdict, *Message)

// Proof is what shows that the author of a room message published it: the
// pubsub seqno and the author's signature over the pubsub message. Package
// node makes and checks proofs; chat only keeps and passes them on.
type Proof struct {
	Seqno     []byte
	Signature []byte
}

// PubSubMessage is a message from another node delivered on a Topic.
type PubSubMessage struct {
	From    PeerID   // author and signer
	Message *Message // as the validator decoded it (Seqno and Signature set)
}

// TopicPeerEvent reports a peer joining or leaving a topic.
type TopicPeerEvent struct {
	Peer   PeerID
	Joined bool
}

// Topic is one joined pubsub topic.
type Topic interface {
	// Publish signs and publishes data and returns the proof it was
	// published with. Right after joining it waits briefly for the topic
	// to have peers, so the first message into a fresh mesh is not lost.
	Publish(ctx context.Context, data []byte) (Proof, error)
	// Next returns the next validated message from another node.
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
	// JoinTopic subscribes to topic; validate judges every message from
	// another node before it is delivered or relayed.
	JoinTopic(topic string, validate Validator) (Topic, error)
	// VerifyProof checks that author published data on topic with proof,
	// exactly as a live message is checked when it arrives. History sync
	// uses it for messages that arrive later.
	VerifyProof(topic string, author PeerID, data []byte, proof Proof) error
	// Penalize lowers p's application-specific score after misbehaviour
	// that is not a deterministic fault (flooding).
	Penalize(p PeerID)
}
