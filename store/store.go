package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/parley-chat/parley/internal/lifecycle"
)

// schemaVersion is the layout this code writes; Open migrates a store
// in version 1 (see migrateV1).
const schemaVersion = 2

// Options configures Open.
type Options struct {
	Logger *slog.Logger
	// InMemory keeps everything in memory (tests).
	InMemory bool
	// SyncWrites fsyncs every commit: survives power loss, costs throughput.
	SyncWrites bool
	// GCInterval is how often value-log garbage is collected; 10m if 0.
	GCInterval time.Duration
	// ChunkDir holds the chunks of shared files. Empty: <dir>/chunks for
	// a store on disk; an in-memory store then keeps no files (its file
	// methods return ErrNoChunkDir).
	ChunkDir string
	// FileChunkSize is the chunk size ImportFile cuts files into;
	// crypto.FileChunkSize if 0 (tests use small chunks).
	FileChunkSize int
	// Now is the clock of files' LastUsed; time.Now if nil.
	Now func() time.Time
}

// Store is the Badger-backed history. Open opens it; Run collects
// value-log garbage until cancelled; Close closes it.
type Store struct {
	db         *badger.DB
	log        *slog.Logger
	gcInterval time.Duration
	inMemory   bool
	life       *lifecycle.Lifetime
	closeOnce  sync.Once
	closeErr   error
	files      *fileStore
}

// ErrLocked is returned when another process holds the directory.
var ErrLocked = errors.New("store is in use by another process")

// Open opens (creating if needed) the store in dir.
func Open(dir string, o Options) (*Store, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.GCInterval == 0 {
		o.GCInterval = 10 * time.Minute
	}
	if !o.InMemory {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("create store directory: %w", err)
		}
	} else {
		dir = ""
	}
	opts := badger.DefaultOptions(dir).
		WithInMemory(o.InMemory).
		WithLogger(badgerLogger{o.Logger}).
		WithLoggingLevel(badger.WARNING).
		WithSyncWrites(o.SyncWrites).
		WithMemTableSize(4 << 20).
		WithNumMemtables(2).
		WithValueLogFileSize(16 << 20).
		WithValueThreshold(8 << 10).
		WithBaseTableSize(2 << 20).
		WithBaseLevelSize(8 << 20).
		WithNumLevelZeroTables(4).
		WithNumLevelZeroTablesStall(12).
		WithBlockCacheSize(8 << 20).
		WithIndexCacheSize(4 << 20).
		WithNumCompactors(2).
		WithNumGoroutines(2).
		WithMetricsEnabled(false)
	if o.InMemory {
		// In memory, Badger refuses values over ValueThreshold.
		opts = opts.WithValueThreshold(256 << 10)
	}
	db, err := badger.Open(opts)
	if err != nil {
		if strings.Contains(err.Error(), "Cannot acquire directory lock") {
			return nil, fmt.Errorf("%w (%s): %v", ErrLocked, dir, err)
		}
		return nil, fmt.Errorf("open store: %w", err)
	}
	s := &Store{db: db, log: o.Logger, gcInterval: o.GCInterval, inMemory: o.InMemory, life: lifecycle.New()}
	if err := s.checkVersion(); err != nil {
		_ = db.Close()
		return nil, err
	}
	s.files = newFileStore(dir, o)
	s.sweepChunks()
	return s, nil
}

func (s *Store) checkVersion() error {
	var v []byte
	err := s.db.Update(func(txn *badger.Txn) error {
		item, err := txn.Get([]byte{tagVersion})
		if errors.Is(err, badger.ErrKeyNotFound) {
			v = []byte{schemaVersion}
			return txn.Set([]byte{tagVersion}, v)
		}
		if err != nil {
			return err
		}
		v, err = item.ValueCopy(nil)
		return err
	})
	switch {
	case err != nil:
		return err
	case len(v) == 1 && v[0] == schemaVersion:
		return nil
	case len(v) == 1 && v[0] == 1:
		s.log.Info("migrating the store to schema version 2 (history pages read only their lines)")
		return s.migrateV1()
	}
	return fmt.Errorf("store schema version %v, this parley reads %d", v, schemaVersion)
}

// Run collects value-log garbage every GCInterval until ctx is cancelled
// or Close is called; the store is usable whether or not it runs.
func (s *Store) Run(ctx context.Context) error {
	return s.life.Run(ctx, func() error {
		if !s.inMemory {
			s.life.Go(s.gcLoop)
		}
		return nil
	}, nil)
}

func (s *Store) gcLoop() {
	t := time.NewTicker(s.gcInterval)
	defer t.Stop()
	for {
		select {
		case <-s.life.Context().Done():
			return
		case <-t.C:
			for s.db.RunValueLogGC(0.5) == nil {
			}
		}
	}
}

// Close stops Run, then flushes and closes the store. It is idempotent.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.life.Close(nil)
		s.closeErr = s.db.Close()
	})
	return s.closeErr
}

// update runs fn in a read-write transaction, retrying on conflicts.
func (s *Store) update(fn func(txn *badger.Txn) error) error {
	for attempt := 0; ; attempt++ {
		err := s.db.Update(fn)
		if errors.Is(err, badger.ErrConflict) && attempt < 20 {
			// Let the conflicting writer finish first.
			time.Sleep(time.Duration(attempt+1) * 50 * time.Microsecond)
			continue
		}
		return err
	}
}

type badgerLogger struct{ l *slog.Logger }

func (b badgerLogger) Errorf(f string, a ...any) {
	b.l.Error("badger: " + strings.TrimSpace(fmt.Sprintf(f, a...)))
}
func (b badgerLogger) Warningf(f string, a ...any) {
	b.l.Warn("badger: " + strings.TrimSpace(fmt.Sprintf(f, a...)))
}
func (b badgerLogger) Infof(f string, a ...any) {
	b.l.Debug("badger: " + strings.TrimSpace(fmt.Sprintf(f, a...)))
}
func (b badgerLogger) Debugf(f string, a ...any) {
	b.l.Debug("badger: " + strings.TrimSpace(fmt.Sprintf(f, a...)))
}
