package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/api"
	"github.com/parley-chat/parley/internal/testnet"
)

// BenchmarkRoomThroughputAPI measures the product path in a 3-node room on
// loopback: messages sent through one daemon's local API (HTTP over its
// unix socket, 8 senders at once, or PARLEY_BENCH_SENDERS), each counted
// when the event stream of both other daemons has announced it (stored
// there). It reports sustained messages/s and the per-message latency from
// the send call to the later of the two events.
func BenchmarkRoomThroughputAPI(b *testing.B) {
	senders := 8
	if v, err := strconv.Atoi(os.Getenv("PARLEY_BENCH_SENDERS")); err == nil && v > 0 {
		senders = v
	}
	benchRoomKinds(b, senders)
}

// BenchmarkRoomLatencyAPI is the same path one message at a time: the
// latency from one daemon's API to the other daemons' event streams
// (what a person's screen shows) with nothing else going on.
func BenchmarkRoomLatencyAPI(b *testing.B) { benchRoomKinds(b, 1) }

// benchRoomKinds runs benchRoomAPI in a public room and in a private one
// (sealed under room keys, topic derived from the room secret), so the
// cost of privacy reads off one run.
func benchRoomKinds(b *testing.B, senders int) {
	b.Run("public", func(b *testing.B) { benchRoomAPI(b, senders, false) })
	b.Run("private", func(b *testing.B) { benchRoomAPI(b, senders, true) })
}

func benchRoomAPI(b *testing.B, senders int, private bool) {
	ds := make([]*testnet.Daemon, 3)
	for i := range ds {
		ds[i] = testnet.NewDaemon(b, fmt.Sprintf("b%d", i))
		cfg := filepath.Join(ds[i].Home, "config.toml")
		old, err := os.ReadFile(cfg)
		if err != nil {
			b.Fatal(err)
		}
		// A benchmark sender is not a flooder: lift the per-author rate limit.
		if err := os.WriteFile(cfg, append(old, []byte("room_rate = 1000000.0\nroom_burst = 1000000\nauto_join = []\n")...), 0o600); err != nil {
			b.Fatal(err)
		}
		ds[i].Start(loopbackListen...)
	}
	for i := 1; i < 3; i++ {
		ds[0].MustRun("connect", ds[i].Identity().Addrs[0])
	}
	ds[1].MustRun("connect", ds[2].Identity().Addrs[0])
	if private {
		ds[0].MustRun("create", "#bench", "--private")
		for _, d := range ds[1:] {
			r := ds[0].Run("invite", "#bench")
			lines := strings.Split(strings.TrimSpace(r.Stdout), "\n")
			if r.Code != 0 {
				b.Fatalf("invite: exit %d: %s", r.Code, r.Stderr)
			}
			d.MustRun("join", lines[len(lines)-1])
		}
	} else {
		for _, d := range ds {
			d.MustRun("join", "#bench")
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// track follows one message: closed once both other daemons announced it.
	type track struct {
		seen int
		both chan struct{}
	}
	var mu sync.Mutex
	tracks := map[string]*track{}
	get := func(id string) *track {
		t, ok := tracks[id]
		if !ok {
			t = &track{both: make(chan struct{})}
			tracks[id] = t
		}
		return t
	}
	var wg sync.WaitGroup
	listening := make(chan struct{}, 2)
	for _, d := range ds[1:] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			first := true
			_ = d.Client().Events(ctx, func(e api.Event) error {
				if first {
					first = false
					listening <- struct{}{}
				}
				if e.Type != "message" || e.Message.Room != "bench" || e.Message.Kind != "text" {
					return nil
				}
				mu.Lock()
				t := get(e.Message.ID)
				if t.seen++; t.seen == 2 {
					close(t.both)
				}
				mu.Unlock()
				return nil
			})
		}()
	}
	// An event stream says nothing until there is an event: post one so
	// both are open, and wait for it everywhere.
	cl := ds[0].Client()
	probe, err := cl.Send(ctx, "#bench", "probe")
	if err != nil {
		b.Fatal(err)
	}
	<-listening
	<-listening
	mu.Lock()
	pt := get(probe.ID)
	mu.Unlock()
	<-pt.both

	body := strings.Repeat("t", 200)
	lat := make([]time.Duration, b.N)
	waits := make([]chan struct{}, b.N)
	profiled := profileDaemons(b, ds)
	b.ResetTimer()
	start := time.Now()
	var swg, watchers sync.WaitGroup
	for s := range senders {
		swg.Add(1)
		go func() {
			defer swg.Done()
			for i := s; i < b.N; i += senders {
				t0 := time.Now()
				m, err := cl.Send(ctx, "#bench", body)
				if err != nil {
					b.Error(err)
					return
				}
				mu.Lock()
				t := get(m.ID)
				mu.Unlock()
				waits[i] = t.both
				// Latency is measured by a watcher so senders keep sending.
				watchers.Add(1)
				go func(i int) {
					defer watchers.Done()
					<-t.both
					lat[i] = time.Since(t0)
				}(i)
				if senders == 1 {
					<-t.both
				}
			}
		}()
	}
	swg.Wait()
	sendTook := time.Since(start)
	timeout := time.After(5 * time.Minute)
	for _, w := range waits {
		if w == nil {
			b.Fatal("a send failed")
		}
		select {
		case <-w:
		case <-timeout:
			b.Fatal("not every message reached both other daemons")
		}
	}
	total := time.Since(start)
	b.StopTimer()
	profiled.Wait()
	cancel()
	wg.Wait()
	watchers.Wait()
	slices.Sort(lat)
	b.ReportMetric(float64(b.N)/total.Seconds(), "msgs/s")
	b.ReportMetric(float64(b.N)/sendTook.Seconds(), "sent/s")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

// profileDaemons takes a CPU profile of each daemon while the benchmark
// runs, when PARLEY_BENCH_PPROF names a directory to write them to
// (daemon-<i>.pprof); PARLEY_BENCH_PPROF_SECONDS sets their length
// (default 5 s: make the run last longer). Profiles come from the
// daemons' unix sockets (/debug/pprof/profile).
func profileDaemons(b *testing.B, ds []*testnet.Daemon) *sync.WaitGroup {
	var wg sync.WaitGroup
	dir := os.Getenv("PARLEY_BENCH_PPROF")
	if dir == "" {
		return &wg
	}
	seconds := os.Getenv("PARLEY_BENCH_PPROF_SECONDS")
	if seconds == "" {
		seconds = "5"
	}
	for i, d := range ds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sock := filepath.Join(d.Home, "api.sock")
			hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				var dl net.Dialer
				return dl.DialContext(ctx, "unix", sock)
			}}}
			resp, err := hc.Get("http://parley/debug/pprof/profile?seconds=" + seconds)
			if err != nil {
				b.Errorf("profile %s: %v", d.Name, err)
				return
			}
			defer func() { _ = resp.Body.Close() }()
			f, err := os.Create(filepath.Join(dir, fmt.Sprintf("daemon-%d.pprof", i)))
			if err != nil {
				b.Errorf("profile %s: %v", d.Name, err)
				return
			}
			defer func() { _ = f.Close() }()
			if _, err := io.Copy(f, resp.Body); err != nil {
				b.Errorf("profile %s: %v", d.Name, err)
			}
		}()
	}
	return &wg
}
