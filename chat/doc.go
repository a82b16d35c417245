// Package chat is the messenger: the message model, direct messages with
// acknowledgements and a persistent outbox, peers and their nicknames, the
// hybrid logical clock that orders history, and the event stream clients
// follow.
//
// chat owns the interfaces it consumes: a Transport (streams to peers,
// implemented by package node over libp2p) and a Store (history, outbox and
// peers, implemented by package store over Badger). It imports neither
// libp2p nor Badger; a test enforces that.
//
// # Direct messages
//
// A direct message is written to the store as "queued" together with an
// outbox entry before Send returns. A per-peer link keeps one stream open on
// /parley/dm/1.0.0, writes queued messages as frames (status "sent", kept in
// memory only) and waits for acknowledgements. The receiver persists a batch
// of messages, then acknowledges each; on STORED the sender marks the message
// "delivered" and drops its outbox entry in one transaction. Anything not
// acknowledged is written again on the next stream, and the receiver's store
// is idempotent by message ID, so every message is delivered exactly once to
// history whatever breaks in between.
package chat
