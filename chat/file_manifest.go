package chat

import (
	"fmt"
	"mime"
	"unicode/utf8"

	"github.com/parley-chat/parley/crypto"
	"github.com/parley-chat/parley/internal/wire"
)

// Limits on the files a message carries.
const (
	MaxFilesPerMessage = 16
	MaxFileNameBytes   = 255
	MaxThumbBytes      = 16 << 10
	// MinChunkSize and MaxChunkSize bound a manifest's chunk size: small
	// chunks make long chunk lists, large ones large frames.
	MinChunkSize = 16 << 10
	MaxChunkSize = 4 << 20
	maxMIMEBytes = 127
)

// fileManifestsToWire is ms as an envelope carries them.
func fileManifestsToWire(ms []FileManifest) []*wire.FileManifest {
	if len(ms) == 0 {
		return nil
	}
	out := make([]*wire.FileManifest, len(ms))
	for i, f := range ms {
		w := &wire.FileManifest{
			Name:      f.Name,
			Size:      uint64(f.Size),
			Mime:      f.MIME,
			Hash:      f.Hash[:],
			ChunkSize: uint32(f.ChunkSize),
			Width:     uint32(f.Width),
			Height:    uint32(f.Height),
			Thumb:     f.Thumb,
		}
		if f.Key != (crypto.Key{}) {
			w.Key = f.Key[:]
		}
		out[i] = w
	}
	return out
}

// fileManifestsFromWire reads an envelope's manifests; strict says they
// come from a peer and are checked (what fails is ErrBadEnvelope).
func fileManifestsFromWire(ws []*wire.FileManifest, strict bool) ([]FileManifest, error) {
	if len(ws) == 0 {
		return nil, nil
	}
	if strict && len(ws) > MaxFilesPerMessage {
		return nil, fmt.Errorf("%w: %d files, at most %d", ErrBadEnvelope, len(ws), MaxFilesPerMessage)
	}
	out := make([]FileManifest, len(ws))
	for i, w := range ws {
		if strict {
			if err := checkManifest(w); err != nil {
				return nil, fmt.Errorf("%w: file %d: %v", ErrBadEnvelope, i, err)
			}
		}
		f := FileManifest{
			Name:      w.Name,
			Size:      int64(w.Size),
			MIME:      w.Mime,
			ChunkSize: int(w.ChunkSize),
			Width:     int(w.Width),
			Height:    int(w.Height),
			Thumb:     w.Thumb,
		}
		copy(f.Hash[:], w.Hash)
		copy(f.Key[:], w.Key)
		out[i] = f
	}
	return out, nil
}

// checkManifest checks what every node judges alike about a manifest;
// the size limit, which is a node's own setting, is checked on fetching.
func checkManifest(w *wire.FileManifest) error {
	switch {
	case w.Name == "" || len(w.Name) > MaxFileNameBytes || !utf8.ValidString(w.Name):
		return fmt.Errorf("a name of %d bytes (want 1 to %d bytes of UTF-8)", len(w.Name), MaxFileNameBytes)
	case len(w.Hash) != 32:
		return fmt.Errorf("a %d-byte hash", len(w.Hash))
	case w.ChunkSize < MinChunkSize || w.ChunkSize > MaxChunkSize:
		return fmt.Errorf("chunk size %d (want %d to %d)", w.ChunkSize, MinChunkSize, MaxChunkSize)
	case w.Size > 1<<50:
		return fmt.Errorf("size %d", w.Size)
	case len(w.Thumb) > MaxThumbBytes:
		return fmt.Errorf("a %d-byte thumbnail (at most %d)", len(w.Thumb), MaxThumbBytes)
	case len(w.Key) != 0 && len(w.Key) != crypto.KeySize:
		return fmt.Errorf("a %d-byte key", len(w.Key))
	case w.Width > 1<<16 || w.Height > 1<<16:
		return fmt.Errorf("dimensions %dx%d", w.Width, w.Height)
	case len(w.Mime) > maxMIMEBytes:
		return fmt.Errorf("a %d-byte media type", len(w.Mime))
	}
	if w.Mime != "" {
		if _, _, err := mime.ParseMediaType(w.Mime); err != nil {
			return fmt.Errorf("media type: %v", err)
		}
	}
	return nil
}
