package store

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"time"

	badger "github.com/dgraph-io/badger/v4"
)

// DiskUsage is how much disk the store takes, in bytes.
type DiskUsage struct {
	LSM   int64 // Badger's LSM tree (keys and small values)
	VLog  int64 // Badger's value log
	Files int64 // the chunks of shared files
}

// usageCacheFor is how long a measured chunk directory size is reused:
// walking it costs a stat per chunk.
const usageCacheFor = 30 * time.Second

// DiskUsage measures the store on disk. Badger's sizes are its own
// (refreshed by Badger about once a minute); the chunk directory is
// walked at most every 30 seconds (by Options.Now).
func (s *Store) DiskUsage() (DiskUsage, error) {
	lsm, vlog := s.db.Size()
	u := DiskUsage{LSM: lsm, VLog: vlog}
	f := s.files
	if f.dir == "" {
		return u, nil
	}
	f.usageMu.Lock()
	defer f.usageMu.Unlock()
	if now := f.now(); f.usageAt.IsZero() || now.Sub(f.usageAt) >= usageCacheFor {
		total, err := dirSize(f.dir)
		if err != nil {
			return u, err
		}
		f.usage, f.usageAt = total, now
	}
	u.Files = f.usage
	return u, nil
}

func dirSize(dir string) (int64, error) {
	var total int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // not made yet, or a chunk removed meanwhile
			}
			return err
		}
		if d.Type().IsRegular() {
			info, err := d.Info()
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			if err != nil {
				return err
			}
			total += info.Size()
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("measure %s: %w", dir, err)
	}
	return total, nil
}

// OutboxLen is how many direct messages wait in the outbox for their
// acknowledgement.
func (s *Store) OutboxLen() (int, error) {
	n := 0
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{tagOutbox}})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			n++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("count outbox: %w", err)
	}
	return n, nil
}
