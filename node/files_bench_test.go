package node_test

import (
	"context"
	"crypto/rand"
	"io"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/parley-chat/parley/chat"
)

const rawCopyProtocol = "/parley-bench/copy/1.0.0"

// BenchmarkFileTransfer moves one file (1 GiB, or PARLEY_BENCH_FILE_MB)
// from one node to another over libp2p on loopback, as /parley/file/1.0.0
// does (HAVE, LIST, batches of verified chunks stored on disk), beside a
// raw libp2p stream copy of the same bytes between the same hosts in the
// same run, and that raw copy again written to a file (what the disk
// costs). It reports the rates, file/raw, and the CPU time each part took
// (both nodes run in this process) per GB. PARLEY_BENCH_FETCH_PROFILE=F
// writes a CPU profile of the fetches alone to F.
//
// On a VM, writing into memory the guest never touched costs far more
// than writing into memory freed a moment ago (the host backs it on first
// touch), so the raw copy to disk is removed before the fetch: both
// writers start with the same memory free.
func BenchmarkFileTransfer(b *testing.B) {
	size := 1 << 30
	if v, err := strconv.Atoi(os.Getenv("PARLEY_BENCH_FILE_MB")); err == nil && v > 0 {
		size = v << 20
	}
	files := func(c *chat.Config) {
		c.AutoDownload = -1 // fetched when the benchmark says
	}
	src := startLoopbackPeer(b, "src", files, withFiles(b))
	dst := startLoopbackPeer(b, "dst", files, withFiles(b))
	connectLoopback(b, dst, src)
	for _, p := range []*loopbackPeer{src, dst} {
		if _, err := p.chat.JoinRoom(context.Background(), "files"); err != nil {
			b.Fatal(err)
		}
	}
	path := filepath.Join(b.TempDir(), "big.bin")
	if err := writeRandomFile(path, size); err != nil {
		b.Fatal(err)
	}

	// Raw: the same bytes, read from the same file, over one stream.
	src.node.Host().SetStreamHandler(rawCopyProtocol, func(s network.Stream) {
		f, err := os.Open(path)
		if err == nil {
			_, _ = io.Copy(s, f)
			_ = f.Close()
		}
		_ = s.Close()
	})
	var rawTook, rawDiskTook, fileTook time.Duration
	var rawCPU, rawDiskCPU, fileCPU time.Duration // both nodes' (the process's)
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		files := func(yield func(chat.SharedFile, error) bool) { yield(chat.SharedFile{Name: "big.bin", Data: f}, nil) }
		m, err := src.chat.ShareFiles(context.Background(), chat.RoomConversation("files"), files, "")
		_ = f.Close()
		if err != nil {
			b.Fatal(err)
		}
		waitMessage(b, dst, m.ID)
		// Both sides start from a clean page cache: the import's writes are
		// on disk, not competing with the transfer's.
		syscall.Sync()
		b.StartTimer()

		t0, c0 := time.Now(), cpuTime()
		s, err := dst.node.Host().NewStream(context.Background(), peer.ID(src.chat.Self()), rawCopyProtocol)
		if err != nil {
			b.Fatal(err)
		}
		n, err := io.Copy(io.Discard, s)
		_ = s.Close()
		if err != nil || n != int64(size) {
			b.Fatalf("raw copy: %d bytes, %v", n, err)
		}
		rawTook, rawCPU = rawTook+time.Since(t0), rawCPU+cpuTime()-c0

		// Raw again, written to a file as a download is: what the disk costs.
		t0, c0 = time.Now(), cpuTime()
		s, err = dst.node.Host().NewStream(context.Background(), peer.ID(src.chat.Self()), rawCopyProtocol)
		if err != nil {
			b.Fatal(err)
		}
		rawPath := filepath.Join(b.TempDir(), "raw.bin")
		out, err := os.Create(rawPath)
		if err != nil {
			b.Fatal(err)
		}
		n, err = io.Copy(out, s)
		_ = s.Close()
		_ = out.Close()
		if err != nil || n != int64(size) {
			b.Fatalf("raw copy to disk: %d bytes, %v", n, err)
		}
		rawDiskTook, rawDiskCPU = rawDiskTook+time.Since(t0), rawDiskCPU+cpuTime()-c0
		b.StopTimer()
		// The copy is not needed: its memory is free again for the
		// download, as memory was free for it (see the note above).
		if err := os.Remove(rawPath); err != nil {
			b.Fatal(err)
		}
		syscall.Sync()
		b.StartTimer()

		t0, c0 = time.Now(), cpuTime()
		if pf := os.Getenv("PARLEY_BENCH_FETCH_PROFILE"); pf != "" {
			pfile, _ := os.Create(pf)
			_ = pprof.StartCPUProfile(pfile)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		err = dst.chat.FetchFile(ctx, m.ID, m.Files[0].Hash)
		cancel()
		pprof.StopCPUProfile()
		if err != nil {
			b.Fatal(err)
		}
		fileTook, fileCPU = fileTook+time.Since(t0), fileCPU+cpuTime()-c0
		b.StopTimer()
		// Next round: a fresh file (the same bytes would be held already).
		if err := writeRandomFile(path, size); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.StopTimer()
	mb := float64(size) * float64(b.N) / 1e6
	b.ReportMetric(mb/rawTook.Seconds(), "raw-MB/s")
	b.ReportMetric(mb/rawDiskTook.Seconds(), "raw-to-disk-MB/s")
	b.ReportMetric(mb/fileTook.Seconds(), "file-MB/s")
	b.ReportMetric(rawTook.Seconds()/fileTook.Seconds(), "file/raw")
	gb := mb / 1e3
	b.ReportMetric(rawCPU.Seconds()/gb, "raw-cpu-s/GB")
	b.ReportMetric(rawDiskCPU.Seconds()/gb, "raw-to-disk-cpu-s/GB")
	b.ReportMetric(fileCPU.Seconds()/gb, "file-cpu-s/GB")
}

// cpuTime is the CPU time this process used so far, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// withFiles gives a loopback peer file sharing over its store; fetched
// files are not saved anywhere (the benchmark measures the transfer).
func withFiles(tb testing.TB) func(*chat.Config) {
	return func(c *chat.Config) {
		c.Files = c.Store.(chat.FileStore)
	}
}

// writeRandomFile writes size random bytes to path.
func writeRandomFile(path string, size int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	buf := make([]byte, 1<<20)
	for left := size; left > 0; left -= len(buf) {
		_, _ = rand.Read(buf)
		if _, err := f.Write(buf[:min(left, len(buf))]); err != nil {
			_ = f.Close()
			return err
		}
	}
	return f.Close()
}

// waitMessage waits until p holds message id.
func waitMessage(tb testing.TB, p *loopbackPeer, id chat.MessageID) {
	tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := p.chat.Message(id); err == nil {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	tb.Fatalf("message %x never arrived", id[:4])
}
