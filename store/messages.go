package store

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/dgraph-io/badger/v4"
	"google.golang.org/protobuf/proto"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/internal/wire"
)

var _ chat.Store = (*Store)(nil)

func encodeMessage(m *chat.Message) ([]byte, error) {
	sm := &wire.StoredMessage{
		Envelope:     m.Envelope,
		Signature:    m.Proof.Signature,
		Status:       uint32(m.Status),
		ReceivedAtMs: m.ReceivedAt.UnixMilli(),
		Reason:       m.Reason,
		Seqno:        m.Proof.Seqno,
		Sealed:       m.Sealed,
	}
	if m.Deleted {
		// A tombstone: nothing that could show the text, nothing to
		// prove it with (it is never served).
		env, err := chat.StripEnvelope(m.Envelope)
		if err != nil {
			return nil, err
		}
		sm.Envelope, sm.Sealed, sm.Signature, sm.Seqno = env, nil, nil, nil
		sm.Erased, sm.Id, sm.DeletedBy, sm.Placeholder = true, m.ID[:], []byte(m.DeletedBy), m.Placeholder
	}
	return proto.Marshal(sm)
}

// decodeMessage reads a record. The envelope was checked when it arrived;
// it is read without being judged again (chat.UnmarshalEnvelope), so a
// stricter rule for new messages never makes stored history unreadable.
func decodeMessage(key, val []byte) (*chat.Message, error) {
	conv, err := parseMessageKey(key)
	if err != nil {
		return nil, err
	}
	var sm wire.StoredMessage
	if err := proto.Unmarshal(val, &sm); err != nil {
		return nil, fmt.Errorf("decode stored message: %w", err)
	}
	m, err := chat.UnmarshalEnvelope(sm.Envelope)
	if err != nil {
		return nil, fmt.Errorf("decode stored envelope: %w", err)
	}
	m.Conversation = conv
	if sm.Erased {
		if len(sm.Id) != idLen {
			return nil, errors.New("decode stored message: an erased message without its ID")
		}
		m.ID = chat.MessageID(sm.Id)
		m.Deleted, m.DeletedBy, m.Placeholder = true, chat.PeerID(sm.DeletedBy), sm.Placeholder
	}
	m.Proof = chat.Proof{Seqno: sm.Seqno, Signature: sm.Signature}
	m.Sealed = sm.Sealed
	m.Status = chat.Status(sm.Status)
	m.Reason = sm.Reason
	m.ReceivedAt = time.UnixMilli(sm.ReceivedAtMs).UTC()
	return m, nil
}

// putNew writes m unless its ID is already held (other than as a
// placeholder tombstone, which m replaces); it reports whether it wrote.
func putNew(txn *badger.Txn, m *chat.Message) (bool, error) {
	ik := indexKey(m.ID)
	if _, err := txn.Get(ik); err == nil {
		if m.Placeholder {
			return false, nil
		}
		k, v, err := getByID(txn, m.ID)
		if err != nil {
			return false, err
		}
		held, err := decodeMessage(k, v)
		if err != nil || !held.Placeholder {
			return false, err
		}
		// Its keys have the delete's idea of the HLC.
		if err := txn.Delete(k); err != nil {
			return false, err
		}
		if err := txn.Delete(erasedKey(held.Conversation, held.HLC, held.ID)); err != nil {
			return false, err
		}
		// Operations came before it (the delete at least): its view is
		// derived as it is written.
		if err := txn.Set(waitingKey(m.ID), nil); err != nil {
			return false, err
		}
	} else if !errors.Is(err, badger.ErrKeyNotFound) {
		return false, err
	}
	if err := putMessage(txn, m); err != nil {
		return false, err
	}
	return true, noteArrival(txn, m)
}

// putMessage writes m's record and index entries unconditionally, and
// keeps a room's member index in step. A message written the first time
// is then noted (noteArrival).
func putMessage(txn *badger.Txn, m *chat.Message) error {
	val, err := encodeMessage(m)
	if err != nil {
		return err
	}
	mk := recordKey(m)
	if err := txn.Set(mk, val); err != nil {
		return err
	}
	loc := mk[1 : len(mk)-idLen]
	if err := txn.Set(indexKey(m.ID), loc); err != nil {
		return err
	}
	if m.Kind == chat.KindOp {
		if err := txn.Set(opKey(m.Conversation, m.HLC, m.ID), nil); err != nil {
			return err
		}
	}
	if m.Deleted {
		if err := txn.Set(erasedKey(m.Conversation, m.HLC, m.ID), nil); err != nil {
			return err
		}
	}
	if isOperation(m) {
		if err := txn.Set(relatedKey(m.Target, m.HLC, m.ID), nil); err != nil {
			return err
		}
	}
	if isReply(m) {
		if err := txn.Set(threadKey(m.Thread, m.HLC, m.ID), loc); err != nil {
			return err
		}
	}
	if m.Room != "" {
		return noteMember(txn, m)
	}
	return nil
}

// Enqueue implements chat.Store. The message is new (its HLC is fresh), so
// it is written without looking first.
func (s *Store) Enqueue(m *chat.Message) error {
	if m.To == "" {
		return errors.New("enqueue: not a direct message")
	}
	return s.update(func(txn *badger.Txn) error {
		if err := putMessage(txn, m); err != nil {
			return err
		}
		if err := noteArrival(txn, m); err != nil {
			return err
		}
		return txn.Set(outboxKey(m.To, m.HLC, m.ID), nil)
	})
}

// addBatch is the most messages one AddMessages transaction writes.
// Every iterator opened in a write transaction sorts the writes pending
// in it (Badger), and an operation's view walks the operations on its
// target: a transaction of a whole sync batch (thousands) made that
// quadratic.
const addBatch = 256

// AddMessages implements chat.Store. Large batches are split over several
// transactions; each message is written at most once.
func (s *Store) AddMessages(ms []*chat.Message) ([]bool, error) {
	added := make([]bool, len(ms))
	for start := 0; start < len(ms); {
		end := min(len(ms), start+addBatch)
		for {
			tooBig := false
			err := s.update(func(txn *badger.Txn) error {
				for i := start; i < end; i++ {
					ok, err := putNew(txn, ms[i])
					if errors.Is(err, badger.ErrTxnTooBig) {
						// The transaction holds part of ms[i]: drop all of
						// it and write what fits before ms[i].
						end, tooBig = i, true
						return err
					}
					if err != nil {
						return err
					}
					added[i] = ok
				}
				return nil
			})
			if tooBig {
				if end == start {
					return nil, errors.New("add messages: one message is larger than a transaction")
				}
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("add messages: %w", err)
			}
			break
		}
		start = end
	}
	return added, nil
}

// SetStatus implements chat.Store. The caller holds each message as it was
// enqueued, so the records are rewritten without being read, unless
// erased meanwhile (a tombstone stays one).
func (s *Store) SetStatus(updates []chat.StatusUpdate) error {
	return s.update(func(txn *badger.Txn) error {
		for _, u := range updates {
			m := *u.Message
			m.Status, m.Reason = u.Status, u.Reason
			erased, err := isErased(txn, &m)
			if err != nil {
				return err
			}
			if erased {
				k, v, err := getByID(txn, m.ID)
				if err != nil {
					return err
				}
				held, err := decodeMessage(k, v)
				if err != nil {
					return err
				}
				held.Status, held.Reason = u.Status, u.Reason
				m = *held
			}
			if err := putMessage(txn, &m); err != nil {
				return err
			}
			if err := txn.Delete(outboxKey(m.To, m.HLC, m.ID)); err != nil {
				return err
			}
		}
		return nil
	})
}

func getByID(txn *badger.Txn, id chat.MessageID) (key, val []byte, err error) {
	item, err := txn.Get(indexKey(id))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, nil, chat.ErrNotFound
	}
	if err != nil {
		return nil, nil, err
	}
	suffix, err := item.ValueCopy(nil)
	if err != nil {
		return nil, nil, err
	}
	key = append(append([]byte{tagMessage}, suffix...), id[:]...)
	item, err = txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, nil, fmt.Errorf("index of %s points at a missing message", id)
	}
	if err != nil {
		return nil, nil, err
	}
	val, err = item.ValueCopy(nil)
	return key, val, err
}

// Message implements chat.Store.
func (s *Store) Message(id chat.MessageID) (*chat.Message, error) {
	var m *chat.Message
	err := s.db.View(func(txn *badger.Txn) error {
		k, v, err := getByID(txn, id)
		if err != nil {
			return err
		}
		m, err = decodeMessage(k, v)
		return err
	})
	return m, err
}

// Messages implements chat.Store: the newest limit of conv's lines and
// other messages together.
func (s *Store) Messages(conv chat.Conversation, before chat.Cursor, limit int) ([]*chat.Message, error) {
	if limit <= 0 {
		return nil, nil
	}
	var lines, other []*chat.Message
	err := s.db.View(func(txn *badger.Txn) error {
		var err error
		if lines, err = readRange(txn, convPrefix(conv), before, limit); err != nil {
			return err
		}
		other, err = readRange(txn, otherPrefix(conv), before, limit)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read history: %w", err)
	}
	all := append(lines, other...)
	slices.SortFunc(all, func(a, b *chat.Message) int { return compareCursors(chat.CursorOf(a), chat.CursorOf(b)) })
	return all[max(0, len(all)-limit):], nil
}

// Lines implements chat.Store.
func (s *Store) Lines(conv chat.Conversation, before chat.Cursor, limit int) ([]*chat.Message, error) {
	var out []*chat.Message
	err := s.db.View(func(txn *badger.Txn) error {
		var err error
		out, err = readRange(txn, convPrefix(conv), before, limit)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read history: %w", err)
	}
	return out, nil
}

// readRange reads the newest limit records under prefix (a range of a
// conversation) before `before`, oldest first.
func readRange(txn *badger.Txn, prefix []byte, before chat.Cursor, limit int) ([]*chat.Message, error) {
	if limit <= 0 {
		return nil, nil
	}
	var seek []byte
	if before == (chat.Cursor{}) {
		seek = append(slices.Clone(prefix), 0xff)
	} else {
		seek = appendPosition(slices.Clone(prefix), before.HLC, before.ID)
	}
	out := make([]*chat.Message, 0, min(limit, 256))
	it := txn.NewIterator(badger.IteratorOptions{Reverse: true, Prefix: prefix, PrefetchValues: true, PrefetchSize: min(limit, 100)})
	defer it.Close()
	for it.Seek(seek); it.Valid() && len(out) < limit; it.Next() {
		item := it.Item()
		k := item.Key()
		if before != (chat.Cursor{}) && string(k) == string(seek) {
			continue
		}
		var m *chat.Message
		err := item.Value(func(v []byte) error {
			var err error
			m, err = decodeMessage(k, v)
			return err
		})
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	slices.Reverse(out)
	return out, nil
}

// Outbox implements chat.Store.
func (s *Store) Outbox() (map[chat.PeerID][]*chat.Message, error) {
	out := make(map[chat.PeerID][]*chat.Message)
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{tagOutbox}})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			p, id, err := parseOutboxKey(it.Item().Key())
			if err != nil {
				return err
			}
			k, v, err := getByID(txn, id)
			if errors.Is(err, chat.ErrNotFound) {
				s.log.Warn("outbox entry without its message; skipping it", "id", id)
				continue
			}
			if err != nil {
				return err
			}
			m, err := decodeMessage(k, v)
			if err != nil {
				return err
			}
			out[p] = append(out[p], m)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read outbox: %w", err)
	}
	return out, nil
}

// DeleteBefore implements chat.Store: it deletes conv's messages with HLC
// below `before` (their records, index entries, unpublished marks and
// views), in transactions of a bounded size, and reports how many it
// deleted. The views of the messages they acted on or replied to are
// derived again in the same transaction. The member index keeps what it
// learnt from them. A private room's ops stay: they say who is a member.
func (s *Store) DeleteBefore(conv chat.Conversation, before chat.HLC) (int, error) {
	total := 0
	for _, prefix := range [][]byte{convPrefix(conv), otherPrefix(conv)} {
		n, err := s.deleteRangeBefore(conv, prefix, before)
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// doomed is a message DeleteBefore deletes, as much of it as the
// deletion needs.
type doomed struct {
	key            []byte
	target, thread chat.MessageID // an operation's target; a reply's root
}

func (s *Store) deleteRangeBefore(conv chat.Conversation, prefix []byte, before chat.HLC) (int, error) {
	end := appendPosition(slices.Clone(prefix), before, chat.MessageID{})
	total := 0
	for {
		var batch []doomed
		err := s.db.View(func(txn *badger.Txn) error {
			it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
			defer it.Close()
			for it.Rewind(); it.Valid() && len(batch) < deleteBatch; it.Next() {
				item := it.Item()
				k := item.Key()
				if string(k) >= string(end) {
					break
				}
				pos := k[len(prefix):]
				if _, err := txn.Get(append(opPrefix(conv), pos...)); err == nil {
					continue
				} else if !errors.Is(err, badger.ErrKeyNotFound) {
					return err
				}
				d := doomed{key: item.KeyCopy(nil)}
				err := item.Value(func(v []byte) error {
					m, err := decodeMessage(d.key, v)
					if err != nil {
						return err
					}
					if isOperation(m) {
						d.target = m.Target
					}
					if isReply(m) {
						d.thread = m.Thread
					}
					return nil
				})
				if err != nil {
					return err
				}
				batch = append(batch, d)
			}
			return nil
		})
		if err != nil {
			return total, fmt.Errorf("find old messages: %w", err)
		}
		if len(batch) == 0 {
			return total, nil
		}
		err = s.update(func(txn *badger.Txn) error {
			targets, roots := map[chat.MessageID]bool{}, map[chat.MessageID]bool{}
			for _, d := range batch {
				pos := d.key[len(prefix):]
				var id chat.MessageID
				copy(id[:], pos[8:])
				h := chat.HLC(binary.BigEndian.Uint64(pos))
				dels := [][]byte{d.key, indexKey(id), unpublishedKey(conv, h, id), erasedKey(conv, h, id), viewKey(id)}
				if !d.target.IsZero() {
					dels = append(dels, relatedKey(d.target, h, id))
					targets[d.target] = true
				}
				if !d.thread.IsZero() {
					dels = append(dels, threadKey(d.thread, h, id))
					roots[d.thread] = true
				}
				for _, k := range dels {
					if err := txn.Delete(k); err != nil {
						return err
					}
				}
			}
			for id := range targets {
				if err := refreshOps(txn, id); err != nil {
					return err
				}
			}
			for id := range roots {
				if err := recountReplies(txn, id); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return total, fmt.Errorf("delete old messages: %w", err)
		}
		total += len(batch)
	}
}

// compareCursors orders positions as message keys sort.
func compareCursors(a, b chat.Cursor) int {
	if a.HLC != b.HLC {
		return cmp.Compare(a.HLC, b.HLC)
	}
	return bytes.Compare(a.ID[:], b.ID[:])
}

// deleteBatch is how many messages one DeleteBefore transaction deletes.
const deleteBatch = 1000

// Erase implements chat.Store.
func (s *Store) Erase(id chat.MessageID, by chat.PeerID) error {
	err := s.update(func(txn *badger.Txn) error {
		k, v, err := getByID(txn, id)
		if err != nil {
			return err
		}
		m, err := decodeMessage(k, v)
		if err != nil || m.Deleted {
			return err
		}
		m.Deleted, m.DeletedBy = true, by
		val, err := encodeMessage(m)
		if err != nil {
			return err
		}
		if err := txn.Set(erasedKey(m.Conversation, m.HLC, m.ID), nil); err != nil {
			return err
		}
		if err := txn.Set(k, val); err != nil {
			return err
		}
		// Its view shows no edit or reaction now (nor any text), and an
		// erased edit no longer counts on its target.
		if err := refreshOps(txn, m.ID); err != nil {
			return err
		}
		if isOperation(m) {
			return refreshOps(txn, m.Target)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("erase message %s: %w", id, err)
	}
	return nil
}

// isErased reports whether m (as its conversation, HLC and ID say) was
// deleted for everyone.
func isErased(txn *badger.Txn, m *chat.Message) (bool, error) {
	_, err := txn.Get(erasedKey(m.Conversation, m.HLC, m.ID))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return false, nil
	}
	return err == nil, err
}
