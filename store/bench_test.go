package store_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/parley-chat/parley/chat"
)

// messageSource hands out fresh messages with 200-byte bodies, building
// them in chunks outside the benchmark timer.
type messageSource struct {
	b        *testing.B
	self     chat.PeerID
	peer     chat.PeerID
	outgoing bool
	next     int
	ready    []*chat.Message
}

func (src *messageSource) take(n int) []*chat.Message {
	if len(src.ready) < n {
		src.b.StopTimer()
		body := strings.Repeat("b", 190)
		for range max(n, 4096) {
			h := baseHLC + chat.HLC(src.next)
			text := fmt.Sprintf("%s%010d", body, src.next)
			src.next++
			if src.outgoing {
				src.ready = append(src.ready, outgoing(src.b, src.self, src.peer, h, text))
			} else {
				src.ready = append(src.ready, incoming(src.b, src.self, src.peer, h, text))
			}
		}
		src.b.StartTimer()
	}
	ms := src.ready[:n:n]
	src.ready = src.ready[n:]
	return ms
}

func BenchmarkAddMessages(b *testing.B) {
	for _, batch := range []int{1, 100} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			s := openStore(b, b.TempDir())
			src := &messageSource{b: b, self: newPeer(b), peer: newPeer(b)}
			b.SetBytes(int64(batch * 200))
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if _, err := s.AddMessages(src.take(batch)); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/msg")
		})
	}
}

func BenchmarkEnqueue(b *testing.B) {
	s := openStore(b, b.TempDir())
	src := &messageSource{b: b, self: newPeer(b), peer: newPeer(b), outgoing: true}
	b.SetBytes(200)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if err := s.Enqueue(src.take(1)[0]); err != nil {
			b.Fatal(err)
		}
	}
}
