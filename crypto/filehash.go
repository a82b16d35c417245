package crypto

import (
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"golang.org/x/crypto/chacha20poly1305"
)

// FileChunkSize is the chunk size files are shared with: 1 MiB. A file's
// manifest names its chunk size, so a reader never assumes this one.
const FileChunkSize = 1 << 20

// Hash is a SHA-256 digest: a file chunk's hash, or a file's root (see
// FileRoot). Its text form is lower-case hex.
type Hash [sha256.Size]byte

// ParseHash parses the hex text form of a hash.
func ParseHash(s string) (Hash, error) {
	var h Hash
	if len(s) != 2*len(h) {
		return h, fmt.Errorf("%w %q: want %d hex characters", ErrBadHash, s, 2*len(h))
	}
	if _, err := hex.Decode(h[:], []byte(s)); err != nil {
		return h, fmt.Errorf("%w %q: %v", ErrBadHash, s, err)
	}
	return h, nil
}

// String returns the lower-case hex form.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// IsZero reports whether h is the zero (absent) hash.
func (h Hash) IsZero() bool { return h == Hash{} }

// MarshalText implements encoding.TextMarshaler.
func (h Hash) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (h *Hash) UnmarshalText(b []byte) error {
	p, err := ParseHash(string(b))
	if err != nil {
		return err
	}
	*h = p
	return nil
}

// ChunkHash is the hash of one chunk: SHA-256 of its plaintext bytes.
func ChunkHash(chunk []byte) Hash { return sha256.Sum256(chunk) }

// fileRootDomain starts every file root's preimage, so a root is never
// the hash of anything else Parley hashes.
const fileRootDomain = "parley file v1\x00"

// FileRoot is a file's content hash: SHA-256 of
//
//	"parley file v1\x00" || size (uint64, big-endian) || chunkSize (uint32, big-endian) || chunk hashes
//
// where the chunk hashes (ChunkHash of each chunkSize-byte piece, the last
// one shorter) are concatenated in order. A zero-byte file has no chunks.
// Any chunk can be checked alone against its entry in a chunk list that
// VerifyChunkList accepted for the root. chunkSize must fit in 32 bits.
func FileRoot(size int64, chunkSize int, chunks []Hash) Hash {
	d := sha256.New()
	var head [len(fileRootDomain) + 8 + 4]byte
	n := copy(head[:], fileRootDomain)
	binary.BigEndian.PutUint64(head[n:], uint64(size))
	binary.BigEndian.PutUint32(head[n+8:], uint32(chunkSize))
	d.Write(head[:])
	for _, c := range chunks {
		d.Write(c[:])
	}
	var root Hash
	d.Sum(root[:0])
	return root
}

// NumChunks is how many chunks a file of size bytes has: 0 for an empty
// file (or a chunk size that is not positive).
func NumChunks(size int64, chunkSize int) int {
	if size <= 0 || chunkSize <= 0 {
		return 0
	}
	return int((size + int64(chunkSize) - 1) / int64(chunkSize))
}

// ChunkLen is the length of chunk i of a file of size bytes: chunkSize for
// every chunk but the last, which holds the rest. It is 0 for an index out
// of range.
func ChunkLen(size int64, chunkSize, i int) int {
	if i < 0 || i >= NumChunks(size, chunkSize) {
		return 0
	}
	rest := size - int64(i)*int64(chunkSize)
	return int(min(rest, int64(chunkSize)))
}

// HashFile reads r to its end in chunks of chunkSize bytes and returns the
// file's root, size and chunk list. It holds one chunk in memory at a time;
// each, if not nil, is called with every chunk in order, and may stop the
// read by returning an error, which HashFile returns as it is. The chunk
// slice is reused: each must copy what it keeps.
func HashFile(r io.Reader, chunkSize int, each func(i int, h Hash, chunk []byte) error) (root Hash, size int64, chunks []Hash, err error) {
	if chunkSize <= 0 || int64(chunkSize) > 1<<32-1 {
		return root, 0, nil, fmt.Errorf("hash file: invalid chunk size %d", chunkSize)
	}
	buf := make([]byte, chunkSize)
	for {
		n, rerr := io.ReadFull(r, buf)
		if n > 0 {
			chunk := buf[:n]
			h := ChunkHash(chunk)
			if each != nil {
				if err := each(len(chunks), h, chunk); err != nil {
					return root, size, chunks, err
				}
			}
			chunks = append(chunks, h)
			size += int64(n)
		}
		if errors.Is(rerr, io.EOF) || errors.Is(rerr, io.ErrUnexpectedEOF) {
			break
		}
		if rerr != nil {
			return root, size, chunks, fmt.Errorf("read file: %w", rerr)
		}
	}
	return FileRoot(size, chunkSize, chunks), size, chunks, nil
}

// VerifyChunkList checks a chunk list (as a peer sent it) against a file's
// root, size and chunk size: it must have NumChunks entries and hash to
// root. Once it passes, every chunk can be verified alone by its hash.
func VerifyChunkList(root Hash, size int64, chunkSize int, chunks []Hash) error {
	if size < 0 || chunkSize <= 0 || int64(chunkSize) > 1<<32-1 {
		return fmt.Errorf("%w: size %d, chunk size %d", ErrBadChunkList, size, chunkSize)
	}
	if want := NumChunks(size, chunkSize); len(chunks) != want {
		return fmt.Errorf("%w: %d chunks, a %d-byte file in %d-byte chunks has %d", ErrBadChunkList, len(chunks), size, chunkSize, want)
	}
	if FileRoot(size, chunkSize, chunks) != root {
		return fmt.Errorf("%w: it does not hash to the file's root", ErrBadChunkList)
	}
	return nil
}

// NewFileKey returns a fresh random key for one file's chunks (a file
// shared in a private conversation). crypto/rand never fails (since Go
// 1.24 it crashes the program rather than return an error).
func NewFileKey() Key {
	var k Key
	_, _ = rand.Read(k[:])
	return k
}

// ChunkOverhead is how many bytes SealChunk adds to a chunk.
const ChunkOverhead = chacha20poly1305.Overhead

// chunkAEAD returns XChaCha20-Poly1305 under key, the nonce of chunk index
// of the file root, and the associated data root || index (uint64,
// big-endian).
//
// The nonce is deterministic: root[:16] || index (uint64, big-endian).
// That is safe because a file key is made fresh (NewFileKey) for one file,
// and under one key each (root, index) names exactly one plaintext: chunk
// index of the file whose root it is (a different plaintext would be a
// SHA-256 collision). Sealing the same chunk again gives the same bytes
// and reveals nothing new, so a nonce is never used with two plaintexts.
// The root in the nonce also gives a key that was reused by mistake for
// another file different XChaCha20 subkeys (HChaCha20 derives the subkey
// from the nonce's first 16 bytes), so even that does not repeat a
// (subkey, nonce) pair.
func chunkAEAD(key Key, root Hash, index uint64) (aead cipher.AEAD, nonce, ad []byte) {
	aead, err := chacha20poly1305.NewX(key[:])
	if err != nil {
		panic(err) // only for a key of the wrong size, which Key cannot be
	}
	nonce = make([]byte, 0, chacha20poly1305.NonceSizeX)
	nonce = append(nonce, root[:16]...)
	nonce = binary.BigEndian.AppendUint64(nonce, index)
	ad = make([]byte, 0, len(root)+8)
	ad = append(ad, root[:]...)
	ad = binary.BigEndian.AppendUint64(ad, index)
	return aead, nonce, ad
}

// SealChunk encrypts and authenticates chunk index of the file root under
// the file's key (XChaCha20-Poly1305; see chunkAEAD for the nonce). The
// result is the ciphertext followed by the 16-byte tag: ChunkOverhead
// bytes longer than plain. index must not be negative. The result is
// appended to dst (nil for a new slice), which must not overlap plain.
func SealChunk(dst []byte, key Key, root Hash, index int, plain []byte) []byte {
	aead, nonce, ad := chunkAEAD(key, root, uint64(index))
	return aead.Seal(dst, nonce, plain, ad)
}

// OpenChunk decrypts what SealChunk made for the same key, root and index.
// Anything else (another key, file or index, a changed byte) is ErrOpen.
// The plaintext is appended to dst (nil for a new slice), which must not
// overlap sealed.
func OpenChunk(dst []byte, key Key, root Hash, index int, sealed []byte) ([]byte, error) {
	if index < 0 || len(sealed) < ChunkOverhead {
		return nil, ErrOpen
	}
	aead, nonce, ad := chunkAEAD(key, root, uint64(index))
	out, err := aead.Open(dst, nonce, sealed, ad)
	if err != nil {
		return nil, ErrOpen
	}
	return out, nil
}
