package crypto

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
)

type fileVector struct {
	name      string
	input     []byte
	chunkSize int
	chunks    []Hash
	root      Hash
}

// readFileVectors parses testdata/filehash_vectors.txt.
func readFileVectors(t *testing.T) []fileVector {
	t.Helper()
	f, err := os.Open("testdata/filehash_vectors.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []fileVector
	var cur *fileVector
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		if strings.HasPrefix(text, "#") {
			continue
		}
		if strings.TrimSpace(text) == "" {
			cur = nil
			continue
		}
		field, value, _ := strings.Cut(text, " ")
		value = strings.TrimSpace(value)
		if cur == nil {
			out = append(out, fileVector{})
			cur = &out[len(out)-1]
		}
		switch field {
		case "name":
			cur.name = value
		case "input":
			s, err := strconv.Unquote(value)
			if err != nil {
				t.Fatalf("line %d: input: %v", line, err)
			}
			cur.input = []byte(s)
		case "chunksize":
			if cur.chunkSize, err = strconv.Atoi(value); err != nil {
				t.Fatalf("line %d: %v", line, err)
			}
		case "chunk", "root":
			h, err := ParseHash(value)
			if err != nil {
				t.Fatalf("line %d: %v", line, err)
			}
			if field == "root" {
				cur.root = h
			} else {
				cur.chunks = append(cur.chunks, h)
			}
		default:
			t.Fatalf("line %d: unknown field %q", line, field)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatal("no vectors")
	}
	return out
}

func TestFileRootVectors(t *testing.T) {
	for _, v := range readFileVectors(t) {
		t.Run(v.name, func(t *testing.T) {
			if got := FileRoot(int64(len(v.input)), v.chunkSize, v.chunks); got != v.root {
				t.Errorf("FileRoot: got %s, want %s", got, v.root)
			}
			var seen []Hash
			root, size, chunks, err := HashFile(bytes.NewReader(v.input), v.chunkSize, func(i int, h Hash, chunk []byte) error {
				if i != len(seen) {
					t.Errorf("chunk index: got %d, want %d", i, len(seen))
				}
				if ChunkHash(chunk) != h {
					t.Errorf("chunk %d: the hash passed is not the chunk's", i)
				}
				seen = append(seen, h)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if root != v.root || size != int64(len(v.input)) {
				t.Errorf("HashFile: got root %s size %d, want %s %d", root, size, v.root, len(v.input))
			}
			if len(chunks) != len(v.chunks) || len(seen) != len(v.chunks) {
				t.Fatalf("HashFile: got %d chunks (%d seen), want %d", len(chunks), len(seen), len(v.chunks))
			}
			for i := range chunks {
				if chunks[i] != v.chunks[i] {
					t.Errorf("chunk %d: got %s, want %s", i, chunks[i], v.chunks[i])
				}
			}
			if err := VerifyChunkList(v.root, int64(len(v.input)), v.chunkSize, v.chunks); err != nil {
				t.Errorf("VerifyChunkList: %v", err)
			}
		})
	}
}

func TestNumChunksAndChunkLen(t *testing.T) {
	for _, tc := range []struct {
		size      int64
		chunkSize int
		n         int
		last      int
	}{
		{0, 4, 0, 0},
		{1, 4, 1, 1},
		{4, 4, 1, 4},
		{5, 4, 2, 1},
		{8, 4, 2, 4},
		{FileChunkSize, FileChunkSize, 1, FileChunkSize},
		{FileChunkSize + 1, FileChunkSize, 2, 1},
		{4 << 30, FileChunkSize, 4096, FileChunkSize},
		{-1, 4, 0, 0},
		{10, 0, 0, 0},
	} {
		n := NumChunks(tc.size, tc.chunkSize)
		if n != tc.n {
			t.Errorf("NumChunks(%d, %d): got %d, want %d", tc.size, tc.chunkSize, n, tc.n)
			continue
		}
		var total int64
		for i := range n {
			total += int64(ChunkLen(tc.size, tc.chunkSize, i))
		}
		if n > 0 {
			if got := ChunkLen(tc.size, tc.chunkSize, n-1); got != tc.last {
				t.Errorf("ChunkLen(%d, %d, last): got %d, want %d", tc.size, tc.chunkSize, got, tc.last)
			}
			if total != tc.size {
				t.Errorf("chunk lengths of %d bytes in %d: sum %d", tc.size, tc.chunkSize, total)
			}
		}
		if got := ChunkLen(tc.size, tc.chunkSize, n); got != 0 {
			t.Errorf("ChunkLen past the end: got %d, want 0", got)
		}
		if got := ChunkLen(tc.size, tc.chunkSize, -1); got != 0 {
			t.Errorf("ChunkLen(-1): got %d, want 0", got)
		}
	}
}

func TestHashFileStreams(t *testing.T) {
	data := make([]byte, 10*1000+7)
	_, _ = rand.Read(data)
	want, _, wantChunks, err := HashFile(bytes.NewReader(data), 1000, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(wantChunks) != 11 {
		t.Fatalf("chunks: got %d, want 11", len(wantChunks))
	}
	// A reader that hands out one byte at a time gives the same root.
	got, size, _, err := HashFile(iotest.OneByteReader(bytes.NewReader(data)), 1000, nil)
	if err != nil || got != want || size != int64(len(data)) {
		t.Fatalf("one byte at a time: got %s %d %v, want %s %d", got, size, err, want, len(data))
	}
	// A reader failing midway fails the hash.
	_, _, _, err = HashFile(iotest.TimeoutReader(bytes.NewReader(data)), 1000, nil)
	if !errors.Is(err, iotest.ErrTimeout) {
		t.Errorf("failing reader: got %v, want ErrTimeout", err)
	}
	// each stops the read with its own error.
	stop := errors.New("stop")
	_, _, chunks, err := HashFile(bytes.NewReader(data), 1000, func(i int, _ Hash, _ []byte) error {
		if i == 2 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || len(chunks) != 2 {
		t.Errorf("stopped at chunk 2: got %d chunks, %v", len(chunks), err)
	}
	// A chunk size that cannot be.
	if _, _, _, err := HashFile(bytes.NewReader(data), 0, nil); err == nil {
		t.Error("chunk size 0: got no error")
	}
}

func TestHashFileHoldsOneChunk(t *testing.T) {
	// 64 chunks of 64 KiB pass through one buffer: allocations stay far
	// below the file's size.
	const chunk, n = 64 << 10, 64
	r := io.LimitReader(zeroReader{}, chunk*n)
	allocs := testing.AllocsPerRun(1, func() {
		if _, _, _, err := HashFile(r, chunk, nil); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 20 {
		t.Errorf("HashFile made %v allocations for %d chunks", allocs, n)
	}
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func TestVerifyChunkList(t *testing.T) {
	data := bytes.Repeat([]byte("abcdefghij"), 10) // 100 bytes, 10 chunks of 10
	root, size, chunks, err := HashFile(bytes.NewReader(data), 10, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := VerifyChunkList(root, size, 10, chunks); err != nil {
		t.Fatalf("the true list: %v", err)
	}
	swapped := append([]Hash(nil), chunks...)
	swapped[0][0] ^= 1
	for name, tc := range map[string]struct {
		size      int64
		chunkSize int
		chunks    []Hash
	}{
		"a changed hash":   {size, 10, swapped},
		"one short":        {size, 10, chunks[:9]},
		"one more":         {size, 10, append(append([]Hash(nil), chunks...), chunks[0])},
		"another size":     {size - 1, 10, chunks},
		"another chunking": {size, 11, chunks},
		"no chunks":        {size, 10, nil},
		"negative size":    {-1, 10, nil},
		"zero chunk size":  {size, 0, chunks},
	} {
		if err := VerifyChunkList(root, tc.size, tc.chunkSize, tc.chunks); !errors.Is(err, ErrBadChunkList) {
			t.Errorf("%s: got %v, want ErrBadChunkList", name, err)
		}
	}
}

func TestParseHash(t *testing.T) {
	h := ChunkHash([]byte("x"))
	got, err := ParseHash(h.String())
	if err != nil || got != h {
		t.Fatalf("round trip: got %s, %v", got, err)
	}
	text, _ := h.MarshalText()
	var back Hash
	if err := back.UnmarshalText(text); err != nil || back != h {
		t.Fatalf("text round trip: got %s, %v", back, err)
	}
	for _, s := range []string{"", "00", strings.Repeat("g", 64), h.String() + "00"} {
		if _, err := ParseHash(s); !errors.Is(err, ErrBadHash) {
			t.Errorf("ParseHash(%q): got %v, want ErrBadHash", s, err)
		}
	}
	if !(Hash{}).IsZero() || h.IsZero() {
		t.Error("IsZero is wrong")
	}
}

func TestSealChunk(t *testing.T) {
	key := NewFileKey()
	if key == (Key{}) {
		t.Fatal("NewFileKey returned the zero key")
	}
	if NewFileKey() == key {
		t.Fatal("two file keys are equal")
	}
	root := ChunkHash([]byte("root"))
	plain := []byte("a chunk of a private file")
	box := SealChunk(nil, key, root, 3, plain)
	if len(box) != len(plain)+ChunkOverhead {
		t.Fatalf("sealed length: got %d, want %d", len(box), len(plain)+ChunkOverhead)
	}
	if bytes.Contains(box, plain[:8]) {
		t.Fatal("the sealed chunk shows the plaintext")
	}
	if again := SealChunk(nil, key, root, 3, plain); !bytes.Equal(again, box) {
		t.Error("sealing the same chunk twice gave different bytes: the nonce is not deterministic")
	}
	if other := SealChunk(nil, key, root, 4, plain); bytes.Equal(other, box) {
		t.Error("chunks 3 and 4 sealed alike")
	}
	// Both append to dst, as cipher.AEAD does: a caller reuses its buffer.
	dst := []byte("head:")
	if appended := SealChunk(dst, key, root, 3, plain); !bytes.Equal(appended[:5], dst) || !bytes.Equal(appended[5:], box) {
		t.Error("SealChunk did not append the sealed chunk to dst")
	}
	if opened, err := OpenChunk(dst, key, root, 3, box); err != nil || !bytes.Equal(opened[:5], dst) || !bytes.Equal(opened[5:], plain) {
		t.Errorf("OpenChunk did not append the plaintext to dst: %q, %v", opened, err)
	}
	got, err := OpenChunk(nil, key, root, 3, box)
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("OpenChunk: got %q, %v", got, err)
	}
	empty := SealChunk(nil, key, root, 0, nil)
	if got, err := OpenChunk(nil, key, root, 0, empty); err != nil || len(got) != 0 {
		t.Errorf("empty chunk: got %q, %v", got, err)
	}
	otherRoot := root
	otherRoot[31] ^= 1
	flipped := append([]byte(nil), box...)
	flipped[0] ^= 1
	tag := append([]byte(nil), box...)
	tag[len(tag)-1] ^= 1
	for name, tc := range map[string]struct {
		key    Key
		root   Hash
		index  int
		sealed []byte
	}{
		"wrong key":          {NewFileKey(), root, 3, box},
		"wrong root":         {key, otherRoot, 3, box},
		"wrong index":        {key, root, 2, box},
		"negative":           {key, root, -1, box},
		"flipped byte":       {key, root, 3, flipped},
		"flipped tag":        {key, root, 3, tag},
		"truncated":          {key, root, 3, box[:len(box)-1]},
		"shorter than a tag": {key, root, 3, box[:ChunkOverhead-1]},
		"nothing":            {key, root, 3, nil},
	} {
		if _, err := OpenChunk(nil, tc.key, tc.root, tc.index, tc.sealed); !errors.Is(err, ErrOpen) {
			t.Errorf("%s: got %v, want ErrOpen", name, err)
		}
	}
}

func FuzzOpenChunk(f *testing.F) {
	var key Key
	copy(key[:], "a fixed key for the fuzz corpus!")
	root := ChunkHash([]byte("fuzz root"))
	f.Add(0, SealChunk(nil, key, root, 0, []byte("first chunk")))
	f.Add(7, SealChunk(nil, key, root, 7, bytes.Repeat([]byte{0}, 100)))
	f.Add(1, []byte{})
	f.Add(-1, make([]byte, ChunkOverhead))
	f.Fuzz(func(t *testing.T, index int, sealed []byte) {
		plain, err := OpenChunk(nil, key, root, index, sealed)
		if err != nil {
			if !errors.Is(err, ErrOpen) {
				t.Fatalf("got %v, want ErrOpen", err)
			}
			return
		}
		if index < 0 {
			t.Fatal("opened a chunk with a negative index")
		}
		// What opens was sealed under this key, root and index.
		if again := SealChunk(nil, key, root, index, plain); !bytes.Equal(again, sealed) {
			t.Fatal("opened bytes that sealing the plaintext does not give")
		}
	})
}

func BenchmarkHashFile(b *testing.B) {
	const size = 64 << 20
	b.SetBytes(size)
	for b.Loop() {
		if _, _, _, err := HashFile(io.LimitReader(zeroReader{}, size), FileChunkSize, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSealChunk(b *testing.B) {
	key, root := NewFileKey(), ChunkHash(nil)
	chunk := make([]byte, FileChunkSize)
	b.SetBytes(FileChunkSize)
	for b.Loop() {
		SealChunk(nil, key, root, 1, chunk)
	}
}
