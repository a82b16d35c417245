package chattest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley/chat"
)

// Errors a Stream returns.
var (
	// ErrStreamReset is returned on a stream either end reset (or whose link was cut).
	ErrStreamReset = errors.New("fake stream reset")
	// ErrStreamClosed is returned when writing to a closed stream or reading one closed here.
	ErrStreamClosed = errors.New("fake stream closed")
)

// pipeWindow is how many unread bytes a stream direction holds before
// writes block, like a yamux receive window.
const pipeWindow = 256 << 10

// Net is an in-memory network of nodes whose links are made and cut by the
// test ("links are the ability to connect"). Each node has a
// chat.Transport (AddNode) and may have a chat.PubSub (Transport.PubSub).
// Streams are buffered pipes with libp2p's semantics: Close ends both
// directions (the remote reads EOF after the data), Reset aborts both
// (the remote gets ErrStreamReset), deadlines work, and a cut link resets
// every stream on it. The pipes buffer like a yamux window: a synchronous
// pipe (net.Pipe) would deadlock the profile exchange, where both sides
// write before reading.
type Net struct {
	t testing.TB

	mu     sync.Mutex
	closed bool
	nodes  map[chat.PeerID]*Transport
	links  map[linkKey]map[*pipeHalf]struct{} // connected pairs and the stream halves on them
	hooks  map[hookKey]WriteHook
	opened map[hookKey]int // streams opened, by opener and protocol
	topics map[string]map[chat.PeerID]*memTopic
	wg     sync.WaitGroup // stream handler goroutines
}

type linkKey struct{ a, b chat.PeerID }

func keyOf(a, b chat.PeerID) linkKey {
	if b < a {
		a, b = b, a
	}
	return linkKey{a, b}
}

type hookKey struct {
	from     chat.PeerID
	protocol string
}

// NewNet returns an empty network. When the test ends every link is
// cut, and the test fails if a stream handler is still running shortly
// after.
func NewNet(t testing.TB) *Net {
	n := &Net{
		t:      t,
		nodes:  make(map[chat.PeerID]*Transport),
		links:  make(map[linkKey]map[*pipeHalf]struct{}),
		hooks:  make(map[hookKey]WriteHook),
		opened: make(map[hookKey]int),
		topics: make(map[string]map[chat.PeerID]*memTopic),
	}
	t.Cleanup(n.close)
	return n
}

func (n *Net) close() {
	n.mu.Lock()
	n.closed = true
	for k, halves := range n.links {
		for h := range halves {
			h.reset()
		}
		delete(n.links, k)
	}
	n.mu.Unlock()
	done := make(chan struct{})
	go func() {
		n.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(Timeout):
		n.t.Errorf("stream handlers still running %v after the network closed", Timeout)
	}
}

// AddNode adds a node with peer ID id and returns its transport.
func (n *Net) AddNode(id chat.PeerID) *Transport {
	n.mu.Lock()
	defer n.mu.Unlock()
	tr := &Transport{
		net:      n,
		self:     id,
		handlers: make(map[string]chat.StreamHandler),
		subs:     make(map[*peerSub]struct{}),
		addrs:    make(map[chat.PeerID][]string),
		served:   make(chan struct{}),
	}
	n.nodes[id] = tr
	return tr
}

func Addr(p chat.PeerID) string { return "/memory/" + p.String() }

// Connect links a and b; both see the other come up.
func (n *Net) Connect(a, b chat.PeerID) {
	n.mu.Lock()
	defer n.mu.Unlock()
	k := keyOf(a, b)
	if _, ok := n.links[k]; ok {
		return
	}
	n.links[k] = make(map[*pipeHalf]struct{})
	n.nodes[a].emitLocked(chat.PeerEvent{Peer: b, Up: true, Addrs: []string{Addr(b)}})
	n.nodes[b].emitLocked(chat.PeerEvent{Peer: a, Up: true, Addrs: []string{Addr(a)}})
	n.topicLinkChangedLocked(a, b, true)
}

// Disconnect cuts the link between a and b: its streams are reset and both
// see the other go down.
func (n *Net) Disconnect(a, b chat.PeerID) {
	n.mu.Lock()
	defer n.mu.Unlock()
	k := keyOf(a, b)
	halves, ok := n.links[k]
	if !ok {
		return
	}
	delete(n.links, k)
	for h := range halves {
		h.reset()
	}
	n.nodes[a].emitLocked(chat.PeerEvent{Peer: b})
	n.nodes[b].emitLocked(chat.PeerEvent{Peer: a})
	n.topicLinkChangedLocked(a, b, false)
}

// WriteHook intercepts a write: it may pass p on with write, change it,
// delay it or drop it (returning len(p), nil without calling write).
type WriteHook func(p []byte, write func([]byte) (int, error)) (int, error)

// SetWriteHook sends every write by node from on streams of protocol
// through hook; a nil hook removes it.
func (n *Net) SetWriteHook(from chat.PeerID, protocol string, hook WriteHook) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if hook == nil {
		delete(n.hooks, hookKey{from, protocol})
		return
	}
	n.hooks[hookKey{from, protocol}] = hook
}

func (n *Net) hook(from chat.PeerID, protocol string) WriteHook {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.hooks[hookKey{from, protocol}]
}

// StreamsOpened counts the streams node from opened for protocol.
func (n *Net) StreamsOpened(from chat.PeerID, protocol string) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.opened[hookKey{from, protocol}]
}

// Transport is one node's chat.Transport on a Net. Its state is
// guarded by net.mu.
type Transport struct {
	net      *Net
	self     chat.PeerID
	handlers map[string]chat.StreamHandler
	subs     map[*peerSub]struct{}
	addrs    map[chat.PeerID][]string // from AddPeerAddrs
	served   chan struct{}            // closed and replaced when handlers change
}

var _ chat.Transport = (*Transport)(nil)

func (tr *Transport) Self() chat.PeerID { return tr.self }

func (tr *Transport) OpenStream(ctx context.Context, p chat.PeerID, protocol string) (chat.Stream, error) {
	n := tr.net
	n.mu.Lock()
	defer n.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	halves, ok := n.links[keyOf(tr.self, p)]
	if n.closed || !ok || p == tr.self {
		return nil, fmt.Errorf("fake transport: no connection to %s", p.Short())
	}
	h := n.nodes[p].handlers[protocol]
	if h == nil {
		return nil, fmt.Errorf("fake transport: %s does not speak %s", p.Short(), protocol)
	}
	n.opened[hookKey{tr.self, protocol}]++
	local, remote := newStreamPair(n, tr.self, p, protocol)
	halves[local.in] = struct{}{}
	halves[local.out] = struct{}{}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		h(tr.self, remote)
	}()
	return local, nil
}

func (tr *Transport) SetStreamHandler(protocol string, h chat.StreamHandler) {
	tr.net.mu.Lock()
	defer tr.net.mu.Unlock()
	tr.handlers[protocol] = h
	close(tr.served)
	tr.served = make(chan struct{})
}

func (tr *Transport) RemoveStreamHandler(protocol string) {
	tr.net.mu.Lock()
	defer tr.net.mu.Unlock()
	delete(tr.handlers, protocol)
	close(tr.served)
	tr.served = make(chan struct{})
}

// WaitServing waits until the node serves every one of protocols.
func (tr *Transport) WaitServing(t testing.TB, protocols ...string) {
	t.Helper()
	deadline := time.NewTimer(Timeout)
	defer deadline.Stop()
	for {
		tr.net.mu.Lock()
		missing := slices.ContainsFunc(protocols, func(p string) bool { return tr.handlers[p] == nil })
		changed := tr.served
		tr.net.mu.Unlock()
		if !missing {
			return
		}
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("node %s does not serve %v after %v", tr.self.Short(), protocols, Timeout)
		}
	}
}

func (tr *Transport) SubscribePeers() (<-chan chat.PeerEvent, func()) {
	sub := &peerSub{
		out:    make(chan chat.PeerEvent),
		signal: make(chan struct{}, 1),
		done:   make(chan struct{}),
		exited: make(chan struct{}),
	}
	n := tr.net
	n.mu.Lock()
	for k := range n.links {
		switch tr.self {
		case k.a:
			sub.push(chat.PeerEvent{Peer: k.b, Up: true, Addrs: []string{Addr(k.b)}})
		case k.b:
			sub.push(chat.PeerEvent{Peer: k.a, Up: true, Addrs: []string{Addr(k.a)}})
		}
	}
	tr.subs[sub] = struct{}{}
	n.mu.Unlock()
	go sub.pump()
	var once sync.Once
	return sub.out, func() {
		once.Do(func() {
			n.mu.Lock()
			delete(tr.subs, sub)
			n.mu.Unlock()
			close(sub.done)
			<-sub.exited
		})
	}
}

func (tr *Transport) AddPeerAddrs(p chat.PeerID, addrs []string) {
	tr.net.mu.Lock()
	defer tr.net.mu.Unlock()
	tr.addrs[p] = slices.Clone(addrs)
}

// KnownAddrs returns what AddPeerAddrs recorded for p.
func (tr *Transport) KnownAddrs(p chat.PeerID) []string {
	tr.net.mu.Lock()
	defer tr.net.mu.Unlock()
	return slices.Clone(tr.addrs[p])
}

func (tr *Transport) emitLocked(ev chat.PeerEvent) {
	for sub := range tr.subs {
		sub.push(ev)
	}
}

// peerSub delivers peer events in order without ever blocking the network:
// events queue up and a pump goroutine hands them over.
type peerSub struct {
	mu     sync.Mutex
	queue  []chat.PeerEvent
	signal chan struct{}
	out    chan chat.PeerEvent
	done   chan struct{} // closed by cancel
	exited chan struct{} // closed when pump returns
}

func (s *peerSub) push(ev chat.PeerEvent) {
	s.mu.Lock()
	s.queue = append(s.queue, ev)
	s.mu.Unlock()
	select {
	case s.signal <- struct{}{}:
	default:
	}
}

func (s *peerSub) pump() {
	defer close(s.exited)
	defer close(s.out)
	for {
		s.mu.Lock()
		batch := s.queue
		s.queue = nil
		s.mu.Unlock()
		for _, ev := range batch {
			select {
			case s.out <- ev:
			case <-s.done:
				return
			}
		}
		select {
		case <-s.signal:
		case <-s.done:
			return
		}
	}
}

// Stream is one end of a stream.
type Stream struct {
	in, out  *pipeHalf
	net      *Net
	owner    chat.PeerID // the node holding this end
	remote   chat.PeerID
	protocol string
}

var _ chat.Stream = (*Stream)(nil)

func newStreamPair(n *Net, opener, remote chat.PeerID, protocol string) (*Stream, *Stream) {
	ab, ba := newPipeHalf(), newPipeHalf()
	return &Stream{in: ba, out: ab, net: n, owner: opener, remote: remote, protocol: protocol},
		&Stream{in: ab, out: ba, net: n, owner: remote, remote: opener, protocol: protocol}
}

func (s *Stream) Read(p []byte) (int, error) { return s.in.read(p) }

func (s *Stream) Write(p []byte) (int, error) {
	if hook := s.net.hook(s.owner, s.protocol); hook != nil {
		if err := s.out.writable(); err != nil {
			return 0, err
		}
		return hook(p, s.out.write)
	}
	return s.out.write(p)
}

// Close ends the stream like libp2p's Close: the remote reads the data
// already written and then io.EOF; this end can neither read nor write.
func (s *Stream) Close() error {
	s.out.closeWrite()
	s.in.closeRead()
	return nil
}

// CloseWrite ends this end's writing only (libp2p's CloseWrite); chat.Stream
// does not have it, tests use it to half-close.
func (s *Stream) CloseWrite() error {
	s.out.closeWrite()
	return nil
}

// Reset aborts both directions; the remote sees ErrStreamReset.
func (s *Stream) Reset() error {
	s.in.reset()
	s.out.reset()
	return nil
}

func (s *Stream) SetReadDeadline(t time.Time) error {
	s.in.setDeadline(&s.in.readDeadline, t)
	return nil
}

func (s *Stream) SetWriteDeadline(t time.Time) error {
	s.out.setDeadline(&s.out.writeDeadline, t)
	return nil
}

// pipeHalf is one direction of a stream.
type pipeHalf struct {
	mu            sync.Mutex
	buf           []byte
	eof           bool // writer closed: the reader sees io.EOF once buf drains
	readerGone    bool // reader closed: writes fail, data is dropped
	isReset       bool
	readDeadline  time.Time
	writeDeadline time.Time
	changed       chan struct{} // closed and replaced on every change
}

func newPipeHalf() *pipeHalf { return &pipeHalf{changed: make(chan struct{})} }

func (h *pipeHalf) broadcastLocked() {
	close(h.changed)
	h.changed = make(chan struct{})
}

// waitLocked waits for a change or the deadline, with h.mu held on entry
// and on return. It reports false if the deadline passed.
func (h *pipeHalf) waitLocked(deadline time.Time) bool {
	ch := h.changed
	if deadline.IsZero() {
		h.mu.Unlock()
		<-ch
		h.mu.Lock()
		return true
	}
	d := time.Until(deadline)
	if d <= 0 {
		return false
	}
	t := time.NewTimer(d)
	defer t.Stop()
	h.mu.Unlock()
	select {
	case <-ch:
	case <-t.C:
	}
	h.mu.Lock()
	return true
}

func (h *pipeHalf) read(p []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for {
		switch {
		case h.isReset:
			return 0, ErrStreamReset
		case h.readerGone:
			return 0, ErrStreamClosed
		case len(h.buf) > 0:
			n := copy(p, h.buf)
			h.buf = h.buf[n:]
			h.broadcastLocked()
			return n, nil
		case h.eof:
			return 0, io.EOF
		case len(p) == 0:
			return 0, nil
		}
		if !h.waitLocked(h.readDeadline) {
			return 0, os.ErrDeadlineExceeded
		}
	}
}

func (h *pipeHalf) writable() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.writeErrLocked()
}

func (h *pipeHalf) writeErrLocked() error {
	switch {
	case h.isReset:
		return ErrStreamReset
	case h.eof, h.readerGone:
		return ErrStreamClosed
	}
	return nil
}

func (h *pipeHalf) write(p []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	written := 0
	for {
		if err := h.writeErrLocked(); err != nil {
			return written, err
		}
		if space := pipeWindow - len(h.buf); space > 0 {
			k := min(space, len(p))
			h.buf = append(h.buf, p[:k]...)
			p = p[k:]
			written += k
			h.broadcastLocked()
			if len(p) == 0 {
				return written, nil
			}
			continue
		}
		if !h.waitLocked(h.writeDeadline) {
			return written, os.ErrDeadlineExceeded
		}
	}
}

func (h *pipeHalf) closeWrite() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.eof = true
	h.broadcastLocked()
}

func (h *pipeHalf) closeRead() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.readerGone = true
	h.buf = nil
	h.broadcastLocked()
}

func (h *pipeHalf) reset() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.isReset = true
	h.buf = nil
	h.broadcastLocked()
}

func (h *pipeHalf) setDeadline(d *time.Time, t time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	*d = t
	h.broadcastLocked()
}
