package chat

import (
	"io"

	"github.com/parley-chat/parley/internal/wire"
)

// What chat_test's hostile members need to craft what an honest node never
// sends: sealing with a key of their choosing.

// SealMessage seals m's envelope: with key as the op key when epoch is
// zero, else with m's author's sender key of the epoch whose secret is
// key.
var SealMessage = sealMessage

// DecodeProfile reads a profile frame as the profile exchange does.
var DecodeProfile = decodeProfile

// OpKey is the key a private room's ops are sealed with.
var OpKey = opKey

// AnswerFile answers one /parley/file/1.0.0 request from p as s would,
// writing the response frames to w.
func (s *Service) AnswerFile(p PeerID, req *wire.FileRequest, w io.Writer) error {
	var buf fileStream
	return s.answerFile(p, req, w, &buf)
}

// BadSources lists the sources the running fetch of h dropped for a bad
// chunk.
func (s *Service) BadSources(h FileHash) []PeerID {
	s.fetches.mu.Lock()
	f := s.fetches.m[h]
	s.fetches.mu.Unlock()
	if f == nil {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []PeerID
	for p := range f.bad {
		out = append(out, p)
	}
	return out
}

// SourceLanes is how many streams a downloader opens to one source.
const SourceLanes = sourceLanes
