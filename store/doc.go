// Package store keeps a node's history, outboxes, rooms, read markers and
// known peers in Badger. It implements chat.Store and never imports libp2p.
//
// # Key layout
//
// Every key starts with a one-byte table tag:
//
//	'm' conv 0x00 hlc(8, big-endian) id(32)  -> wire.StoredMessage
//	'i' id(32)                               -> conv 0x00 hlc(8)   (index by ID)
//	'o' len(peer)(1) peer hlc(8) id(32)      -> empty              (outbox of direct messages)
//	'u' conv 0x00 hlc(8) id(32)              -> empty              (room messages not yet published)
//	'p' peer                                 -> wire.StoredPeer
//	'r' room                                 -> wire.StoredRoom    (joined rooms)
//	'n' room 0x00 peer                       -> wire.StoredMember  (member index)
//	'k' conv                                 -> wire.StoredMarker  (read marker)
//	'f' name                                 -> empty              (one-time flags)
//	'O' conv 0x00 hlc(8) id(32)              -> empty              (a private room's ops; retention keeps them)
//	'e' room ID(16) epoch(32)                -> wire.StoredKey     (a private room's epoch secrets)
//	'v'                                      -> schema version (1 byte)
//
// Message keys sort by conversation, then (HLC, ID): the order every node
// shows. The ID index makes every write idempotent: a message already held
// is never written twice. conv is the text form of chat.Conversation, which
// contains no 0x00 byte; room is a room name without '#'; peer is the
// binary peer ID. The member index is kept in step with a room's messages
// as they are written; DeleteBefore leaves it as it is.
//
// Options are lean (4 MiB memtables, 16 MiB value-log files, small caches,
// warnings only) so an idle node stays small. Writes are not fsynced one by
// one: a committed write survives the process being killed (it is in the
// OS page cache), and Badger syncs on close; see docs/STORAGE.md.
package store
