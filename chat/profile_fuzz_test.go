package chat_test

import (
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/internal/wire"
)

// FuzzDecodeProfile throws any frame at the profile decoder: it never
// panics, a nickname it returns is one a person may see (or empty), and a
// clock it reads is measured against ours whatever its value.
func FuzzDecodeProfile(f *testing.F) {
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	for _, p := range []*wire.Profile{
		{Nick: "alice", Agent: "parley/0.1.0", SentAtMs: now.UnixMilli()},
		{Nick: "bob", SentAtMs: now.Add(3 * time.Minute).UnixMilli()},
		{Nick: "old", Agent: "parley/0.0.9"},
		{Nick: "m\u202eal\x00lo", SentAtMs: -1},
		{SentAtMs: 1<<63 - 1},
	} {
		b, err := proto.Marshal(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{0xff, 0xff})
	f.Fuzz(func(t *testing.T, frame []byte) {
		nick, skew, measured, err := chat.DecodeProfile(frame, now, now.Add(time.Millisecond))
		if err != nil {
			if nick != "" || measured {
				t.Errorf("error %v with nick %q, measured %v", err, nick, measured)
			}
			return
		}
		if nick != "" {
			if verr := chat.ValidateNick(nick); verr != nil {
				t.Errorf("nick %q: %v", nick, verr)
			}
		}
		if !measured && skew != 0 {
			t.Errorf("skew %v without a measurement", skew)
		}
	})
}
