package chattest

import (
	"context"
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/crypto"
)

// PubSub is one node's chat.PubSub on a Net. A message published on a
// topic reaches the members of the topic linked to the publisher (one hop:
// there is no mesh and no relaying; multi-hop behaviour is tested over
// real GossipSub with node/nodetest). Each receiver's validator judges it
// in the publisher's goroutine; an accepted message is queued for the
// receiver's Next, and dropped if 4096 are waiting (pubsub drops too).
// Proofs are Ed25519 signatures of the author over the topic, seqno and
// data (Prove).
type PubSub struct {
	tr  *Transport
	id  *crypto.Identity
	seq atomic.Uint64

	mu        sync.Mutex
	penalties map[chat.PeerID]int
}

var _ chat.PubSub = (*PubSub)(nil)

// topicQueue is how many messages a member's topic holds before dropping.
const topicQueue = 4096

// PubSub returns the node's pubsub; id must be the node's identity (it
// signs what the node publishes).
func (tr *Transport) PubSub(id *crypto.Identity) *PubSub {
	return &PubSub{tr: tr, id: id, penalties: map[chat.PeerID]int{}}
}

// Prove returns author's proof of publishing data on topic with seqno.
func Prove(author *crypto.Identity, topic string, data []byte, seqno uint64) chat.Proof {
	seq := binary.BigEndian.AppendUint64(nil, seqno)
	return chat.Proof{Seqno: seq, Signature: author.Sign(proofBytes(topic, data, seq))}
}

func proofBytes(topic string, data, seqno []byte) []byte {
	b := []byte("chattest-pubsub:")
	b = binary.AppendUvarint(b, uint64(len(topic)))
	b = append(b, topic...)
	b = binary.AppendUvarint(b, uint64(len(seqno)))
	b = append(b, seqno...)
	return append(b, data...)
}

// VerifyProof implements chat.PubSub.
func (ps *PubSub) VerifyProof(topic string, author chat.PeerID, data []byte, proof chat.Proof) error {
	pub, ok := author.PublicKey()
	if !ok {
		return errors.New("author key is not inlined in its peer ID")
	}
	if !ed25519.Verify(pub, proofBytes(topic, data, proof.Seqno), proof.Signature) {
		return errors.New("bad signature")
	}
	return nil
}

// Penalize implements chat.PubSub; Penalties counts the calls.
func (ps *PubSub) Penalize(p chat.PeerID) {
	ps.mu.Lock()
	ps.penalties[p]++
	ps.mu.Unlock()
}

// Penalties returns how often p was penalised.
func (ps *PubSub) Penalties(p chat.PeerID) int {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return ps.penalties[p]
}

// memTopic is one member's joined topic.
type memTopic struct {
	ps       *PubSub
	name     string
	validate chat.Validator
	msgs     chan *chat.PubSubMessage
	events   *queue[chat.TopicPeerEvent]
	closed   chan struct{}
	once     sync.Once
}

// JoinTopic implements chat.PubSub.
func (ps *PubSub) JoinTopic(name string, validate chat.Validator) (chat.Topic, error) {
	n := ps.tr.net
	t := &memTopic{ps: ps, name: name, validate: validate, msgs: make(chan *chat.PubSubMessage, topicQueue), events: newQueue[chat.TopicPeerEvent](), closed: make(chan struct{})}
	n.mu.Lock()
	defer n.mu.Unlock()
	members := n.topics[name]
	if members == nil {
		members = map[chat.PeerID]*memTopic{}
		n.topics[name] = members
	}
	if _, ok := members[ps.tr.self]; ok {
		return nil, errors.New("topic already joined")
	}
	self := ps.tr.self
	for p, other := range members {
		if n.linkedLocked(self, p) {
			other.events.push(chat.TopicPeerEvent{Peer: self, Joined: true})
			t.events.push(chat.TopicPeerEvent{Peer: p, Joined: true})
		}
	}
	members[self] = t
	return t, nil
}

// topicLinkChangedLocked tells the members of every topic both a and b
// joined that the other came or went.
func (n *Net) topicLinkChangedLocked(a, b chat.PeerID, up bool) {
	for _, members := range n.topics {
		ta, tb := members[a], members[b]
		if ta != nil && tb != nil {
			ta.events.push(chat.TopicPeerEvent{Peer: b, Joined: up})
			tb.events.push(chat.TopicPeerEvent{Peer: a, Joined: up})
		}
	}
}

func (n *Net) linkedLocked(a, b chat.PeerID) bool {
	_, ok := n.links[keyOf(a, b)]
	return ok
}

// Publish implements chat.Topic.
func (t *memTopic) Publish(ctx context.Context, data []byte) (chat.Proof, error) {
	if err := ctx.Err(); err != nil {
		return chat.Proof{}, err
	}
	select {
	case <-t.closed:
		return chat.Proof{}, errors.New("topic closed")
	default:
	}
	ps := t.ps
	proof := Prove(ps.id, t.name, data, ps.seq.Add(1))
	n := ps.tr.net
	n.mu.Lock()
	var to []*memTopic
	for p, other := range n.topics[t.name] {
		if p != ps.tr.self && n.linkedLocked(ps.tr.self, p) {
			to = append(to, other)
		}
	}
	n.mu.Unlock()
	for _, other := range to {
		verdict, m := other.validate(ps.tr.self, slices.Clone(data))
		if verdict != chat.Accept || m == nil {
			continue
		}
		m.Proof = proof
		select {
		case other.msgs <- &chat.PubSubMessage{From: ps.tr.self, Message: m}:
		default:
		}
	}
	return proof, nil
}

// Next implements chat.Topic.
func (t *memTopic) Next(ctx context.Context) (*chat.PubSubMessage, error) {
	select {
	case m := <-t.msgs:
		return m, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-t.closed:
		return nil, errors.New("topic closed")
	}
}

// NextPeerEvent implements chat.Topic.
func (t *memTopic) NextPeerEvent(ctx context.Context) (chat.TopicPeerEvent, error) {
	return t.events.next(ctx, t.closed)
}

// Peers implements chat.Topic.
func (t *memTopic) Peers() []chat.PeerID {
	n := t.ps.tr.net
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []chat.PeerID
	for p := range n.topics[t.name] {
		if p != t.ps.tr.self && n.linkedLocked(t.ps.tr.self, p) {
			out = append(out, p)
		}
	}
	return out
}

// Close implements chat.Topic.
func (t *memTopic) Close() error {
	t.once.Do(func() {
		n := t.ps.tr.net
		self := t.ps.tr.self
		n.mu.Lock()
		members := n.topics[t.name]
		delete(members, self)
		for p, other := range members {
			if n.linkedLocked(self, p) {
				other.events.push(chat.TopicPeerEvent{Peer: self, Joined: false})
			}
		}
		n.mu.Unlock()
		close(t.closed)
	})
	return nil
}

// queue is an unbounded FIFO read with a context.
type queue[T any] struct {
	mu     sync.Mutex
	items  []T
	signal chan struct{}
}

func newQueue[T any]() *queue[T] { return &queue[T]{signal: make(chan struct{}, 1)} }

func (q *queue[T]) push(v T) {
	q.mu.Lock()
	q.items = append(q.items, v)
	q.mu.Unlock()
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

func (q *queue[T]) next(ctx context.Context, closed <-chan struct{}) (T, error) {
	for {
		q.mu.Lock()
		if len(q.items) > 0 {
			v := q.items[0]
			q.items = q.items[1:]
			q.mu.Unlock()
			return v, nil
		}
		q.mu.Unlock()
		select {
		case <-q.signal:
		case <-ctx.Done():
			var zero T
			return zero, ctx.Err()
		case <-closed:
			var zero T
			return zero, errors.New("topic closed")
		}
	}
}
