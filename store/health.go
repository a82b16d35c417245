package store

import (
	"context"
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

// Health is what a quick look at the store found (parley doctor).
type Health struct {
	LSM  int64 // bytes of Badger's LSM tree, as Badger last measured it
	VLog int64 // bytes of its value log
	Read int   // records read back whole
}

// Check reads the store's schema version and then up to max records,
// values included, so that a damaged table or value log shows as an
// error here rather than in the middle of a conversation. It stops early
// when ctx ends.
func (s *Store) Check(ctx context.Context, max int) (Health, error) {
	var h Health
	h.LSM, h.VLog = s.db.Size()
	err := s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get([]byte{tagVersion})
		if err != nil {
			return fmt.Errorf("read schema version: %w", err)
		}
		if err := item.Value(func([]byte) error { return nil }); err != nil {
			return fmt.Errorf("read schema version: %w", err)
		}
		it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: false})
		defer it.Close()
		for it.Rewind(); it.Valid() && h.Read < max; it.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := it.Item().Value(func([]byte) error { return nil }); err != nil {
				return fmt.Errorf("read record %d: %w", h.Read+1, err)
			}
			h.Read++
		}
		return nil
	})
	if err != nil {
		return h, fmt.Errorf("check store: %w", err)
	}
	return h, nil
}
