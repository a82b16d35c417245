package chat

import (
	"errors"
	"fmt"
	"mime"
	"unicode/utf8"

	"github.com/parley-chat/parley/crypto"
	"github.com/parley-chat/parley/internal/wire"
)

// MaxFilesPerMessage bounds the files one message carries.
const MaxFilesPerMessage = 16

// maxManifestSize is the largest size a manifest may claim at all (what a
// node fetches is bounded by its own max_file_size on top).
const maxManifestSize = 1 << 50

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

// checkManifest checks what every node judges alike about a manifest
// from a peer; the size limit, a node's own setting, is checked when it
// is fetched.
func checkManifest(w *wire.FileManifest) error {
	switch {
	case len(w.Hash) != len(FileHash{}):
		return fmt.Errorf("a %d-byte hash", len(w.Hash))
	case len(w.Key) != 0 && len(w.Key) != crypto.KeySize:
		return fmt.Errorf("a %d-byte key", len(w.Key))
	case w.Size > maxManifestSize:
		return fmt.Errorf("size %d", w.Size)
	case !utf8.ValidString(w.Name):
		return errors.New("a name that is not UTF-8")
	}
	if w.Mime != "" {
		if _, _, err := mime.ParseMediaType(w.Mime); err != nil {
			return fmt.Errorf("media type: %v", err)
		}
	}
	m := FileManifest{Name: w.Name, Size: int64(w.Size), MIME: w.Mime, ChunkSize: int(w.ChunkSize), Width: int(w.Width), Height: int(w.Height), Thumb: w.Thumb}
	copy(m.Hash[:], w.Hash)
	return m.Validate(maxManifestSize)
}
