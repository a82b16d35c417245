// Package leaktest is Parley's one goroutine-leak check: goleak, with the
// few process-wide workers that libraries start once and never stop.
// Every package whose tests start goroutines (directly or through the
// store, the node or a service) calls Main from its TestMain, so a test
// that leaves a goroutine running fails its package.
package leaktest

import (
	"testing"

	"go.uber.org/goleak"
)

// ignored are background workers that live for the whole process by
// design: they are started once by a library, not by a test.
var ignored = []goleak.Option{
	goleak.IgnoreAnyFunction("github.com/ipfs/go-log/v2/writer.(*MirrorWriter).logRoutine"),
	goleak.IgnoreAnyFunction("go.opencensus.io/stats/view.(*worker).start"),
	goleak.IgnoreAnyFunction("github.com/libp2p/go-libp2p/p2p/transport/quicreuse.(*reuse).gc"),
	goleak.IgnoreTopFunction("github.com/libp2p/go-libp2p/p2p/net/mock.(*mocknet).Close"),
	// mocknet delivers each stream's writes from a goroutine that ends
	// only when both ends close or reset it; a stream libp2p's own
	// protocols leave open on a closed host keeps it waiting (seen once
	// in a full run on a loaded 2-core machine). It holds no test state.
	goleak.IgnoreTopFunction("github.com/libp2p/go-libp2p/p2p/net/mock.(*stream).transport"),
	// Badger's and ristretto's caches run one process-wide ticker goroutine.
	goleak.IgnoreAnyFunction("github.com/dgraph-io/ristretto/v2/z.(*AllocatorPool).freeupAllocators"),
	goleak.IgnoreAnyFunction("github.com/golang/glog.(*fileSink).flushDaemon"),
	// bleve (internal/search) starts its analysis workers when loaded.
	goleak.IgnoreTopFunction("github.com/blevesearch/bleve_index_api.AnalysisWorker"),
}

// Main runs the package's tests, then fails it if any goroutine other than
// the ignored workers is still running (goleak retries for a while, so
// goroutines that are ending are given time).
func Main(m *testing.M, extra ...goleak.Option) {
	goleak.VerifyTestMain(m, append(append([]goleak.Option(nil), ignored...), extra...)...)
}

// Check is Main for one test: it fails t if goroutines started during the
// test are still running when it ends.
func Check(t testing.TB) {
	t.Helper()
	opts := append([]goleak.Option{goleak.IgnoreCurrent()}, ignored...)
	t.Cleanup(func() { goleak.VerifyNone(t, opts...) })
}
