package chat

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/parley-chat/parley/internal/wire"
)

// dmLink delivers the outbox of one peer over one stream at a time.
type dmLink struct {
	s    *Service
	peer PeerID
	wake chan struct{} // new messages or acks: the writer looks again
	up   chan struct{} // the peer came up: retry now, not after the backoff

	mu       sync.Mutex
	pending  []*Message             // in the outbox, not on the current stream; oldest first
	inflight map[MessageID]*Message // written on the current stream, not yet acknowledged
	running  bool
	progress time.Time // last write or ack on the current stream
	cur      *dmWriter // the open stream's writer, nil between streams
}

func newDMLink(s *Service, p PeerID) *dmLink {
	return &dmLink{
		s:        s,
		peer:     p,
		wake:     make(chan struct{}, 1),
		up:       make(chan struct{}, 1),
		inflight: make(map[MessageID]*Message),
	}
}

// dmWriter writes message frames on one stream. Both the session's write
// loop and enqueue (for a lone message on an idle stream, saving a
// hand-off) write through it.
type dmWriter struct {
	mu       sync.Mutex
	st       Stream
	bw       *bufio.Writer
	buf      []byte
	deadline deadline
}

// deadline refreshes a stream deadline lazily: only once less than half of
// d is left, so a busy stream does not pay for a timer update per frame.
// The effective limit is between d/2 and d.
type deadline struct {
	set func(time.Time) error
	d   time.Duration
	at  time.Time
}

func (dl *deadline) refresh() {
	now := time.Now()
	if dl.at.Sub(now) < dl.d/2 {
		dl.at = now.Add(dl.d)
		_ = dl.set(dl.at)
	}
}

func (w *dmWriter) write(batch []*Message) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.deadline.refresh()
	for _, m := range batch {
		b, err := proto.Marshal(dmMessageFrame(m))
		if err != nil {
			return fmt.Errorf("encode frame: %w", err)
		}
		w.buf = appendFrame(w.buf[:0], b)
		if _, err := w.bw.Write(w.buf); err != nil {
			return fmt.Errorf("write: %w", err)
		}
	}
	if err := w.bw.Flush(); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
}

func (l *dmLink) enqueue(ms ...*Message) {
	l.mu.Lock()
	if w := l.cur; w != nil && len(ms) == 1 && len(l.pending) == 0 && len(l.inflight) < l.s.cfg.Window {
		// The stream is open and idle: write here rather than wake the
		// write loop. In flight before the write, so that if the session
		// ends meanwhile it requeues the message.
		m := ms[0]
		l.inflight[m.ID] = m
		l.progress = time.Now()
		l.mu.Unlock()
		if err := w.write(ms); err != nil {
			_ = w.st.Reset() // the session sees the reset and requeues
			return
		}
		l.publishSent(ms)
		return
	}
	l.pending = append(l.pending, ms...)
	l.startLocked()
	l.mu.Unlock()
	poke(l.wake)
}

func (l *dmLink) peerUp() {
	l.mu.Lock()
	if len(l.pending)+len(l.inflight) > 0 {
		l.startLocked()
	}
	l.mu.Unlock()
	poke(l.up)
	poke(l.wake)
}

func (l *dmLink) startLocked() {
	if l.running {
		return
	}
	l.running = l.s.goTracked(l.run)
}

// overlaySent marks messages of ms that are on the wire as sent.
func (l *dmLink) overlaySent(ms []*Message) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, m := range ms {
		if m.Status == StatusQueued {
			if _, ok := l.inflight[m.ID]; ok {
				m.Status = StatusSent
			}
		}
	}
}

func (l *dmLink) run() {
	ctx := l.s.ctx()
	backoff := l.s.cfg.RetryMin
	for {
		l.mu.Lock()
		if len(l.pending) == 0 || ctx.Err() != nil {
			l.running = false
			l.mu.Unlock()
			return
		}
		l.mu.Unlock()

		delivered, err := l.session(ctx)
		if ctx.Err() != nil {
			l.mu.Lock()
			l.running = false
			l.mu.Unlock()
			return
		}
		if err == nil || delivered {
			backoff = l.s.cfg.RetryMin
			if err == nil {
				continue
			}
		}
		l.s.log.Debug("direct message delivery paused", "peer", l.peer, "retry_in", backoff, "err", err)
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-l.up:
		case <-ctx.Done():
		}
		t.Stop()
		backoff = min(backoff*2, l.s.cfg.RetryMax)
	}
}

// session opens one stream and delivers over it until the outbox is empty
// and the stream has idled, or the stream fails. It reports whether any
// message was acknowledged.
func (l *dmLink) session(ctx context.Context) (delivered bool, err error) {
	// A dial to stale addresses can hang for seconds; if the peer comes up
	// meanwhile (it dialled us), give up on the dial and use that connection.
	openCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	stopWatch := make(chan struct{})
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		select {
		case <-l.up:
			cancel()
			poke(l.up) // so run retries at once instead of backing off
		case <-stopWatch:
		}
	}()
	st, err := l.s.cfg.Transport.OpenStream(openCtx, l.peer, DMProtocol)
	close(stopWatch)
	<-watchDone
	cancel()
	if err != nil {
		return false, fmt.Errorf("open stream: %w", err)
	}
	readDone := make(chan error, 1)
	var acked sync.WaitGroup
	acked.Add(1)
	go func() {
		defer acked.Done()
		readDone <- l.readAcks(st, &delivered)
	}()
	w := &dmWriter{st: st, bw: bufio.NewWriterSize(st, 64<<10), deadline: deadline{set: st.SetWriteDeadline, d: l.s.cfg.AckTimeout}}
	l.mu.Lock()
	l.cur = w
	l.mu.Unlock()
	err = l.writeLoop(ctx, w, readDone)
	// No new writes from here on; then end the stream and take back what
	// was never acknowledged.
	l.mu.Lock()
	l.cur = nil
	l.mu.Unlock()
	if err != nil {
		_ = st.Reset()
	} else {
		_ = st.Close()
	}
	acked.Wait()
	l.requeueInflight()
	return delivered, err
}

func (l *dmLink) writeLoop(ctx context.Context, w *dmWriter, readDone <-chan error) error {
	cfg := &l.s.cfg
	idle := time.NewTimer(cfg.StreamIdleTimeout)
	defer idle.Stop()
	check := time.NewTicker(cfg.AckTimeout / 4)
	defer check.Stop()
	for {
		batch := l.takePending(cfg.Window)
		if len(batch) > 0 {
			if err := w.write(batch); err != nil {
				return err
			}
			l.publishSent(batch)
			idle.Reset(cfg.StreamIdleTimeout)
		}
		select {
		case <-l.wake:
		case err := <-readDone:
			if err == nil {
				err = errors.New("peer closed the stream")
			}
			return err
		case <-check.C:
			if l.stalled(cfg.AckTimeout) {
				return errors.New("no acknowledgement in time")
			}
		case <-idle.C:
			// Idle counts from the last write or ack, which enqueue's
			// direct writes make too.
			l.mu.Lock()
			quiet := len(l.pending) == 0 && len(l.inflight) == 0
			idleFor := time.Since(l.progress)
			l.mu.Unlock()
			switch {
			case !quiet:
				idle.Reset(cfg.StreamIdleTimeout)
			case idleFor < cfg.StreamIdleTimeout:
				idle.Reset(cfg.StreamIdleTimeout - idleFor)
			default:
				return nil
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// takePending moves up to window-len(inflight) pending messages in flight.
func (l *dmLink) takePending(window int) []*Message {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := min(len(l.pending), window-len(l.inflight))
	if n <= 0 {
		return nil
	}
	batch := slices.Clone(l.pending[:n])
	l.pending = slices.Delete(l.pending, 0, n)
	for _, m := range batch {
		l.inflight[m.ID] = m
	}
	l.progress = time.Now()
	return batch
}

func (l *dmLink) stalled(timeout time.Duration) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.inflight) > 0 && time.Since(l.progress) > timeout
}

// requeueInflight puts messages that were never acknowledged back in line.
func (l *dmLink) requeueInflight() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.inflight) == 0 {
		return
	}
	for _, m := range l.inflight {
		l.pending = append(l.pending, m)
	}
	clear(l.inflight)
	slices.SortFunc(l.pending, func(a, b *Message) int {
		return cmp.Or(cmp.Compare(a.HLC, b.HLC), slices.Compare(a.ID[:], b.ID[:]))
	})
}

// readAcks reads ack frames until the stream ends. Each ack batch is
// persisted before the messages leave the in-flight set.
func (l *dmLink) readAcks(st Stream, delivered *bool) error {
	fr := newFrameReader(st, max(l.s.cfg.MaxFrame, DefaultMaxFrame))
	for {
		b, err := fr.Next()
		if err != nil {
			return err
		}
		var f wire.DMFrame
		if err := proto.Unmarshal(b, &f); err != nil {
			return fmt.Errorf("bad ack frame: %w", err)
		}
		ack := f.GetAck()
		if ack == nil {
			return errors.New("bad ack frame: not an ack")
		}
		if err := l.applyAck(ack); err != nil {
			return err
		}
		*delivered = true
		poke(l.wake)
	}
}

func (l *dmLink) applyAck(ack *wire.Ack) error {
	var updates []StatusUpdate
	l.mu.Lock()
	for _, e := range ack.Entries {
		var id MessageID
		if len(e.Id) != len(id) {
			continue
		}
		copy(id[:], e.Id)
		m, ok := l.inflight[id]
		if !ok {
			continue
		}
		u := StatusUpdate{Message: m, Status: StatusDelivered}
		if e.Status != wire.AckStatus_ACK_STATUS_STORED {
			u.Status = StatusFailed
			u.Reason = cleanReason(e.Reason)
		}
		updates = append(updates, u)
	}
	l.mu.Unlock()
	if len(updates) == 0 {
		return nil
	}
	if err := l.s.cfg.Store.SetStatus(updates); err != nil {
		// Leave them in flight: the stream is reset and they are sent again.
		return fmt.Errorf("record delivery: %w", err)
	}
	l.mu.Lock()
	for _, u := range updates {
		delete(l.inflight, u.Message.ID)
	}
	l.progress = time.Now()
	l.mu.Unlock()
	for _, u := range updates {
		if k := u.Message.Kind; k != KindKey && k != KindRead { // key grants and read receipts are never shown
			l.s.publish(Event{Type: EventStatus, Message: statusCopy(u.Message, u.Status, u.Reason)})
		}
	}
	return nil
}

// publishSent announces written messages as sent, unless their ack has
// been applied meanwhile (then "delivered" or "failed" was announced).
func (l *dmLink) publishSent(ms []*Message) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, m := range ms {
		if _, ok := l.inflight[m.ID]; ok && m.Kind != KindKey && m.Kind != KindRead {
			l.s.publish(Event{Type: EventStatus, Message: statusCopy(m, StatusSent, "")})
		}
	}
}

func cleanReason(s string) string {
	s = cleanText(s, 200)
	if s == "" {
		return "rejected by the recipient"
	}
	return "rejected by the recipient: " + s
}

// cleanText keeps printable characters of a peer-supplied string, up to n bytes.
func cleanText(s string, n int) string {
	out := make([]rune, 0, len(s))
	size := 0
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == 0xfffd {
			continue
		}
		size += len(string(r))
		if size > n {
			break
		}
		out = append(out, r)
	}
	return string(out)
}
