package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/dgraph-io/badger/v4"
	"google.golang.org/protobuf/proto"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/internal/wire"
)

// Views: what the messages acting on a message, and its thread's
// replies, say of it is kept beside it ('S' id), so that a page of
// history reads one view per line instead of every message that names
// it. A view is changed only in the transaction that changes what it
// derives from, and always by reading the view first: two transactions
// that change one view conflict, and the later one is retried on the
// state the earlier one left, so no order of arrival can leave a view
// stale.
//
// The operations part (edits, reactions) is derived again from the
// target and all its operations (chat.ApplyOperations) whenever one of
// them is written, erased or deleted: it does not depend on the order
// they came in. The replies part is a count and a maximum, changed by one
// as a reply is first written, and counted again from the thread index
// when retention deletes replies.

// isOperation reports whether m acts on the message it names in a way
// its view shows or a delete needs: an edit, a delete or a reaction.
func isOperation(m *chat.Message) bool {
	return !m.Target.IsZero() && (m.Kind == chat.KindEdit || m.Kind == chat.KindDelete || m.Kind == chat.KindReact)
}

// isReply reports whether m is a reply in a thread.
func isReply(m *chat.Message) bool { return m.Kind == chat.KindText && !m.Thread.IsZero() }

// noteArrival updates the views that message m, written for the first
// time, changes: its thread root's replies, the view of the message it
// acts on, and its own (operations on it may have come first).
func noteArrival(txn *badger.Txn, m *chat.Message) error {
	if isReply(m) {
		v, err := readView(txn, m.Thread)
		if err != nil {
			return err
		}
		v.Replies++
		v.LastReplyHlc = max(v.LastReplyHlc, uint64(m.HLC))
		if err := writeView(txn, m.Thread, v); err != nil {
			return err
		}
	}
	if isOperation(m) {
		if err := refreshOrWait(txn, m.Target); err != nil {
			return err
		}
	}
	if m.Kind == chat.KindText {
		// Operations that came before m left a mark; without one there is
		// nothing to derive, and no need to walk m's (empty) operations.
		// Reading the mark makes this transaction conflict with one that
		// sets it meanwhile, as the operation's reads m's index entry.
		_, err := txn.Get(waitingKey(m.ID))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := txn.Delete(waitingKey(m.ID)); err != nil {
			return err
		}
		return refreshOps(txn, m.ID)
	}
	return nil
}

// refreshOrWait is refreshOps for the target of an operation written
// now: a target not held yet is marked waiting ('W'), so that its view
// is derived when it comes (noteArrival).
func refreshOrWait(txn *badger.Txn, id chat.MessageID) error {
	_, _, err := getByID(txn, id)
	if errors.Is(err, chat.ErrNotFound) {
		return txn.Set(waitingKey(id), nil)
	}
	if err != nil {
		return err
	}
	return refreshOps(txn, id)
}

// refreshOps derives the operations part of id's view again from id and
// every operation on it held now. Nothing is derived for a message not
// held (its view is derived when it comes) or one not a text message.
func refreshOps(txn *badger.Txn, id chat.MessageID) error {
	v, err := readView(txn, id)
	if err != nil {
		return err
	}
	k, val, err := getByID(txn, id)
	if errors.Is(err, chat.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	target, err := decodeMessage(k, val)
	if err != nil {
		return err
	}
	var ops []*chat.Message
	if target.Kind == chat.KindText {
		if ops, err = operationsOn(txn, id); err != nil {
			return err
		}
	}
	if len(ops) == 0 && proto.Size(v) == 0 {
		return nil // nothing to say, nothing said
	}
	nv := viewToWire(chat.ApplyOperations(target, ops))
	nv.Replies, nv.LastReplyHlc = v.Replies, v.LastReplyHlc
	return writeView(txn, id, nv)
}

// recountReplies counts root's replies again from the thread index.
func recountReplies(txn *badger.Txn, root chat.MessageID) error {
	v, err := readView(txn, root)
	if err != nil {
		return err
	}
	v.Replies, v.LastReplyHlc = 0, 0
	prefix := append([]byte{tagThread}, root[:]...)
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		k := it.Item().Key()
		if len(k) != len(prefix)+8+idLen {
			continue
		}
		v.Replies++
		v.LastReplyHlc = max(v.LastReplyHlc, binary.BigEndian.Uint64(k[len(prefix):]))
	}
	return writeView(txn, root, v)
}

// readView reads id's stored view (empty if there is none). Reading it
// first is what makes concurrent changes of one view conflict.
func readView(txn *badger.Txn, id chat.MessageID) (*wire.StoredView, error) {
	v := &wire.StoredView{}
	item, err := txn.Get(viewKey(id))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return v, nil
	}
	if err != nil {
		return nil, err
	}
	err = item.Value(func(b []byte) error { return proto.Unmarshal(b, v) })
	if err != nil {
		return nil, fmt.Errorf("decode view of %s: %w", id, err)
	}
	return v, nil
}

// writeView stores v as id's view, or deletes it when it says nothing.
func writeView(txn *badger.Txn, id chat.MessageID, v *wire.StoredView) error {
	if proto.Size(v) == 0 {
		return txn.Delete(viewKey(id))
	}
	b, err := proto.Marshal(v)
	if err != nil {
		return err
	}
	return txn.Set(viewKey(id), b)
}

func viewToWire(v chat.View) *wire.StoredView {
	sv := &wire.StoredView{Edited: v.Edited, Body: v.Body, MentionAll: v.MentionAll, Replies: uint32(v.Replies), LastReplyHlc: uint64(v.LastReply)}
	for _, p := range v.Mentions {
		sv.Mentions = append(sv.Mentions, []byte(p))
	}
	for _, ver := range v.Versions {
		sv.Versions = append(sv.Versions, &wire.StoredVersion{Body: ver.Body, Hlc: uint64(ver.HLC)})
	}
	for _, r := range v.Reactions {
		sr := &wire.StoredReaction{Emoji: r.Emoji}
		for _, p := range r.By {
			sr.By = append(sr.By, []byte(p))
		}
		sv.Reactions = append(sv.Reactions, sr)
	}
	return sv
}

func viewFromWire(sv *wire.StoredView) chat.View {
	v := chat.View{Edited: sv.Edited, Body: sv.Body, MentionAll: sv.MentionAll, Replies: int(sv.Replies), LastReply: chat.HLC(sv.LastReplyHlc)}
	for _, p := range sv.Mentions {
		v.Mentions = append(v.Mentions, chat.PeerID(p))
	}
	for _, ver := range sv.Versions {
		v.Versions = append(v.Versions, chat.Version{Body: ver.Body, HLC: chat.HLC(ver.Hlc)})
	}
	for _, r := range sv.Reactions {
		cr := chat.Reaction{Emoji: r.Emoji}
		for _, p := range r.By {
			cr.By = append(cr.By, chat.PeerID(p))
		}
		v.Reactions = append(v.Reactions, cr)
	}
	return v
}

// Views implements chat.Store.
func (s *Store) Views(ids []chat.MessageID) (map[chat.MessageID]chat.View, error) {
	out := make(map[chat.MessageID]chat.View)
	err := s.db.View(func(txn *badger.Txn) error {
		var sv wire.StoredView
		for _, id := range ids {
			item, err := txn.Get(viewKey(id))
			if errors.Is(err, badger.ErrKeyNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			sv.Reset()
			if err := item.Value(func(b []byte) error { return proto.Unmarshal(b, &sv) }); err != nil {
				return fmt.Errorf("decode view of %s: %w", id, err)
			}
			out[id] = viewFromWire(&sv)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read views: %w", err)
	}
	return out, nil
}

// Related implements chat.Store. An index entry whose message is gone
// is skipped.
func (s *Store) Related(id chat.MessageID) ([]*chat.Message, error) {
	var out []*chat.Message
	err := s.db.View(func(txn *badger.Txn) error {
		var err error
		out, err = operationsOn(txn, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read operations on %s: %w", id, err)
	}
	return out, nil
}

// operationsOn reads the operations on id, in conversation order.
func operationsOn(txn *badger.Txn, id chat.MessageID) ([]*chat.Message, error) {
	prefix := append([]byte{tagRelated}, id[:]...)
	var ids []chat.MessageID
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
	for it.Rewind(); it.Valid(); it.Next() {
		k := it.Item().Key()
		if len(k) == len(prefix)+8+idLen {
			ids = append(ids, chat.MessageID(k[len(prefix)+8:]))
		}
	}
	it.Close()
	var out []*chat.Message
	for _, rid := range ids {
		k, v, err := getByID(txn, rid)
		if errors.Is(err, chat.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		m, err := decodeMessage(k, v)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// ThreadReplies implements chat.Store: it walks root's thread index back
// from `before` and reads each reply's record where the entry says.
func (s *Store) ThreadReplies(root chat.MessageID, before chat.Cursor, limit int) ([]*chat.Message, error) {
	if limit <= 0 {
		return nil, nil
	}
	prefix := append([]byte{tagThread}, root[:]...)
	var seek []byte
	if before == (chat.Cursor{}) {
		seek = append(slices.Clone(prefix), 0xff)
	} else {
		seek = appendPosition(slices.Clone(prefix), before.HLC, before.ID)
	}
	out := make([]*chat.Message, 0, min(limit, 256))
	err := s.db.View(func(txn *badger.Txn) error {
		// Badger steps back through its memtables much more slowly than
		// forward: a page that holds the whole thread (its view counts
		// the replies) is read forward, the newest limit kept.
		forward := false
		if before == (chat.Cursor{}) {
			v, err := readView(txn, root)
			if err != nil {
				return err
			}
			forward = int(v.Replies) <= limit
		}
		it := txn.NewIterator(badger.IteratorOptions{Reverse: !forward, Prefix: prefix, PrefetchValues: true, PrefetchSize: min(limit, 100)})
		defer it.Close()
		if forward {
			it.Rewind()
		} else {
			it.Seek(seek)
		}
		var key []byte
		for ; it.Valid() && (forward || len(out) < limit); it.Next() {
			item := it.Item()
			k := item.Key()
			if len(k) != len(prefix)+8+idLen || before != (chat.Cursor{}) && string(k) == string(seek) {
				continue
			}
			id := k[len(prefix)+8:]
			err := item.Value(func(loc []byte) error {
				key = append(append(append(key[:0], tagMessage), loc...), id...)
				return nil
			})
			if err != nil {
				return err
			}
			rec, err := txn.Get(key)
			if errors.Is(err, badger.ErrKeyNotFound) {
				continue // deleted by retention
			}
			if err != nil {
				return err
			}
			var m *chat.Message
			err = rec.Value(func(v []byte) error {
				var err error
				m, err = decodeMessage(key, v)
				return err
			})
			if err != nil {
				return err
			}
			out = append(out, m)
		}
		if forward {
			out = out[max(0, len(out)-limit):]
			slices.Reverse(out)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read thread %s: %w", root, err)
	}
	slices.Reverse(out)
	return out, nil
}
