package node_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/node"
	"github.com/parley-chat/parley/node/nodetest"
)

// publishCounter is a chat.PubSub that counts the publishes of each
// message (by its data) on the topics it joins.
type publishCounter struct {
	chat.PubSub
	mu     sync.Mutex
	counts map[string]int
}

func (c *publishCounter) JoinTopic(name string, validate chat.Validator) (chat.Topic, error) {
	t, err := c.PubSub.JoinTopic(name, validate)
	if err != nil {
		return nil, err
	}
	return &countedTopic{Topic: t, c: c}, nil
}

// published returns how often data was published.
func (c *publishCounter) published(data []byte) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.counts[string(data)]
}

type countedTopic struct {
	chat.Topic
	c *publishCounter
}

func (t *countedTopic) Publish(ctx context.Context, data []byte) (chat.Proof, error) {
	t.c.mu.Lock()
	t.c.counts[string(data)]++
	t.c.mu.Unlock()
	return t.Topic.Publish(ctx, data)
}

// lateUnpublished is a store that is slow to say which room messages are
// unpublished: it answers once a room message has been enqueued since the
// question was asked, or after a while.
type lateUnpublished struct {
	chat.Store
	enqueued chan struct{}
	once     sync.Once
}

func (s *lateUnpublished) Unpublished() ([]*chat.Message, error) {
	select {
	case <-s.enqueued:
	case <-time.After(500 * time.Millisecond):
	}
	return s.Store.Unpublished()
}

func (s *lateUnpublished) EnqueueRoom(ms ...*chat.Message) error {
	err := s.Store.EnqueueRoom(ms...)
	s.once.Do(func() { close(s.enqueued) })
	return err
}

// TestMocknetRoomPublishesOnce: a member publishes each of its room
// messages once, its join line and what it sends right after joining
// included, however late its store answers which messages a previous run
// left unpublished (those are published when the room opens; what is
// posted after that goes through the room's queue alone).
func TestMocknetRoomPublishesOnce(t *testing.T) {
	const room = "once"
	counter := &publishCounter{counts: map[string]int{}}
	c := nodetest.NewCluster(t, 2, nodetest.Options{
		InMemory: true,
		PerMember: func(i int, cfg *chat.Config, _ *node.Config) {
			if i == 0 {
				cfg.Store = &lateUnpublished{Store: cfg.Store, enqueued: make(chan struct{})}
			}
		},
		Wrap: func(i int, cfg *chat.Config) {
			if i == 0 {
				counter.PubSub = cfg.PubSub
				cfg.PubSub = counter
			}
		},
	})
	author, receiver := c.Members[0], c.Members[1]
	c.Connect(0, 1)
	joinRoom(t, receiver, room)
	joinRoom(t, author, room)
	var sent []*chat.Message
	for k := range 5 {
		sent = append(sent, sendRoom(t, author, room, fmt.Sprintf("right after joining, %d", k)))
	}
	waitSameHistories(t, 20*time.Second, c.Members, room, 2+len(sent), idsOf(sent))
	waitPublished(t, author)
	for _, m := range roomHistory(t, author, room) {
		if m.Author != author.ID() {
			continue
		}
		if n := counter.published(m.Envelope); n != 1 {
			t.Errorf("%v message %q: published %d times, want once", m.Kind, m.Body, n)
		}
	}
}

// busyOnce is a chat.PubSub whose topics time out the first publish of
// each message, as GossipSub does when it is too busy to take one before
// the caller's deadline; it counts the publishes of each message.
type busyOnce struct {
	publishCounter
}

func (b *busyOnce) JoinTopic(name string, validate chat.Validator) (chat.Topic, error) {
	t, err := b.PubSub.JoinTopic(name, validate)
	if err != nil {
		return nil, err
	}
	return &busyTopic{Topic: t, c: &b.publishCounter}, nil
}

type busyTopic struct {
	chat.Topic
	c *publishCounter
}

func (t *busyTopic) Publish(ctx context.Context, data []byte) (chat.Proof, error) {
	t.c.mu.Lock()
	t.c.counts[string(data)]++
	first := t.c.counts[string(data)] == 1
	t.c.mu.Unlock()
	if first {
		return chat.Proof{}, fmt.Errorf("router is not ready: %w", context.DeadlineExceeded)
	}
	return t.Topic.Publish(ctx, data)
}

// TestMocknetRoomPublishTimesOut: a message whose publish times out is
// published again while the room runs (unpublished, it has no proof, so
// sync would not carry it either): it reaches the other members, and the
// author holds nothing unpublished.
func TestMocknetRoomPublishTimesOut(t *testing.T) {
	const room = "busy"
	busy := &busyOnce{publishCounter{counts: map[string]int{}}}
	c := nodetest.NewCluster(t, 2, nodetest.Options{
		InMemory: true,
		Wrap: func(i int, cfg *chat.Config) {
			if i == 0 {
				busy.PubSub = cfg.PubSub
				cfg.PubSub = busy
			}
		},
	})
	author, receiver := c.Members[0], c.Members[1]
	c.Connect(0, 1)
	joinRoom(t, receiver, room)
	joinRoom(t, author, room)
	var sent []*chat.Message
	for k := range 3 {
		sent = append(sent, sendRoom(t, author, room, fmt.Sprintf("published on the second try, %d", k)))
	}
	waitSameHistories(t, 20*time.Second, c.Members, room, 2+len(sent), idsOf(sent))
	waitPublished(t, author)
	for _, m := range sent {
		if n := busy.published(m.Envelope); n != 2 {
			t.Errorf("%q: published %d times, want twice (a time-out, then the message)", m.Body, n)
		}
	}
}
