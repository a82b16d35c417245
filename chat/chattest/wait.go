package chattest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley/chat"
)

// Timeout bounds every wait for something to happen. Things normally
// happen within milliseconds; the bound only decides how long a broken
// test takes to fail, and is generous so that a busy machine never fails a
// working test.
const Timeout = 20 * time.Second

// WaitFor polls cond until it holds, failing the test after timeout (0:
// Timeout). Prefer EventLog.WaitFor when an event reports the change.
func WaitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	if timeout == 0 {
		timeout = Timeout
	}
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: not after %v", what, timeout)
		}
		<-tick.C
	}
}

// EventLog records a service's events so tests can wait for them without
// losing the ones they were not waiting for.
type EventLog struct {
	mu      sync.Mutex
	events  []chat.Event
	closed  bool
	changed chan struct{}
	done    chan struct{}
}

// NewEventLog subscribes to svc; the log ends when the service closes (or
// drops a subscriber that falls too far behind).
func NewEventLog(svc *chat.Service) *EventLog {
	ch, _ := svc.Subscribe()
	l := &EventLog{changed: make(chan struct{}), done: make(chan struct{})}
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

// Wait waits for the log's reader to finish after the service closed.
func (l *EventLog) Wait() { <-l.done }

// Count returns how many events so far match.
func (l *EventLog) Count(match func(chat.Event) bool) int { return len(l.All(match)) }

// All returns the events so far that match.
func (l *EventLog) All(match func(chat.Event) bool) []chat.Event {
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

// WaitFor waits until the log holds an event that matches, and returns the
// first one; it fails the test after Timeout.
func (l *EventLog) WaitFor(t testing.TB, what string, match func(chat.Event) bool) chat.Event {
	t.Helper()
	ev, err := l.Await(match, Timeout)
	if err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
	return ev
}

// Await is WaitFor for goroutines other than the test's: it returns an
// error instead of failing the test.
func (l *EventLog) Await(match func(chat.Event) bool, timeout time.Duration) (chat.Event, error) {
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

// StatusIs matches a status event of message id.
func StatusIs(id chat.MessageID, st chat.Status) func(chat.Event) bool {
	return func(ev chat.Event) bool {
		return ev.Type == chat.EventStatus && ev.Message.ID == id && ev.Message.Status == st
	}
}

// MessageIs matches the event of message id being stored.
func MessageIs(id chat.MessageID) func(chat.Event) bool {
	return func(ev chat.Event) bool { return ev.Type == chat.EventMessage && ev.Message.ID == id }
}

// PeerNickIs matches an event of peer p with nickname nick.
func PeerNickIs(p chat.PeerID, nick string) func(chat.Event) bool {
	return func(ev chat.Event) bool {
		return ev.Type == chat.EventPeer && ev.Peer.ID == p && ev.Peer.Nick == nick
	}
}
