package chat

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// DefaultMaxFrame is the default cap on one frame's payload.
const DefaultMaxFrame = 64 << 10

// frameReader reads length-delimited frames: an unsigned varint length, then
// that many bytes. A length over max is an error before anything is
// allocated.
type frameReader struct {
	r   *bufio.Reader
	max int
	buf []byte
}

func newFrameReader(r io.Reader, max int) *frameReader {
	return &frameReader{r: bufio.NewReaderSize(r, 32<<10), max: max}
}

// Next returns the next frame. The slice is valid until the next call.
func (f *frameReader) Next() ([]byte, error) {
	n, err := binary.ReadUvarint(f.r)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, io.EOF
		}
		return nil, fmt.Errorf("read frame length: %w", err)
	}
	if n > uint64(f.max) {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrFrameTooLarge, n, f.max)
	}
	if cap(f.buf) < int(n) {
		f.buf = make([]byte, n)
	}
	f.buf = f.buf[:n]
	if _, err := io.ReadFull(f.r, f.buf); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("read frame body: %w", err)
	}
	return f.buf, nil
}

// Buffered reports how many bytes can be read without touching the stream.
func (f *frameReader) Buffered() int { return f.r.Buffered() }

// appendFrame appends b as one frame to dst.
func appendFrame(dst, b []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b...)
}

// writeFrame writes b as one frame.
func writeFrame(w io.Writer, b []byte) error {
	if len(b) > 4<<10 {
		// Large (a file chunk): the length, then the bytes as they are,
		// not copied into a new frame first.
		var n [binary.MaxVarintLen64]byte
		if _, err := w.Write(binary.AppendUvarint(n[:0], uint64(len(b)))); err != nil {
			return err
		}
		_, err := w.Write(b)
		return err
	}
	_, err := w.Write(appendFrame(make([]byte, 0, len(b)+binary.MaxVarintLen64), b))
	return err
}
