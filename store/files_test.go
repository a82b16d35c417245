package store_test

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/crypto"
	"github.com/parley-chat/parley/store"
)

// testChunk is the chunk size of the file tests: small, so that a file
// of many chunks is a few kilobytes.
const testChunk = 16

// fakeClock is a clock the test moves by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// fileRig is a store on disk with small chunks and a fake clock.
type fileRig struct {
	t     *testing.T
	dir   string
	clock *fakeClock
	s     *store.Store
}

func newFileRig(t *testing.T) *fileRig {
	t.Helper()
	r := &fileRig{t: t, dir: t.TempDir(), clock: &fakeClock{now: baseTime}}
	r.open()
	return r
}

func (r *fileRig) options() store.Options {
	return store.Options{FileChunkSize: testChunk, Now: r.clock.Now}
}

// open opens the rig's store; it is closed when the test ends or by reopen.
func (r *fileRig) open() {
	r.t.Helper()
	s, err := store.Open(r.dir, r.options())
	if err != nil {
		r.t.Fatalf("open store: %v", err)
	}
	r.s = s
	r.t.Cleanup(func() { _ = s.Close() })
}

// reopen closes the store and opens it again, as a restart does.
func (r *fileRig) reopen() {
	r.t.Helper()
	if err := r.s.Close(); err != nil {
		r.t.Fatalf("close store: %v", err)
	}
	r.open()
}

func (r *fileRig) chunkDir() string { return filepath.Join(r.dir, "chunks") }

// chunkFiles lists the files under the chunk directory, by name.
func chunkFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if !d.IsDir() {
			out = append(out, d.Name())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// distinctChunks is how many different chunks data has.
func distinctChunks(data []byte, size int) int {
	seen := map[crypto.Hash]bool{}
	for len(data) > 0 {
		n := min(size, len(data))
		seen[crypto.ChunkHash(data[:n])] = true
		data = data[n:]
	}
	return len(seen)
}

func randomBytes(seed uint64, n int) []byte {
	b := make([]byte, n)
	r := mrand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)})
	_, _ = r.Read(b)
	return b
}

func (r *fileRig) importBytes(data []byte, name string, conv chat.Conversation) chat.FileRecord {
	r.t.Helper()
	rec, err := r.s.ImportFile(bytes.NewReader(data), name, conv, 1<<30)
	if err != nil {
		r.t.Fatalf("ImportFile(%s): %v", name, err)
	}
	return rec
}

// checkChunks reads every chunk of file h back and compares it with data.
func checkChunks(t *testing.T, s *store.Store, h chat.FileHash, data []byte) {
	t.Helper()
	for i := 0; len(data) > 0; i++ {
		n := min(testChunk, len(data))
		got, err := s.Chunk(h, i, nil)
		if err != nil {
			t.Fatalf("Chunk(%d): %v", i, err)
		}
		if !bytes.Equal(got, data[:n]) {
			t.Fatalf("Chunk(%d): got %q, want %q", i, got, data[:n])
		}
		data = data[n:]
	}
}

var (
	roomConv = chat.RoomConversation("general")
	teamConv = chat.RoomConversation("team")
)

func TestImportFile(t *testing.T) {
	for _, tc := range []struct {
		name   string
		size   int
		chunks int
	}{
		{"zero bytes", 0, 0},
		{"one byte", 1, 1},
		{"exactly one chunk", testChunk, 1},
		{"one chunk and a byte", testChunk + 1, 2},
		{"many chunks, more than one batch of counts", (store.RefBatch+500)*testChunk + 3, store.RefBatch + 501},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newFileRig(t)
			data := randomBytes(uint64(tc.size), tc.size)
			rec := r.importBytes(data, "data.bin", roomConv)
			m := rec.Manifest
			wantRoot, _, wantChunks, err := crypto.HashFile(bytes.NewReader(data), testChunk, nil)
			if err != nil {
				t.Fatal(err)
			}
			if m.Hash != wantRoot || m.Size != int64(tc.size) || m.ChunkSize != testChunk || m.Name != "data.bin" {
				t.Errorf("manifest: got %+v, want hash %s size %d", m, wantRoot, tc.size)
			}
			if len(rec.Chunks) != tc.chunks || !slices.Equal(rec.Chunks, wantChunks) && tc.chunks > 0 {
				t.Errorf("chunks: got %d, want %d", len(rec.Chunks), tc.chunks)
			}
			if !rec.Pinned || rec.State != chat.FileComplete || rec.HaveN != tc.chunks || !rec.ChunksKnown() {
				t.Errorf("record: pinned %v state %s have %d known %v; want pinned complete %d known", rec.Pinned, rec.State, rec.HaveN, rec.ChunksKnown(), tc.chunks)
			}
			if !slices.Equal(rec.Convs, []chat.Conversation{roomConv}) || !rec.LastUsed.Equal(baseTime.Truncate(time.Millisecond)) {
				t.Errorf("record: convs %v last used %v", rec.Convs, rec.LastUsed)
			}
			if got := len(chunkFiles(t, r.chunkDir())); got != distinctChunks(data, testChunk) {
				t.Errorf("chunk files: got %d, want %d", got, distinctChunks(data, testChunk))
			}
			checkChunks(t, r.s, m.Hash, data)
			if _, err := r.s.Chunk(m.Hash, tc.chunks, nil); !errors.Is(err, chat.ErrNotFound) {
				t.Errorf("Chunk past the end: got %v, want ErrNotFound", err)
			}

			// The record reads back the same after a restart.
			r.reopen()
			back, err := r.s.FileRecord(m.Hash)
			if err != nil {
				t.Fatal(err)
			}
			if back.HaveN != tc.chunks || back.State != chat.FileComplete || !back.Pinned || !slices.Equal(back.Chunks, rec.Chunks) || back.Manifest.Name != "data.bin" {
				t.Errorf("after reopening: got %+v", back)
			}
			checkChunks(t, r.s, m.Hash, data)
			path, err := r.s.SaveFile(m.Hash, t.TempDir(), true)
			if err != nil {
				t.Fatal(err)
			}
			if saved, err := os.ReadFile(path); err != nil || !bytes.Equal(saved, data) {
				t.Errorf("saved file: %d bytes, %v; want the %d imported", len(saved), err, len(data))
			}
		})
	}
}

func TestImportFileDedup(t *testing.T) {
	r := newFileRig(t)
	// Four chunks, two of them the same.
	data := []byte(strings.Repeat("A", testChunk) + strings.Repeat("B", testChunk) + strings.Repeat("A", testChunk) + "tail")
	first := r.importBytes(data, "one.txt", roomConv)
	if got := len(chunkFiles(t, r.chunkDir())); got != 3 {
		t.Fatalf("chunk files after the first import: got %d, want 3", got)
	}
	second := r.importBytes(data, "two.txt", teamConv)
	if second.Manifest.Hash != first.Manifest.Hash {
		t.Fatalf("the same bytes gave two hashes: %s, %s", first.Manifest.Hash, second.Manifest.Hash)
	}
	if got := len(chunkFiles(t, r.chunkDir())); got != 3 {
		t.Errorf("chunk files after the same file again: got %d, want 3", got)
	}
	recs, err := r.s.FileRecords()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 {
		t.Fatalf("records: got %d, want 1", len(recs))
	}
	if got := recs[0]; got.Manifest.Name != "two.txt" || !slices.Equal(got.Convs, []chat.Conversation{roomConv, teamConv}) {
		t.Errorf("record after the second import: name %q convs %v; want two.txt in both rooms", got.Manifest.Name, got.Convs)
	}
	// A third file sharing chunk "B" adds only what is new.
	other := r.importBytes([]byte(strings.Repeat("B", testChunk)+"other"), "three.txt", roomConv)
	if got := len(chunkFiles(t, r.chunkDir())); got != 4 {
		t.Errorf("chunk files after a file sharing a chunk: got %d, want 4", got)
	}
	if n, _ := store.CountKeys(r.s, store.TagChunkRef); n != 4 {
		t.Errorf("reference counts: got %d, want 4", n)
	}
	checkChunks(t, r.s, other.Manifest.Hash, []byte(strings.Repeat("B", testChunk)+"other"))
	checkChunks(t, r.s, first.Manifest.Hash, data)
}

func TestImportFileTooLarge(t *testing.T) {
	r := newFileRig(t)
	kept := []byte(strings.Repeat("K", testChunk) + "kept")
	keptRec := r.importBytes(kept, "kept.txt", roomConv)
	// A file whose first chunk is the kept file's, and over the limit.
	big := append([]byte(strings.Repeat("K", testChunk)), randomBytes(1, 10*testChunk)...)
	_, err := r.s.ImportFile(bytes.NewReader(big), "big.bin", roomConv, 5*testChunk)
	if !errors.Is(err, chat.ErrTooLarge) || !errors.Is(err, chat.ErrFileTooLarge) {
		t.Fatalf("ImportFile over the limit: got %v, want ErrFileTooLarge (ErrTooLarge)", err)
	}
	recs, _ := r.s.FileRecords()
	if len(recs) != 1 || recs[0].Manifest.Hash != keptRec.Manifest.Hash {
		t.Errorf("records: got %d, want only the kept file", len(recs))
	}
	if got := len(chunkFiles(t, r.chunkDir())); got != 2 {
		t.Errorf("chunk files: got %d, want the kept file's 2", got)
	}
	checkChunks(t, r.s, keptRec.Manifest.Hash, kept)
	// Exactly the limit is fine.
	if _, err := r.s.ImportFile(bytes.NewReader(big), "big.bin", roomConv, int64(len(big))); err != nil {
		t.Errorf("ImportFile at the limit: %v", err)
	}
}

func TestImportFileReadError(t *testing.T) {
	r := newFileRig(t)
	failing := io.MultiReader(bytes.NewReader(randomBytes(2, 3*testChunk)), errReader{})
	if _, err := r.s.ImportFile(failing, "x", roomConv, 1<<20); !errors.Is(err, errBroken) {
		t.Fatalf("got %v, want the reader's error", err)
	}
	if got := chunkFiles(t, r.chunkDir()); len(got) != 0 {
		t.Errorf("chunk files left: %v", got)
	}
	if n, _ := store.CountKeys(r.s, store.TagFile); n != 0 {
		t.Errorf("records left: %d", n)
	}
}

var errBroken = errors.New("broken reader")

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errBroken }

// remoteRecord is file data as another node's message announces it.
func remoteRecord(t *testing.T, data []byte, name string) (chat.FileRecord, []chat.FileHash) {
	t.Helper()
	root, size, chunks, err := crypto.HashFile(bytes.NewReader(data), testChunk, nil)
	if err != nil {
		t.Fatal(err)
	}
	return chat.FileRecord{
		Manifest: chat.FileManifest{Name: name, Size: size, MIME: "application/pdf", Hash: root, ChunkSize: testChunk, Key: crypto.NewFileKey()},
		State:    chat.FileRemote,
		Convs:    []chat.Conversation{roomConv},
	}, chunks
}

func TestPutChunkOutOfOrderAndResume(t *testing.T) {
	r := newFileRig(t)
	data := randomBytes(3, 7*testChunk+5) // 8 chunks
	rec, chunks := remoteRecord(t, data, "report.pdf")
	h := rec.Manifest.Hash
	if err := r.s.PutFileRecord(rec); err != nil {
		t.Fatal(err)
	}
	got, err := r.s.FileRecord(h)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != chat.FileRemote || got.ChunksKnown() || got.HaveN != 0 || got.Manifest.Key != rec.Manifest.Key || got.Manifest.MIME != "application/pdf" {
		t.Fatalf("a remote record: got %+v", got)
	}
	chunk := func(i int) []byte { return data[i*testChunk : min((i+1)*testChunk, len(data))] }
	if err := r.s.PutChunk(h, 0, chunk(0)); !errors.Is(err, chat.ErrInvalid) {
		t.Errorf("PutChunk before the chunk list: got %v, want ErrInvalid", err)
	}
	bad := slices.Clone(chunks)
	bad[2][0] ^= 1
	if err := r.s.SetChunkList(h, bad); !errors.Is(err, crypto.ErrBadChunkList) {
		t.Errorf("SetChunkList of a forged list: got %v, want ErrBadChunkList", err)
	}
	if err := r.s.SetChunkList(h, chunks); err != nil {
		t.Fatal(err)
	}
	if err := r.s.PutChunk(h, 2, chunk(3)); !errors.Is(err, chat.ErrInvalid) {
		t.Errorf("PutChunk of the wrong bytes: got %v, want ErrInvalid", err)
	}
	if err := r.s.PutChunk(h, 8, chunk(7)); !errors.Is(err, chat.ErrInvalid) {
		t.Errorf("PutChunk past the end: got %v, want ErrInvalid", err)
	}
	r.clock.Advance(time.Minute)
	for _, i := range []int{5, 1, 7, 5} { // out of order, one twice
		if err := r.s.PutChunk(h, i, chunk(i)); err != nil {
			t.Fatalf("PutChunk(%d): %v", i, err)
		}
	}
	if _, err := r.s.Chunk(h, 0, nil); !errors.Is(err, chat.ErrNotFound) {
		t.Errorf("Chunk not held: got %v, want ErrNotFound", err)
	}

	// A restart keeps what was held.
	r.reopen()
	got, err = r.s.FileRecord(h)
	if err != nil {
		t.Fatal(err)
	}
	if got.HaveN != 3 || !got.Has(1) || !got.Has(5) || !got.Has(7) || got.Has(0) || got.State != chat.FileDownloading {
		t.Fatalf("after reopening: have %d (%08b) state %s; want 1, 5, 7 downloading", got.HaveN, got.Have, got.State)
	}
	if !got.LastUsed.Equal(baseTime.Add(time.Minute)) {
		t.Errorf("LastUsed: got %v, want when the download started", got.LastUsed)
	}
	if _, err := r.s.SaveFile(h, t.TempDir(), true); !errors.Is(err, chat.ErrInvalid) {
		t.Errorf("SaveFile of an incomplete file: got %v, want ErrInvalid", err)
	}
	for i := 7; i >= 0; i-- {
		if err := r.s.PutChunk(h, i, chunk(i)); err != nil {
			t.Fatalf("PutChunk(%d): %v", i, err)
		}
	}
	got, _ = r.s.FileRecord(h)
	if got.State != chat.FileComplete || got.HaveN != 8 || got.Pinned {
		t.Errorf("complete: state %s have %d pinned %v; want complete 8 unpinned", got.State, got.HaveN, got.Pinned)
	}
	// Each chunk is counted once, whatever was put twice: one eviction
	// removes every chunk file.
	if n, _ := store.CountKeys(r.s, store.TagChunkRef); n != 8 {
		t.Errorf("reference counts: got %d, want 8", n)
	}
	if _, err := r.s.EvictFiles(0); err != nil {
		t.Fatal(err)
	}
	if files := chunkFiles(t, r.chunkDir()); len(files) != 0 {
		t.Errorf("chunk files after evicting the only file: %v", files)
	}
	if n, _ := store.CountKeys(r.s, store.TagChunkRef); n != 0 {
		t.Errorf("reference counts after eviction: got %d, want 0", n)
	}
}

func TestPutFileRecord(t *testing.T) {
	r := newFileRig(t)
	data := randomBytes(4, 3*testChunk)
	rec, chunks := remoteRecord(t, data, "a.png")
	h := rec.Manifest.Hash
	if _, err := r.s.FileRecord(h); !errors.Is(err, chat.ErrNotFound) {
		t.Fatalf("an unknown file: got %v, want ErrNotFound", err)
	}
	rec.Chunks = chunks
	rec.State = chat.FileComplete // not true: nothing is held
	rec.Manifest.Width, rec.Manifest.Height, rec.Manifest.Thumb = 640, 480, []byte("thumb")
	if err := r.s.PutFileRecord(rec); err != nil {
		t.Fatal(err)
	}
	got, err := r.s.FileRecord(h)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != chat.FileRemote || !got.ChunksKnown() || got.Manifest.Width != 640 || !bytes.Equal(got.Manifest.Thumb, []byte("thumb")) {
		t.Errorf("got state %s known %v %dx%d", got.State, got.ChunksKnown(), got.Manifest.Width, got.Manifest.Height)
	}
	if !got.LastUsed.Equal(baseTime.Truncate(time.Millisecond)) {
		t.Errorf("LastUsed: got %v, want now", got.LastUsed)
	}
	if err := r.s.PutChunk(h, 0, data[:testChunk]); err != nil {
		t.Fatal(err)
	}
	// Replacing the metadata keeps what is held; a manifest that would
	// change the chunking of held chunks is refused.
	rec.Chunks, rec.State, rec.Convs = nil, chat.FileFailed, []chat.Conversation{roomConv, teamConv}
	if err := r.s.PutFileRecord(rec); err != nil {
		t.Fatal(err)
	}
	got, _ = r.s.FileRecord(h)
	if got.State != chat.FileFailed || got.HaveN != 1 || !got.ChunksKnown() || len(got.Convs) != 2 {
		t.Errorf("after replacing: state %s have %d known %v convs %v", got.State, got.HaveN, got.ChunksKnown(), got.Convs)
	}
	other := rec
	other.Manifest.Size++
	if err := r.s.PutFileRecord(other); !errors.Is(err, chat.ErrInvalid) {
		t.Errorf("another size for held chunks: got %v, want ErrInvalid", err)
	}
	for name, bad := range map[string]chat.FileRecord{
		"no hash":     {Manifest: chat.FileManifest{Name: "x", ChunkSize: 1}},
		"chunk size":  {Manifest: chat.FileManifest{Name: "x", Hash: h}},
		"state":       {Manifest: rec.Manifest, State: "lost"},
		"forged list": {Manifest: rec.Manifest, Chunks: chunks[:2]},
	} {
		if err := r.s.PutFileRecord(bad); err == nil {
			t.Errorf("%s: got no error", name)
		}
	}
	if err := r.s.TouchFile(chat.FileHash{1}); !errors.Is(err, chat.ErrNotFound) {
		t.Errorf("TouchFile of an unknown file: got %v, want ErrNotFound", err)
	}
	if err := r.s.SetChunkList(chat.FileHash{1}, nil); !errors.Is(err, chat.ErrNotFound) {
		t.Errorf("SetChunkList of an unknown file: got %v, want ErrNotFound", err)
	}
}

func TestSaveFileNames(t *testing.T) {
	r := newFileRig(t)
	out := filepath.Join(t.TempDir(), "downloads") // created by SaveFile
	data := []byte("the quarterly report")
	rec := r.importBytes(data, "report.pdf", roomConv)
	var paths []string
	for range 3 {
		p, err := r.s.SaveFile(rec.Manifest.Hash, out, true)
		if err != nil {
			t.Fatal(err)
		}
		paths = append(paths, filepath.Base(p))
		if b, err := os.ReadFile(p); err != nil || !bytes.Equal(b, data) {
			t.Errorf("%s: got %q, %v", p, b, err)
		}
	}
	if want := []string{"report.pdf", "report (1).pdf", "report (2).pdf"}; !slices.Equal(paths, want) {
		t.Errorf("saved names: got %q, want %q", paths, want)
	}
	// A file already there under the next name is never replaced.
	if err := os.WriteFile(filepath.Join(out, "report (3).pdf"), []byte("mine"), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := r.s.SaveFile(rec.Manifest.Hash, out, true)
	if err != nil || filepath.Base(p) != "report (4).pdf" {
		t.Errorf("next to a file of the user's: got %q, %v; want report (4).pdf", p, err)
	}
	if b, _ := os.ReadFile(filepath.Join(out, "report (3).pdf")); string(b) != "mine" {
		t.Errorf("the user's file was changed: %q", b)
	}
	got, _ := r.s.FileRecord(rec.Manifest.Hash)
	if got.Path != p || !got.Pinned || !filepath.IsAbs(got.Path) {
		t.Errorf("record: path %q pinned %v; want %q pinned", got.Path, got.Pinned, p)
	}

	// Hostile names from another node's manifest land in out, renamed.
	for _, tc := range []struct{ name, want string }{
		{"../../escape.sh", "_.._escape.sh"},
		{"/etc/passwd", "_etc_passwd"},
		{`..\..\win.bat`, "_.._win.bat"},
		{"..", "file"},
		{".hidden", "hidden"},
		{"CON.txt", "_CON.txt"},
		{"a\x00b\nc.txt", "a_b_c.txt"},
		{"photo\u202egnp.exe", "photo_gnp.exe"},
		{strings.Repeat("x", 400) + ".pdf", strings.Repeat("x", 196) + ".pdf"},
	} {
		content := []byte("content of " + tc.name)
		remote, chunks := remoteRecord(t, content, tc.name)
		remote.Chunks = chunks
		if err := r.s.PutFileRecord(remote); err != nil {
			t.Fatal(err)
		}
		for i := range chunks {
			if err := r.s.PutChunk(remote.Manifest.Hash, i, content[i*testChunk:min((i+1)*testChunk, len(content))]); err != nil {
				t.Fatal(err)
			}
		}
		p, err := r.s.SaveFile(remote.Manifest.Hash, out, true)
		if err != nil {
			t.Fatalf("%q: %v", tc.name, err)
		}
		if filepath.Dir(p) != out || filepath.Base(p) != tc.want {
			t.Errorf("%q saved as %q, want %q in %s", tc.name, p, tc.want, out)
		}
	}
	entries, _ := os.ReadDir(out)
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".part") {
			t.Errorf("a temporary file is left: %s", e.Name())
		}
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(out), "escape.sh")); err == nil {
		t.Error("a file escaped the output directory")
	}
}

func TestEvictFiles(t *testing.T) {
	r := newFileRig(t)
	ck := func(c byte) string { return strings.Repeat(string(c), testChunk) }
	// P is shared by this node (pinned); A shares a chunk with P, B one with C.
	pinned := r.importBytes([]byte(ck('p')+ck('s')), "p.txt", roomConv)
	download := func(content string, name string) chat.FileHash {
		rec, chunks := remoteRecord(t, []byte(content), name)
		rec.Chunks = chunks
		if err := r.s.PutFileRecord(rec); err != nil {
			t.Fatal(err)
		}
		for i := range chunks {
			if err := r.s.PutChunk(rec.Manifest.Hash, i, []byte(content[i*testChunk:(i+1)*testChunk])); err != nil {
				t.Fatal(err)
			}
		}
		r.clock.Advance(time.Second)
		return rec.Manifest.Hash
	}
	a := download(ck('a')+ck('s')+ck('1')+ck('2'), "a") // 64 bytes, chunk s shared with P
	b := download(ck('b')+ck('x')+ck('3')+ck('4'), "b") // chunk x shared with C
	c := download(ck('c')+ck('x')+ck('5')+ck('6'), "c")
	if err := r.s.TouchFile(a); err != nil { // a used last: order b, c, a
		t.Fatal(err)
	}
	before := len(chunkFiles(t, r.chunkDir()))

	freed, err := r.s.EvictFiles(3 * 64)
	if err != nil || freed != 0 {
		t.Fatalf("under the limit: freed %d, %v; want 0", freed, err)
	}
	freed, err = r.s.EvictFiles(130)
	if err != nil || freed != 64 {
		t.Fatalf("EvictFiles(130): freed %d, %v; want 64 (file b)", freed, err)
	}
	recB, _ := r.s.FileRecord(b)
	if recB.HaveN != 0 || recB.State != chat.FileRemote || !recB.ChunksKnown() {
		t.Errorf("evicted b: have %d state %s known %v; want 0 remote known", recB.HaveN, recB.State, recB.ChunksKnown())
	}
	if after := len(chunkFiles(t, r.chunkDir())); after != before-3 {
		t.Errorf("chunk files: got %d, want %d (b's own three gone, x kept for c)", after, before-3)
	}
	checkChunks(t, r.s, c, []byte(ck('c')+ck('x')+ck('5')+ck('6')))
	checkChunks(t, r.s, a, []byte(ck('a')+ck('s')+ck('1')+ck('2')))

	freed, err = r.s.EvictFiles(0)
	if err != nil || freed != 128 {
		t.Fatalf("EvictFiles(0): freed %d, %v; want 128 (c and a)", freed, err)
	}
	// Only the pinned file is left, whole.
	checkChunks(t, r.s, pinned.Manifest.Hash, []byte(ck('p')+ck('s')))
	if got := len(chunkFiles(t, r.chunkDir())); got != 2 {
		t.Errorf("chunk files: got %d, want the pinned file's 2", got)
	}
	if n, _ := store.CountKeys(r.s, store.TagChunkRef); n != 2 {
		t.Errorf("reference counts: got %d, want 2", n)
	}
	// An evicted file downloads again.
	if err := r.s.PutChunk(b, 1, []byte(ck('x'))); err != nil {
		t.Fatal(err)
	}
	checkChunks(t, r.s, b, []byte(ck('b') + ck('x'))[testChunk:testChunk]) // nothing: chunk 0 is not held
	if got, err := r.s.Chunk(b, 1, nil); err != nil || string(got) != ck('x') {
		t.Errorf("chunk fetched again: got %q, %v", got, err)
	}
}

func TestSweepAtOpen(t *testing.T) {
	r := newFileRig(t)
	rec := r.importBytes([]byte("kept chunk"), "k", roomConv)
	orphan := crypto.ChunkHash([]byte("orphan"))
	hx := orphan.String()
	if err := os.MkdirAll(filepath.Join(r.chunkDir(), hx[:2]), 0o700); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{hx, "." + hx + ".tmp-123"} {
		if err := os.WriteFile(filepath.Join(r.chunkDir(), hx[:2], name), []byte("orphan"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	r.reopen()
	if files := chunkFiles(t, r.chunkDir()); len(files) != 1 || files[0] != rec.Chunks[0].String() {
		t.Errorf("chunk files after reopening: got %v, want only the kept chunk", files)
	}
	checkChunks(t, r.s, rec.Manifest.Hash, []byte("kept chunk"))
}

func TestChunkDamagedOnDisk(t *testing.T) {
	r := newFileRig(t)
	rec := r.importBytes([]byte("a chunk that rots"), "rot", roomConv)
	path := filepath.Join(r.chunkDir(), rec.Chunks[0].String()[:2], rec.Chunks[0].String())
	if err := os.WriteFile(path, []byte("a chunk that r0ts"[:testChunk]), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := r.s.Chunk(rec.Manifest.Hash, 0, nil); !errors.Is(err, chat.ErrNotFound) || !strings.Contains(err.Error(), "damaged") {
		t.Errorf("a damaged chunk: got %v, want ErrNotFound (damaged)", err)
	}
	out := t.TempDir()
	if _, err := r.s.SaveFile(rec.Manifest.Hash, out, true); err == nil {
		t.Error("SaveFile of a damaged file: got no error")
	}
	if entries, _ := os.ReadDir(out); len(entries) != 0 {
		t.Errorf("SaveFile left %d files", len(entries))
	}
}

func TestFilesInMemory(t *testing.T) {
	s := openMemStore(t)
	if _, err := s.ImportFile(strings.NewReader("x"), "x", roomConv, 10); !errors.Is(err, store.ErrNoChunkDir) {
		t.Errorf("an in-memory store without a chunk directory: got %v, want ErrNoChunkDir", err)
	}
	dir := t.TempDir()
	m, err := store.Open("", store.Options{InMemory: true, ChunkDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	rec, err := m.ImportFile(strings.NewReader("in memory"), "x", roomConv, 10)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := m.Chunk(rec.Manifest.Hash, 0, nil); err != nil || string(got) != "in memory" {
		t.Errorf("Chunk: got %q, %v", got, err)
	}
	if files := chunkFiles(t, dir); len(files) != 1 {
		t.Errorf("chunk files in the given directory: got %d, want 1", len(files))
	}
}

func TestFilesConcurrent(t *testing.T) {
	r := newFileRig(t)
	data := randomBytes(5, 64*testChunk)
	rec, chunks := remoteRecord(t, data, "shared.bin")
	rec.Chunks = chunks
	h := rec.Manifest.Hash
	if err := r.s.PutFileRecord(rec); err != nil {
		t.Fatal(err)
	}
	// Downloads of the file, imports of a file with the same chunks and
	// evictions race; at the end every chunk held reads back whole.
	prefix := data[:32*testChunk]
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for w := range 4 {
		wg.Go(func() {
			for i := w; i < len(chunks); i += 4 {
				if err := r.s.PutChunk(h, i, data[i*testChunk:(i+1)*testChunk]); err != nil {
					errs <- err
				}
			}
		})
	}
	for range 2 {
		wg.Go(func() {
			if _, err := r.s.ImportFile(bytes.NewReader(prefix), "prefix.bin", roomConv, 1<<20); err != nil {
				errs <- err
			}
		})
	}
	wg.Go(func() {
		for range 5 {
			if _, err := r.s.EvictFiles(0); err != nil {
				errs <- err
			}
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	got, err := r.s.FileRecord(h)
	if err != nil {
		t.Fatal(err)
	}
	for i := range chunks {
		if !got.Has(i) {
			continue
		}
		b, err := r.s.Chunk(h, i, nil)
		if err != nil || !bytes.Equal(b, data[i*testChunk:(i+1)*testChunk]) {
			t.Fatalf("chunk %d held: got %d bytes, %v", i, len(b), err)
		}
	}
	prefixRoot, _, _, _ := crypto.HashFile(bytes.NewReader(prefix), testChunk, nil)
	checkChunks(t, r.s, prefixRoot, prefix)
	if _, err := r.s.EvictFiles(0); err != nil {
		t.Fatal(err)
	}
	if files := chunkFiles(t, r.chunkDir()); len(files) != 32 {
		t.Errorf("after evicting everything unpinned: %d chunk files, want the pinned import's 32", len(files))
	}
}

// mountTmpfs mounts a tmpfs of size bytes at a new directory, unmounted
// when the test ends, or skips the test where it cannot.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("the full-disk test needs root to mount a small tmpfs")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs for the full-disk test (%v: %s)", err, bytes.TrimSpace(out))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

func TestFullDisk(t *testing.T) {
	disk := mountTmpfs(t, "1m")
	t.Run("import", func(t *testing.T) {
		chunkDir := filepath.Join(disk, "chunks")
		s, err := store.Open(t.TempDir(), store.Options{ChunkDir: chunkDir, FileChunkSize: 64 << 10})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		_, err = s.ImportFile(bytes.NewReader(randomBytes(6, 2<<20)), "big.bin", roomConv, 4<<20)
		if !errors.Is(err, syscall.ENOSPC) {
			t.Fatalf("ImportFile onto a full disk: got %v, want ENOSPC", err)
		}
		t.Logf("the error: %v", err)
		if files := chunkFiles(t, chunkDir); len(files) != 0 {
			t.Errorf("files left on the full disk: %v", files)
		}
		if n, _ := store.CountKeys(s, store.TagFile); n != 0 {
			t.Errorf("records left: %d", n)
		}
		if n, _ := store.CountKeys(s, store.TagChunkRef); n != 0 {
			t.Errorf("reference counts left: %d", n)
		}
	})
	t.Run("save", func(t *testing.T) {
		s, err := store.Open(t.TempDir(), store.Options{FileChunkSize: 64 << 10})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		rec, err := s.ImportFile(bytes.NewReader(randomBytes(7, 700<<10)), "report.pdf", roomConv, 4<<20)
		if err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(disk, "out")
		first, err := s.SaveFile(rec.Manifest.Hash, out, true)
		if err != nil {
			t.Fatalf("the first copy fits: %v", err)
		}
		_, err = s.SaveFile(rec.Manifest.Hash, out, true)
		if !errors.Is(err, syscall.ENOSPC) {
			t.Fatalf("SaveFile onto a full disk: got %v, want ENOSPC", err)
		}
		t.Logf("the error: %v", err)
		entries, _ := os.ReadDir(out)
		if len(entries) != 1 || entries[0].Name() != filepath.Base(first) {
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			t.Errorf("files in the full directory: %q, want only %q", names, filepath.Base(first))
		}
		got, _ := s.FileRecord(rec.Manifest.Hash)
		if got.Path != first {
			t.Errorf("recorded path: got %q, want the first copy %q", got.Path, first)
		}
	})
}

func BenchmarkImportFile(b *testing.B) {
	const size = 256 << 20
	src := randomBytes(8, size)
	b.SetBytes(size)
	for b.Loop() {
		b.StopTimer()
		s, err := store.Open(b.TempDir(), store.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, err := s.ImportFile(bytes.NewReader(src), "big.bin", roomConv, 1<<30); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		_ = s.Close()
		b.StartTimer()
	}
}

func BenchmarkSaveFile(b *testing.B) {
	const size = 256 << 20
	s, err := store.Open(b.TempDir(), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	rec, err := s.ImportFile(bytes.NewReader(randomBytes(9, size)), "big.bin", roomConv, 1<<30)
	if err != nil {
		b.Fatal(err)
	}
	out := b.TempDir()
	b.SetBytes(size)
	for b.Loop() {
		p, err := s.SaveFile(rec.Manifest.Hash, out, true)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		_ = os.Remove(p)
		b.StartTimer()
	}
}
