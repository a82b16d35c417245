package chat

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"io"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/parley-chat/parley/crypto"
	"github.com/parley-chat/parley/internal/wire"
)

// byteStream is a Stream whose reads come from a buffer and whose writes
// are dropped: what a hostile source sends, and nothing else.
type byteStream struct{ r io.Reader }

func (b *byteStream) Read(p []byte) (int, error)       { return b.r.Read(p) }
func (b *byteStream) Write(p []byte) (int, error)      { return len(p), nil }
func (b *byteStream) Close() error                     { return nil }
func (b *byteStream) Reset() error                     { return nil }
func (b *byteStream) SetReadDeadline(time.Time) error  { return nil }
func (b *byteStream) SetWriteDeadline(time.Time) error { return nil }

func responseFrames(rs ...*wire.FileResponse) []byte {
	var out []byte
	for _, r := range rs {
		b, _ := proto.Marshal(r)
		out = appendFrame(out, b)
	}
	return out
}

// FuzzFileResponses feeds a source's answers to a downloader: HAVE, LIST,
// then a batch of two chunks. Whatever the bytes, it must not panic, and a
// chunk it accepts must be one the list names.
func FuzzFileResponses(f *testing.F) {
	h0, h1 := crypto.ChunkHash([]byte("a")), crypto.ChunkHash([]byte("b"))
	f.Add(responseFrames(
		&wire.FileResponse{Have: []byte{3}},
		&wire.FileResponse{ChunkHashes: [][]byte{h0[:], h1[:]}},
		&wire.FileResponse{Index: 0, Data: []byte("a")},
		&wire.FileResponse{Index: 1, Data: []byte("b")},
	))
	f.Add(responseFrames(&wire.FileResponse{Error: "not allowed"}))
	f.Add(responseFrames(&wire.FileResponse{Have: []byte{1}}, &wire.FileResponse{ChunkHashes: [][]byte{{1, 2}}}))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, data []byte) {
		st := &byteStream{r: bytes.NewReader(data)}
		c := &fileClient{st: st, fr: newFrameReader(st, maxFileResponseFrame), bw: bufio.NewWriter(io.Discard)}
		if _, err := c.have(); err != nil {
			return
		}
		list, err := c.list()
		if err != nil {
			return
		}
		for _, h := range list {
			if len(h) != sha256.Size {
				t.Fatal("a chunk hash of the wrong size got through")
			}
		}
		_ = c.readChunks([]int{0, 1}, func(i int, data []byte) error {
			if i != 0 && i != 1 {
				t.Fatalf("chunk %d handed over for a batch of 0 and 1", i)
			}
			return nil
		})
	})
}

// FuzzDecodeChunkResponse: the hand-written decoder of a chunk's answer
// reads what proto.Unmarshal reads, and refuses what it refuses.
func FuzzDecodeChunkResponse(f *testing.F) {
	f.Add(responseFrames(&wire.FileResponse{Index: 3, Data: []byte("abc")})[1:])
	f.Add(mustMarshal(&wire.FileResponse{Index: 7, Error: "missing"}))
	f.Add(mustMarshal(&wire.FileResponse{Have: []byte{1}, ChunkHashes: [][]byte{{1}}, Index: 1, Data: []byte{0}}))
	f.Add([]byte{0x2a, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		var want wire.FileResponse
		werr := proto.Unmarshal(b, &want)
		index, data, fail, err := decodeChunkResponse(b)
		if (werr == nil) != (err == nil) {
			t.Fatalf("proto.Unmarshal: %v; decodeChunkResponse: %v", werr, err)
		}
		if err == nil && (index != want.Index || !bytes.Equal(data, want.Data) || fail != want.Error) {
			t.Fatalf("decoded (%d, %x, %q), proto.Unmarshal (%d, %x, %q)", index, data, fail, want.Index, want.Data, want.Error)
		}
	})
}

func mustMarshal(m proto.Message) []byte {
	b, err := proto.Marshal(m)
	if err != nil {
		panic(err)
	}
	return b
}
