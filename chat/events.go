package chat

import (
	"sync"
	"time"
)

// EventType says what an Event reports.
type EventType string

// Event types.
const (
	EventMessage  EventType = "message"  // a message was stored (sent or received)
	EventStatus   EventType = "status"   // an outgoing message changed status
	EventPeer     EventType = "peer"     // a peer came up, went down or changed nick
	EventTyping   EventType = "typing"   // a peer is typing in Room
	EventPresence EventType = "presence" // a peer came online (Peer.Connected) or went offline in Room
	EventRoom     EventType = "room"     // this node joined (Joined) or left Room
	EventRead     EventType = "read"     // Conversation's read marker moved
	EventMembers  EventType = "members"  // a private room's members, roles or settings changed (Room)
	EventReceipt  EventType = "receipt"  // Peer's read position in Conversation moved up to message ID
)

// Event is one entry of the event stream.
type Event struct {
	Type         EventType
	Time         time.Time
	Message      *Message     // EventMessage and EventStatus (ID, Conversation, Status, Reason set)
	Peer         *Peer        // EventPeer, EventTyping, EventPresence
	Room         string       // EventTyping, EventPresence, EventRoom
	Joined       bool         // EventRoom
	Conversation Conversation // EventRead, EventReceipt
	ID           MessageID    // EventReceipt: the message read up to
	File         *FileEvent   // EventFile
}

// subscriberBuffer is how many events a subscriber may lag behind before it
// is dropped. A dropped subscriber sees its channel closed and resyncs from
// history; the node never blocks on a slow client.
const subscriberBuffer = 4096

type eventBus struct {
	mu     sync.Mutex
	subs   map[*subscriber]struct{}
	closed bool
}

type subscriber struct {
	ch chan Event
}

func newEventBus() *eventBus { return &eventBus{subs: make(map[*subscriber]struct{})} }

func (b *eventBus) subscribe() (<-chan Event, func()) {
	s := &subscriber{ch: make(chan Event, subscriberBuffer)}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		close(s.ch)
		return s.ch, func() {}
	}
	b.subs[s] = struct{}{}
	return s.ch, func() { b.drop(s) }
}

func (b *eventBus) drop(s *subscriber) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.subs[s]; ok {
		delete(b.subs, s)
		close(s.ch)
	}
}

func (b *eventBus) publish(e Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.subs {
		select {
		case s.ch <- e:
		default:
			delete(b.subs, s)
			close(s.ch)
		}
	}
}

func (b *eventBus) close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	for s := range b.subs {
		delete(b.subs, s)
		close(s.ch)
	}
}
