// Package store keeps a node's history, outboxes, rooms, read markers and
// known peers in Badger. It implements chat.Store and never imports libp2p.
//
// # Key layout
//
// Every key starts with a one-byte table tag:
//
//	'm' conv r hlc(8, big-endian) id(32)     -> wire.StoredMessage (r 0x00: a line of history; 0x01: the rest)
//	'i' id(32)                               -> conv r hlc(8)      (index by ID)
//	'o' len(peer)(1) peer hlc(8) id(32)      -> empty              (outbox of direct messages)
//	'u' conv 0x00 hlc(8) id(32)              -> empty              (room messages not yet published)
//	'p' peer                                 -> wire.StoredPeer
//	'r' room                                 -> wire.StoredRoom    (joined rooms)
//	'n' room 0x00 peer                       -> wire.StoredMember  (member index)
//	'k' conv                                 -> wire.StoredMarker  (read marker)
//	'a' conv 0x00 peer                       -> wire.StoredMarker  (a member's read receipt: how far it has read)
//	'f' name                                 -> empty              (one-time flags)
//	'O' conv 0x00 hlc(8) id(32)              -> empty              (a private room's ops; retention keeps them)
//	'e' room ID(16) epoch(32)                -> wire.StoredKey     (a private room's epoch secrets)
//	'F' root(32)                             -> wire.StoredFile    (a shared file's manifest and state)
//	'L' root(32)                             -> chunk hashes(32 each, in order) (its verified chunk list)
//	'H' root(32)                             -> bitset of chunks held (absent: none)
//	'R' chunk(32)                            -> uint64 big-endian  (references to a chunk file)
//	'T' target(32) hlc(8) id(32)             -> empty              (a message's edits, deletes and reactions)
//	'h' root(32) hlc(8) id(32)               -> conv r hlc(8)      (a thread's replies, with where their records are)
//	'S' id(32)                               -> wire.StoredView    (what edits, reactions and thread replies say of a message)
//	'W' id(32)                               -> empty              (a message not held yet that operations act on)
//	'x' conv 0x00 hlc(8) id(32)              -> empty              (deleted for everyone: left out of sync)
//	'v'                                      -> schema version (1 byte)
//
// Message keys sort by conversation, then (HLC, ID): the order every node
// shows. Each conversation has two ranges: r = 0x00 holds the lines of
// its history (chat.Message.IsLine: text, joins, leaves, ops, thread
// replies also sent to the room), r = 0x01 everything else (edits,
// deletes, reactions, read receipts, thread replies kept to their
// thread), so a page of history reads only its lines. Where a message
// goes depends on its envelope alone, so it never moves (a placeholder
// tombstone is a line; the message replacing it goes where it belongs).
// A thread is read through 'h', root first then by (HLC, ID).
//
// A message's view ('S') is what the messages acting on it and its
// thread's replies say of it: chat.ApplyOperations over it and its 'T'
// operations, with the count and newest HLC of its 'h' replies. It is
// changed in the transaction that writes, erases or deletes one of the
// messages it derives from, after reading it (so two such transactions
// conflict, and the later is retried): it is never stale, whatever
// order messages arrive in. Erasing a message derives its view again, so
// no edited text stays in it. Schema version 1 (one range, replies in
// 'T', no views) is migrated at Open (store/migrate.go). The ID index makes every write idempotent: a message already held
// is never written twice. conv is the text form of chat.Conversation, which
// contains no 0x00 byte; room is a room name without '#'; peer is the
// binary peer ID. The member index is kept in step with a room's messages
// as they are written; DeleteBefore leaves it as it is.
//
// A message deleted for everyone keeps its record as a tombstone: the
// envelope stripped of text, files and mentions (chat.StripEnvelope),
// flagged erased, with the original ID and the deleter. Badger may keep
// the old value in its value log until that file is garbage-collected;
// the record itself, every index and search no longer hold the text. A
// delete that arrives before its target leaves a placeholder tombstone
// (ID and HLC from the delete), which the target replaces if it comes.
//
// # Files
//
// A shared file is named by its root (crypto.FileRoot). Its chunks are
// files on disk, addressed by their SHA-256: <chunk dir>/ab/<64 hex>,
// where ab are the hash's first two hex digits and the chunk directory
// is <store dir>/chunks unless Options.ChunkDir says otherwise. A chunk
// is written to a temp file beside it (.<hex>.tmp-*) and renamed, so no
// partial chunk ever has a chunk's name; the same bytes in two files, or
// twice in one, are one chunk file. 'R' counts the references to each
// chunk: one per (file, index) whose bit is set in the file's 'H'
// bitset. A chunk file is written before the transaction that counts it,
// and removed after the one that drops its last reference, so a crash
// leaves at worst an unreferenced chunk (Open removes those, and temp
// files) or a count too high (space, never data). 'L' and 'H' are apart
// from 'F' so that storing one chunk rewrites a bitset of n/8 bytes, not
// a record with a thumbnail or a chunk list of 32n bytes.
//
// Options are lean (4 MiB memtables, 16 MiB value-log files, small caches,
// warnings only) so an idle node stays small. Writes are not fsynced one by
// one: a committed write survives the process being killed (it is in the
// OS page cache), and Badger syncs on close; see docs/STORAGE.md.
package store
