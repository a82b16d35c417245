package chat

import (
	"fmt"
	"io"
	"math/bits"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/parley-chat/parley/crypto"
)

// FileHash names a shared file (its root, crypto.FileRoot) or one of its
// chunks (crypto.ChunkHash). It is an alias, not a new type, so values
// pass between chat, store and crypto without conversions; its text form
// is lower-case hex.
type FileHash = crypto.Hash

// FileState is where this node stands with a file. The strings are part of
// the API (history's "files" entries).
type FileState string

// File states.
const (
	FileRemote      FileState = "remote"      // known from a message; no chunk held
	FileDownloading FileState = "downloading" // some chunks held
	FileComplete    FileState = "complete"    // every chunk held (and verified when written)
	FileFailed      FileState = "failed"      // a fetch gave up; chunks held are kept
)

// Limits on what a manifest may claim (see FileManifest.Validate).
const (
	MaxFileNameLen   = 1024     // bytes of a manifest's name, before SafeFileName
	MaxFileMIMELen   = 255      // bytes of a MIME type
	MaxFileThumbLen  = 64 << 10 // bytes of an inline thumbnail
	MaxFileChunkSize = 16 << 20 // bytes in one chunk
	MaxFileChunks    = 1 << 16  // chunks in one file (a 2 MiB chunk list)
	// MaxSaveAttempts is how many names, "report.pdf" then "report
	// (1).pdf" and on, a store tries when saving before it gives up.
	MaxSaveAttempts = 10_000

	safeNameMaxBytes = 200    // SafeFileName's cap
	safeNameMaxExt   = 32     // the longest extension SafeFileName keeps apart
	fallbackFileName = "file" // SafeFileName of a name with nothing left
)

// FileManifest describes one shared file as a message carries it. Name is a
// display name only (SafeFileName makes it a file name); Hash is the root
// over the chunk list (crypto.FileRoot) and names the file everywhere.
type FileManifest struct {
	Name      string
	Size      int64
	MIME      string // detected type; empty when unknown
	Hash      FileHash
	ChunkSize int
	// Width and Height are an image's dimensions in pixels; 0 otherwise.
	Width, Height int
	// Thumb is a small inline preview of an image (at most
	// MaxFileThumbLen bytes); empty otherwise.
	Thumb []byte
	// Key encrypts the file's chunks in transfer (crypto.SealChunk) when
	// it was shared in a private conversation; zero in public ones.
	Key crypto.Key
}

// NumChunks is how many chunks the file has.
func (m FileManifest) NumChunks() int { return crypto.NumChunks(m.Size, m.ChunkSize) }

// Encrypted reports whether the file's chunks travel sealed under Key.
func (m FileManifest) Encrypted() bool { return m.Key != crypto.Key{} }

// Validate checks what a manifest from another node claims before this
// node records it: a name, a size from 0 to maxSize (ErrFileTooLarge
// beyond), a chunk size and chunk count within limits, a root, and fields
// of sane sizes. Anything else is ErrInvalid.
func (m FileManifest) Validate(maxSize int64) error {
	switch {
	case m.Name == "" || len(m.Name) > MaxFileNameLen:
		return fmt.Errorf("%w: file name of %d bytes, want 1 to %d", ErrInvalid, len(m.Name), MaxFileNameLen)
	case m.Size < 0:
		return fmt.Errorf("%w: negative file size %d", ErrInvalid, m.Size)
	case m.Size > maxSize:
		return fmt.Errorf("%w: %d bytes, the limit is %d", ErrFileTooLarge, m.Size, maxSize)
	case m.ChunkSize <= 0 || m.ChunkSize > MaxFileChunkSize:
		return fmt.Errorf("%w: chunk size %d, want 1 to %d", ErrInvalid, m.ChunkSize, MaxFileChunkSize)
	case m.NumChunks() > MaxFileChunks:
		return fmt.Errorf("%w: %d chunks, the limit is %d", ErrInvalid, m.NumChunks(), MaxFileChunks)
	case m.Hash.IsZero():
		return fmt.Errorf("%w: file without a hash", ErrInvalid)
	case len(m.MIME) > MaxFileMIMELen:
		return fmt.Errorf("%w: MIME type of %d bytes", ErrInvalid, len(m.MIME))
	case m.Width < 0 || m.Height < 0:
		return fmt.Errorf("%w: image size %dx%d", ErrInvalid, m.Width, m.Height)
	case len(m.Thumb) > MaxFileThumbLen:
		return fmt.Errorf("%w: thumbnail of %d bytes, the limit is %d", ErrInvalid, len(m.Thumb), MaxFileThumbLen)
	}
	return nil
}

// FileRecord is what this node keeps about one file. The store owns
// Chunks, Have and HaveN (they change only through SetChunkList, PutChunk,
// ImportFile and EvictFiles); the rest is the caller's.
type FileRecord struct {
	Manifest FileManifest
	// Chunks is the chunk list, verified against Manifest.Hash; nil until
	// known (always known, and empty, for a zero-byte file: see
	// ChunksKnown).
	Chunks []FileHash
	// Have is a bitset of the chunks held: chunk i is held when bit i%8
	// of Have[i/8] is set. len(Have) == (NumChunks+7)/8.
	Have  []byte
	HaveN int // how many bits of Have are set
	// Pinned: shared by this node or saved by the user; never evicted.
	Pinned bool
	State  FileState
	// Path is the saved copy, once complete and saved; empty before.
	Path string
	// Convs are the conversations the file was shared in: whose members
	// may be served it.
	Convs    []Conversation
	LastUsed time.Time
}

// ChunksKnown reports whether the record has its chunk list.
func (r FileRecord) ChunksKnown() bool { return len(r.Chunks) == r.Manifest.NumChunks() }

// Has reports whether chunk i is held.
func (r FileRecord) Has(i int) bool {
	return i >= 0 && i/8 < len(r.Have) && r.Have[i/8]&(1<<(i%8)) != 0
}

// Complete reports whether every chunk is held.
func (r FileRecord) Complete() bool { return r.HaveN == r.Manifest.NumChunks() }

// SharedIn reports whether the file was shared in conv.
func (r FileRecord) SharedIn(conv Conversation) bool { return slices.Contains(r.Convs, conv) }

// HaveBits returns a bitset of n chunks (see FileRecord.Have), and
// CountHave how many of its bits are set.
func HaveBits(n int) []byte { return make([]byte, (n+7)/8) }

// CountHave counts the set bits of a Have bitset.
func CountHave(have []byte) int {
	n := 0
	for _, b := range have {
		n += bits.OnesCount8(b)
	}
	return n
}

// FileStore keeps shared files: their chunks, content-addressed and
// deduplicated, and a record of each. Package store implements it. All
// methods are safe for concurrent use.
type FileStore interface {
	// ImportFile copies r into the chunk store (dedup by chunk hash),
	// computes the manifest (name, size, hash, chunk size; MIME,
	// dimensions and thumbnail are filled by the caller), records it
	// pinned and complete for conv, and returns it. More than max bytes is
	// an error wrapping ErrTooLarge (ErrFileTooLarge), and nothing is kept.
	// A file already recorded keeps its record, completed and pinned, with
	// conv added and the new name; the caller-filled manifest fields (Key,
	// MIME, ...) it had are kept.
	ImportFile(r io.Reader, name string, conv Conversation, max int64) (FileRecord, error)
	// PutFileRecord creates or replaces a record's metadata (a manifest
	// from a message: State remote). The store keeps its own Chunks, Have
	// and HaveN; a chunk list given is verified and kept if none was. State
	// follows what is held: complete exactly when every chunk is, otherwise
	// rec.State (remote, downloading or failed).
	PutFileRecord(rec FileRecord) error
	// FileRecord returns the record of file h, or ErrNotFound.
	FileRecord(h FileHash) (FileRecord, error)
	// FileRecords returns every record.
	FileRecords() ([]FileRecord, error)
	// SetChunkList records the file's chunk list after the caller checked
	// it (crypto.VerifyChunkList); the store checks it too.
	SetChunkList(h FileHash, chunks []FileHash) error
	// PutChunk stores chunk i of file h (deduplicated) and marks it held,
	// atomically; the state becomes complete when every chunk is held. The
	// caller verified data; the store checks its hash and length again.
	PutChunk(h FileHash, i int, data []byte) error
	// Chunk reads chunk i of file h into buf (its capacity reused; nil for
	// a new slice) and returns it, verified, or an error wrapping
	// ErrNotFound if it is not held.
	Chunk(h FileHash, i int, buf []byte) ([]byte, error)
	// SaveFile assembles a complete file into dir under SafeFileName of its
	// name, never overwriting: "report.pdf", then "report (1).pdf"... It
	// writes a temporary file in dir and links it to the final name, so a
	// full disk leaves no half file under that name. It records Path and
	// returns it; pin keeps the file out of EvictFiles (a file the user
	// saved), as a file this node shared is.
	SaveFile(h FileHash, dir string, pin bool) (path string, err error)
	// EvictFiles drops the chunks of unpinned files, least recently used
	// first, until the bytes held of unpinned files are at most limit, and
	// returns how many bytes of them it dropped. A chunk another file
	// still holds stays on disk (each chunk is reference counted). Evicted
	// files keep their records (State remote, chunk list known).
	EvictFiles(limit int64) (freed int64, err error)
	// TouchFile marks the file used now (for EvictFiles' order).
	TouchFile(h FileHash) error
	// AddFileConv records that a file was shared in conv: a remote record
	// of man if the file is unknown, else conv added to its Convs (in one
	// transaction, so it never undoes a chunk stored meanwhile).
	AddFileConv(man FileManifest, conv Conversation) error
}

// SafeFileName turns a display name into one safe path element, the same
// on every system: characters that separate paths or that Windows refuses
// (/ \ : * ? " < > |), control and invisible formatting characters (NUL,
// newlines, bidirectional overrides) and invalid UTF-8 become '_'; leading
// dots and spaces (which would hide the file or make "..") and trailing
// dots and spaces (which Windows drops) are removed; a Windows reserved
// name (CON, PRN, AUX, NUL, COM1-9, LPT1-9, with any extension) gets a '_'
// in front; the result is capped at 200 bytes on a rune boundary, keeping
// the extension; nothing left gives "file". SafeFileName of its own result
// is that result.
func SafeFileName(name string) string {
	var b strings.Builder
	b.Grow(min(len(name), 4*safeNameMaxBytes))
	for i, r := range name {
		if i >= 4*MaxFileNameLen {
			break // a hostile name is not copied without bound
		}
		if r == utf8.RuneError || unsafeNameRune(r) {
			b.WriteByte('_')
			continue
		}
		b.WriteRune(r)
	}
	s := trimName(b.String())
	s = capName(s, safeNameMaxBytes)
	if reservedName(s) {
		s = capName("_"+s, safeNameMaxBytes)
	}
	if s == "" {
		return fallbackFileName
	}
	return s
}

func unsafeNameRune(r rune) bool {
	switch r {
	case '/', '\\', ':', '*', '?', '"', '<', '>', '|':
		return true
	}
	return unicode.IsControl(r) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp) || !unicode.IsPrint(r) && !unicode.IsSpace(r)
}

// trimName removes leading dots and white space, and trailing dots and
// white space.
func trimName(s string) string {
	s = strings.TrimLeftFunc(s, func(r rune) bool { return r == '.' || unicode.IsSpace(r) })
	return strings.TrimRightFunc(s, func(r rune) bool { return r == '.' || unicode.IsSpace(r) })
}

// splitExt splits a name into its stem and extension (".pdf"): the last
// dot, not the first character, with a short extension after it.
func splitExt(s string) (stem, ext string) {
	i := strings.LastIndexByte(s, '.')
	if i <= 0 || len(s)-i > safeNameMaxExt {
		return s, ""
	}
	return s[:i], s[i:]
}

// capName cuts s to at most max bytes on a rune boundary, from the end of
// its stem so the extension stays.
func capName(s string, max int) string {
	if len(s) <= max {
		return s
	}
	stem, ext := splitExt(s)
	keep := max - len(ext)
	for keep > 0 && !utf8.RuneStart(stem[keep]) {
		keep--
	}
	return trimName(stem[:keep] + ext)
}

// reservedName reports whether Windows reserves s: a device name, in any
// case, alone or before an extension.
func reservedName(s string) bool {
	stem, _, _ := strings.Cut(s, ".")
	stem = strings.ToUpper(strings.TrimRightFunc(stem, unicode.IsSpace))
	switch stem {
	case "CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$":
		return true
	}
	if len(stem) >= 4 && (strings.HasPrefix(stem, "COM") || strings.HasPrefix(stem, "LPT")) {
		switch stem[3:] {
		case "1", "2", "3", "4", "5", "6", "7", "8", "9", "¹", "²", "³":
			return true
		}
	}
	return false
}

// NumberedFileName is the name a save tries after name is taken: n = 1
// gives "report (1).pdf" for "report.pdf". It keeps within SafeFileName's
// cap, so numbered names stay valid.
func NumberedFileName(name string, n int) string {
	if n == 0 {
		return name
	}
	suffix := fmt.Sprintf(" (%d)", n)
	stem, ext := splitExt(name)
	if over := len(stem) + len(suffix) + len(ext) - safeNameMaxBytes; over > 0 {
		keep := max(len(stem)-over, 0)
		for keep > 0 && !utf8.RuneStart(stem[keep]) {
			keep--
		}
		stem = stem[:keep]
	}
	return stem + suffix + ext
}
