package chat

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"
	"testing/iotest"
)

func TestFrameRoundTrip(t *testing.T) {
	const max = 1 << 16
	sizes := []int{0, 1, 127, 128, 300, 16383, 16384, 40000, max}
	var stream bytes.Buffer
	var want [][]byte
	for i, n := range sizes {
		payload := bytes.Repeat([]byte{byte(i + 1)}, n)
		want = append(want, payload)
		if i%2 == 0 {
			if err := writeFrame(&stream, payload); err != nil {
				t.Fatal(err)
			}
		} else {
			stream.Write(appendFrame(nil, payload))
		}
	}
	for _, tt := range []struct {
		name string
		r    func([]byte) io.Reader
	}{
		{"whole", func(b []byte) io.Reader { return bytes.NewReader(b) }},
		{"one byte at a time", func(b []byte) io.Reader { return iotest.OneByteReader(bytes.NewReader(b)) }},
		{"data with EOF", func(b []byte) io.Reader { return iotest.DataErrReader(bytes.NewReader(b)) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fr := newFrameReader(tt.r(stream.Bytes()), max)
			for i, w := range want {
				got, err := fr.Next()
				if err != nil {
					t.Fatalf("frame %d: %v", i, err)
				}
				if !bytes.Equal(got, w) {
					t.Fatalf("frame %d: got %d bytes, want %d", i, len(got), len(w))
				}
			}
			if _, err := fr.Next(); !errors.Is(err, io.EOF) {
				t.Errorf("after the last frame: got %v, want io.EOF", err)
			}
		})
	}
}

func TestFrameReaderErrors(t *testing.T) {
	const max = 1024
	tests := []struct {
		name    string
		input   []byte
		frames  int   // good frames before the error
		wantErr error // errors.Is target
	}{
		{"empty stream", nil, 0, io.EOF},
		{"clean end after a frame", appendFrame(nil, []byte("hi")), 1, io.EOF},
		{"length over the cap", binary.AppendUvarint(nil, max+1), 0, ErrFrameTooLarge},
		{"huge length", binary.AppendUvarint(nil, 1<<62), 0, ErrFrameTooLarge},
		{"largest length", binary.AppendUvarint(nil, ^uint64(0)), 0, ErrFrameTooLarge},
		{"length at the cap, body short", append(binary.AppendUvarint(nil, max), make([]byte, max-1)...), 0, io.ErrUnexpectedEOF},
		{"truncated body", append(appendFrame(nil, []byte("ok")), 5, 'a', 'b'), 1, io.ErrUnexpectedEOF},
		{"length, no body", []byte{3}, 0, io.ErrUnexpectedEOF},
		{"truncated length", []byte{0x80, 0x80}, 0, io.ErrUnexpectedEOF},
		{"truncated length after a frame", append(appendFrame(nil, nil), 0x81), 1, io.ErrUnexpectedEOF},
		{"varint overflow", bytes.Repeat([]byte{0xff}, 11), 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fr := newFrameReader(bytes.NewReader(tt.input), max)
			for i := range tt.frames {
				if _, err := fr.Next(); err != nil {
					t.Fatalf("frame %d: %v", i, err)
				}
			}
			_, err := fr.Next()
			if err == nil {
				t.Fatal("got no error, want one")
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("got %v, want %v", err, tt.wantErr)
			}
			if !errors.Is(tt.wantErr, io.EOF) && errors.Is(err, io.EOF) {
				t.Errorf("got a clean io.EOF, want an error: the stream ended inside a frame or is corrupt")
			}
		})
	}
}

// TestFrameTooLargeAllocatesNothing checks that a length prefix over the
// cap is refused before a buffer of that size is made.
func TestFrameTooLargeAllocatesNothing(t *testing.T) {
	input := binary.AppendUvarint(nil, 1<<40)
	fr := newFrameReader(bytes.NewReader(input), 1024)
	if _, err := fr.Next(); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("got %v, want ErrFrameTooLarge", err)
	}
	if cap(fr.buf) != 0 {
		t.Errorf("frame buffer: got capacity %d, want nothing allocated", cap(fr.buf))
	}

	// Measured from outside too: one refused frame allocates a few small
	// objects (the error), never the megabytes the prefix asks for.
	prefix := binary.AppendUvarint(nil, 1<<20+1)
	src := bytes.NewReader(prefix)
	big := newFrameReader(src, 1<<20)
	allocs := testing.AllocsPerRun(100, func() {
		src.Reset(prefix)
		big.r.Reset(src)
		_, _ = big.Next()
	})
	if allocs > 10 {
		t.Errorf("refusing a frame: got %.0f allocations, want a handful", allocs)
	}
}

// TestFrameBufferReused checks that the buffer grows to the largest frame
// and is reused, so the reader does not allocate per frame.
func TestFrameBufferReused(t *testing.T) {
	var stream []byte
	for _, n := range []int{100, 10, 200, 50} {
		stream = appendFrame(stream, make([]byte, n))
	}
	fr := newFrameReader(bytes.NewReader(stream), 1024)
	for range 4 {
		if _, err := fr.Next(); err != nil {
			t.Fatal(err)
		}
	}
	if cap(fr.buf) != 200 {
		t.Errorf("buffer capacity: got %d, want 200 (the largest frame)", cap(fr.buf))
	}
}

func FuzzFrameReader(f *testing.F) {
	f.Add([]byte{})
	f.Add(appendFrame(nil, []byte("hello")))
	f.Add(appendFrame(appendFrame(nil, nil), []byte{0xff, 0x00}))
	f.Add(binary.AppendUvarint(nil, 1<<40))
	f.Add(bytes.Repeat([]byte{0xff}, 11))
	f.Add([]byte{0x80, 0x00, 0x01, 'x'}) // a non-minimal length
	const max = 256
	f.Fuzz(func(t *testing.T, input []byte) {
		fr := newFrameReader(bytes.NewReader(input), max)
		consumed := 0
		for {
			b, err := fr.Next()
			if err != nil {
				if errors.Is(err, io.EOF) && consumed > len(input) {
					t.Fatalf("clean end after %d bytes of frames from %d bytes of input", consumed, len(input))
				}
				return
			}
			if len(b) > max {
				t.Fatalf("frame of %d bytes, cap %d", len(b), max)
			}
			consumed += len(appendFrame(nil, b))
			if consumed > len(input) {
				t.Fatalf("read %d bytes of frames from %d bytes of input", consumed, len(input))
			}
		}
	})
}
