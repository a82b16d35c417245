package store

import (
	"encoding/binary"
	"errors"

	"github.com/parley-chat/parley/chat"
)

const (
	tagMessage     = 'm'
	tagIndex       = 'i'
	tagOutbox      = 'o'
	tagPeer        = 'p'
	tagVersion     = 'v'
	tagRoom        = 'r'
	tagMember      = 'n'
	tagUnpublished = 'u'
	tagMarker      = 'k'
	tagFlag        = 'f'
	tagOp          = 'O'
	tagRoomKey     = 'e'
	tagFile        = 'F'
	tagChunkList   = 'L'
	tagHave        = 'H'
	tagChunkRef    = 'R'
	tagRelated     = 'T'
	tagErased      = 'x'
	tagReceipt     = 'a'
	tagThread      = 'h'
	tagView        = 'S'
	tagWaiting     = 'W'
)

// Message keys come in two ranges per conversation, told apart by the
// byte after conv: the lines of its history, and everything else (edits,
// deletes, reactions, read receipts, thread replies kept to their thread).
const (
	rangeLines = 0x00
	rangeOther = 0x01
)

const idLen = len(chat.MessageID{})

// convPrefix is 'm' conv 0x00: every key of a line of conv's history
// starts with it.
func convPrefix(conv chat.Conversation) []byte { return rangePrefix(conv, rangeLines) }

// otherPrefix is 'm' conv 0x01: the keys of conv's messages that are not
// lines of its history (chat.Message.IsLine) start with it.
func otherPrefix(conv chat.Conversation) []byte { return rangePrefix(conv, rangeOther) }

func rangePrefix(conv chat.Conversation, r byte) []byte {
	k := make([]byte, 0, 2+len(conv)+8+idLen)
	k = append(k, tagMessage)
	k = append(k, conv...)
	return append(k, r)
}

// recordKey is where m's record is kept: in the lines of its
// conversation, or in the other range.
func recordKey(m *chat.Message) []byte {
	r := byte(rangeLines)
	if !m.IsLine() {
		r = rangeOther
	}
	return appendPosition(rangePrefix(m.Conversation, r), m.HLC, m.ID)
}

// position is the (HLC, ID) suffix of a message key.
func appendPosition(k []byte, h chat.HLC, id chat.MessageID) []byte {
	k = binary.BigEndian.AppendUint64(k, uint64(h))
	return append(k, id[:]...)
}

func messageKey(conv chat.Conversation, h chat.HLC, id chat.MessageID) []byte {
	return appendPosition(convPrefix(conv), h, id)
}

func indexKey(id chat.MessageID) []byte { return append([]byte{tagIndex}, id[:]...) }

func outboxPrefix(p chat.PeerID) []byte {
	k := make([]byte, 0, 2+len(p)+8+idLen)
	k = append(k, tagOutbox, byte(len(p)))
	return append(k, p...)
}

func outboxKey(p chat.PeerID, h chat.HLC, id chat.MessageID) []byte {
	return appendPosition(outboxPrefix(p), h, id)
}

// parseOutboxKey splits an outbox key into its peer and message ID.
func parseOutboxKey(k []byte) (chat.PeerID, chat.MessageID, error) {
	var id chat.MessageID
	if len(k) < 2 || len(k) != 2+int(k[1])+8+idLen {
		return "", id, errors.New("malformed outbox key")
	}
	p := chat.PeerID(k[2 : 2+int(k[1])])
	copy(id[:], k[len(k)-idLen:])
	return p, id, nil
}

func peerKey(p chat.PeerID) []byte { return append([]byte{tagPeer}, p...) }

// parseMessageKey returns the conversation of a message key.
func parseMessageKey(k []byte) (chat.Conversation, error) {
	if len(k) < 2+8+idLen || k[0] != tagMessage || k[len(k)-8-idLen-1] > rangeOther {
		return "", errors.New("malformed message key")
	}
	return chat.Conversation(k[1 : len(k)-8-idLen-1]), nil
}

func roomKey(name string) []byte { return append([]byte{tagRoom}, name...) }

func memberPrefix(room string) []byte {
	k := append([]byte{tagMember}, room...)
	return append(k, 0)
}

func memberKey(room string, p chat.PeerID) []byte { return append(memberPrefix(room), p...) }

func unpublishedKey(conv chat.Conversation, h chat.HLC, id chat.MessageID) []byte {
	k := append([]byte{tagUnpublished}, conv...)
	return appendPosition(append(k, 0), h, id)
}

func markerKey(conv chat.Conversation) []byte { return append([]byte{tagMarker}, conv...) }

// receiptPrefix is 'a' conv 0x00: every read receipt of conv starts with it.
func receiptPrefix(conv chat.Conversation) []byte {
	k := append([]byte{tagReceipt}, conv...)
	return append(k, 0)
}

func receiptKey(conv chat.Conversation, p chat.PeerID) []byte {
	return append(receiptPrefix(conv), p...)
}

func flagKey(name string) []byte { return append([]byte{tagFlag}, name...) }

// opKey marks a private room's op: 'O' conv 0x00 position.
func opKey(conv chat.Conversation, h chat.HLC, id chat.MessageID) []byte {
	k := append([]byte{tagOp}, conv...)
	return appendPosition(append(k, 0), h, id)
}

func opPrefix(conv chat.Conversation) []byte {
	k := append([]byte{tagOp}, conv...)
	return append(k, 0)
}

// roomKeyKey holds one epoch secret of a private room: 'e' room ID epoch.
func roomKeyKey(room chat.RoomID, epoch chat.MessageID) []byte {
	k := append([]byte{tagRoomKey}, room[:]...)
	return append(k, epoch[:]...)
}

// fileKey holds a file's record: 'F' root(32).
func fileKey(h chat.FileHash) []byte { return append([]byte{tagFile}, h[:]...) }

// chunkListKey holds a file's verified chunk list: 'L' root(32).
func chunkListKey(h chat.FileHash) []byte { return append([]byte{tagChunkList}, h[:]...) }

// haveKey holds the bitset of a file's chunks held: 'H' root(32).
func haveKey(h chat.FileHash) []byte { return append([]byte{tagHave}, h[:]...) }

// chunkRefKey holds a chunk's reference count: 'R' chunk hash(32).
func chunkRefKey(c chat.FileHash) []byte { return append([]byte{tagChunkRef}, c[:]...) }

// relatedKey indexes operation id (an edit, delete or reaction) under the
// message it acts on: 'T' target(32) hlc(8) id(32).
func relatedKey(target chat.MessageID, h chat.HLC, id chat.MessageID) []byte {
	k := make([]byte, 0, 1+idLen+8+idLen)
	k = append(k, tagRelated)
	k = append(k, target[:]...)
	k = binary.BigEndian.AppendUint64(k, uint64(h))
	return append(k, id[:]...)
}

// erasedKey marks a message deleted for everyone, which sync leaves out:
// 'x' conv 0x00 hlc(8) id(32).
func erasedKey(conv chat.Conversation, h chat.HLC, id chat.MessageID) []byte {
	k := append([]byte{tagErased}, conv...)
	k = append(k, 0)
	return appendPosition(k, h, id)
}

// threadKey indexes thread reply id under its root: 'h' root(32) hlc(8)
// id(32); its value is the reply's record key without tag and ID, as
// the ID index's is.
func threadKey(root chat.MessageID, h chat.HLC, id chat.MessageID) []byte {
	k := make([]byte, 0, 1+idLen+8+idLen)
	k = append(k, tagThread)
	k = append(k, root[:]...)
	k = binary.BigEndian.AppendUint64(k, uint64(h))
	return append(k, id[:]...)
}

// viewKey holds a message's view (wire.StoredView): 'S' id(32).
func viewKey(id chat.MessageID) []byte { return append([]byte{tagView}, id[:]...) }

// waitingKey marks a message not held yet that operations act on.
func waitingKey(id chat.MessageID) []byte { return append([]byte{tagWaiting}, id[:]...) }
