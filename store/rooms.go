package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/dgraph-io/badger/v4"
	"google.golang.org/protobuf/proto"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/crypto"
	"github.com/parley-chat/parley/internal/wire"
)

// Rooms implements chat.Store.
func (s *Store) Rooms() ([]chat.Room, error) {
	var out []chat.Room
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{tagRoom}, PrefetchValues: true})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			var sr wire.StoredRoom
			if err := it.Item().Value(func(v []byte) error { return proto.Unmarshal(v, &sr) }); err != nil {
				return fmt.Errorf("decode room: %w", err)
			}
			r := chat.Room{
				Name:      string(it.Item().Key()[1:]),
				JoinedAt:  time.UnixMilli(sr.JoinedAtMs).UTC(),
				Retention: time.Duration(sr.RetentionMs) * time.Millisecond,
			}
			if len(sr.PrivateId) > 0 {
				p := &chat.PrivateRoom{Removed: sr.Removed}
				if len(sr.PrivateId) != len(p.ID) || len(sr.Secret) != len(p.Secret) {
					return fmt.Errorf("decode room %s: malformed private room", r.Name)
				}
				copy(p.ID[:], sr.PrivateId)
				copy(p.Secret[:], sr.Secret)
				r.Private = p
			}
			out = append(out, r)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read rooms: %w", err)
	}
	return out, nil
}

// PutRoom implements chat.Store.
func (s *Store) PutRoom(r chat.Room) error {
	sr := &wire.StoredRoom{JoinedAtMs: r.JoinedAt.UnixMilli(), RetentionMs: r.Retention.Milliseconds()}
	if p := r.Private; p != nil {
		sr.PrivateId, sr.Secret, sr.Removed = p.ID[:], p.Secret[:], p.Removed
	}
	b, err := proto.Marshal(sr)
	if err != nil {
		return err
	}
	return s.update(func(txn *badger.Txn) error { return txn.Set(roomKey(r.Name), b) })
}

// DeleteRoom implements chat.Store. The room's history stays.
func (s *Store) DeleteRoom(name string) error {
	return s.update(func(txn *badger.Txn) error { return txn.Delete(roomKey(name)) })
}

// Flag implements chat.Store.
func (s *Store) Flag(name string) (bool, error) {
	err := s.db.View(func(txn *badger.Txn) error {
		_, err := txn.Get(flagKey(name))
		return err
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return false, nil
	}
	return err == nil, err
}

// SetFlag implements chat.Store.
func (s *Store) SetFlag(name string) error {
	return s.update(func(txn *badger.Txn) error { return txn.Set(flagKey(name), nil) })
}

// noteMember folds a room message into the room's member index.
func noteMember(txn *badger.Txn, m *chat.Message) error {
	k := memberKey(m.Room, m.Author)
	var sm wire.StoredMember
	item, err := txn.Get(k)
	switch {
	case errors.Is(err, badger.ErrKeyNotFound):
	case err != nil:
		return err
	default:
		if err := item.Value(func(v []byte) error { return proto.Unmarshal(v, &sm) }); err != nil {
			return fmt.Errorf("decode member: %w", err)
		}
	}
	h := uint64(m.HLC)
	sm.LastHlc = max(sm.LastHlc, h)
	if h >= sm.StateHlc {
		sm.StateHlc = h
		sm.Joined = m.Kind != chat.KindLeave
	}
	b, err := proto.Marshal(&sm)
	if err != nil {
		return err
	}
	return txn.Set(k, b)
}

// Members implements chat.Store.
func (s *Store) Members(room string) ([]chat.Member, error) {
	var out []chat.Member
	prefix := memberPrefix(room)
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			id, err := crypto.PeerIDFromBytes(it.Item().Key()[len(prefix):])
			if err != nil {
				continue
			}
			var sm wire.StoredMember
			if err := it.Item().Value(func(v []byte) error { return proto.Unmarshal(v, &sm) }); err != nil {
				return fmt.Errorf("decode member: %w", err)
			}
			out = append(out, chat.Member{Peer: id, Joined: sm.Joined, LastHLC: chat.HLC(sm.LastHlc)})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read members of %s: %w", room, err)
	}
	return out, nil
}

// EnqueueRoom implements chat.Store: room messages of this node, stored
// before they are published and remembered as unpublished until
// SetProofs, in one transaction.
func (s *Store) EnqueueRoom(ms ...*chat.Message) error {
	for _, m := range ms {
		if m.Room == "" {
			return errors.New("enqueue room: not a room message")
		}
	}
	return s.update(func(txn *badger.Txn) error {
		for _, m := range ms {
			if err := putMessage(txn, m); err != nil {
				return err
			}
			if err := noteArrival(txn, m); err != nil {
				return err
			}
			if err := txn.Set(unpublishedKey(m.Conversation, m.HLC, m.ID), nil); err != nil {
				return err
			}
		}
		return nil
	})
}

// SetProofs implements chat.Store: messages (as enqueued) were published,
// their Proof set; one transaction. A message deleted meanwhile (by
// DeleteBefore) stays deleted, and one erased meanwhile stays erased.
func (s *Store) SetProofs(ms []*chat.Message) error {
	vals := make([][]byte, len(ms))
	for i, m := range ms {
		v, err := encodeMessage(m)
		if err != nil {
			return err
		}
		vals[i] = v
	}
	// The records alone: the index and the member index got the messages
	// at EnqueueRoom and a proof changes neither (rewriting the member
	// index here conflicts with the author's next EnqueueRoom).
	return s.update(func(txn *badger.Txn) error {
		for i, m := range ms {
			if _, err := txn.Get(indexKey(m.ID)); errors.Is(err, badger.ErrKeyNotFound) {
				continue
			} else if err != nil {
				return err
			}
			erased, err := isErased(txn, m)
			if err != nil {
				return err
			}
			if !erased {
				if err := txn.Set(recordKey(m), vals[i]); err != nil {
					return err
				}
			}
			if err := txn.Delete(unpublishedKey(m.Conversation, m.HLC, m.ID)); err != nil {
				return err
			}
		}
		return nil
	})
}

// Unpublished implements chat.Store.
func (s *Store) Unpublished() ([]*chat.Message, error) {
	var out []*chat.Message
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{tagUnpublished}})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			k := it.Item().Key()
			if len(k) < idLen {
				continue
			}
			var id chat.MessageID
			copy(id[:], k[len(k)-idLen:])
			mk, v, err := getByID(txn, id)
			if errors.Is(err, chat.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			m, err := decodeMessage(mk, v)
			if err != nil {
				return err
			}
			out = append(out, m)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read unpublished messages: %w", err)
	}
	return out, nil
}

// Has implements chat.Store.
func (s *Store) Has(id chat.MessageID) (bool, error) {
	err := s.db.View(func(txn *badger.Txn) error {
		_, err := txn.Get(indexKey(id))
		return err
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return false, nil
	}
	return err == nil, err
}

// SyncItems implements chat.Store: the positions of conv's messages with
// HLC >= since, in order, leaving out messages not yet published (they
// have no proof to offer).
func (s *Store) SyncItems(conv chat.Conversation, since chat.HLC) ([]chat.Cursor, error) {
	var out []chat.Cursor
	err := s.db.View(func(txn *badger.Txn) error {
		// Left out: what was never published (nothing proves it yet),
		// and what was deleted for everyone (never served; a member that
		// never had it keeps a placeholder, so both sides leave it out).
		unpublished := map[chat.MessageID]bool{}
		for _, tag := range []byte{tagUnpublished, tagErased} {
			up := append([]byte{tag}, conv...)
			up = append(up, 0)
			uit := txn.NewIterator(badger.IteratorOptions{Prefix: up})
			for uit.Rewind(); uit.Valid(); uit.Next() {
				var id chat.MessageID
				k := uit.Item().Key()
				copy(id[:], k[len(k)-idLen:])
				unpublished[id] = true
			}
			uit.Close()
		}

		for _, prefix := range [][]byte{convPrefix(conv), otherPrefix(conv)} {
			it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
			for it.Seek(appendPosition(slices.Clone(prefix), since, chat.MessageID{})); it.Valid(); it.Next() {
				k := it.Item().Key()
				var c chat.Cursor
				pos := k[len(prefix):]
				c.HLC = chat.HLC(binary.BigEndian.Uint64(pos))
				copy(c.ID[:], pos[8:])
				if !unpublished[c.ID] {
					out = append(out, c)
				}
			}
			it.Close()
		}
		slices.SortFunc(out, compareCursors)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read sync items: %w", err)
	}
	return out, nil
}

// Marker implements chat.Store.
func (s *Store) Marker(conv chat.Conversation) (chat.Cursor, error) {
	var c chat.Cursor
	err := s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(markerKey(conv))
		if err != nil {
			return err
		}
		var sm wire.StoredMarker
		if err := item.Value(func(v []byte) error { return proto.Unmarshal(v, &sm) }); err != nil {
			return err
		}
		c.HLC = chat.HLC(sm.Hlc)
		copy(c.ID[:], sm.Id)
		return nil
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return chat.Cursor{}, nil
	}
	return c, err
}

// SetMarker implements chat.Store.
func (s *Store) SetMarker(conv chat.Conversation, c chat.Cursor) error {
	b, err := proto.Marshal(&wire.StoredMarker{Hlc: uint64(c.HLC), Id: c.ID[:]})
	if err != nil {
		return err
	}
	return s.update(func(txn *badger.Txn) error { return txn.Set(markerKey(conv), b) })
}

// SetReceipt implements chat.Store: p's read position in conv moves
// forward to c (never back); moved reports whether it did.
func (s *Store) SetReceipt(conv chat.Conversation, p chat.PeerID, c chat.Cursor) (moved bool, err error) {
	b, err := proto.Marshal(&wire.StoredMarker{Hlc: uint64(c.HLC), Id: c.ID[:]})
	if err != nil {
		return false, err
	}
	err = s.update(func(txn *badger.Txn) error {
		moved = false
		k := receiptKey(conv, p)
		item, err := txn.Get(k)
		switch {
		case errors.Is(err, badger.ErrKeyNotFound):
		case err != nil:
			return err
		default:
			cur, err := decodeMarker(item)
			if err != nil {
				return err
			}
			if !cur.Less(c) {
				return nil
			}
		}
		moved = true
		return txn.Set(k, b)
	})
	return moved, err
}

// Receipts implements chat.Store: every member's read position in conv.
func (s *Store) Receipts(conv chat.Conversation) (map[chat.PeerID]chat.Cursor, error) {
	out := map[chat.PeerID]chat.Cursor{}
	prefix := receiptPrefix(conv)
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true, PrefetchSize: 16})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			c, err := decodeMarker(it.Item())
			if err != nil {
				return err
			}
			out[chat.PeerID(it.Item().Key()[len(prefix):])] = c
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read receipts: %w", err)
	}
	return out, nil
}

func decodeMarker(item *badger.Item) (chat.Cursor, error) {
	var c chat.Cursor
	var sm wire.StoredMarker
	if err := item.Value(func(v []byte) error { return proto.Unmarshal(v, &sm) }); err != nil {
		return c, err
	}
	if len(sm.Id) != len(c.ID) {
		return c, errors.New("malformed read position")
	}
	c.HLC = chat.HLC(sm.Hlc)
	copy(c.ID[:], sm.Id)
	return c, nil
}

// CountAfter implements chat.Store: text messages of conv after `after`
// (the zero Cursor: all) not written by `except`.
func (s *Store) CountAfter(conv chat.Conversation, after chat.Cursor, except chat.PeerID) (int, error) {
	n := 0
	err := s.db.View(func(txn *badger.Txn) error {
		for _, prefix := range [][]byte{convPrefix(conv), otherPrefix(conv)} {
			if err := countAfter(txn, prefix, after, except, &n); err != nil {
				return err
			}
		}
		return nil
	})
	return n, err
}

func countAfter(txn *badger.Txn, prefix []byte, after chat.Cursor, except chat.PeerID, n *int) error {
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true, PrefetchSize: 64})
	defer it.Close()
	start := appendPosition(slices.Clone(prefix), after.HLC, after.ID)
	for it.Seek(start); it.Valid(); it.Next() {
		k := it.Item().Key()
		if after != (chat.Cursor{}) && string(k) == string(start) {
			continue
		}
		err := it.Item().Value(func(v []byte) error {
			m, err := decodeMessage(k, v)
			if err != nil {
				return err
			}
			if m.Kind == chat.KindText && m.Author != except {
				*n++
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// Ops implements chat.Store: a private room's ops, in room order.
func (s *Store) Ops(conv chat.Conversation) ([]*chat.Message, error) {
	var out []*chat.Message
	err := s.db.View(func(txn *badger.Txn) error {
		prefix := opPrefix(conv)
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			mk := append(convPrefix(conv), it.Item().Key()[len(prefix):]...)
			item, err := txn.Get(mk)
			if errors.Is(err, badger.ErrKeyNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			v, err := item.ValueCopy(nil)
			if err != nil {
				return err
			}
			m, err := decodeMessage(mk, v)
			if err != nil {
				return err
			}
			out = append(out, m)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read ops of %s: %w", conv, err)
	}
	return out, nil
}

// PutRoomKeys implements chat.Store.
func (s *Store) PutRoomKeys(room chat.RoomID, keys ...chat.RoomKey) error {
	return s.update(func(txn *badger.Txn) error {
		for _, k := range keys {
			b, err := proto.Marshal(&wire.StoredKey{Secret: k.Secret[:]})
			if err != nil {
				return err
			}
			if err := txn.Set(roomKeyKey(room, k.Epoch), b); err != nil {
				return err
			}
		}
		return nil
	})
}

// RoomKeys implements chat.Store.
func (s *Store) RoomKeys(room chat.RoomID) ([]chat.RoomKey, error) {
	var out []chat.RoomKey
	err := s.db.View(func(txn *badger.Txn) error {
		prefix := append([]byte{tagRoomKey}, room[:]...)
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			var sk wire.StoredKey
			if err := it.Item().Value(func(v []byte) error { return proto.Unmarshal(v, &sk) }); err != nil {
				return err
			}
			var k chat.RoomKey
			epoch := it.Item().Key()[len(prefix):]
			if len(epoch) != len(k.Epoch) || len(sk.Secret) != len(k.Secret) {
				return errors.New("malformed room key")
			}
			copy(k.Epoch[:], epoch)
			copy(k.Secret[:], sk.Secret)
			out = append(out, k)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read room keys: %w", err)
	}
	return out, nil
}
