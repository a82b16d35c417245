package chat

import (
	"unicode/utf8"

	"bufio"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"google.golang.org/protobuf/encoding/protowire"
	"io"
	"slices"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/parley-chat/parley/crypto"
	"github.com/parley-chat/parley/internal/wire"
)

// Fetching. A fetch gathers a file's missing chunks from every online
// member of its conversation that holds them: it asks each which chunks it
// has (HAVE), gets the chunk list once and checks it against the
// manifest's root (LIST), then each source takes batches of missing
// chunks no other source is fetching (CHUNKS), so fast sources take more.
// Every chunk is checked against its hash before it is stored; a source
// that sends a bad chunk is dropped for the rest of the fetch. What is
// stored stays (the store records which chunks it holds), so a fetch
// resumes after a disconnect or a restart where it stopped. When no
// source has what is missing, the fetch asks again every few seconds
// until its context ends.

// chunkBatch is how many chunks one request asks for. With two requests
// in flight on each of sourceLanes streams, a source has 6 chunks (6 MiB)
// reserved at most: enough to keep a fast link busy, few enough that
// slower sources do not hold up the end of a file.
const chunkBatch = 1

// FileEvent reports a file's progress (EventFile).
type FileEvent struct {
	Hash    FileHash
	Have    int64 // bytes held
	Size    int64
	Sources int       // sources being fetched from now
	State   FileState // downloading, complete or failed
	Path    string    // complete: the file on disk
	Reason  string    // failed: why
}

// EventFile reports a file's progress while it is fetched, and its end.
const EventFile EventType = "file"

// ErrNoSource is returned when no member online has a file's chunks.
var ErrNoSource = errors.New("no member online has the file")

type fileFetch struct {
	s      *Service
	man    FileManifest
	conv   Conversation
	saveTo string        // where the file is saved when complete ("": the download directory)
	done   chan struct{} // closed when the fetch ends; err and path then say how
	err    error
	path   string

	mu       sync.Mutex
	chunks   []FileHash // the verified chunk list (nil until a source sends it)
	need     []bool     // chunk i is not held yet
	left     int        // chunks not held
	inflight map[int]bool
	sources  map[PeerID]bool // fetching from now
	bad      map[PeerID]bool // sent a bad chunk: never again in this fetch
	retry    map[PeerID]retryAt
	have     int64
	fatal    error // a failure that ends the fetch (errStore)
	lastNote time.Time
	changed  chan struct{}
}

// retryAt is when a source that failed may be asked again.
type retryAt struct {
	at   time.Time
	wait time.Duration
}

// fetches tracks the fetches under way, one per file.
type fetches struct {
	mu sync.Mutex
	m  map[FileHash]*fileFetch
}

// FetchFile fetches the file h of message id until it is complete (nil),
// ctx ends, or it fails for good. Calls for a file already being fetched
// wait for the same fetch.
func (s *Service) FetchFile(ctx context.Context, id MessageID, h FileHash) error {
	_, err := s.FetchFileTo(ctx, id, h, "")
	return err
}

// FetchFileTo is FetchFile that then saves the file into dir (kept out of
// the cache's eviction, as the user saved it) and returns the path; with
// dir empty, the file's copy in the download directory. A fetch it starts
// writes the file once, straight into dir.
func (s *Service) FetchFileTo(ctx context.Context, id MessageID, h FileHash, dir string) (string, error) {
	fs := s.cfg.Files
	if fs == nil {
		return "", errors.New("file sharing is off")
	}
	m, err := s.cfg.Store.Message(id)
	if err != nil {
		return "", err
	}
	i := slices.IndexFunc(m.Files, func(f FileManifest) bool { return f.Hash == h })
	if i < 0 {
		return "", fmt.Errorf("%w: message %x has no file %x", ErrNotFound, id[:4], h[:4])
	}
	man := m.Files[i]
	if err := man.Validate(s.cfg.MaxFileSize); err != nil {
		return "", fmt.Errorf("%s: %w (max_file_size)", man.Name, err)
	}
	f, err := s.startFetch(man, m.Conversation, dir)
	if err != nil {
		return "", err
	}
	if f != nil {
		select {
		case <-f.done:
		case <-ctx.Done():
			return "", ctx.Err()
		}
		if f.err != nil {
			return "", f.err
		}
		if f.saveTo == dir && f.path != "" {
			return f.path, nil // saved where asked as it finished
		}
	}
	if dir != "" {
		return fs.SaveFile(h, dir, true)
	}
	rec, err := fs.FileRecord(h)
	if err != nil {
		return "", err
	}
	if rec.Path == "" && s.cfg.DownloadDir != "" {
		return fs.SaveFile(h, s.cfg.DownloadDir, false)
	}
	return rec.Path, nil
}

// startFetch returns the fetch of man, starting it if none runs; nil when
// the file is complete already.
// saveTo is where a fetch it starts saves the file ("": the download
// directory).
func (s *Service) startFetch(man FileManifest, conv Conversation, saveTo string) (*fileFetch, error) {
	fs := s.cfg.Files
	rec, err := fs.FileRecord(man.Hash)
	switch {
	case errors.Is(err, ErrNotFound):
		rec = FileRecord{Manifest: man, State: FileRemote, Convs: []Conversation{conv}}
		if err := fs.PutFileRecord(rec); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, err
	}
	if rec.State == FileComplete {
		_, err := s.finishFile(rec, "")
		return nil, err
	}
	s.fetches.mu.Lock()
	defer s.fetches.mu.Unlock()
	if f := s.fetches.m[man.Hash]; f != nil {
		return f, nil
	}
	n := crypto.NumChunks(man.Size, man.ChunkSize)
	f := &fileFetch{
		s: s, man: man, conv: conv, saveTo: saveTo, done: make(chan struct{}),
		chunks: rec.Chunks, need: make([]bool, n),
		inflight: map[int]bool{}, sources: map[PeerID]bool{}, bad: map[PeerID]bool{}, retry: map[PeerID]retryAt{},
		changed: make(chan struct{}, 1),
	}
	for i := range n {
		if hasBit(rec.Have, i) {
			f.have += f.chunkLen(i)
		} else {
			f.need[i] = true
			f.left++
		}
	}
	if s.fetches.m == nil {
		s.fetches.m = map[FileHash]*fileFetch{}
	}
	s.fetches.m[man.Hash] = f
	if !s.goTracked(f.run) {
		delete(s.fetches.m, man.Hash)
		return nil, ErrClosed
	}
	return f, nil
}

func (f *fileFetch) chunkLen(i int) int64 {
	return min(int64(f.man.ChunkSize), f.man.Size-int64(i)*int64(f.man.ChunkSize))
}

// run drives the fetch until the file is complete or the service stops.
func (f *fileFetch) run() {
	s := f.s
	ctx := s.ctx()
	err := f.loop(ctx)
	if err == nil {
		if _, err := s.cfg.Files.EvictFiles(s.cfg.FileCache); err != nil {
			s.log.Warn("could not trim the file cache", "err", err)
		}
	}
	if err != nil && ctx.Err() == nil {
		s.log.Warn("a file fetch failed", "file", fmt.Sprintf("%x", f.man.Hash[:4]), "err", err)
		s.publish(Event{Type: EventFile, File: &FileEvent{Hash: f.man.Hash, Have: f.have, Size: f.man.Size, State: FileFailed, Reason: err.Error()}})
	}
	s.fetches.mu.Lock()
	delete(s.fetches.m, f.man.Hash)
	s.fetches.mu.Unlock()
	f.err = err
	close(f.done)
}

func (f *fileFetch) loop(ctx context.Context) error {
	s := f.s
	f.note(true)
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wait := 500 * time.Millisecond
	for {
		f.mu.Lock()
		left, fatal := f.left, f.fatal
		f.mu.Unlock()
		if fatal != nil {
			return fatal
		}
		if left == 0 {
			return f.complete()
		}
		for _, p := range f.candidates() {
			f.mu.Lock()
			busy := f.sources[p] || f.bad[p] || time.Now().Before(f.retry[p].at)
			if !busy {
				f.sources[p] = true
			}
			f.mu.Unlock()
			if busy {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := f.fetchFrom(ctx, p)
				if errors.Is(err, errStore) {
					f.mu.Lock()
					f.fatal = err
					f.mu.Unlock()
				}
				if err != nil && ctx.Err() == nil {
					s.log.Debug("file source ended", "file", fmt.Sprintf("%x", f.man.Hash[:4]), "peer", p, "err", err)
				}
				f.mu.Lock()
				delete(f.sources, p)
				if err != nil {
					// Not again before a pause, growing while it keeps failing.
					r := f.retry[p]
					r.wait = min(max(2*r.wait, 500*time.Millisecond), 30*time.Second)
					r.at = time.Now().Add(r.wait)
					f.retry[p] = r
				} else {
					delete(f.retry, p)
				}
				f.mu.Unlock()
				f.note(true)
				poke(f.changed)
			}()
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-f.changed:
			wait = 500 * time.Millisecond
		case <-t.C:
			wait = min(2*wait, 5*time.Second)
		}
		t.Stop()
	}
}

// candidates are the online peers of the conversation that may have the file.
func (f *fileFetch) candidates() []PeerID {
	s := f.s
	if p, ok := f.conv.Peer(); ok {
		return []PeerID{p}
	}
	name, ok := f.conv.Room()
	if !ok {
		return nil
	}
	r := s.rooms.get(name)
	if r == nil {
		return nil
	}
	ps := r.topicPeers()
	if r.priv != nil {
		ps = slices.DeleteFunc(ps, func(p PeerID) bool { return !r.priv.isMember(p) })
	}
	return ps
}

// errBadChunk marks a source that sent a chunk that does not verify.
var errBadChunk = errors.New("sent a chunk that does not match its hash")

// fetchFrom fetches what p has of the missing chunks, batch after batch.
func (f *fileFetch) fetchFrom(ctx context.Context, p PeerID) error {
	s := f.s
	// One failing stream ends them all: the source is suspect or gone.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	c, closeFirst, err := f.openClient(ctx, p)
	if err != nil {
		return err
	}
	defer closeFirst()
	have, err := c.have()
	if err != nil {
		return err
	}
	f.mu.Lock()
	known := f.chunks != nil
	f.mu.Unlock()
	if !known {
		list, err := c.list()
		if err != nil {
			return err
		}
		if err := crypto.VerifyChunkList(f.man.Hash, f.man.Size, f.man.ChunkSize, list); err != nil {
			f.penalize(p, err)
			return err
		}
		if err := s.cfg.Files.SetChunkList(f.man.Hash, list); err != nil {
			return err
		}
		f.mu.Lock()
		if f.chunks == nil {
			f.chunks = list
		}
		f.mu.Unlock()
	}
	// Several streams to the source at once: one's chunks are checked and
	// stored while others' are on the wire or read from the source's disk.
	errs := make(chan error, sourceLanes)
	go func() { errs <- f.pump(p, c, have) }()
	for range sourceLanes - 1 {
		go func() {
			c, closeLane, err := f.openClient(ctx, p)
			if err != nil {
				errs <- err
				return
			}
			defer closeLane()
			errs <- f.pump(p, c, have)
		}()
	}
	var first error
	for range sourceLanes {
		if err := <-errs; err != nil && first == nil {
			first = err
			cancel()
		}
	}
	return first
}

// openClient opens a /parley/file/1.0.0 stream to p for this fetch; the
// stream is reset when ctx ends or when the returned func is called.
func (f *fileFetch) openClient(ctx context.Context, p PeerID) (*fileClient, func(), error) {
	st, err := f.s.cfg.Transport.OpenStream(ctx, p, FileProtocol)
	if err != nil {
		return nil, nil, err
	}
	stop := context.AfterFunc(ctx, func() { _ = st.Reset() })
	c := &fileClient{st: st, fr: newFrameReader(st, maxFileResponseFrame), bw: bufio.NewWriterSize(st, 4<<10),
		hash: f.man.Hash[:], conv: f.s.fileConvLabel(f.conv)}
	return c, func() { stop(); _ = st.Reset() }, nil
}

// sourceLanes is how many streams a downloader opens to one source.
const sourceLanes = 3

// pump fetches over c, from p, what p has (have) of the missing chunks,
// batch after batch, until nothing is left for it.
func (f *fileFetch) pump(p PeerID, c *fileClient, have []byte) error {
	s := f.s
	var plain []byte
	each := func(i int, data []byte) error {
		wireLen := len(data) // counted as received once stored
		if f.man.Key != (crypto.Key{}) {
			var err error
			if plain, err = crypto.OpenChunk(plain[:0], f.man.Key, f.man.Hash, i, data); err != nil {
				return errBadChunk
			}
			data = plain
		}
		// The store checks the chunk's length and hash against the chunk
		// list before it writes a byte (ErrInvalid if they differ).
		if err := s.cfg.Files.PutChunk(f.man.Hash, i, data); err != nil {
			if errors.Is(err, ErrInvalid) {
				return fmt.Errorf("%w: %w", errBadChunk, err)
			}
			return fmt.Errorf("%w: %w", errStore, err)
		}
		s.stats.fileIn.Add(uint64(wireLen))
		f.got(i)
		return nil
	}
	// Two batches in flight: the source reads the next while this node
	// checks and stores the one arriving.
	cur := f.take(p, have)
	if len(cur) == 0 {
		return nil
	}
	if err := c.askChunks(cur); err != nil {
		f.release(cur)
		return err
	}
	for {
		next := f.take(p, have)
		if len(next) > 0 {
			if err := c.askChunks(next); err != nil {
				f.release(cur)
				f.release(next)
				return err
			}
		}
		err := c.readChunks(cur, each)
		f.release(cur)
		if err != nil {
			if len(next) > 0 {
				f.release(next)
			}
			switch {
			case errors.Is(err, errBadChunk):
				f.penalize(p, err)
				return err
			case errors.Is(err, errMissing) && len(next) == 0:
				// It had it a moment ago (evicted meanwhile): ask again.
				if have, err = c.have(); err != nil {
					return err
				}
				if cur = f.take(p, have); len(cur) == 0 {
					return nil
				}
				if err := c.askChunks(cur); err != nil {
					f.release(cur)
					return err
				}
				continue
			}
			return err
		}
		if len(next) == 0 {
			return nil
		}
		cur = next
	}
}

// take reserves up to chunkBatch missing chunks that have holds and no
// other request is fetching; none once p is dropped.
func (f *fileFetch) take(p PeerID, have []byte) []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.bad[p] {
		return nil // dropped meanwhile, by another stream to it
	}
	var out []int
	for i, need := range f.need {
		if need && !f.inflight[i] && hasBit(have, i) {
			f.inflight[i] = true
			out = append(out, i)
			if len(out) == chunkBatch {
				break
			}
		}
	}
	return out
}

// release ends the reservation of batch (what was not stored is missing
// again).
func (f *fileFetch) release(batch []int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, i := range batch {
		delete(f.inflight, i)
	}
}

// got records chunk i as stored.
func (f *fileFetch) got(i int) {
	f.mu.Lock()
	if f.need[i] {
		f.need[i] = false
		f.left--
		f.have += f.chunkLen(i)
	}
	f.mu.Unlock()
	f.note(false)
}

// penalize drops p for the rest of the fetch, and lowers its standing
// with the node's pubsub as for any peer that sends what it must not.
func (f *fileFetch) penalize(p PeerID, err error) {
	f.s.log.Warn("dropped a file source", "peer", p, "file", fmt.Sprintf("%x", f.man.Hash[:4]), "err", err)
	f.mu.Lock()
	f.bad[p] = true
	f.mu.Unlock()
	if ps := f.s.cfg.PubSub; ps != nil {
		ps.Penalize(p)
	}
}

// note publishes progress, at most every 100 ms unless now.
func (f *fileFetch) note(now bool) {
	f.mu.Lock()
	t := time.Now()
	if !now && t.Sub(f.lastNote) < 100*time.Millisecond {
		f.mu.Unlock()
		return
	}
	f.lastNote = t
	e := FileEvent{Hash: f.man.Hash, Have: f.have, Size: f.man.Size, Sources: len(f.sources), State: FileDownloading}
	f.mu.Unlock()
	f.s.publish(Event{Type: EventFile, File: &e})
}

// complete ends a fetch whose every chunk is stored.
func (f *fileFetch) complete() error {
	rec, err := f.s.cfg.Files.FileRecord(f.man.Hash)
	if err != nil {
		return err
	}
	f.path, err = f.s.finishFile(rec, f.saveTo)
	return err
}

// finishFile saves a complete file into dir (pinned: the user asked for
// it there), or when dir is empty into the download directory (once), and
// announces it.
func (s *Service) finishFile(rec FileRecord, dir string) (string, error) {
	h := rec.Manifest.Hash
	save := func(dir string, pin bool) error {
		path, err := s.cfg.Files.SaveFile(h, dir, pin)
		if err != nil {
			s.publish(Event{Type: EventFile, File: &FileEvent{Hash: h, Size: rec.Manifest.Size, State: FileFailed, Reason: err.Error()}})
			return err
		}
		rec.Path = path
		return nil
	}
	switch {
	case dir != "":
		if err := save(dir, true); err != nil {
			return "", err
		}
	case rec.Path == "" && s.cfg.DownloadDir != "":
		if err := save(s.cfg.DownloadDir, false); err != nil {
			return "", err
		}
	}
	s.publish(Event{Type: EventFile, File: &FileEvent{Hash: h, Have: rec.Manifest.Size, Size: rec.Manifest.Size, State: FileComplete, Path: rec.Path}})
	return rec.Path, nil
}

// errStore marks a failure to store a chunk (a full disk): it ends the
// fetch, whatever the sources.
var errStore = errors.New("cannot store the file")

// errMissing is a source's answer for a chunk it does not hold.
var errMissing = errors.New("the source does not hold the chunk")

// fileClient is the requesting side of a /parley/file/1.0.0 stream.
type fileClient struct {
	st   Stream
	fr   *frameReader
	bw   *bufio.Writer
	hash []byte
	conv string
}

func (c *fileClient) ask(typ wire.FileRequest_Type, indices []uint32) error {
	b, err := proto.Marshal(&wire.FileRequest{Type: typ, Hash: c.hash, Conversation: c.conv, Indices: indices})
	if err != nil {
		return err
	}
	_ = c.st.SetWriteDeadline(time.Now().Add(fileIdleTimeout))
	if err := writeFrame(c.bw, b); err != nil {
		return err
	}
	return c.bw.Flush()
}

// next reads the next response frame (valid until the following call).
func (c *fileClient) next() ([]byte, error) {
	_ = c.st.SetReadDeadline(time.Now().Add(fileIdleTimeout))
	b, err := c.fr.Next()
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return b, err
}

func (c *fileClient) answer() (*wire.FileResponse, error) {
	b, err := c.next()
	if err != nil {
		return nil, err
	}
	var r wire.FileResponse
	if err := proto.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("bad file response: %w", err)
	}
	return &r, nil
}

func (c *fileClient) have() ([]byte, error) {
	if err := c.ask(wire.FileRequest_TYPE_HAVE, nil); err != nil {
		return nil, err
	}
	r, err := c.answer()
	if err != nil {
		return nil, err
	}
	if r.Error != "" {
		return nil, fmt.Errorf("source: %s", r.Error)
	}
	return r.Have, nil
}

func (c *fileClient) list() ([]FileHash, error) {
	if err := c.ask(wire.FileRequest_TYPE_LIST, nil); err != nil {
		return nil, err
	}
	r, err := c.answer()
	if err != nil {
		return nil, err
	}
	if r.Error != "" {
		return nil, fmt.Errorf("source: %s", r.Error)
	}
	out := make([]FileHash, len(r.ChunkHashes))
	for i, h := range r.ChunkHashes {
		if len(h) != sha256.Size {
			return nil, fmt.Errorf("%w: a %d-byte chunk hash", crypto.ErrBadChunkList, len(h))
		}
		out[i] = FileHash(h)
	}
	return out, nil
}

// askChunks asks for batch.
func (c *fileClient) askChunks(batch []int) error {
	idx := make([]uint32, len(batch))
	for k, i := range batch {
		idx[k] = uint32(i)
	}
	return c.ask(wire.FileRequest_TYPE_CHUNKS, idx)
}

// readChunks reads the answers to a batch asked for and hands each chunk
// to each, in order.
func (c *fileClient) readChunks(batch []int, each func(i int, data []byte) error) error {
	var missing bool
	for _, i := range batch {
		b, err := c.next()
		if err != nil {
			return err
		}
		index, data, fail, err := decodeChunkResponse(b)
		switch {
		case err != nil:
			return err
		case index != uint32(i):
			return fmt.Errorf("%w: chunk %d where %d was due", errBadChunk, index, i)
		case fail == "missing":
			missing = true
			continue
		case fail != "":
			return fmt.Errorf("source: %s", fail)
		}
		if err := each(i, data); err != nil { // data is valid until the next frame
			return err
		}
	}
	if missing {
		return errMissing
	}
	return nil
}

// filesArrived records the files of a message that arrived and fetches
// those up to AutoDownload (and MaxFileSize) in the background.
func (s *Service) filesArrived(m *Message) {
	fs := s.cfg.Files
	if fs == nil || m.Author == s.self {
		return
	}
	for _, man := range m.Files {
		if err := fs.AddFileConv(man, m.Conversation); err != nil {
			s.log.Warn("could not record a shared file", "err", err)
			continue
		}
		if man.Size > s.cfg.AutoDownload || man.Size > s.cfg.MaxFileSize {
			continue
		}
		if _, err := s.startFetch(man, m.Conversation, ""); err != nil {
			s.log.Debug("could not start fetching a file", "err", err)
		}
	}
}

// resumeFetches restarts, at start, the fetches a stop interrupted.
func (s *Service) resumeFetches() {
	fs := s.cfg.Files
	if fs == nil {
		return
	}
	recs, err := fs.FileRecords()
	if err != nil {
		s.log.Warn("could not list files", "err", err)
		return
	}
	for _, rec := range recs {
		if rec.State != FileDownloading || len(rec.Convs) == 0 {
			continue
		}
		if _, err := s.startFetch(rec.Manifest, rec.Convs[0], ""); err != nil {
			s.log.Debug("could not resume fetching a file", "err", err)
		}
	}
}

// decodeChunkResponse reads the fields of a FileResponse to a CHUNKS
// request (index, data, error) without copying data out of b, which a
// chunk's answer would otherwise cost once more; other fields are
// skipped, as proto.Unmarshal would.
func decodeChunkResponse(b []byte) (index uint32, data []byte, fail string, err error) {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return 0, nil, "", fmt.Errorf("bad file response: %w", protowire.ParseError(n))
		}
		if !num.IsValid() {
			return 0, nil, "", fmt.Errorf("bad file response: field number %d", num)
		}
		b = b[n:]
		switch {
		case num == 1 && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 || !utf8.Valid(v) {
				return 0, nil, "", errors.New("bad file response: error field")
			}
			fail, b = string(v), b[n:]
		case num == 4 && typ == protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return 0, nil, "", errors.New("bad file response: index field")
			}
			index, b = uint32(v), b[n:] // truncated, as protobuf reads a uint32
		case num == 5 && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return 0, nil, "", errors.New("bad file response: data field")
			}
			data, b = v, b[n:]
		default:
			n := protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return 0, nil, "", fmt.Errorf("bad file response: %w", protowire.ParseError(n))
			}
			b = b[n:]
		}
	}
	return index, data, fail, nil
}
