package lifecycle_test

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/parley-chat/parley/internal/leaktest"
	"github.com/parley-chat/parley/internal/lifecycle"
)

func TestMain(m *testing.M) { leaktest.Main(m) }

// part is a long-lived part built on a Lifetime, counting its steps.
type part struct {
	life     *lifecycle.Lifetime
	startErr error
	started  atomic.Int32 // start calls
	stopped  atomic.Int32 // stop calls
	// startReturned is set when start returns; stop checks it, as stop
	// must never run while start does.
	startReturned atomic.Bool
	overlap       atomic.Bool // stop ran while start did
	startYields   int
}

func newPart() *part { return &part{life: lifecycle.New()} }

func (p *part) start() error {
	p.started.Add(1)
	defer p.startReturned.Store(true)
	for range p.startYields {
		runtime.Gosched() // a start that takes a while
	}
	return p.startErr
}

func (p *part) stop() {
	if p.started.Load() > 0 && !p.startReturned.Load() {
		p.overlap.Store(true)
	}
	p.stopped.Add(1)
}

func (p *part) Run(ctx context.Context) error { return p.life.Run(ctx, p.start, p.stop) }
func (p *part) Close()                        { p.life.Close(p.stop) }

// runAsync calls Run in a goroutine; the channel gets its result.
func runAsync(ctx context.Context, p *part) <-chan error {
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	return done
}

// returned reports whether Run's result is in, without waiting.
func returned(done <-chan error) (error, bool) {
	select {
	case err := <-done:
		return err, true
	default:
		return nil, false
	}
}

func (p *part) checkSteps(t *testing.T, wantStarts int) {
	t.Helper()
	if got := p.started.Load(); got != int32(wantStarts) {
		t.Errorf("start ran %d times, want %d", got, wantStarts)
	}
	if got := p.stopped.Load(); got != 1 {
		t.Errorf("stop ran %d times, want once", got)
	}
	if p.overlap.Load() {
		t.Error("stop ran while start was still running")
	}
	if !p.life.Stopping() || p.life.Context().Err() == nil {
		t.Error("the lifetime's context is not cancelled after stopping")
	}
}

func TestRunReturnsNilOnCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newPart()
		ctx, cancel := context.WithCancel(t.Context())
		done := runAsync(ctx, p)
		synctest.Wait()
		if err, ok := returned(done); ok {
			t.Fatalf("Run returned %v before ctx was cancelled", err)
		}
		if p.life.Stopping() {
			t.Error("Stopping: got true while running, want false")
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run after cancel: got %v, want nil", err)
		}
		p.checkSteps(t, 1)
		p.Close() // after Run returned: nothing more happens
		p.checkSteps(t, 1)
	})
}

func TestCloseStopsRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newPart()
		done := runAsync(t.Context(), p)
		synctest.Wait()
		if err, ok := returned(done); ok {
			t.Fatalf("Run returned %v before Close", err)
		}
		p.Close()
		// Close waits for Run's stop, so Run's result is in at once.
		synctest.Wait()
		err, ok := returned(done)
		if !ok {
			t.Fatal("Run still running after Close returned")
		}
		if err != nil {
			t.Errorf("Run after Close: got %v, want nil", err)
		}
		p.checkSteps(t, 1)
	})
}

func TestRunAfterClose(t *testing.T) {
	p := newPart()
	p.Close()
	if got := p.stopped.Load(); got != 1 {
		t.Errorf("Close before Run: stop ran %d times, want once", got)
	}
	if err := p.Run(t.Context()); err != nil {
		t.Errorf("Run after Close: got %v, want nil", err)
	}
	p.checkSteps(t, 0)
}

func TestStartErrorAfterStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		errStart := errors.New("start failed")
		p := newPart()
		p.startErr = errStart
		var worker atomic.Bool // a goroutine start began, still running
		startGo := p.start
		start := func() error {
			p.life.Go(func() {
				worker.Store(true)
				<-p.life.Context().Done()
				time.Sleep(time.Second) // Run must still wait for it
				worker.Store(false)
			})
			return startGo()
		}
		err := p.life.Run(t.Context(), start, p.stop)
		if !errors.Is(err, errStart) {
			t.Errorf("Run: got %v, want the start error", err)
		}
		if worker.Load() {
			t.Error("Run returned before the goroutine start began")
		}
		p.checkSteps(t, 1)
	})
}

// TestStopOnce closes the part before, during and after Run, and many
// times at once: stop runs exactly once, never during start, and Close
// returns only once the part has stopped.
func TestStopOnce(t *testing.T) {
	t.Run("close before run", func(t *testing.T) {
		p := newPart()
		p.Close()
		p.Close()
		if err := p.Run(t.Context()); err != nil {
			t.Fatal(err)
		}
		p.checkSteps(t, 0)
	})
	t.Run("close during run", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p := newPart()
			done := runAsync(t.Context(), p)
			synctest.Wait()
			p.Close()
			p.Close()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			p.checkSteps(t, 1)
		})
	})
	t.Run("close after run", func(t *testing.T) {
		p := newPart()
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if err := p.Run(ctx); err != nil {
			t.Fatal(err)
		}
		p.Close()
		p.Close()
		p.checkSteps(t, 1)
	})
	t.Run("close while start runs", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p := newPart()
			inStart, release := make(chan struct{}), make(chan struct{})
			start := func() error {
				close(inStart)
				<-release
				return p.start()
			}
			done := make(chan error, 1)
			go func() { done <- p.life.Run(t.Context(), start, p.stop) }()
			<-inStart
			closed := make(chan struct{})
			go func() {
				p.Close()
				close(closed)
			}()
			synctest.Wait()
			select {
			case <-closed:
				t.Fatal("Close returned while start was still running")
			default:
			}
			if got := p.stopped.Load(); got != 0 {
				t.Fatalf("stop ran %d times while start was running, want 0", got)
			}
			close(release)
			<-closed
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			p.checkSteps(t, 1)
		})
	})
	t.Run("concurrent", func(t *testing.T) {
		for range 200 {
			p := newPart()
			p.startYields = 10
			var wg sync.WaitGroup
			for range 3 {
				wg.Go(func() {
					p.Close()
					// Close returns only once the part has stopped: start
					// either never ran or has returned.
					if p.started.Load() > 0 && !p.startReturned.Load() {
						t.Error("Close returned while start was running")
					}
					if got := p.stopped.Load(); got != 1 {
						t.Errorf("Close returned after %d stops, want 1", got)
					}
				})
			}
			wg.Go(func() {
				if err := p.Run(context.Background()); err != nil {
					t.Errorf("Run: got %v, want nil", err)
				}
			})
			wg.Wait()
			if got := p.started.Load(); got > 1 {
				t.Fatalf("start ran %d times, want at most once", got)
			}
			p.checkSteps(t, int(p.started.Load()))
			if t.Failed() {
				return
			}
		}
	})
}

func TestGoAfterStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := lifecycle.New()
		var ran atomic.Int32
		var inStop bool
		l.Close(func() {
			inStop = l.Go(func() { ran.Add(1) })
		})
		if inStop {
			t.Error("Go from stop: got true, want false")
		}
		if l.Go(func() { ran.Add(1) }) {
			t.Error("Go after Close: got true, want false")
		}
		synctest.Wait()
		if got := ran.Load(); got != 0 {
			t.Errorf("functions run after stopping: got %d, want 0", got)
		}
	})
}

func TestCloseWaitsForGoroutines(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := lifecycle.New()
		release := make(chan struct{})
		var finished atomic.Int32
		for range 3 {
			if !l.Go(func() {
				<-release
				finished.Add(1)
			}) {
				t.Fatal("Go before stopping: got false, want true")
			}
		}
		closed := make(chan struct{})
		go func() {
			l.Close(nil)
			close(closed)
		}()
		synctest.Wait()
		select {
		case <-closed:
			t.Fatal("Close returned while goroutines started with Go were running")
		default:
		}
		close(release)
		<-closed
		if got := finished.Load(); got != 3 {
			t.Errorf("goroutines finished when Close returned: got %d, want 3", got)
		}
	})
}

func TestGoroutineSeesContextCancelled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newPart()
		var sawCancel atomic.Bool
		start := func() error {
			p.life.Go(func() {
				<-p.life.Context().Done()
				sawCancel.Store(true)
			})
			return p.start()
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- p.life.Run(ctx, start, p.stop) }()
		synctest.Wait()
		if sawCancel.Load() {
			t.Fatal("the lifetime's context was cancelled while running")
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if !sawCancel.Load() {
			t.Error("Run returned before its goroutine saw the context cancelled")
		}
	})
}

func TestCancelStopsRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newPart()
		broken := make(chan struct{})
		start := func() error {
			p.life.Go(func() {
				select {
				case <-broken: // the part finds itself broken
					p.life.Cancel()
				case <-p.life.Context().Done():
				}
			})
			return p.start()
		}
		done := make(chan error, 1)
		go func() { done <- p.life.Run(t.Context(), start, p.stop) }()
		synctest.Wait()
		if err, ok := returned(done); ok {
			t.Fatalf("Run returned %v before Cancel", err)
		}
		close(broken)
		if err := <-done; err != nil {
			t.Errorf("Run after Cancel: got %v, want nil", err)
		}
		p.checkSteps(t, 1)
		p.Close()
		p.checkSteps(t, 1)
	})
}

func TestRunTwice(t *testing.T) {
	t.Run("concurrently", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p := newPart()
			first := runAsync(t.Context(), p)
			synctest.Wait()
			// The second Run starts nothing: it returns nil when the part
			// stops.
			second := runAsync(t.Context(), p)
			synctest.Wait()
			if _, ok := returned(second); ok {
				t.Fatal("second Run returned while the part runs")
			}
			if got := p.started.Load(); got != 1 {
				t.Fatalf("start ran %d times, want once", got)
			}
			p.Close()
			for i, done := range []<-chan error{first, second} {
				if err := <-done; err != nil {
					t.Errorf("Run #%d: got %v, want nil", i+1, err)
				}
			}
			p.checkSteps(t, 1)
		})
	})
	t.Run("after the first returned", func(t *testing.T) {
		p := newPart()
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		for i := range 2 {
			if err := p.Run(ctx); err != nil {
				t.Errorf("Run #%d: got %v, want nil", i+1, err)
			}
		}
		if err := p.Run(t.Context()); err != nil {
			t.Errorf("Run with a live ctx after stopping: got %v, want nil", err)
		}
		p.checkSteps(t, 1)
	})
}

// TestStarted: Started closes once start returned without error, and
// never for a part whose start failed or that was closed before it ran.
func TestStarted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newPart()
		ctx, cancel := context.WithCancel(t.Context())
		done := runAsync(ctx, p)
		<-p.life.Started()
		if got := p.started.Load(); got != 1 {
			t.Errorf("start calls when Started closed: got %d, want 1", got)
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run after cancel: %v, want nil", err)
		}

		failed := newPart()
		failed.startErr = errors.New("no")
		if err := failed.Run(t.Context()); err == nil {
			t.Fatal("Run with a failing start: got nil, want its error")
		}
		closed := newPart()
		closed.Close()
		_ = closed.Run(t.Context())
		synctest.Wait()
		for name, q := range map[string]*part{"failed start": failed, "closed first": closed} {
			select {
			case <-q.life.Started():
				t.Errorf("%s: Started is closed, want it open", name)
			default:
			}
		}
	})
}
