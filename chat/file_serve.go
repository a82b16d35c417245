package chat

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/parley-chat/parley/crypto"
	"github.com/parley-chat/parley/internal/wire"
)

// FileProtocol fetches the chunks of shared files; docs/PROTOCOL.md
// describes it.
const FileProtocol = "/parley/file/1.0.0"

const (
	// maxChunksPerRequest bounds one CHUNKS request.
	maxChunksPerRequest = 64
	// maxFileRequestFrame and maxFileResponseFrame cap the frames of
	// /parley/file/1.0.0: a response carries a chunk or a chunk list.
	maxFileRequestFrame  = 1 << 10
	maxFileResponseFrame = max(MaxFileChunkSize+crypto.ChunkOverhead, MaxFileChunks*(sha256.Size+3)) + 64
	// fileIdleTimeout ends a file stream with no request for this long.
	fileIdleTimeout = 2 * time.Minute
)

// fileConvLabel is how a request names the conversation its file was
// shared in, as the server knows it: a public room by name, a private one
// by ID (names are local), a direct conversation as "dm".
func (s *Service) fileConvLabel(conv Conversation) string {
	if _, ok := conv.Peer(); ok {
		return "dm"
	}
	if name, ok := conv.Room(); ok {
		if r := s.rooms.get(name); r != nil && r.priv != nil {
			return "private:" + hex.EncodeToString(r.priv.id[:])
		}
	}
	return string(conv)
}

// mayServe says whether p may fetch the file rec, which it saw in the
// conversation label names: the file was shared there, and p is a member
// of it (the other party of a direct conversation, a member of a private
// room by its ops; a public room is open to anyone who joins it, so
// anyone who names it).
func (s *Service) mayServe(p PeerID, rec *FileRecord, label string) bool {
	var conv Conversation
	switch {
	case label == "dm":
		conv = DMConversation(p)
	case strings.HasPrefix(label, "private:"):
		id, err := hex.DecodeString(strings.TrimPrefix(label, "private:"))
		if err != nil || len(id) != len(RoomID{}) {
			return false
		}
		pv := s.rooms.private(RoomID(id))
		if pv == nil || pv.isRemoved() || !pv.isMember(p) {
			return false
		}
		conv = pv.r.conv
	default:
		name, ok := Conversation(label).Room()
		if !ok {
			return false
		}
		// A public room is open to anyone who joins it: a file shared
		// there goes to whoever asks for it by the room it was shared in.
		r := s.rooms.get(name)
		if r == nil || r.priv != nil {
			return false
		}
		conv = r.conv
	}
	return slices.Contains(rec.Convs, conv)
}

// handleFile serves /parley/file/1.0.0: requests one after another, each
// answered in order.
func (s *Service) handleFile(p PeerID, st Stream) {
	s.serveInbound(st, "file stream", p, func() error {
		fr := newFrameReader(st, maxFileRequestFrame)
		bw := bufio.NewWriterSize(st, 64<<10)
		var buf fileStream
		for {
			_ = st.SetReadDeadline(time.Now().Add(fileIdleTimeout))
			b, err := fr.Next()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return err
			}
			var req wire.FileRequest
			if err := proto.Unmarshal(b, &req); err != nil {
				return fmt.Errorf("bad file request: %w", err)
			}
			_ = st.SetWriteDeadline(time.Now().Add(fileIdleTimeout))
			if err := s.answerFile(p, &req, bw, &buf); err != nil {
				return err
			}
			if err := bw.Flush(); err != nil {
				return err
			}
		}
	})
}

// fileStream is what one file stream keeps from request to request: the
// memory a chunk is read, sealed and framed in (not allocated anew each
// time), the record of the file its chunks are asked of, and when it last
// marked that file used.
type fileStream struct {
	frame, chunk, sealed []byte
	rec                  *FileRecord // for CHUNKS of the same file
	touched              time.Time
}

// fileTouchEvery is how often serving a file marks it used (for the
// cache's least-recently-used order) while a stream keeps asking.
const fileTouchEvery = 30 * time.Second

// answerFile writes the answer to one request.
func (s *Service) answerFile(p PeerID, req *wire.FileRequest, w io.Writer, buf *fileStream) error {
	send := func(r *wire.FileResponse) error {
		b, err := proto.MarshalOptions{}.MarshalAppend(buf.frame[:0], r)
		if err != nil {
			return err
		}
		buf.frame = b
		return writeFrame(w, b)
	}
	fail := func(msg string) error { return send(&wire.FileResponse{Error: msg}) }
	fs := s.cfg.Files
	if fs == nil || len(req.Hash) != sha256.Size {
		return fail("not found")
	}
	// A stream's CHUNKS requests reuse the record its last request read,
	// while it allows them: its manifest and key do not change, Chunk
	// itself says when a chunk is not held, and mayServe is asked anew.
	var rec FileRecord
	if r := buf.rec; req.Type == wire.FileRequest_TYPE_CHUNKS && r != nil &&
		r.Manifest.Hash == FileHash(req.Hash) && s.mayServe(p, r, req.Conversation) {
		rec = *r
	} else {
		var err error
		if rec, err = fs.FileRecord(FileHash(req.Hash)); err != nil {
			buf.rec = nil
			return fail("not found")
		}
		buf.rec = &rec
	}
	if !s.mayServe(p, &rec, req.Conversation) {
		s.log.Debug("refused a file request", "peer", p, "conversation", req.Conversation)
		return fail("not allowed")
	}
	switch req.Type {
	case wire.FileRequest_TYPE_HAVE:
		return send(&wire.FileResponse{Have: rec.haveBits()})
	case wire.FileRequest_TYPE_LIST:
		if rec.Chunks == nil {
			return fail("missing")
		}
		hs := make([][]byte, len(rec.Chunks))
		for i := range rec.Chunks {
			hs[i] = rec.Chunks[i][:]
		}
		return send(&wire.FileResponse{ChunkHashes: hs})
	case wire.FileRequest_TYPE_CHUNKS:
		if len(req.Indices) > maxChunksPerRequest {
			return fail(fmt.Sprintf("at most %d chunks a request", maxChunksPerRequest))
		}
		key := rec.Manifest.Key
		for _, i := range req.Indices {
			data, err := fs.Chunk(rec.Manifest.Hash, int(i), buf.chunk)
			if err != nil {
				if err := send(&wire.FileResponse{Index: i, Error: "missing"}); err != nil {
					return err
				}
				continue
			}
			buf.chunk = data
			if key != (crypto.Key{}) {
				data = crypto.SealChunk(buf.sealed[:0], key, rec.Manifest.Hash, int(i), data)
				buf.sealed = data
			}
			if err := send(&wire.FileResponse{Index: i, Data: data}); err != nil {
				return err
			}
			s.stats.fileOut.Add(uint64(len(data)))
		}
		if now := time.Now(); now.Sub(buf.touched) >= fileTouchEvery {
			_ = fs.TouchFile(rec.Manifest.Hash)
			buf.touched = now
		}
		return nil
	}
	return fail("unknown request")
}

// haveBits is the record's bitset of held chunks, every bit set once
// complete.
func (rec *FileRecord) haveBits() []byte {
	n := crypto.NumChunks(rec.Manifest.Size, rec.Manifest.ChunkSize)
	if rec.State == FileComplete {
		b := make([]byte, (n+7)/8)
		for i := range n {
			b[i/8] |= 1 << (i % 8)
		}
		return b
	}
	return slices.Clone(rec.Have)
}

// hasBit reports whether bit i of a bitset is set.
func hasBit(b []byte, i int) bool { return i/8 < len(b) && b[i/8]&(1<<(i%8)) != 0 }
