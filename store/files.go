package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/dgraph-io/badger/v4"
	"google.golang.org/protobuf/proto"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/crypto"
	"github.com/parley-chat/parley/internal/wire"
)

var _ chat.FileStore = (*Store)(nil)

// ErrNoChunkDir is returned by the file methods of an in-memory store
// opened without Options.ChunkDir.
var ErrNoChunkDir = errors.New("this store keeps no files (in memory, without a chunk directory)")

// refBatch is how many chunk reference counts one transaction changes at
// most: a file of many chunks is counted in several, within Badger's
// limit on a transaction's size.
const refBatch = 1000

// fileStore is the part of Store that keeps files: the chunk directory
// and the lock that orders reference counts against chunk removals.
//
// A chunk file is written (temp file, then rename) before the transaction
// that counts the reference to it commits, and removed only after the
// transaction that drops its last reference did. While a writer is
// between the two it holds the chunk in pending, so a removal in that
// window (an eviction, a failed import of the same bytes) leaves the file.
// A crash can only leave a chunk with no reference, or a count too high;
// both cost space, never data. Open removes unreferenced chunks.
type fileStore struct {
	dir        string
	chunkSize  int
	now        func() time.Time
	syncWrites bool

	// mu serialises every transaction that changes file records or
	// reference counts, and every chunk removal.
	mu      sync.Mutex
	pending map[chat.FileHash]int // chunks written or being written, not yet counted

	usageMu sync.Mutex // guards the chunk directory's measured size (usage.go)
	usage   int64
	usageAt time.Time
}

func newFileStore(dir string, o Options) *fileStore {
	f := &fileStore{
		dir:        o.ChunkDir,
		chunkSize:  o.FileChunkSize,
		now:        o.Now,
		syncWrites: o.SyncWrites,
		pending:    make(map[chat.FileHash]int),
	}
	if f.dir == "" && !o.InMemory {
		f.dir = filepath.Join(dir, "chunks")
	}
	if f.chunkSize <= 0 {
		f.chunkSize = crypto.FileChunkSize
	}
	if f.now == nil {
		f.now = time.Now
	}
	return f
}

func (s *Store) filesReady() error {
	if s.files.dir == "" {
		return ErrNoChunkDir
	}
	return nil
}

// chunkPath is where chunk c lives: <dir>/<first two hex digits>/<hex>.
func (f *fileStore) chunkPath(c chat.FileHash) string {
	hx := c.String()
	return filepath.Join(f.dir, hx[:2], hx)
}

// writeChunk puts data, whose hash is c, on disk unless it is there: a
// temp file in the chunk's directory, renamed once written (and synced
// with SyncWrites), so no partial chunk ever has a chunk's name.
func (f *fileStore) writeChunk(c chat.FileHash, data []byte) error {
	path := f.chunkPath(c)
	if fi, err := os.Stat(path); err == nil && fi.Size() == int64(len(data)) {
		return nil // held already: deduplicated
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("store file chunk: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("store file chunk: %w", err)
	}
	err = writeAll(tmp, data, f.syncWrites)
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
		return writeErr("store file chunk", err)
	}
	return nil
}

// writeErr wraps a write error, saying so plainly when the disk is full.
func writeErr(what string, err error) error {
	if errors.Is(err, syscall.ENOSPC) {
		return fmt.Errorf("%s: the disk is full: %w", what, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// writeAll writes data to f, syncs it if asked, and closes it.
func writeAll(f *os.File, data []byte, sync bool) error {
	_, err := f.Write(data)
	if err == nil && sync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// readChunk reads chunk c from disk into buf (its capacity reused) and
// checks it against its hash.
func (f *fileStore) readChunk(c chat.FileHash, buf []byte) ([]byte, error) {
	data, err := readFileInto(f.chunkPath(c), buf, chat.MaxFileChunkSize)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: chunk %s is missing on disk", chat.ErrNotFound, c)
	}
	if errors.Is(err, errFileTooLong) {
		return nil, fmt.Errorf("%w: chunk %s is damaged on disk", chat.ErrNotFound, c)
	}
	if err != nil {
		return nil, fmt.Errorf("read file chunk: %w", err)
	}
	if crypto.ChunkHash(data) != c {
		return nil, fmt.Errorf("%w: chunk %s is damaged on disk", chat.ErrNotFound, c)
	}
	return data, nil
}

// errFileTooLong is a file longer than the reader takes.
var errFileTooLong = errors.New("file too long")

// readFileInto reads the whole file at path, at most limit bytes long,
// into buf, growing it only when the file is larger than its capacity: a
// stream serving chunk after chunk reads each into the same memory.
func readFileInto(path string, buf []byte, limit int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.Size() > int64(limit) {
		return nil, errFileTooLong
	}
	n := int(fi.Size())
	if cap(buf) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := io.ReadFull(f, buf); err != nil {
		return nil, err
	}
	return buf, nil
}

// hold marks chunk c as being written by a caller that will count it.
func (f *fileStore) hold(c chat.FileHash) {
	f.mu.Lock()
	f.pending[c]++
	f.mu.Unlock()
}

// unholdLocked ends a hold. f.mu is held.
func (f *fileStore) unholdLocked(c chat.FileHash) {
	if f.pending[c]--; f.pending[c] <= 0 {
		delete(f.pending, c)
	}
}

// removeUnreferencedLocked deletes chunk c from disk if nothing counts or
// holds it. f.mu is held.
func (s *Store) removeUnreferencedLocked(c chat.FileHash) error {
	if s.files.pending[c] > 0 {
		return nil
	}
	var refs uint64
	if err := s.db.View(func(txn *badger.Txn) error {
		var err error
		refs, err = chunkRefs(txn, c)
		return err
	}); err != nil {
		return err
	}
	if refs > 0 {
		return nil
	}
	if err := os.Remove(s.files.chunkPath(c)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove file chunk: %w", err)
	}
	return nil
}

// dropHolds ends the holds of chunks that were never counted and removes
// those nothing else references.
func (s *Store) dropHolds(cs []chat.FileHash) {
	s.files.mu.Lock()
	defer s.files.mu.Unlock()
	for _, c := range cs {
		s.files.unholdLocked(c)
	}
	for _, c := range cs {
		if err := s.removeUnreferencedLocked(c); err != nil {
			s.log.Warn("cannot remove an unused file chunk", "chunk", c.String(), "err", err)
		}
	}
}

func chunkRefs(txn *badger.Txn, c chat.FileHash) (uint64, error) {
	item, err := txn.Get(chunkRefKey(c))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	var n uint64
	err = item.Value(func(v []byte) error {
		if len(v) != 8 {
			return fmt.Errorf("malformed reference count of chunk %s", c)
		}
		n = binary.BigEndian.Uint64(v)
		return nil
	})
	return n, err
}

// addRef changes chunk c's reference count by delta (deleting it at 0).
func addRef(txn *badger.Txn, c chat.FileHash, delta int) error {
	n, err := chunkRefs(txn, c)
	if err != nil {
		return err
	}
	next := int64(n) + int64(delta)
	if next <= 0 {
		return txn.Delete(chunkRefKey(c))
	}
	return txn.Set(chunkRefKey(c), binary.BigEndian.AppendUint64(nil, uint64(next)))
}

// changeRefs applies reference-count deltas, at most refBatch a
// transaction, and runs record in the same transaction as the first batch
// (recordFirst: dropping references, so a crash after it leaves counts
// too high, never too low) or the last (adding them). If a batch fails,
// the batches committed before it are undone. f.mu is held.
func (s *Store) changeRefs(deltas map[chat.FileHash]int, recordFirst bool, record func(txn *badger.Txn) error) error {
	keys := make([]chat.FileHash, 0, len(deltas))
	for c, d := range deltas {
		if d != 0 {
			keys = append(keys, c)
		}
	}
	slices.SortFunc(keys, func(a, b chat.FileHash) int { return bytes.Compare(a[:], b[:]) })
	var batches [][]chat.FileHash
	for len(keys) > refBatch {
		batches = append(batches, keys[:refBatch])
		keys = keys[refBatch:]
	}
	batches = append(batches, keys)
	for i, batch := range batches {
		withRecord := recordFirst && i == 0 || !recordFirst && i == len(batches)-1
		err := s.update(func(txn *badger.Txn) error {
			for _, c := range batch {
				if err := addRef(txn, c, deltas[c]); err != nil {
					return err
				}
			}
			if withRecord {
				return record(txn)
			}
			return nil
		})
		if err != nil {
			if i > 0 && !recordFirst {
				undo := make(map[chat.FileHash]int)
				for _, done := range batches[:i] {
					for _, c := range done {
						undo[c] = -deltas[c]
					}
				}
				if uerr := s.changeRefs(undo, false, func(*badger.Txn) error { return nil }); uerr != nil {
					s.log.Warn("cannot undo file chunk counts; some chunks may stay on disk", "err", uerr)
				}
			}
			return err
		}
	}
	return nil
}

// loadFile reads file h's record, chunk list and bitset; found is false
// when there is no record.
func loadFile(txn *badger.Txn, h chat.FileHash) (rec chat.FileRecord, found bool, err error) {
	return loadFileParts(txn, h, true)
}

// loadFileParts is loadFile, without the chunk list (Chunks nil) unless
// list: a change to the record or bitset of a file of many chunks does not
// decode them all.
func loadFileParts(txn *badger.Txn, h chat.FileHash, list bool) (rec chat.FileRecord, found bool, err error) {
	item, err := txn.Get(fileKey(h))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return rec, false, nil
	}
	if err != nil {
		return rec, false, err
	}
	var sf wire.StoredFile
	if err := item.Value(func(v []byte) error { return proto.Unmarshal(v, &sf) }); err != nil {
		return rec, false, fmt.Errorf("decode file %s: %w", h, err)
	}
	rec = fileFromStored(h, &sf)
	n := rec.Manifest.NumChunks()
	if list {
		if rec.Chunks, err = loadChunkList(txn, h, n); err != nil {
			return rec, false, err
		}
	}
	rec.Have = chat.HaveBits(n)
	item, err = txn.Get(haveKey(h))
	switch {
	case errors.Is(err, badger.ErrKeyNotFound):
	case err != nil:
		return rec, false, err
	default:
		if err := item.Value(func(v []byte) error {
			if len(v) != len(rec.Have) {
				return fmt.Errorf("malformed chunk bitset of file %s", h)
			}
			copy(rec.Have, v)
			return nil
		}); err != nil {
			return rec, false, err
		}
	}
	rec.HaveN = chat.CountHave(rec.Have)
	return rec, true, nil
}

// loadChunkList reads a chunk list of n chunks: nil when unknown, empty
// (not nil) when n is 0.
func loadChunkList(txn *badger.Txn, h chat.FileHash, n int) ([]chat.FileHash, error) {
	if n == 0 {
		return []chat.FileHash{}, nil
	}
	item, err := txn.Get(chunkListKey(h))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []chat.FileHash
	err = item.Value(func(v []byte) error {
		if len(v) != n*len(chat.FileHash{}) {
			return fmt.Errorf("malformed chunk list of file %s", h)
		}
		out = make([]chat.FileHash, n)
		for i := range out {
			copy(out[i][:], v[i*len(out[i]):])
		}
		return nil
	})
	return out, err
}

// chunkAt reads the hash of chunk i of file h, which has n chunks, from
// its chunk list; known is false when the list is not known yet.
func chunkAt(txn *badger.Txn, h chat.FileHash, i, n int) (c chat.FileHash, known bool, err error) {
	item, err := txn.Get(chunkListKey(h))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return c, false, nil
	}
	if err != nil {
		return c, false, err
	}
	err = item.Value(func(v []byte) error {
		if len(v) != n*len(c) || i < 0 || i >= n {
			return fmt.Errorf("malformed chunk list of file %s", h)
		}
		copy(c[:], v[i*len(c):])
		return nil
	})
	return c, err == nil, err
}

func encodeChunkList(chunks []chat.FileHash) []byte {
	b := make([]byte, 0, len(chunks)*len(chat.FileHash{}))
	for _, c := range chunks {
		b = append(b, c[:]...)
	}
	return b
}

func fileFromStored(h chat.FileHash, sf *wire.StoredFile) chat.FileRecord {
	rec := chat.FileRecord{
		Manifest: chat.FileManifest{
			Name:      sf.Name,
			Size:      sf.Size,
			MIME:      sf.Mime,
			Hash:      h,
			ChunkSize: int(sf.ChunkSize),
			Width:     int(sf.Width),
			Height:    int(sf.Height),
			Thumb:     sf.Thumb,
		},
		Pinned:   sf.Pinned,
		State:    chat.FileState(sf.State),
		Path:     sf.Path,
		LastUsed: time.UnixMilli(sf.LastUsedMs).UTC(),
	}
	copy(rec.Manifest.Key[:], sf.Key)
	for _, c := range sf.Convs {
		rec.Convs = append(rec.Convs, chat.Conversation(c))
	}
	return rec
}

// putFileMeta writes rec's record (not its chunk list or bitset).
func putFileMeta(txn *badger.Txn, rec chat.FileRecord) error {
	m := rec.Manifest
	sf := &wire.StoredFile{
		Name:       m.Name,
		Size:       m.Size,
		Mime:       m.MIME,
		Hash:       m.Hash[:],
		ChunkSize:  uint32(m.ChunkSize),
		Width:      uint32(m.Width),
		Height:     uint32(m.Height),
		Thumb:      m.Thumb,
		Pinned:     rec.Pinned,
		State:      string(rec.State),
		Path:       rec.Path,
		LastUsedMs: rec.LastUsed.UnixMilli(),
	}
	if m.Encrypted() {
		sf.Key = m.Key[:]
	}
	for _, c := range rec.Convs {
		sf.Convs = append(sf.Convs, string(c))
	}
	b, err := proto.Marshal(sf)
	if err != nil {
		return err
	}
	return txn.Set(fileKey(m.Hash), b)
}

// putHave writes rec's bitset, or deletes it when nothing is held.
func putHave(txn *badger.Txn, rec chat.FileRecord) error {
	if rec.HaveN == 0 {
		return txn.Delete(haveKey(rec.Manifest.Hash))
	}
	return txn.Set(haveKey(rec.Manifest.Hash), rec.Have)
}

// stateFor is the state a record with what it holds may have: complete
// exactly when every chunk is held; otherwise want, unless want is
// complete (or empty), then downloading or remote by what is held.
func stateFor(rec chat.FileRecord, want chat.FileState) chat.FileState {
	if rec.Complete() {
		return chat.FileComplete
	}
	if want == chat.FileComplete || want == "" {
		if rec.HaveN > 0 {
			return chat.FileDownloading
		}
		return chat.FileRemote
	}
	return want
}

// FileRecord implements chat.FileStore.
func (s *Store) FileRecord(h chat.FileHash) (chat.FileRecord, error) {
	var rec chat.FileRecord
	var found bool
	err := s.db.View(func(txn *badger.Txn) error {
		var err error
		rec, found, err = loadFile(txn, h)
		return err
	})
	if err != nil {
		return rec, fmt.Errorf("read file %s: %w", h, err)
	}
	if !found {
		return rec, fmt.Errorf("%w: file %s", chat.ErrNotFound, h)
	}
	return rec, nil
}

// FileRecords implements chat.FileStore.
func (s *Store) FileRecords() ([]chat.FileRecord, error) {
	var out []chat.FileRecord
	err := s.db.View(func(txn *badger.Txn) error {
		var hashes []chat.FileHash
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{tagFile}})
		for it.Rewind(); it.Valid(); it.Next() {
			k := it.Item().Key()
			if len(k) != 1+len(chat.FileHash{}) {
				s.log.Warn("skipping a malformed file key")
				continue
			}
			var h chat.FileHash
			copy(h[:], k[1:])
			hashes = append(hashes, h)
		}
		it.Close()
		for _, h := range hashes {
			rec, found, err := loadFile(txn, h)
			if err != nil {
				return err
			}
			if found {
				out = append(out, rec)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read files: %w", err)
	}
	return out, nil
}

// PutFileRecord implements chat.FileStore.
func (s *Store) PutFileRecord(rec chat.FileRecord) error {
	m := rec.Manifest
	switch {
	case m.Hash.IsZero():
		return fmt.Errorf("%w: file record without a hash", chat.ErrInvalid)
	case m.Size < 0 || m.ChunkSize <= 0 || int64(m.ChunkSize) > 1<<32-1 || m.Width < 0 || m.Height < 0:
		return fmt.Errorf("%w: file %s: size %d, chunk size %d, image %dx%d", chat.ErrInvalid, m.Hash, m.Size, m.ChunkSize, m.Width, m.Height)
	}
	switch rec.State {
	case "", chat.FileRemote, chat.FileDownloading, chat.FileComplete, chat.FileFailed:
	default:
		return fmt.Errorf("%w: file state %q", chat.ErrInvalid, rec.State)
	}
	n := m.NumChunks()
	if len(rec.Chunks) > 0 {
		if err := crypto.VerifyChunkList(m.Hash, m.Size, m.ChunkSize, rec.Chunks); err != nil {
			return fmt.Errorf("file %s: %w", m.Hash, err)
		}
	}
	s.files.mu.Lock()
	defer s.files.mu.Unlock()
	err := s.update(func(txn *badger.Txn) error {
		old, found, err := loadFile(txn, m.Hash)
		if err != nil {
			return err
		}
		next := rec
		next.Chunks, next.Have, next.HaveN = nil, chat.HaveBits(n), 0
		if found {
			om := old.Manifest
			if (old.HaveN > 0 || len(old.Chunks) > 0) && (om.Size != m.Size || om.ChunkSize != m.ChunkSize) {
				return fmt.Errorf("%w: file %s is held as %d bytes in %d-byte chunks, not %d in %d", chat.ErrInvalid, m.Hash, om.Size, om.ChunkSize, m.Size, m.ChunkSize)
			}
			if om.Size == m.Size && om.ChunkSize == m.ChunkSize {
				next.Chunks, next.Have, next.HaveN = old.Chunks, old.Have, old.HaveN
			}
		}
		if len(rec.Chunks) > 0 {
			if next.ChunksKnown() && !slices.Equal(next.Chunks, rec.Chunks) {
				return fmt.Errorf("%w: file %s already has another chunk list", chat.ErrInvalid, m.Hash)
			}
			next.Chunks = rec.Chunks
			if err := txn.Set(chunkListKey(m.Hash), encodeChunkList(rec.Chunks)); err != nil {
				return err
			}
		}
		next.State = stateFor(next, rec.State)
		if next.LastUsed.IsZero() {
			next.LastUsed = s.files.now()
		}
		return putFileMeta(txn, next)
	})
	if err != nil {
		return fmt.Errorf("write file %s: %w", m.Hash, err)
	}
	return nil
}

// SetChunkList implements chat.FileStore.
func (s *Store) SetChunkList(h chat.FileHash, chunks []chat.FileHash) error {
	s.files.mu.Lock()
	defer s.files.mu.Unlock()
	err := s.update(func(txn *badger.Txn) error {
		rec, found, err := loadFile(txn, h)
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("%w: file %s", chat.ErrNotFound, h)
		}
		if err := crypto.VerifyChunkList(h, rec.Manifest.Size, rec.Manifest.ChunkSize, chunks); err != nil {
			return err
		}
		if rec.ChunksKnown() || len(chunks) == 0 {
			return nil // a verified list is the only one
		}
		return txn.Set(chunkListKey(h), encodeChunkList(chunks))
	})
	if err != nil {
		return fmt.Errorf("set chunk list of file %s: %w", h, err)
	}
	return nil
}

// AddFileConv implements chat.FileStore.
func (s *Store) AddFileConv(man chat.FileManifest, conv chat.Conversation) error {
	known := false
	s.files.mu.Lock()
	err := s.update(func(txn *badger.Txn) error {
		rec, found, err := loadFile(txn, man.Hash)
		if err != nil || !found {
			return err
		}
		known = true
		if rec.SharedIn(conv) {
			return nil
		}
		rec.Convs = append(rec.Convs, conv)
		return putFileMeta(txn, rec)
	})
	s.files.mu.Unlock()
	if err != nil {
		return fmt.Errorf("record file %s: %w", man.Hash, err)
	}
	if known {
		return nil
	}
	return s.PutFileRecord(chat.FileRecord{Manifest: man, State: chat.FileRemote, Convs: []chat.Conversation{conv}})
}

// TouchFile implements chat.FileStore.
func (s *Store) TouchFile(h chat.FileHash) error {
	s.files.mu.Lock()
	defer s.files.mu.Unlock()
	err := s.update(func(txn *badger.Txn) error {
		rec, found, err := loadFileParts(txn, h, false)
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("%w: file %s", chat.ErrNotFound, h)
		}
		rec.LastUsed = s.files.now()
		return putFileMeta(txn, rec)
	})
	if err != nil {
		return fmt.Errorf("touch file %s: %w", h, err)
	}
	return nil
}

// PutChunk implements chat.FileStore.
func (s *Store) PutChunk(h chat.FileHash, i int, data []byte) error {
	if err := s.filesReady(); err != nil {
		return err
	}
	// Only what this chunk needs is read: the record, its bitset and the
	// one hash, not the whole chunk list.
	var m chat.FileManifest
	var c chat.FileHash
	var held bool
	err := s.db.View(func(txn *badger.Txn) error {
		rec, found, err := loadFileParts(txn, h, false)
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("%w: file %s", chat.ErrNotFound, h)
		}
		m = rec.Manifest
		n := m.NumChunks()
		if i < 0 || i >= n {
			return fmt.Errorf("%w: chunk %d of file %s, which has %d", chat.ErrInvalid, i, h, n)
		}
		if held = rec.Has(i); held {
			return nil
		}
		var known bool
		if c, known, err = chunkAt(txn, h, i, n); err != nil {
			return err
		}
		if !known {
			return fmt.Errorf("%w: the chunk list of file %s is not known yet", chat.ErrInvalid, h)
		}
		return nil
	})
	if err != nil || held {
		return err
	}
	if len(data) != crypto.ChunkLen(m.Size, m.ChunkSize, i) || crypto.ChunkHash(data) != c {
		return fmt.Errorf("%w: chunk %d of file %s does not match its hash", chat.ErrInvalid, i, h)
	}
	s.files.hold(c)
	if err := s.files.writeChunk(c, data); err != nil {
		s.dropHolds([]chat.FileHash{c})
		return err
	}
	s.files.mu.Lock()
	defer s.files.mu.Unlock()
	err = s.update(func(txn *badger.Txn) error {
		rec, found, err := loadFileParts(txn, h, false)
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("%w: file %s", chat.ErrNotFound, h)
		}
		if rec.Has(i) {
			return nil
		}
		rec.Have[i/8] |= 1 << (i % 8)
		rec.HaveN++
		if err := addRef(txn, c, 1); err != nil {
			return err
		}
		if err := putHave(txn, rec); err != nil {
			return err
		}
		if state := stateFor(rec, chat.FileDownloading); state != rec.State {
			rec.State, rec.LastUsed = state, s.files.now()
			return putFileMeta(txn, rec)
		}
		return nil
	})
	s.files.unholdLocked(c)
	if err != nil {
		if rerr := s.removeUnreferencedLocked(c); rerr != nil {
			s.log.Warn("cannot remove an unused file chunk", "chunk", c.String(), "err", rerr)
		}
		return fmt.Errorf("record chunk %d of file %s: %w", i, h, err)
	}
	return nil
}

// Chunk implements chat.FileStore.
func (s *Store) Chunk(h chat.FileHash, i int, buf []byte) ([]byte, error) {
	if err := s.filesReady(); err != nil {
		return nil, err
	}
	var c chat.FileHash
	err := s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(haveKey(h))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return fmt.Errorf("%w: chunk %d of file %s", chat.ErrNotFound, i, h)
		}
		if err != nil {
			return err
		}
		held := false
		if err := item.Value(func(v []byte) error {
			held = i >= 0 && i/8 < len(v) && v[i/8]&(1<<(i%8)) != 0
			return nil
		}); err != nil {
			return err
		}
		if !held {
			return fmt.Errorf("%w: chunk %d of file %s", chat.ErrNotFound, i, h)
		}
		item, err = txn.Get(chunkListKey(h))
		if err != nil {
			return err
		}
		return item.Value(func(v []byte) error {
			if (i+1)*len(c) > len(v) {
				return fmt.Errorf("malformed chunk list of file %s", h)
			}
			copy(c[:], v[i*len(c):])
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	data, err := s.files.readChunk(c, buf)
	if err != nil {
		if errors.Is(err, chat.ErrNotFound) {
			s.log.Warn("a file chunk held is missing or damaged", "file", h.String(), "index", i)
		}
		return nil, err
	}
	return data, nil
}

// ImportFile implements chat.FileStore.
func (s *Store) ImportFile(r io.Reader, name string, conv chat.Conversation, max int64) (chat.FileRecord, error) {
	if err := s.filesReady(); err != nil {
		return chat.FileRecord{}, err
	}
	var held []chat.FileHash // chunks written, not yet counted
	counted := false
	defer func() {
		if !counted {
			s.dropHolds(held)
		}
	}()
	var read int64
	root, size, chunks, err := crypto.HashFile(r, s.files.chunkSize, func(_ int, c crypto.Hash, chunk []byte) error {
		if read += int64(len(chunk)); read > max {
			return fmt.Errorf("%w: more than %d bytes", chat.ErrFileTooLarge, max)
		}
		s.files.hold(c)
		held = append(held, c)
		return s.files.writeChunk(c, chunk)
	})
	if err != nil {
		return chat.FileRecord{}, fmt.Errorf("import file: %w", err)
	}
	manifest := chat.FileManifest{Name: name, Size: size, Hash: root, ChunkSize: s.files.chunkSize}

	s.files.mu.Lock()
	defer s.files.mu.Unlock()
	var rec chat.FileRecord
	var found bool
	if err := s.db.View(func(txn *badger.Txn) error {
		var err error
		rec, found, err = loadFile(txn, root)
		return err
	}); err != nil {
		return chat.FileRecord{}, fmt.Errorf("import file: %w", err)
	}
	if found {
		rec.Manifest.Name = name
	} else {
		rec = chat.FileRecord{Manifest: manifest, Have: chat.HaveBits(len(chunks))}
	}
	deltas := make(map[chat.FileHash]int)
	for i, c := range chunks {
		if !rec.Has(i) {
			deltas[c]++
			rec.Have[i/8] |= 1 << (i % 8)
		}
	}
	rec.Chunks, rec.HaveN = chunks, len(chunks)
	rec.Pinned, rec.State, rec.LastUsed = true, chat.FileComplete, s.files.now()
	if conv != "" && !rec.SharedIn(conv) {
		rec.Convs = append(rec.Convs, conv)
	}
	err = s.changeRefs(deltas, false, func(txn *badger.Txn) error {
		if len(chunks) > 0 {
			if err := txn.Set(chunkListKey(root), encodeChunkList(chunks)); err != nil {
				return err
			}
		}
		if err := putHave(txn, rec); err != nil {
			return err
		}
		return putFileMeta(txn, rec)
	})
	for _, c := range held {
		s.files.unholdLocked(c)
	}
	counted = true
	if err != nil {
		for _, c := range held {
			if rerr := s.removeUnreferencedLocked(c); rerr != nil {
				s.log.Warn("cannot remove an unused file chunk", "chunk", c.String(), "err", rerr)
			}
		}
		return chat.FileRecord{}, fmt.Errorf("import file: %w", err)
	}
	return rec, nil
}

// SaveFile implements chat.FileStore.
func (s *Store) SaveFile(h chat.FileHash, dir string, pin bool) (string, error) {
	if err := s.filesReady(); err != nil {
		return "", err
	}
	rec, err := s.FileRecord(h)
	if err != nil {
		return "", err
	}
	if !rec.Complete() || !rec.ChunksKnown() {
		return "", fmt.Errorf("%w: file %s is not complete (%d of %d chunks)", chat.ErrInvalid, h, rec.HaveN, rec.Manifest.NumChunks())
	}
	dir, err = filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("save file: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("save file: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".parley-*.part")
	if err != nil {
		return "", fmt.Errorf("save file: %w", err)
	}
	defer os.Remove(tmp.Name()) // after the link (or on failure)
	if err := s.assemble(tmp, rec); err != nil {
		return "", writeErr(fmt.Sprintf("save file %q in %s", chat.SafeFileName(rec.Manifest.Name), dir), err)
	}
	path, err := linkNew(tmp.Name(), dir, chat.SafeFileName(rec.Manifest.Name))
	if err != nil {
		return "", fmt.Errorf("save file: %w", err)
	}

	s.files.mu.Lock()
	defer s.files.mu.Unlock()
	err = s.update(func(txn *badger.Txn) error {
		rec, found, err := loadFile(txn, h)
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("%w: file %s", chat.ErrNotFound, h)
		}
		rec.Pinned, rec.Path, rec.LastUsed = rec.Pinned || pin, path, s.files.now()
		return putFileMeta(txn, rec)
	})
	if err != nil {
		_ = os.Remove(path)
		return "", fmt.Errorf("record saved file %s: %w", h, err)
	}
	return path, nil
}

// assemble writes every chunk of rec to f, verified, then syncs and closes
// f (a full disk shows as early as it can).
func (s *Store) assemble(f *os.File, rec chat.FileRecord) error {
	var data []byte
	for _, c := range rec.Chunks {
		var err error
		data, err = s.files.readChunk(c, data)
		if err != nil {
			_ = f.Close()
			return err
		}
		if _, err := f.Write(data); err != nil {
			_ = f.Close()
			return err
		}
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// linkNew gives the file at tmp the first free name of name, "name (1)"
// and on, in dir, and returns its path. It never replaces a file: a hard
// link fails if the name exists. Where the file system has no hard links
// it claims the name with an exclusive create, then renames tmp over its
// own empty claim.
func linkNew(tmp, dir, name string) (string, error) {
	for n := range chat.MaxSaveAttempts {
		path := filepath.Join(dir, chat.NumberedFileName(name, n))
		err := os.Link(tmp, path)
		if err == nil {
			return path, nil
		}
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		claim, cerr := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(cerr, fs.ErrExist) {
			continue
		}
		if cerr != nil {
			return "", cerr
		}
		_ = claim.Close()
		if err := os.Rename(tmp, path); err != nil {
			_ = os.Remove(path)
			return "", err
		}
		return path, nil
	}
	return "", fmt.Errorf("%d files named like %q in %s already", chat.MaxSaveAttempts, name, dir)
}

// EvictFiles implements chat.FileStore.
func (s *Store) EvictFiles(limit int64) (int64, error) {
	if err := s.filesReady(); err != nil {
		return 0, err
	}
	s.files.mu.Lock()
	defer s.files.mu.Unlock()
	recs, err := s.FileRecords()
	if err != nil {
		return 0, err
	}
	var cache int64
	var victims []chat.FileRecord
	for _, rec := range recs {
		if rec.Pinned || rec.HaveN == 0 {
			continue
		}
		cache += heldBytes(rec)
		victims = append(victims, rec)
	}
	slices.SortFunc(victims, func(a, b chat.FileRecord) int {
		if c := a.LastUsed.Compare(b.LastUsed); c != 0 {
			return c
		}
		return bytes.Compare(a.Manifest.Hash[:], b.Manifest.Hash[:])
	})
	var freed int64
	for _, rec := range victims {
		if cache <= limit {
			break
		}
		if err := s.evictLocked(rec); err != nil {
			return freed, err
		}
		held := heldBytes(rec)
		freed += held
		cache -= held
	}
	return freed, nil
}

// heldBytes is how many bytes of rec's chunks are held.
func heldBytes(rec chat.FileRecord) int64 {
	var n int64
	for i := range rec.Chunks {
		if rec.Has(i) {
			n += int64(crypto.ChunkLen(rec.Manifest.Size, rec.Manifest.ChunkSize, i))
		}
	}
	return n
}

// evictLocked drops every chunk rec holds: its bitset first, then the
// references, then the chunk files nothing else references. f.mu is held.
func (s *Store) evictLocked(rec chat.FileRecord) error {
	deltas := make(map[chat.FileHash]int)
	for i, c := range rec.Chunks {
		if rec.Has(i) {
			deltas[c]--
		}
	}
	h := rec.Manifest.Hash
	err := s.changeRefs(deltas, true, func(txn *badger.Txn) error {
		cur, found, err := loadFile(txn, h)
		if err != nil {
			return err
		}
		if !found || !bytes.Equal(cur.Have, rec.Have) {
			return fmt.Errorf("file %s changed while being evicted", h) // cannot happen under f.mu
		}
		if err := txn.Delete(haveKey(h)); err != nil {
			return err
		}
		cur.Have, cur.HaveN = chat.HaveBits(len(cur.Chunks)), 0
		cur.State = stateFor(cur, chat.FileRemote)
		return putFileMeta(txn, cur)
	})
	if err != nil {
		return fmt.Errorf("evict file %s: %w", h, err)
	}
	for c := range deltas {
		if err := s.removeUnreferencedLocked(c); err != nil {
			return fmt.Errorf("evict file %s: %w", h, err)
		}
	}
	return nil
}

// sweepChunks runs at Open, before anyone writes: it removes temp files a
// crash left in the chunk directory and chunks no file references (a
// crash between dropping a chunk's last reference and removing it).
func (s *Store) sweepChunks() {
	if s.files.dir == "" {
		return
	}
	subdirs, err := os.ReadDir(s.files.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return
	}
	if err != nil {
		s.log.Warn("cannot read the chunk directory", "err", err)
		return
	}
	removed := 0
	for _, sub := range subdirs {
		if !sub.IsDir() || len(sub.Name()) != 2 {
			continue
		}
		entries, err := os.ReadDir(filepath.Join(s.files.dir, sub.Name()))
		if err != nil {
			s.log.Warn("cannot read the chunk directory", "err", err)
			continue
		}
		for _, e := range entries {
			path := filepath.Join(s.files.dir, sub.Name(), e.Name())
			keep := false
			if c, err := crypto.ParseHash(e.Name()); err == nil && !strings.Contains(e.Name(), ".") {
				err := s.db.View(func(txn *badger.Txn) error {
					n, err := chunkRefs(txn, c)
					keep = n > 0
					return err
				})
				if err != nil {
					s.log.Warn("cannot read a chunk's references", "err", err)
					return
				}
			}
			if !keep {
				if err := os.Remove(path); err == nil {
					removed++
				}
			}
		}
	}
	if removed > 0 {
		s.log.Info("removed unused file chunks", "count", removed)
	}
}
