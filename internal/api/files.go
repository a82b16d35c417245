package api

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"iter"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/crypto"
)

// File is one file of a message (Message.Files).
type File struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	MIME   string `json:"mime"`
	Hash   string `json:"hash"`
	State  string `json:"state"`          // "remote", "downloading", "complete" or "failed"
	Have   int64  `json:"have"`           // bytes held here
	Path   string `json:"path,omitempty"` // the file on disk, once complete
	Width  int    `json:"width,omitempty"`
	Height int    `json:"height,omitempty"`
	Thumb  bool   `json:"thumb,omitempty"` // GET /api/v1/files/{hash}/thumb has a preview
}

// FetchRequest is POST /api/v1/messages/{id}/fetch.
type FetchRequest struct {
	Out     string `json:"out,omitempty"`     // where to save the files; the node's download directory if empty
	Timeout string `json:"timeout,omitempty"` // how long to wait for a source ("2m" if empty)
}

// FetchResponse answers it: each file saved.
type FetchResponse struct {
	Files []File `json:"files"`
}

// DefaultFetchTimeout is how long a fetch waits for a source by default.
const DefaultFetchTimeout = 2 * time.Minute

// filesOf lists m's files with their state here.
func (s *Server) filesOf(m *chat.Message) []File {
	if len(m.Files) == 0 {
		return nil
	}
	out := make([]File, len(m.Files))
	for i, f := range m.Files {
		out[i] = File{Name: f.Name, Size: f.Size, MIME: f.MIME, Hash: hex.EncodeToString(f.Hash[:]), State: string(chat.FileRemote),
			Width: f.Width, Height: f.Height, Thumb: len(f.Thumb) > 0}
		if rec, err := s.backend.FileRecord(f.Hash); err == nil {
			out[i].State = string(rec.State)
			out[i].Have = heldBytes(rec)
			if rec.State == chat.FileComplete {
				out[i].Path = rec.Path
			}
		}
	}
	return out
}

// heldBytes is how many bytes of a file a record holds.
func heldBytes(rec chat.FileRecord) int64 {
	m := rec.Manifest
	if rec.State == chat.FileComplete {
		return m.Size
	}
	var n int64
	for i := range m.NumChunks() {
		if rec.Has(i) {
			n += int64(crypto.ChunkLen(m.Size, m.ChunkSize, i))
		}
	}
	return n
}

// handleShare is POST /api/v1/files?to=CONV[&text=CAPTION]: the body is
// multipart/form-data, every part with a file name a file to share,
// streamed into the node's store as it arrives (parts without a file
// name are skipped; the caption is the query's text).
func (s *Server) handleShare(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	conv, err := s.backend.Resolve(q.Get("to"))
	if err != nil {
		writeErr(w, err)
		return
	}
	if !allowConv(w, r, conv) {
		return
	}
	mr, err := r.MultipartReader()
	if err != nil {
		writeError(w, http.StatusBadRequest, CodeBadRequest, "want a multipart/form-data body with the files: "+err.Error())
		return
	}
	caption := q.Get("text")
	files := func(yield func(chat.SharedFile, error) bool) {
		for {
			part, err := mr.NextPart()
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				yield(chat.SharedFile{}, fmt.Errorf("%w: read the upload: %v", ErrBadRequest, err))
				return
			}
			if part.FileName() == "" {
				continue // the caption is ?text=; other fields are not files
			}
			if !yield(chat.SharedFile{Name: partFileName(part), Data: part}, nil) {
				return
			}
		}
	}
	m, err := s.backend.ShareFiles(r.Context(), conv, iter.Seq2[chat.SharedFile, error](files), caption)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, s.messageOf(m))
}

// partFileName is the name a part gives its file, without any directory
// (browsers send bare names; other clients may not).
func partFileName(p *multipart.Part) string {
	name := p.FileName()
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	return name
}

// handleFetch is POST /api/v1/messages/{id}/fetch: it fetches every file
// of the message, saves each into the asked directory and answers once
// all are there (or the timeout passes without a source).
func (s *Server) handleFetch(w http.ResponseWriter, r *http.Request) {
	id, err := chat.ParseMessageID(r.PathValue("id"))
	if err != nil {
		writeError(w, http.StatusBadRequest, CodeBadRequest, err.Error())
		return
	}
	var req FetchRequest
	if !readJSON(w, r, &req) {
		return
	}
	timeout := DefaultFetchTimeout
	if req.Timeout != "" {
		if timeout, err = time.ParseDuration(req.Timeout); err != nil || timeout <= 0 {
			writeError(w, http.StatusBadRequest, CodeBadRequest, fmt.Sprintf("timeout %q: want a duration such as 30s or 2m", req.Timeout))
			return
		}
	}
	m, err := s.backend.Message(id)
	if err != nil {
		writeErr(w, err)
		return
	}
	if len(m.Files) == 0 {
		writeError(w, http.StatusNotFound, CodeNotFound, "message "+id.String()+" has no files")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	var resp FetchResponse
	for _, f := range m.Files {
		path, err := s.backend.FetchFileTo(ctx, id, f.Hash, req.Out)
		if err != nil {
			if errors.Is(err, context.DeadlineExceeded) {
				err = fmt.Errorf("%w: no member online had all of %s within %v", context.DeadlineExceeded, f.Name, timeout)
			}
			writeErr(w, err)
			return
		}
		resp.Files = append(resp.Files, File{Name: f.Name, Size: f.Size, MIME: f.MIME, Hash: hex.EncodeToString(f.Hash[:]), State: string(chat.FileComplete), Path: path})
	}
	writeJSON(w, http.StatusOK, resp)
}

// fileHash reads {hash} from the path.
func fileHash(r *http.Request) (chat.FileHash, error) {
	var h chat.FileHash
	b, err := hex.DecodeString(r.PathValue("hash"))
	if err != nil || len(b) != len(h) {
		return h, fmt.Errorf("%w: a file hash is 64 hex digits", ErrBadRequest)
	}
	copy(h[:], b)
	return h, nil
}

// inlineTypes are the media types served for showing in the page; every
// other file is served as a download (never rendered: no SVG, no HTML).
var inlineTypes = map[string]bool{"image/png": true, "image/jpeg": true, "image/gif": true, "image/webp": true}

// handleFileContent is GET /api/v1/files/{hash}: a complete file's bytes.
// Images (not SVG) are served as images for previews, everything else as
// an attachment; nothing is sniffed or run in the page.
func (s *Server) handleFileContent(w http.ResponseWriter, r *http.Request) {
	h, err := fileHash(r)
	if err != nil {
		writeErr(w, err)
		return
	}
	if !s.allowFile(w, r, h) {
		return
	}
	rd, rec, err := s.backend.OpenFile(h)
	if err != nil {
		writeErr(w, err)
		return
	}
	typ := strings.ToLower(strings.TrimSpace(strings.SplitN(rec.Manifest.MIME, ";", 2)[0]))
	disposition := "attachment"
	if inlineTypes[typ] && r.URL.Query().Get("download") == "" {
		disposition = "inline"
	} else {
		typ = "application/octet-stream"
	}
	name := chat.SafeFileName(rec.Manifest.Name)
	hd := w.Header()
	hd.Set("Content-Type", typ)
	hd.Set("Content-Disposition", mime.FormatMediaType(disposition, map[string]string{"filename": name}))
	if hd.Get("Content-Disposition") == "" { // a name FormatMediaType cannot write
		hd.Set("Content-Disposition", disposition+"; filename*=UTF-8''"+url.PathEscape(name))
	}
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	hd.Set("Cache-Control", "private, max-age=31536000, immutable")
	http.ServeContent(w, r, "", time.Time{}, rd)
}

// handleFileThumb is GET /api/v1/files/{hash}/thumb: an image's preview
// (JPEG) from its manifest, known before the file itself is here.
func (s *Server) handleFileThumb(w http.ResponseWriter, r *http.Request) {
	h, err := fileHash(r)
	if err != nil {
		writeErr(w, err)
		return
	}
	if !s.allowFile(w, r, h) {
		return
	}
	rec, err := s.backend.FileRecord(h)
	if err != nil {
		writeErr(w, err)
		return
	}
	if len(rec.Manifest.Thumb) == 0 {
		writeError(w, http.StatusNotFound, CodeNotFound, "no preview")
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "image/jpeg")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Cache-Control", "private, max-age=31536000, immutable")
	_, _ = w.Write(rec.Manifest.Thumb)
}
