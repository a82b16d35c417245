package chat_test

import (
	"bufio"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/crypto"
	"github.com/parley-chat/parley/internal/wire"
	"github.com/parley-chat/parley/store"
)

// waitTimeout bounds every wait for something to happen. Things normally
// happen within milliseconds; the bound only decides how long a broken
// test takes to fail.
const waitTimeout = 10 * time.Second

// fastConfig returns timeouts small enough for tests to retry and give up
// quickly, yet far above what an in-memory round trip takes.
func fastConfig() chat.Config {
	return chat.Config{
		StreamIdleTimeout: 500 * time.Millisecond,
		FirstFrameTimeout: 2 * time.Second,
		AckTimeout:        time.Second,
		RetryMin:          5 * time.Millisecond,
		RetryMax:          50 * time.Millisecond,
	}
}

// testNode is a running chat.Service on a fakeNet with its own store.
type testNode struct {
	t        testing.TB
	net      *fakeNet
	identity *crypto.Identity
	id       chat.PeerID
	tr       *fakeTransport
	dir      string // store directory; "" for an in-memory store
	cfg      chat.Config
	store    *store.Store
	svc      *chat.Service
	events   *eventLog
	stopped  chan struct{} // closed when Run returned

	putPeerHook func(chat.Peer)
}

type nodeOption func(*testNode)

// withNick sets the node's nickname.
func withNick(nick string) nodeOption { return func(n *testNode) { n.cfg.Nick = nick } }

// withConfig changes the node's chat.Config.
func withConfig(f func(*chat.Config)) nodeOption { return func(n *testNode) { f(&n.cfg) } }

// withPutPeerHook calls hook before each PutPeer reaches the store.
func withPutPeerHook(hook func(chat.Peer)) nodeOption {
	return func(n *testNode) { n.putPeerHook = hook }
}

// hookedStore is a store whose PutPeer calls a hook first.
type hookedStore struct {
	*store.Store
	beforePutPeer func(chat.Peer)
}

func (s *hookedStore) PutPeer(p chat.Peer) error {
	s.beforePutPeer(p)
	return s.Store.PutPeer(p)
}

// onDisk keeps the node's store in a directory, so it survives a restart.
func onDisk() nodeOption { return func(n *testNode) { n.dir = n.t.TempDir() } }

// newIdentity returns a fresh identity.
func newIdentity(t testing.TB) *crypto.Identity {
	t.Helper()
	id, err := crypto.NewIdentity(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// newNode adds a node to net and starts its service; everything is stopped
// when the test ends.
func newNode(t testing.TB, net *fakeNet, opts ...nodeOption) *testNode {
	t.Helper()
	n := &testNode{t: t, net: net, identity: newIdentity(t), cfg: fastConfig()}
	for _, o := range opts {
		o(n)
	}
	n.id = n.identity.PeerID()
	n.tr = net.addNode(n.id)
	n.start()
	t.Cleanup(n.stop)
	return n
}

// start opens the store and runs a fresh service over it.
func (n *testNode) start() {
	n.t.Helper()
	st, err := store.Open(n.dir, store.Options{InMemory: n.dir == ""})
	if err != nil {
		n.t.Fatalf("open store: %v", err)
	}
	cfg := n.cfg
	cfg.Identity = n.identity
	cfg.Transport = n.tr
	cfg.Store = st
	if n.putPeerHook != nil {
		cfg.Store = &hookedStore{Store: st, beforePutPeer: n.putPeerHook}
	}
	svc, err := chat.New(cfg)
	if err != nil {
		_ = st.Close()
		n.t.Fatalf("new service: %v", err)
	}
	n.store, n.svc = st, svc
	n.events = newEventLog(svc) // before Run, so no event is missed
	n.stopped = make(chan struct{})
	go func() {
		defer close(n.stopped)
		if err := svc.Run(n.t.Context()); err != nil {
			n.t.Errorf("run: %v", err)
		}
	}()
	n.tr.waitServing(n.t, chat.DMProtocol, chat.ProfileProtocol)
}

// stop closes the service and its store; it may be called more than once.
func (n *testNode) stop() {
	if n.svc == nil {
		return
	}
	n.t.Helper()
	closed := make(chan error, 1)
	go func() { closed <- n.svc.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			n.t.Errorf("close service: %v", err)
		}
	case <-time.After(waitTimeout):
		n.t.Fatalf("service Close did not return within %v", waitTimeout)
	}
	<-n.stopped
	n.events.wait()
	if err := n.store.Close(); err != nil {
		n.t.Errorf("close store: %v", err)
	}
	n.svc, n.store = nil, nil
}

// restart stops the node and starts it again over the same store
// directory, identity and transport.
func (n *testNode) restart() {
	n.t.Helper()
	if n.dir == "" {
		n.t.Fatal("restart of a node with an in-memory store")
	}
	n.stop()
	n.start()
}

// history returns the node's whole conversation with peer.
func (n *testNode) history(peer chat.PeerID) []*chat.Message {
	n.t.Helper()
	ms, err := n.svc.History(chat.DMConversation(peer), chat.Cursor{}, 1000)
	if err != nil {
		n.t.Fatalf("history: %v", err)
	}
	return ms
}

// eventLog records a service's events so tests can wait for them without
// losing the ones they were not waiting for.
type eventLog struct {
	mu      sync.Mutex
	events  []chat.Event
	closed  bool
	changed chan struct{}
	done    chan struct{}
}

func newEventLog(svc *chat.Service) *eventLog {
	ch, _ := svc.Subscribe() // ends when the service closes
	l := &eventLog{changed: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(l.done)
		for ev := range ch {
			l.mu.Lock()
			l.events = append(l.events, ev)
			close(l.changed)
			l.changed = make(chan struct{})
			l.mu.Unlock()
		}
		l.mu.Lock()
		l.closed = true
		close(l.changed)
		l.changed = make(chan struct{})
		l.mu.Unlock()
	}()
	return l
}

// wait waits for the log's reader to finish after the service closed.
func (l *eventLog) wait() { <-l.done }

// count returns how many events so far match.
func (l *eventLog) count(match func(chat.Event) bool) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, ev := range l.events {
		if match(ev) {
			n++
		}
	}
	return n
}

// all returns the events so far that match.
func (l *eventLog) all(match func(chat.Event) bool) []chat.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []chat.Event
	for _, ev := range l.events {
		if match(ev) {
			out = append(out, ev)
		}
	}
	return out
}

// waitFor waits until the log holds an event that matches, and returns the
// first one; it fails the test at the deadline.
func (l *eventLog) waitFor(t testing.TB, what string, match func(chat.Event) bool) chat.Event {
	t.Helper()
	ev, err := l.await(match, waitTimeout)
	if err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
	return ev
}

// await is waitFor for goroutines other than the test's: it returns an
// error instead of failing the test.
func (l *eventLog) await(match func(chat.Event) bool, timeout time.Duration) (chat.Event, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for seen := 0; ; {
		l.mu.Lock()
		for ; seen < len(l.events); seen++ {
			if match(l.events[seen]) {
				ev := l.events[seen]
				l.mu.Unlock()
				return ev, nil
			}
		}
		closed, changed := l.closed, l.changed
		l.mu.Unlock()
		if closed {
			return chat.Event{}, errors.New("the event stream ended")
		}
		select {
		case <-changed:
		case <-deadline.C:
			return chat.Event{}, fmt.Errorf("nothing after %v", timeout)
		}
	}
}

// statusIs matches a status event of message id.
func statusIs(id chat.MessageID, st chat.Status) func(chat.Event) bool {
	return func(ev chat.Event) bool {
		return ev.Type == chat.EventStatus && ev.Message.ID == id && ev.Message.Status == st
	}
}

// messageIs matches the event of message id being stored.
func messageIs(id chat.MessageID) func(chat.Event) bool {
	return func(ev chat.Event) bool { return ev.Type == chat.EventMessage && ev.Message.ID == id }
}

// peerNickIs matches an event of peer p with nickname nick.
func peerNickIs(p chat.PeerID, nick string) func(chat.Event) bool {
	return func(ev chat.Event) bool {
		return ev.Type == chat.EventPeer && ev.Peer.ID == p && ev.Peer.Nick == nick
	}
}

// waitUntil polls cond until it holds, failing the test at the deadline.
// Prefer eventLog.waitFor; this is for state no event reports.
func waitUntil(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: not after %v", what, waitTimeout)
		}
		<-tick.C
	}
}

// sealDM encodes a direct-message envelope the way chat seals one.
func sealDM(t testing.TB, from, to chat.PeerID, h chat.HLC, body string) []byte {
	t.Helper()
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(&wire.Envelope{
		Version: 1,
		Author:  []byte(from),
		ToPeer:  []byte(to),
		Hlc:     uint64(h),
		Kind:    wire.Kind_KIND_TEXT,
		Body:    body,
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// messageFrame returns one length-delimited DM frame carrying envelope.
func messageFrame(t testing.TB, envelope []byte) []byte {
	t.Helper()
	b, err := proto.Marshal(&wire.DMFrame{Frame: &wire.DMFrame_Message{Message: &wire.SignedEnvelope{Envelope: envelope}}})
	if err != nil {
		t.Fatal(err)
	}
	return lengthPrefixed(b)
}

// ackFrame returns one length-delimited DM frame carrying entries.
func ackFrame(t testing.TB, entries ...*wire.AckEntry) []byte {
	t.Helper()
	b, err := encodeAck(entries...)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// encodeAck is ackFrame for goroutines other than the test's.
func encodeAck(entries ...*wire.AckEntry) ([]byte, error) {
	b, err := proto.Marshal(&wire.DMFrame{Frame: &wire.DMFrame_Ack{Ack: &wire.Ack{Entries: entries}}})
	if err != nil {
		return nil, err
	}
	return lengthPrefixed(b), nil
}

func lengthPrefixed(b []byte) []byte {
	return append(binary.AppendUvarint(nil, uint64(len(b))), b...)
}

// rawPeer speaks the wire protocol by hand: it reads frames and writes
// what a test tells it to.
type rawPeer struct {
	r *bufio.Reader
	s chat.Stream
}

func newRawPeer(s chat.Stream) *rawPeer { return &rawPeer{r: bufio.NewReader(s), s: s} }

// next reads one frame.
func (p *rawPeer) next() ([]byte, error) {
	n, err := binary.ReadUvarint(p.r)
	if err != nil {
		return nil, err
	}
	if n > 1<<20 {
		return nil, fmt.Errorf("frame of %d bytes", n)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(p.r, b); err != nil {
		return nil, err
	}
	return b, nil
}

// nextDM reads one DM frame.
func (p *rawPeer) nextDM() (*wire.DMFrame, error) {
	b, err := p.next()
	if err != nil {
		return nil, err
	}
	var f wire.DMFrame
	if err := proto.Unmarshal(b, &f); err != nil {
		return nil, err
	}
	return &f, nil
}

// readAcks reads ack frames until it has n entries.
func (p *rawPeer) readAcks(n int) ([]*wire.AckEntry, error) {
	var entries []*wire.AckEntry
	for len(entries) < n {
		f, err := p.nextDM()
		if err != nil {
			return entries, err
		}
		ack := f.GetAck()
		if ack == nil {
			return entries, errors.New("got a frame that is not an ack")
		}
		entries = append(entries, ack.Entries...)
	}
	return entries, nil
}

// openRaw opens a stream from node `from` to `to` and sets a deadline so a
// broken test cannot hang on it.
func openRaw(t testing.TB, from *fakeTransport, to chat.PeerID, protocol string) chat.Stream {
	t.Helper()
	s, err := from.OpenStream(t.Context(), to, protocol)
	if err != nil {
		t.Fatalf("open %s stream: %v", protocol, err)
	}
	_ = s.SetReadDeadline(time.Now().Add(waitTimeout))
	_ = s.SetWriteDeadline(time.Now().Add(waitTimeout))
	t.Cleanup(func() { _ = s.Reset() })
	return s
}

// ackedID returns the message ID an ack entry names; an entry of the wrong
// length gives an ID no message has.
func ackedID(e *wire.AckEntry) chat.MessageID {
	var id chat.MessageID
	if len(e.Id) == len(id) {
		copy(id[:], e.Id)
	} else {
		id[0] = 0xee
	}
	return id
}

// barrier sends a message from one node to another and waits until the
// receiver has announced it. Events are announced in order, so afterwards
// every event the receiver published before that message is in its log:
// counting events there then misses none.
func barrier(t testing.TB, from, to *testNode) {
	t.Helper()
	m, err := from.svc.SendDM(to.id, "barrier")
	if err != nil {
		t.Fatalf("barrier: %v", err)
	}
	to.events.waitFor(t, "the barrier message", messageIs(m.ID))
}
