package store

import (
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"

	"github.com/parley-chat/parley/chat"
)

// migrateBatch is how many records one migration transaction moves.
const migrateBatch = 500

// migrateV1 brings a store written in schema version 1 to version 2:
//
//   - records that are not lines of their conversation's history (edits,
//     deletes, reactions, read receipts, thread replies kept to their
//     thread) move from 'm' conv 0x00 to 'm' conv 0x01, their ID index
//     entries with them;
//   - thread replies leave the 'T' index (and read receipts, which
//     nothing reads there) and get a 'h' entry under their root;
//   - every message something acts on or replies to gets its view.
//
// Each step is idempotent, so an interrupted migration is done again
// from the start at the next Open; the version is set when all is done.
func (s *Store) migrateV1() error {
	var roots, targets []chat.MessageID
	seenRoot, seenTarget := map[chat.MessageID]bool{}, map[chat.MessageID]bool{}
	var resume []byte
	for {
		type move struct {
			key []byte
			m   *chat.Message
		}
		var batch []move
		next := resume
		err := s.db.View(func(txn *badger.Txn) error {
			it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{tagMessage}, PrefetchValues: true})
			defer it.Close()
			if next == nil {
				it.Rewind()
			} else {
				it.Seek(next)
			}
			for ; it.Valid() && len(batch) < migrateBatch; it.Next() {
				item := it.Item()
				k := item.KeyCopy(nil)
				next = append(k[:len(k):len(k)], 0)
				var m *chat.Message
				err := item.Value(func(v []byte) error {
					var err error
					m, err = decodeMessage(k, v)
					return err
				})
				if err != nil {
					// Left where it is, as unreadable as it was.
					s.log.Warn("migrate store: skipping a record that does not decode", "err", err)
					continue
				}
				if isReply(m) && !seenRoot[m.Thread] {
					seenRoot[m.Thread] = true
					roots = append(roots, m.Thread)
				}
				if isOperation(m) && !seenTarget[m.Target] {
					seenTarget[m.Target] = true
					targets = append(targets, m.Target)
				}
				if k[len(k)-8-idLen-1] != rangeLines {
					continue // moved already (by a migration cut short)
				}
				if !m.IsLine() || !m.Thread.IsZero() || m.Kind == chat.KindRead {
					batch = append(batch, move{k, m})
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("migrate store: read records: %w", err)
		}
		if len(batch) == 0 && string(next) == string(resume) {
			break
		}
		resume = next
		err = s.update(func(txn *badger.Txn) error {
			for _, mv := range batch {
				m := mv.m
				if !m.IsLine() {
					item, err := txn.Get(mv.key)
					if err != nil {
						return err
					}
					val, err := item.ValueCopy(nil)
					if err != nil {
						return err
					}
					nk := recordKey(m)
					if err := txn.Set(nk, val); err != nil {
						return err
					}
					if err := txn.Delete(mv.key); err != nil {
						return err
					}
					if err := txn.Set(indexKey(m.ID), nk[1:len(nk)-idLen]); err != nil {
						return err
					}
				}
				if !m.Thread.IsZero() {
					if err := txn.Delete(relatedKey(m.Thread, m.HLC, m.ID)); err != nil {
						return err
					}
				}
				if m.Kind == chat.KindRead && !m.Target.IsZero() {
					if err := txn.Delete(relatedKey(m.Target, m.HLC, m.ID)); err != nil {
						return err
					}
				}
				if isReply(m) {
					nk := recordKey(m)
					if err := txn.Set(threadKey(m.Thread, m.HLC, m.ID), nk[1:len(nk)-idLen]); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("migrate store: move records: %w", err)
		}
	}
	if err := s.migrateViews(roots, recountReplies); err != nil {
		return err
	}
	if err := s.migrateViews(targets, refreshOrWait); err != nil {
		return err
	}
	return s.update(func(txn *badger.Txn) error { return txn.Set([]byte{tagVersion}, []byte{schemaVersion}) })
}

// migrateViews derives the views of ids with derive, some at a time.
func (s *Store) migrateViews(ids []chat.MessageID, derive func(*badger.Txn, chat.MessageID) error) error {
	for len(ids) > 0 {
		n := min(len(ids), migrateBatch/5)
		err := s.update(func(txn *badger.Txn) error {
			for _, id := range ids[:n] {
				if err := derive(txn, id); err != nil {
					return err
				}
			}
			return nil
		})
		if errors.Is(err, badger.ErrTxnTooBig) && n > 1 {
			err = s.migrateViews(ids[:n/2], derive)
			if err == nil {
				err = s.migrateViews(ids[n/2:n], derive)
			}
		}
		if err != nil {
			return fmt.Errorf("migrate store: derive views: %w", err)
		}
		ids = ids[n:]
	}
	return nil
}
