package chat

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"image"
	"image/draw"
	_ "image/gif" // thumbnails of GIF images
	"image/jpeg"
	_ "image/png" // thumbnails of PNG images
	"io"
	"mime"
	"net/http"
	"path/filepath"
	"strings"

	"github.com/parley-chat/parley/crypto"
)

// SharedFile is one file to share: a display name and its bytes.
type SharedFile struct {
	Name string
	Data io.Reader
}

const (
	thumbSide      = 160      // a thumbnail's longer side, pixels
	maxThumbSource = 64 << 20 // images larger than this get no thumbnail
)

// ShareFiles copies files into this node's store and posts one message
// carrying their manifests (and caption, which may be empty) into conv: a
// room this node joined, or a direct conversation. In a private room each
// file gets a key of its own, which travels inside the sealed message;
// its chunks travel sealed under it.
func (s *Service) ShareFiles(ctx context.Context, conv Conversation, files []SharedFile, caption string) (*Message, error) {
	fs := s.cfg.Files
	switch {
	case fs == nil:
		return nil, errors.New("file sharing is off on this node")
	case len(files) == 0:
		return nil, fmt.Errorf("%w: no files", ErrEmptyMessage)
	case len(files) > MaxFilesPerMessage:
		return nil, fmt.Errorf("%w: %d files, at most %d a message", ErrTooLarge, len(files), MaxFilesPerMessage)
	}
	var r *room
	peer, isDM := conv.Peer()
	if !isDM {
		name, ok := conv.Room()
		if !ok {
			return nil, fmt.Errorf("%w: %q", ErrNotFound, conv)
		}
		var err error
		if r, err = s.joined(name); err != nil {
			return nil, err
		}
		if r.priv != nil && r.priv.isRemoved() {
			return nil, fmt.Errorf("%w of #%s any more", ErrNotMember, r.name)
		}
	}
	mans := make([]FileManifest, 0, len(files))
	room := 0 // thumbnail bytes the message can still take
	if isDM {
		room = s.cfg.MaxFrame - 4<<10
	} else {
		room = maxEnvelope(r.priv != nil) - 4<<10
	}
	for _, f := range files {
		man, err := s.importFile(f, conv, r != nil && r.priv != nil)
		if err != nil {
			return nil, err
		}
		room -= len(man.Name) + len(man.MIME) + 128
		if len(man.Thumb) > room {
			man.Thumb = nil
		}
		room -= len(man.Thumb)
		mans = append(mans, man)
	}
	if isDM {
		return s.sendDM(ctx, peer, caption, mans)
	}
	return r.postMessage(ctx, &Message{Kind: KindText, Body: caption, Files: mans}, nil)
}

// importFile copies one file in and makes its manifest.
func (s *Service) importFile(f SharedFile, conv Conversation, private bool) (FileManifest, error) {
	fs := s.cfg.Files
	name := strings.TrimSpace(f.Name)
	if name == "" {
		name = "file"
	}
	if len(name) > MaxFileNameBytes {
		name = SafeFileName(name)
	}
	rec, err := fs.ImportFile(f.Data, name, conv, s.cfg.MaxFileSize)
	if err != nil {
		return FileManifest{}, err
	}
	man := rec.Manifest
	man.Name = name
	head, _ := fs.Chunk(man.Hash, 0)
	man.MIME = detectMIME(name, head)
	if strings.HasPrefix(man.MIME, "image/") && man.Size <= maxThumbSource {
		man.Width, man.Height, man.Thumb = thumbnail(fileReader(fs, rec))
	}
	if private {
		if man.Key, err = crypto.NewKey(rand.Reader); err != nil {
			return FileManifest{}, err
		}
	}
	rec.Manifest = man
	if err := fs.PutFileRecord(rec); err != nil {
		return FileManifest{}, err
	}
	return man, nil
}

// detectMIME is a file's media type: by its bytes, or by its extension
// when the bytes say only "some text" or "some bytes".
func detectMIME(name string, head []byte) string {
	sniffed := http.DetectContentType(head)
	if sniffed != "application/octet-stream" && !strings.HasPrefix(sniffed, "text/plain") {
		return sniffed
	}
	if t := mime.TypeByExtension(strings.ToLower(filepath.Ext(name))); t != "" {
		return t
	}
	return sniffed
}

// thumbnail decodes an image and returns its size and a small JPEG of it
// (nil if it does not decode).
func thumbnail(r io.Reader) (w, h int, thumb []byte) {
	img, _, err := image.Decode(r)
	if err != nil {
		return 0, 0, nil
	}
	b := img.Bounds()
	w, h = b.Dx(), b.Dy()
	if w == 0 || h == 0 {
		return w, h, nil
	}
	tw, th := thumbSide, thumbSide
	if w > h {
		th = max(1, h*thumbSide/w)
	} else {
		tw = max(1, w*thumbSide/h)
	}
	if w <= tw && h <= th {
		tw, th = w, h
	}
	dst := image.NewRGBA(image.Rect(0, 0, tw, th))
	// Box-sample: each thumbnail pixel takes the source pixel at its centre.
	for y := range th {
		sy := b.Min.Y + (2*y+1)*h/(2*th)
		for x := range tw {
			sx := b.Min.X + (2*x+1)*w/(2*tw)
			dst.Set(x, y, img.At(sx, sy))
		}
	}
	var out bytes.Buffer
	var opaque draw.Image = dst
	for q := 80; q >= 30; q -= 25 {
		out.Reset()
		if err := jpeg.Encode(&out, opaque, &jpeg.Options{Quality: q}); err != nil {
			return w, h, nil
		}
		if out.Len() <= MaxThumbBytes {
			return w, h, out.Bytes()
		}
	}
	return w, h, nil
}

// fileReader reads a held file's chunks in order.
func fileReader(fs FileStore, rec FileRecord) io.Reader {
	n := crypto.NumChunks(rec.Manifest.Size, rec.Manifest.ChunkSize)
	i := 0
	var cur []byte
	return readerFunc(func(p []byte) (int, error) {
		for len(cur) == 0 {
			if i == n {
				return 0, io.EOF
			}
			c, err := fs.Chunk(rec.Manifest.Hash, i)
			if err != nil {
				return 0, err
			}
			cur, i = c, i+1
		}
		k := copy(p, cur)
		cur = cur[k:]
		return k, nil
	})
}

type readerFunc func(p []byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }
