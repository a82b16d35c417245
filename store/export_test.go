package store

// The tests are package store_test: they build messages with chattest,
// which imports store. What they need of the internals is here.

import (
	"github.com/dgraph-io/badger/v4"

	"github.com/parley-chat/parley/chat"
)

const (
	SchemaVersion = schemaVersion
	DeleteBatch   = deleteBatch

	TagMessage     = tagMessage
	TagIndex       = tagIndex
	TagOutbox      = tagOutbox
	TagUnpublished = tagUnpublished
	TagFile        = tagFile
	TagChunkList   = tagChunkList
	TagHave        = tagHave
	TagChunkRef    = tagChunkRef
	RefBatch       = refBatch
)

// SetSchemaVersion overwrites the schema version record.
func SetSchemaVersion(s *Store, v byte) error {
	return s.update(func(txn *badger.Txn) error { return txn.Set([]byte{tagVersion}, []byte{v}) })
}

// PutOutboxEntry writes an outbox entry without its message.
func PutOutboxEntry(s *Store, p chat.PeerID, h chat.HLC, id chat.MessageID) error {
	return s.update(func(txn *badger.Txn) error { return txn.Set(outboxKey(p, h, id), nil) })
}

// PutRecord writes a message record (val, a wire.StoredMessage the test
// encoded) and its index entry as they are: a record an earlier version
// wrote, which nothing checks.
func PutRecord(s *Store, conv chat.Conversation, h chat.HLC, id chat.MessageID, val []byte) error {
	return s.update(func(txn *badger.Txn) error {
		mk := messageKey(conv, h, id)
		if err := txn.Set(mk, val); err != nil {
			return err
		}
		return txn.Set(indexKey(id), mk[1:len(mk)-idLen])
	})
}

// CountKeys counts the keys of one table.
func CountKeys(s *Store, tag byte) (int, error) {
	n := 0
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{tag}})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			n++
		}
		return nil
	})
	return n, err
}

// PutV1Message writes m as schema version 1 wrote it: its record among
// the lines of its conversation whatever it is, its ID index entry, and
// 'T' entries under its target and its thread's root; no view.
func PutV1Message(s *Store, m *chat.Message) error {
	val, err := encodeMessage(m)
	if err != nil {
		return err
	}
	return s.update(func(txn *badger.Txn) error {
		mk := messageKey(m.Conversation, m.HLC, m.ID)
		if err := txn.Set(mk, val); err != nil {
			return err
		}
		if err := txn.Set(indexKey(m.ID), mk[1:len(mk)-idLen]); err != nil {
			return err
		}
		for _, to := range []chat.MessageID{m.Target, m.Thread} {
			if !to.IsZero() {
				if err := txn.Set(relatedKey(to, m.HLC, m.ID), nil); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// TagRelated and TagThread name the operation and thread indexes.
const (
	TagRelated = tagRelated
	TagThread  = tagThread
	TagView    = tagView
)
