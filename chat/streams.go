package chat

import "sync"

// streamSet tracks the inbound streams being served, so that stopping the
// service resets them instead of waiting for their peers, and then waits
// for their handlers to return.
type streamSet struct {
	wg      sync.WaitGroup
	mu      sync.Mutex
	closed  bool
	streams map[Stream]struct{}
}

func newStreamSet() *streamSet { return &streamSet{streams: make(map[Stream]struct{})} }

func (ss *streamSet) add(st Stream) bool {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.closed {
		return false
	}
	ss.streams[st] = struct{}{}
	ss.wg.Add(1)
	return true
}

func (ss *streamSet) remove(st Stream) {
	ss.mu.Lock()
	delete(ss.streams, st)
	ss.mu.Unlock()
	ss.wg.Done()
}

// resetAll resets every tracked stream, refuses new ones, and waits until
// every handler has returned.
func (ss *streamSet) resetAll() {
	ss.mu.Lock()
	ss.closed = true
	for st := range ss.streams {
		_ = st.Reset()
	}
	ss.mu.Unlock()
	ss.wg.Wait()
}

// serveInbound runs serve for an inbound stream as a goroutine-owned part
// of the service: the stream is reset if the service stops, and on
// serve's error; it is closed when serve succeeds. Stream handlers never
// return errors: they log at Debug.
func (s *Service) serveInbound(st Stream, what string, p PeerID, serve func() error) {
	if s.life.Stopping() || !s.inbound.add(st) {
		_ = st.Reset()
		return
	}
	defer s.inbound.remove(st)
	if err := serve(); err != nil {
		s.log.Debug(what+" ended", "peer", p, "err", err)
		_ = st.Reset()
		return
	}
	_ = st.Close()
}
