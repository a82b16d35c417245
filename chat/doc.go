// Package chat is the messenger: the message model, direct messages with
// acknowledgements and a persistent outbox, rooms over pubsub with history
// sync, peers and their nicknames, read markers, the hybrid logical clock
// that orders history, and the event stream clients follow.
//
// chat owns the interfaces it consumes (interfaces.go): a Transport
// (streams to peers) and a Network (node facts: addresses, discovery,
// connections), both implemented by package node over libp2p; a PubSub
// (topics, publication proofs), implemented by node with GossipSub; a
// Store (history, outbox, peers, rooms), implemented by package store over
// Badger; and a SearchIndex (full-text search), implemented by
// internal/search with bleve. It imports neither libp2p nor Badger
// (internal/deptest checks).
// Tests plug in the in-memory network of chat/chattest.
//
// # Shape
//
// New builds a Service, Run runs it until its context ends, Close stops it
// (internal/lifecycle). Service is a facade over parts that each keep
// their own state under their own lock:
//
//	peers.go, profile.go        the peer book: known peers, nicknames, this node's nick
//	verify.go                   display names (the one naming rule), safety numbers, verified peers
//	dm.go, dm_link.go, dm_serve.go  direct messages: one delivery link per peer, inbound streams
//	rooms.go, room.go, room_validate.go, members.go  joined rooms: topic loops, validation, members
//	sync.go, sync_serve.go, reconcile.go  history sync (opener, server, pure reconciliation)
//	private.go, private_room.go  private rooms: sealing, keys and their grants, held messages
//	membership.go               a private room's ops, applied in room order
//	private_api.go, invite.go   creating, inviting (/parley/invite/1.0.0), removing
//	read.go, history.go         read markers; history pages, conversations
//	receipts.go                 read receipts: positions sent to rooms (ephemeral) and peers (outbox); seen by, read
//	relations.go                replies, threads, edits, deletes, reactions, mentions: the view every member derives
//	search.go                   Search over a SearchIndex kept current (one goroutine, in order), rebuilt from the store
//	streams.go                  inbound streams, reset when the service stops
//
// # Names and verified peers
//
// Nicknames are labels peers announce; two may share one. Every client
// shows a peer by its display name (Service.DisplayName, Peer.Display):
// the nickname, "nick (SHORTID)" while another known peer or this node
// uses it too, and "✓" after a peer the user verified. Verifying means
// comparing the safety number of the two identities (SafetyNumber, the
// same 60 digits on both sides) out of band and confirming it (Verify);
// it is saved with the peer.
//
// # Messages
//
// A message is an envelope (envelope.go) whose SHA-256 is its ID, so every
// write is idempotent. History is ordered by (HLC, ID), the same on every
// node. DecodeEnvelope judges an envelope from a peer with rules every
// node applies alike; UnmarshalEnvelope reads one already stored without
// judging it again, so a stricter rule never makes history unreadable.
//
// # Direct messages
//
// A direct message is written to the store as "queued" together with an
// outbox entry before SendDM returns. A per-peer link keeps one stream
// open on /parley/dm/1.0.0, writes queued messages as frames (status
// "sent", kept in memory only) and waits for acknowledgements. The
// receiver persists a batch of messages, then acknowledges each; on STORED
// the sender marks the message "delivered" and drops its outbox entry in
// one transaction. Anything not acknowledged is written again on the next
// stream, and the receiver's store is idempotent by message ID, so every
// message is delivered exactly once to history whatever breaks in between.
//
// # Rooms
//
// A room is a pubsub topic. A message is stored ("queued") before it is
// published; a bounded queue feeds a few publishing workers, so a sender
// that outruns the room waits in SendRoom instead of queueing without
// bound. Publishing returns the author's proof (the pubsub signature),
// which is stored with the message ("sent"). Messages from others pass the
// topic validator once (deterministic faults are rejected, stateful ones
// ignored); what it decodes is what gets stored.
//
// # History sync
//
// Pubsub loses messages (a member away, a partition, a burst). Each room
// reconciles its whole history with members on /parley/sync/2.0.0: with
// each member that joins the topic, soon after live traffic, and every
// AntiEntropy. A session first compares a summary of everything both keep;
// if it differs it reconciles in stages from the newest history to the
// oldest, each stage a window holding at most a few thousand items per
// side, so the newest page arrives first and no turn grows with the room.
// A synced message is checked exactly like a live one, proof included.
// History past a room's retention is deleted and never synced.
//
// # Private rooms
//
// A private room's topic is derived from a secret only members hold, and
// everything on it is sealed: ops with a key every member can derive,
// other messages with the author's sender key of the current epoch. Who is
// a member, with which role, is what the room's signed ops say, applied in
// room order by every member alike (membership.go). Every op that changes
// who may read starts an epoch whose secret its author hands to the
// epoch's members as key grants through the direct-message outbox, so a
// removed member never gets the keys of what comes after. Newcomers join
// with a signed invite link, admitted by any member over
// /parley/invite/1.0.0. docs/PROTOCOL.md has the details, docs/SECURITY.md
// what it protects against.
//
// # Files
//
// A message shares files by carrying their manifests (file_manifest.go):
// name, size, type, the SHA-256 root over the file's chunk hashes and, in
// a private room, the file's own key. ShareFiles copies the bytes into the
// FileStore (package store keeps chunks on disk by hash) and posts the
// message (file_share.go). Every node serves the files it holds, to the
// members of the conversation they were shared in, over /parley/file/1.0.0
// (file_serve.go); a fetch (file_fetch.go) gathers the missing chunks from
// every online member that holds them at once, checks each against its
// hash before storing it, drops a source that sends a bad one, and resumes
// where it stopped. Files up to Config.AutoDownload are fetched on
// arrival; a complete file is saved into Config.DownloadDir.
package chat
