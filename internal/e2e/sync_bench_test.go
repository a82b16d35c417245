package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/api"
	"github.com/parley-chat/parley/internal/testnet"
)

// Whole-history sync between two real daemons on loopback (run each once:
// -benchtime 1x). The figures are the ones a person notices: how soon a
// late joiner shows the newest page, how soon it holds everything, and how
// many bytes crossed the wire (counted by the kernel on the daemons'
// connection, everything included).

// BenchmarkRoomSyncLateJoiner: daemon A holds a room of 25,000 messages
// (PARLEY_BENCH_ROOM_SIZE); daemon B connects and joins it.
func BenchmarkRoomSyncLateJoiner(b *testing.B) {
	n := envInt("PARLEY_BENCH_ROOM_SIZE", 25000)
	for range b.N {
		b.StopTimer()
		a := syncDaemon(b, "a")
		a.MustRun("join", "#big")
		fill(b, a, "#big", n, "a")
		bd := syncDaemon(b, "b")
		bytesBefore := wireBytes(b, a)
		newest := textIDs(b, a, "#big", 50)
		b.StartTimer()
		start := time.Now()
		bd.MustRun("connect", a.Identity().Addrs[0])
		bd.MustRun("join", "#big")
		tNewest := pollUntil(b, 2*time.Minute, "the newest 50 at B", 5*time.Millisecond, func() bool {
			return slices.Equal(textIDs(b, bd, "#big", 50), newest)
		})
		tAll := pollUntil(b, 10*time.Minute, "all messages at B", 50*time.Millisecond, func() bool {
			return unread(b, bd, "big") >= n
		})
		b.StopTimer()
		_ = start
		b.ReportMetric(float64(n), "messages")
		b.ReportMetric(float64(tNewest.Milliseconds()), "ms-to-newest-50")
		b.ReportMetric(float64(tAll.Milliseconds()), "ms-to-all")
		if by := wireBytes(b, a); by >= 0 && bytesBefore >= 0 {
			b.ReportMetric(float64(by-bytesBefore), "wire-bytes")
		}
	}
}

// BenchmarkRoomSyncOnePercent: daemons A and B share a room of 100,000
// messages (PARLEY_BENCH_ROOM_SIZE) but each holds 0.5% the other lacks
// (written while the other was down); then they meet again.
func BenchmarkRoomSyncOnePercent(b *testing.B) {
	n := envInt("PARLEY_BENCH_ROOM_SIZE", 100000)
	apart := n / 200 // 0.5% on each side
	for range b.N {
		b.StopTimer()
		a := syncDaemon(b, "a")
		bd := syncDaemon(b, "b")
		bd.MustRun("connect", a.Identity().Addrs[0])
		a.MustRun("join", "#big")
		bd.MustRun("join", "#big")
		common := n - 2*apart
		fill(b, a, "#big", common, "a")
		pollUntil(b, 10*time.Minute, "B to hold the common history", 200*time.Millisecond, func() bool {
			return unread(b, bd, "big") >= common
		})
		bd.Stop()
		fill(b, a, "#big", apart, "a-alone")
		a.Stop()
		bd.Start(loopbackListen...)
		fill(b, bd, "#big", apart, "b-alone")
		a.Start(loopbackListen...)
		bytesBefore := wireBytes(b, a)
		b.StartTimer()
		bd.MustRun("connect", a.Identity().Addrs[0])
		took := pollUntil(b, 10*time.Minute, "both to hold everything", 20*time.Millisecond, func() bool {
			return unread(b, bd, "big") >= common+apart && unread(b, a, "big") >= apart
		})
		b.StopTimer()
		b.ReportMetric(float64(n), "messages")
		b.ReportMetric(float64(2*apart), "differing")
		b.ReportMetric(float64(took.Milliseconds()), "ms-to-converge")
		if by := wireBytes(b, a); by >= 0 && bytesBefore >= 0 {
			b.ReportMetric(float64(by-bytesBefore), "wire-bytes")
		}
	}
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// syncDaemon starts a loopback daemon that joins nothing by itself and
// lets a benchmark sender post as fast as it can.
func syncDaemon(b *testing.B, name string) *testnet.Daemon {
	b.Helper()
	d := testnet.NewDaemon(b, name)
	cfg := filepath.Join(d.Home, "config.toml")
	old, err := os.ReadFile(cfg)
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(cfg, append(old, []byte("room_rate = 1000000.0\nroom_burst = 1000000\nauto_join = []\n")...), 0o600); err != nil {
		b.Fatal(err)
	}
	d.Start(loopbackListen...)
	return d
}

// fill posts n messages to room through d's API (8 senders at once) and
// waits until d has published every one (status sent): only published
// messages have a proof to sync with.
func fill(b *testing.B, d *testnet.Daemon, room string, n int, tag string) {
	b.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cl := d.Client()
	var mu sync.Mutex
	sent := map[string]bool{}
	opened := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- cl.Follow(ctx, func() { close(opened) }, func(e api.Event) error {
			if e.Status != nil && e.Status.Status == "sent" {
				mu.Lock()
				sent[e.Status.ID] = true
				mu.Unlock()
			}
			return nil
		})
	}()
	<-opened
	ids := make([]string, n)
	var wg sync.WaitGroup
	for s := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := s; i < n; i += 8 {
				m, err := cl.Send(ctx, room, fmt.Sprintf("%s %d %s", tag, i, strings.Repeat("s", 200)))
				if err != nil {
					b.Error(err)
					return
				}
				ids[i] = m.ID
			}
		}()
	}
	wg.Wait()
	pollUntil(b, 10*time.Minute, "every message published", 20*time.Millisecond, func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, id := range ids {
			if !sent[id] {
				return false
			}
		}
		return true
	})
	cancel()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		b.Fatalf("follow: %v", err)
	}
}

func textIDs(b *testing.B, d *testnet.Daemon, with string, limit int) []string {
	b.Helper()
	ms, err := d.Client().History(context.Background(), with, limit, "")
	if err != nil {
		b.Fatalf("%s: history: %v", d.Name, err)
	}
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	return out
}

// unread is d's unread count of room: every text message from others, as
// no benchmark daemon ever reads.
func unread(b *testing.B, d *testnet.Daemon, room string) int {
	b.Helper()
	rs, err := d.Client().Rooms(context.Background())
	if err != nil {
		b.Fatalf("%s: rooms: %v", d.Name, err)
	}
	for _, r := range rs {
		if r.Name == room {
			return r.Unread
		}
	}
	return 0
}

// pollUntil checks cond every `every` until it holds and returns how long
// that took; it fails the benchmark after timeout.
func pollUntil(b *testing.B, timeout time.Duration, what string, every time.Duration, cond func() bool) time.Duration {
	b.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > timeout {
			b.Fatalf("no %s after %v", what, timeout)
		}
		time.Sleep(every)
	}
	return time.Since(start)
}

var ssBytes = regexp.MustCompile(`bytes_(acked|received):(\d+)`)

// wireBytes sums what d's TCP sockets on its listen port and to its peers
// have sent (acknowledged) and received, as the kernel counts them; -1 if
// ss cannot tell.
func wireBytes(b *testing.B, d *testnet.Daemon) int64 {
	b.Helper()
	pid := d.PID()
	out, err := exec.Command("ss", "-tinpH").Output()
	if err != nil {
		return -1
	}
	var total int64
	lines := strings.Split(string(out), "\n")
	for i, line := range lines {
		if !strings.Contains(line, fmt.Sprintf("pid=%d,", pid)) || i+1 >= len(lines) {
			continue
		}
		// ss prints a socket's counters on the line after it.
		for _, m := range ssBytes.FindAllStringSubmatch(lines[i+1], -1) {
			v, _ := strconv.ParseInt(m[2], 10, 64)
			total += v
		}
	}
	return total
}
