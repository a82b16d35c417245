package store

import (
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"
	"google.golang.org/protobuf/proto"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/crypto"
	"github.com/parley-chat/parley/internal/wire"
)

// Peers implements chat.Store.
func (s *Store) Peers() ([]chat.Peer, error) {
	var out []chat.Peer
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{tagPeer}, PrefetchValues: true})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			item := it.Item()
			id, err := crypto.PeerIDFromBytes(item.Key()[1:])
			if err != nil {
				s.log.Warn("skipping a malformed peer record", "err", err)
				continue
			}
			var sp wire.StoredPeer
			if err := item.Value(func(v []byte) error { return proto.Unmarshal(v, &sp) }); err != nil {
				return fmt.Errorf("decode peer %s: %w", id, err)
			}
			out = append(out, chat.Peer{
				ID:        id,
				Nick:      sp.Nick,
				Addrs:     sp.Addrs,
				FirstSeen: time.UnixMilli(sp.FirstSeenMs).UTC(),
				LastSeen:  time.UnixMilli(sp.LastSeenMs).UTC(),
				Verified:  sp.Verified,
			})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read peers: %w", err)
	}
	return out, nil
}

// PutPeer implements chat.Store.
func (s *Store) PutPeer(p chat.Peer) error {
	b, err := proto.Marshal(&wire.StoredPeer{
		Nick:        p.Nick,
		Addrs:       p.Addrs,
		FirstSeenMs: p.FirstSeen.UnixMilli(),
		LastSeenMs:  p.LastSeen.UnixMilli(),
		Verified:    p.Verified,
	})
	if err != nil {
		return err
	}
	return s.update(func(txn *badger.Txn) error { return txn.Set(peerKey(p.ID), b) })
}
