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

// OpKey is the key a private room's ops are sealed with.
var OpKey = opKey

// AnswerFile answers one /parley/file/1.0.0 request from p as s would,
// writing the response frames to w.
func (s *Service) AnswerFile(p PeerID, req *wire.FileRequest, w io.Writer) error {
	return s.answerFile(p, req, w)
}
