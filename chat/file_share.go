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
	"iter"
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
	maxThumbBytes  = 16 << 10 // what a thumbnail may take of a message
	maxThumbSource = 64 << 20 // images larger than this get no thumbnail
)

// ShareFiles copies files (read one after another, so an upload can be
// streamed) into this node's store and posts one message
// carrying their manifests (and caption, which may be empty) into conv: a
// room this node joined, or a direct conversation. In a private room each
// file gets a key of its own, which travels inside the sealed message;
// its chunks travel sealed under it.
func (s *Service) ShareFiles(ctx context.Context, conv Conversation, files iter.Seq2[SharedFile, error], caption string) (*Message, error) {
	if s.cfg.Files == nil {
		return nil, errors.New("file sharing is off on this node")
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
	var mans []FileManifest
	room := 0 // thumbnail bytes the message can still take
	if isDM {
		room = s.cfg.MaxFrame - 4<<10
	} else {
		room = maxEnvelope(r.priv != nil) - 4<<10
	}
	for f, err := range files {
		if err != nil {
			return nil, err
		}
		if len(mans) == MaxFilesPerMessage {
			return nil, fmt.Errorf("%w: more than %d files in a message", ErrTooLarge, MaxFilesPerMessage)
		}
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
	if len(mans) == 0 {
		return nil, fmt.Errorf("%w: no files", ErrEmptyMessage)
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
	if len(name) > MaxFileNameLen {
		name = SafeFileName(name)
	}
	rec, err := fs.ImportFile(f.Data, name, conv, s.cfg.MaxFileSize)
	if err != nil {
		return FileManifest{}, err
	}
	man := rec.Manifest
	man.Name = name
	head, _ := fs.Chunk(man.Hash, 0, nil)
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
	if s.cfg.DownloadDir != "" {
		// The sharer keeps a copy of its own among the conversation's
		// files, as every member that fetches it does.
		if _, err := fs.SaveFile(man.Hash, s.cfg.DownloadDir, true); err != nil {
			return FileManifest{}, err
		}
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
		if out.Len() <= maxThumbBytes {
			return w, h, out.Bytes()
		}
	}
	return w, h, nil
}

// fileReader reads a held file's chunks in order.
func fileReader(fs FileStore, rec FileRecord) io.Reader {
	n := crypto.NumChunks(rec.Manifest.Size, rec.Manifest.ChunkSize)
	i := 0
	var buf, cur []byte
	return readerFunc(func(p []byte) (int, error) {
		for len(cur) == 0 {
			if i == n {
				return 0, io.EOF
			}
			c, err := fs.Chunk(rec.Manifest.Hash, i, buf) // cur is used up
			if err != nil {
				return 0, err
			}
			buf, cur, i = c, c, i+1
		}
		k := copy(p, cur)
		cur = cur[k:]
		return k, nil
	})
}

// OpenFile opens a complete file held here for reading.
func (s *Service) OpenFile(h FileHash) (io.ReadSeeker, FileRecord, error) {
	fs := s.cfg.Files
	if fs == nil {
		return nil, FileRecord{}, ErrNotFound
	}
	rec, err := fs.FileRecord(h)
	if err != nil {
		return nil, rec, err
	}
	if rec.State != FileComplete {
		return nil, rec, fmt.Errorf("%w: %s is not here yet (%s)", ErrNotFound, rec.Manifest.Name, rec.State)
	}
	_ = fs.TouchFile(h)
	return &chunkReader{fs: fs, man: rec.Manifest}, rec, nil
}

// chunkReader reads a complete file from its chunks, seeking as asked.
type chunkReader struct {
	fs    FileStore
	man   FileManifest
	off   int64
	chunk []byte // the chunk at index at
	at    int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if c.off >= c.man.Size {
		return 0, io.EOF
	}
	i := int(c.off / int64(c.man.ChunkSize))
	if c.chunk == nil || c.at != i {
		b, err := c.fs.Chunk(c.man.Hash, i, c.chunk) // the buffer is reused
		if err != nil {
			c.chunk = nil // it may hold part of chunk i now
			return 0, err
		}
		c.chunk, c.at = b, i
	}
	n := copy(p, c.chunk[c.off-int64(i)*int64(c.man.ChunkSize):])
	c.off += int64(n)
	return n, nil
}

func (c *chunkReader) Seek(off int64, whence int) (int64, error) {
	switch whence {
	case io.SeekCurrent:
		off += c.off
	case io.SeekEnd:
		off += c.man.Size
	}
	if off < 0 {
		return 0, errors.New("seek before the start")
	}
	c.off = off
	return off, nil
}

type readerFunc func(p []byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

// FileRecord is what this node knows of file h. A file whose chunks are
// all stored but whose fetch is still saving it is downloading until it
// is saved (then it has its Path).
func (s *Service) FileRecord(h FileHash) (FileRecord, error) {
	if s.cfg.Files == nil {
		return FileRecord{}, ErrNotFound
	}
	rec, err := s.cfg.Files.FileRecord(h)
	if err == nil && rec.State == FileComplete {
		s.fetches.mu.Lock()
		busy := s.fetches.m[h] != nil
		s.fetches.mu.Unlock()
		if busy {
			rec.State = FileDownloading
		}
	}
	return rec, err
}
