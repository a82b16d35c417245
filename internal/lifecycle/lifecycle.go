// Package lifecycle gives every long-lived part of Parley one shape: a
// constructor that only builds, Run(ctx) that starts the part's work, owns
// its goroutines and returns nil once ctx is cancelled (or Close is
// called), and an idempotent Close that stops the part and waits for it.
//
// A part keeps a Lifetime and hands it its start and stop steps:
//
//	func (p *Part) Run(ctx context.Context) error { return p.life.Run(ctx, p.start, p.stop) }
//	func (p *Part) Close() error                  { p.life.Close(p.stop); return p.release() }
//
// Goroutines the part starts go through Lifetime.Go, so that stopping
// waits for every one of them; after the part began stopping Go starts
// nothing.
package lifecycle

import (
	"context"
	"sync"
)

// Lifetime is the private lifetime of one part: a context cancelled when
// the part stops, and the goroutines started under it.
type Lifetime struct {
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	once    sync.Once
	done    chan struct{} // closed once the part has stopped completely
	started chan struct{} // closed once start has returned without error

	mu       sync.Mutex
	running  bool // Run was called
	stopping bool
}

// New returns the lifetime of a part that has not started.
func New() *Lifetime {
	l := &Lifetime{done: make(chan struct{}), started: make(chan struct{})}
	l.ctx, l.cancel = context.WithCancel(context.Background())
	return l
}

// Context is cancelled when the part starts stopping.
func (l *Lifetime) Context() context.Context { return l.ctx }

// Started is closed once Run's start step has returned without error:
// from then on the part serves what it serves. It is never closed for a
// part whose start failed or that was closed before it ran.
func (l *Lifetime) Started() <-chan struct{} { return l.started }

// Stopping reports whether the part has begun to stop.
func (l *Lifetime) Stopping() bool { return l.ctx.Err() != nil }

// Go runs f in a goroutine the part owns. Once the part is stopping it
// starts nothing and reports false.
func (l *Lifetime) Go(f func()) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopping {
		return false
	}
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		f()
	}()
	return true
}

// Cancel makes Run stop, as Close does, without waiting for it: a
// goroutine of the part that finds the part broken calls it.
func (l *Lifetime) Cancel() { l.cancel() }

// Wait waits for the goroutines started with Go. A stop step calls it to
// order what happens after them.
func (l *Lifetime) Wait() { l.wg.Wait() }

// Run calls start (if not nil) and then waits until ctx is cancelled or
// Close is called. Either way it stops the part (see Close) before it
// returns. It returns start's error, else nil. Run after Close returns nil
// at once; a second Run starts nothing and returns nil once the part has
// stopped.
func (l *Lifetime) Run(ctx context.Context, start func() error, stop func()) error {
	l.mu.Lock()
	if l.running || l.stopping {
		l.mu.Unlock()
		<-l.done
		return nil
	}
	l.running = true
	l.mu.Unlock()
	var err error
	if start != nil {
		err = start()
	}
	if err == nil {
		close(l.started)
		select {
		case <-ctx.Done():
		case <-l.ctx.Done():
		}
	}
	l.shutdown(stop)
	return err
}

// Close stops the part and waits until it has stopped: the lifetime's
// context is cancelled, stop runs once (whether or not Run was ever
// called), and every goroutine started with Go has returned. It is
// idempotent and safe to call concurrently with Run.
func (l *Lifetime) Close(stop func()) {
	l.cancel()
	l.mu.Lock()
	running := l.running
	if !running {
		// Decided under the lock: a Run that comes later sees it and
		// starts nothing, so stop never runs while start does.
		l.stopping = true
	}
	l.mu.Unlock()
	if running {
		<-l.done
		return
	}
	l.shutdown(stop)
}

func (l *Lifetime) shutdown(stop func()) {
	l.once.Do(func() {
		l.mu.Lock()
		l.stopping = true
		l.mu.Unlock()
		l.cancel()
		if stop != nil {
			stop()
		}
		l.wg.Wait()
		close(l.done)
	})
	<-l.done
}
