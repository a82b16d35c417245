package node_test

import (
	"context"
	"crypto/rand"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/crypto"
	"github.com/parley-chat/parley/node"
	"github.com/parley-chat/parley/node/nodetest"
	"github.com/parley-chat/parley/store"
)

// loopbackPeer is a real node on 127.0.0.1 TCP with a store on disk and a
// chat service, run as the daemon runs them.
type loopbackPeer struct {
	node  *node.Node
	store *store.Store
	chat  *chat.Service
}

// startLoopbackPeer starts a loopback peer with rooms (its node is its
// pubsub) and no rate limit on room authors; adjust (if set) changes its
// chat config last.
func startLoopbackPeer(tb testing.TB, nick string, adjust ...func(*chat.Config)) *loopbackPeer {
	tb.Helper()
	id, err := crypto.NewIdentity(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	st, err := store.Open(tb.TempDir(), store.Options{Logger: nodetest.Logger(nick)})
	if err != nil {
		tb.Fatal(err)
	}
	nd, err := node.New(node.Config{Identity: id, Listen: []string{"/ip4/127.0.0.1/tcp/0"}, Logger: nodetest.Logger(nick)})
	if err != nil {
		_ = st.Close()
		tb.Fatal(err)
	}
	cfg := chat.Config{Identity: id, Nick: nick, Transport: nd, Network: nd, PubSub: nd, Store: st, Logger: nodetest.Logger(nick), RoomRate: 1e6, RoomBurst: 1e6}
	for _, f := range adjust {
		f(&cfg)
	}
	svc, err := chat.New(cfg)
	if err != nil {
		_ = nd.Close()
		_ = st.Close()
		tb.Fatal(err)
	}
	stop := nodetest.RunParts(tb, nick, map[string]func(context.Context) error{"store": st.Run, "node": nd.Run, "chat": svc.Run})
	tb.Cleanup(func() {
		stop()
		_ = svc.Close()
		_ = nd.Close()
		_ = st.Close()
	})
	nodetest.WaitStarted(tb, svc)
	return &loopbackPeer{node: nd, store: st, chat: svc}
}

func connectLoopback(tb testing.TB, a, b *loopbackPeer) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := a.node.Connect(ctx, b.node.Addrs()[0]); err != nil {
		tb.Fatal(err)
	}
}

// waitStatus reads events until message id reaches want.
func waitStatus(tb testing.TB, events <-chan chat.Event, id chat.MessageID, want chat.Status) {
	tb.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case e := <-events:
			if e.Type == chat.EventStatus && e.Message.ID == id && e.Message.Status == want {
				return
			}
		case <-timeout:
			tb.Fatalf("message %s never became %v", id, want)
		}
	}
}

func reportLatencies(b *testing.B, prefix string, ds []time.Duration) {
	slices.Sort(ds)
	b.ReportMetric(float64(ds[len(ds)/2].Microseconds()), prefix+"-p50-µs")
	b.ReportMetric(float64(ds[len(ds)*99/100].Microseconds()), prefix+"-p99-µs")
}

const echoProtocol = "/parley-bench/echo/1.0.0"

// BenchmarkDMRoundTrip measures a direct message's round trip (send,
// persist at the receiver, ack, persist at the sender) next to a raw
// libp2p stream ping-pong of the same size between the same two hosts.
func BenchmarkDMRoundTrip(b *testing.B) {
	a, c := startLoopbackPeer(b, "a"), startLoopbackPeer(b, "c")
	connectLoopback(b, a, c)
	body := strings.Repeat("x", 200)

	// Raw: one stream, write 200 bytes, read the echo.
	c.node.Host().SetStreamHandler(echoProtocol, func(s network.Stream) {
		_, _ = io.Copy(s, s)
		_ = s.Close()
	})
	s, err := a.node.Host().NewStream(context.Background(), peer.ID(c.chat.Self()), echoProtocol)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	buf := make([]byte, len(body))
	raw := make([]time.Duration, 0, b.N)
	dm := make([]time.Duration, 0, b.N)
	events, cancel := a.chat.Subscribe()
	defer cancel()
	// Warm up both paths (stream setup, first allocations).
	for range 50 {
		_, _ = s.Write([]byte(body))
		_, _ = io.ReadFull(s, buf)
		m, err := a.chat.SendDM(context.Background(), c.chat.Self(), body)
		if err != nil {
			b.Fatal(err)
		}
		waitStatus(b, events, m.ID, chat.StatusDelivered)
	}
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		if _, err := s.Write([]byte(body)); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(s, buf); err != nil {
			b.Fatal(err)
		}
		raw = append(raw, time.Since(t0))

		t0 = time.Now()
		m, err := a.chat.SendDM(context.Background(), c.chat.Self(), body)
		if err != nil {
			b.Fatal(err)
		}
		waitStatus(b, events, m.ID, chat.StatusDelivered)
		dm = append(dm, time.Since(t0))
	}
	b.StopTimer()
	reportLatencies(b, "raw", raw)
	reportLatencies(b, "dm", dm)
	slices.Sort(raw)
	slices.Sort(dm)
	b.ReportMetric(float64(dm[len(dm)/2])/float64(raw[len(raw)/2]), "dm/raw-p50")
}

// BenchmarkDMThroughput sends b.N direct messages of 200 bytes on one
// conversation and waits until every one is delivered (persisted at both
// ends).
func BenchmarkDMThroughput(b *testing.B) {
	a, c := startLoopbackPeer(b, "a"), startLoopbackPeer(b, "c")
	connectLoopback(b, a, c)
	body := strings.Repeat("y", 200)
	events, cancel := a.chat.Subscribe()
	defer cancel()
	allDelivered := make(chan int)
	go func() {
		n := 0
		for e := range events {
			if e.Type == chat.EventStatus && e.Message.Status == chat.StatusDelivered {
				if n++; n == b.N {
					break
				}
			}
		}
		allDelivered <- n
	}()
	b.ResetTimer()
	t0 := time.Now()
	for range b.N {
		if _, err := a.chat.SendDM(context.Background(), c.chat.Self(), body); err != nil {
			b.Fatal(err)
		}
	}
	sent := time.Since(t0)
	select {
	case n := <-allDelivered:
		if n != b.N {
			b.Fatalf("event stream ended after %d of %d deliveries", n, b.N)
		}
	case <-time.After(2 * time.Minute):
		b.Fatal("not all delivered in 2 minutes")
	}
	total := time.Since(t0)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/total.Seconds(), "msgs/s")
	b.ReportMetric(float64(b.N)/sent.Seconds(), "enqueued/s")
}
