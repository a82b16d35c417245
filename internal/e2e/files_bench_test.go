package e2e

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/testnet"
)

// BenchmarkFileSources fetches a file (128 MiB, or PARLEY_BENCH_FILE_MB)
// on a simulated LAN where every node's link sends at 100 Mbit/s (tc):
// once from one member that holds it, once from three. It reports both
// times and how many times faster three are.
func BenchmarkFileSources(b *testing.B) {
	size := 128 << 20
	if v, err := strconv.Atoi(os.Getenv("PARLEY_BENCH_FILE_MB")); err == nil && v > 0 {
		size = v << 20
	}
	lan := testnet.NewLAN(b, 4)
	ds := make([]*testnet.Daemon, 4)
	ids := make([]string, 4)
	for i := range ds {
		ds[i] = testnet.NewDaemon(b, fmt.Sprintf("n%d", i), lan.Exec(i+1)...)
		withConfig(b, ds[i], "auto_join = []\nauto_download = \"0\"\n")
		ds[i].Start()
		ids[i] = ds[i].Identity().PeerID
	}
	pollUntil(b, 30*time.Second, "every pair connected by mDNS", 100*time.Millisecond, func() bool { return allConnected(b, ds, ids) })
	for _, d := range ds {
		d.MustRun("join", "#bench")
	}
	dir := b.TempDir()
	get := func(d *testnet.Daemon, id string) time.Duration {
		t0 := time.Now()
		if r := d.Run("get", id, "--out", b.TempDir(), "--timeout", "5m"); r.Code != 0 {
			b.Fatalf("%s get: %s", d.Name, r.Stderr)
		}
		return time.Since(t0)
	}
	shareOne := func(name string) string {
		p, _ := writeRandom(b, dir, name, size)
		r := ds[0].Run("share", p, "#bench")
		id := strings.TrimSpace(r.Stdout)
		if r.Code != 0 {
			b.Fatalf("share: %s", r.Stderr)
		}
		for _, d := range ds[1:] {
			pollUntil(b, 30*time.Second, "the message at "+d.Name, 50*time.Millisecond, func() bool {
				_, err := d.Client().Message(b.Context(), id)
				return err == nil
			})
		}
		return id
	}
	three := shareOne("three.bin")
	var wg sync.WaitGroup
	for _, d := range ds[1:3] {
		wg.Go(func() { get(d, three) })
	}
	wg.Wait()
	one := shareOne("one.bin")
	for k := 1; k <= 4; k++ {
		lan.Shape(k, "100mbit")
	}
	b.ResetTimer()
	var t1, t3 time.Duration
	for range b.N {
		t1 += get(ds[3], one)
		t3 += get(ds[3], three)
	}
	b.StopTimer()
	b.ReportMetric(t1.Seconds()/float64(b.N), "one-source-s")
	b.ReportMetric(t3.Seconds()/float64(b.N), "three-sources-s")
	b.ReportMetric(t1.Seconds()/t3.Seconds(), "speedup")
}

// BenchmarkFileRSS moves a file (1 GiB, or PARLEY_BENCH_FILE_MB) between
// two daemons on loopback and reports how much each one's resident memory
// grew at most while it did (sampled every 100 ms), and the rate.
func BenchmarkFileRSS(b *testing.B) {
	size := 1 << 30
	if v, err := strconv.Atoi(os.Getenv("PARLEY_BENCH_FILE_MB")); err == nil && v > 0 {
		size = v << 20
	}
	src := testnet.NewDaemon(b, "src")
	dst := testnet.NewDaemon(b, "dst")
	for _, d := range []*testnet.Daemon{src, dst} {
		withConfig(b, d, "auto_join = []\nauto_download = \"0\"\n")
		d.Start(loopbackListen...)
	}
	dst.MustRun("connect", src.Identity().Addrs[0])
	for _, d := range []*testnet.Daemon{src, dst} {
		d.MustRun("join", "#bench")
	}
	p, _ := writeRandom(b, b.TempDir(), "big.bin", size)
	r := src.Run("share", p, "#bench")
	if r.Code != 0 {
		b.Fatalf("share: %s", r.Stderr)
	}
	id := strings.TrimSpace(r.Stdout)
	pollUntil(b, 30*time.Second, "the message at dst", 50*time.Millisecond, func() bool {
		_, err := dst.Client().Message(b.Context(), id)
		return err == nil
	})
	base := map[*testnet.Daemon]int64{src: src.RSS(), dst: dst.RSS()}
	peak := map[*testnet.Daemon]int64{}
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			for _, d := range []*testnet.Daemon{src, dst} {
				peak[d] = max(peak[d], d.RSS()-base[d])
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	b.ResetTimer()
	t0 := time.Now()
	if r := dst.Run("get", id, "--out", b.TempDir(), "--timeout", "10m"); r.Code != 0 {
		b.Fatalf("get: %s", r.Stderr)
	}
	took := time.Since(t0)
	b.StopTimer()
	close(stop)
	<-sampled
	b.ReportMetric(float64(size)/1e6/took.Seconds(), "MB/s")
	b.ReportMetric(float64(peak[dst])/(1<<20), "dst-rss-growth-MiB")
	b.ReportMetric(float64(peak[src])/(1<<20), "src-rss-growth-MiB")
}
