package node

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/peer"
	drouting "github.com/libp2p/go-libp2p/p2p/discovery/routing"
	"google.golang.org/protobuf/proto"

	"github.com/parley-chat/parley/chat"
)

// Pubsub tuning for chat.
const (
	maxPubSubMessage = 128 << 10 // a room message (60 KiB cap) plus pubsub framing
	outboundQueue    = 4096      // per-peer queue: bursts are not dropped on a busy link
	validateQueue    = 4096
	freshTopic       = 3 * time.Second // publishing this soon after joining waits for peers
	readinessWait    = 2 * time.Second
	rendezvousEvery  = 30 * time.Second
	penaltyDecay     = 0.9 // application penalty kept per second
	scoreInspect     = time.Second
)

var _ chat.PubSub = (*Node)(nil)

// buildPubSub builds GossipSub on the host, for the node's lifetime.
func (n *Node) buildPubSub() error {
	params, thresholds := scoreParams(n.appScore)
	opts := []pubsub.Option{
		pubsub.WithMessageSignaturePolicy(pubsub.StrictSign),
		// A message's pubsub ID hashes its author and content: the same
		// envelope published twice by its author is one message, and
		// nobody else's copy of it (rejected: author != signer) can make
		// the real one a "seen", invalid duplicate.
		pubsub.WithMessageIdFn(func(m *pb.Message) string {
			h := sha256.New()
			h.Write(m.From)
			h.Write(m.Data)
			return string(h.Sum(nil))
		}),
		pubsub.WithPeerScore(params, thresholds),
		pubsub.WithPeerScoreInspect(n.inspectScores, scoreInspect),
		pubsub.WithPeerOutboundQueueSize(outboundQueue),
		pubsub.WithValidateQueueSize(validateQueue),
		pubsub.WithMaxMessageSize(maxPubSubMessage),
		pubsub.WithFloodPublish(true),
	}
	if n.cfg.SeenMessagesTTL > 0 {
		opts = append(opts, pubsub.WithSeenMessagesTTL(n.cfg.SeenMessagesTTL))
	}
	ps, err := pubsub.NewGossipSub(n.ctx(), n.h, opts...)
	if err != nil {
		return fmt.Errorf("start GossipSub: %w", err)
	}
	n.ps = ps
	return nil
}

// scoreParams are peer-scoring parameters for a chat workload: sparse,
// bursty traffic from few publishers. Mesh-delivery deficits are not
// scored (a quiet room is normal); invalid messages and the application
// penalty for flooding are.
func scoreParams(app func(peer.ID) float64) (*pubsub.PeerScoreParams, *pubsub.PeerScoreThresholds) {
	return &pubsub.PeerScoreParams{
			Topics:                      map[string]*pubsub.TopicScoreParams{},
			TopicScoreCap:               100,
			AppSpecificScore:            app,
			AppSpecificWeight:           1,
			IPColocationFactorWeight:    -10,
			IPColocationFactorThreshold: 10, // an office behind one NAT is normal
			BehaviourPenaltyWeight:      -10,
			BehaviourPenaltyThreshold:   6,
			BehaviourPenaltyDecay:       pubsub.ScoreParameterDecay(10 * time.Minute),
			DecayInterval:               time.Second,
			DecayToZero:                 0.01,
			RetainScore:                 10 * time.Minute,
		}, &pubsub.PeerScoreThresholds{
			GossipThreshold:             -100,
			PublishThreshold:            -200,
			GraylistThreshold:           -400,
			AcceptPXThreshold:           10,
			OpportunisticGraftThreshold: 5,
		}
}

func topicScoreParams() *pubsub.TopicScoreParams {
	return &pubsub.TopicScoreParams{
		TopicWeight:                     1,
		TimeInMeshWeight:                0.01,
		TimeInMeshQuantum:               time.Second,
		TimeInMeshCap:                   300,
		FirstMessageDeliveriesWeight:    0.5,
		FirstMessageDeliveriesDecay:     pubsub.ScoreParameterDecay(10 * time.Minute),
		FirstMessageDeliveriesCap:       100,
		InvalidMessageDeliveriesWeight:  -100,
		InvalidMessageDeliveriesDecay:   pubsub.ScoreParameterDecay(time.Hour),
		MeshMessageDeliveriesWeight:     0,
		MeshMessageDeliveriesDecay:      pubsub.ScoreParameterDecay(time.Minute),
		MeshMessageDeliveriesThreshold:  1,
		MeshMessageDeliveriesCap:        10,
		MeshMessageDeliveriesWindow:     10 * time.Millisecond,
		MeshMessageDeliveriesActivation: time.Minute,
		MeshFailurePenaltyWeight:        0,
		MeshFailurePenaltyDecay:         pubsub.ScoreParameterDecay(time.Minute),
	}
}

// PubSub returns the node's GossipSub instance (benchmarks compare raw
// pubsub with rooms on the same hosts).
func (n *Node) PubSub() *pubsub.PubSub { return n.ps }

// Penalize implements chat.PubSub.
func (n *Node) Penalize(p chat.PeerID) {
	n.scoreMu.Lock()
	n.penalties[peer.ID(p)]++
	n.scoreMu.Unlock()
}

func (n *Node) appScore(p peer.ID) float64 {
	n.scoreMu.Lock()
	defer n.scoreMu.Unlock()
	return -n.penalties[p]
}

func (n *Node) decayPenalties() {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-n.ctx().Done():
			return
		case <-t.C:
			n.scoreMu.Lock()
			for p, v := range n.penalties {
				if v *= penaltyDecay; v < 0.01 {
					delete(n.penalties, p)
				} else {
					n.penalties[p] = v
				}
			}
			n.scoreMu.Unlock()
		}
	}
}

func (n *Node) inspectScores(scores map[peer.ID]float64) {
	n.scoreMu.Lock()
	n.scores = scores
	n.scoreMu.Unlock()
}

// Score returns p's current GossipSub score (0 if unknown).
func (n *Node) Score(p chat.PeerID) (float64, bool) {
	n.scoreMu.Lock()
	defer n.scoreMu.Unlock()
	s, ok := n.scores[peer.ID(p)]
	return s, ok
}

// JoinTopic implements chat.PubSub. Messages from other nodes go through
// validate once; what it decodes travels with the message to Next (as
// pubsub validator data), so it is decoded once. This node's own
// publishes skip validate: their proof is caught here instead, and
// Publish returns it.
func (n *Node) JoinTopic(name string, validate chat.Validator) (chat.Topic, error) {
	if n.ps == nil {
		return nil, errors.New("pubsub is not running")
	}
	err := n.ps.RegisterTopicValidator(name, func(_ context.Context, _ peer.ID, m *pubsub.Message) pubsub.ValidationResult {
		if m.ReceivedFrom == n.self {
			if p, ok := m.ValidatorData.(*chat.Proof); ok {
				p.Seqno, p.Signature = m.Seqno, m.Signature
				return pubsub.ValidationAccept
			}
		}
		verdict, cm := validate(chat.PeerID(m.GetFrom()), m.Data)
		switch {
		case verdict == chat.Accept && cm != nil:
			cm.Proof = chat.Proof{Seqno: m.Seqno, Signature: m.Signature}
			m.ValidatorData = cm
			return pubsub.ValidationAccept
		case verdict == chat.Reject:
			return pubsub.ValidationReject
		default:
			return pubsub.ValidationIgnore
		}
	}, pubsub.WithValidatorInline(true))
	if err != nil {
		return nil, fmt.Errorf("register validator: %w", err)
	}
	t, err := n.ps.Join(name)
	if err != nil {
		_ = n.ps.UnregisterTopicValidator(name)
		return nil, err
	}
	if err := t.SetScoreParams(topicScoreParams()); err != nil {
		_ = t.Close()
		_ = n.ps.UnregisterTopicValidator(name)
		return nil, fmt.Errorf("topic score parameters: %w", err)
	}
	sub, err := t.Subscribe(pubsub.WithBufferSize(4096))
	if err != nil {
		_ = t.Close()
		_ = n.ps.UnregisterTopicValidator(name)
		return nil, err
	}
	evs, err := t.EventHandler()
	if err != nil {
		sub.Cancel()
		_ = t.Close()
		_ = n.ps.UnregisterTopicValidator(name)
		return nil, err
	}
	nt := &topic{n: n, name: name, t: t, sub: sub, evs: evs, joined: time.Now()}
	nt.ctx, nt.cancel = context.WithCancel(n.ctx())
	if n.dht != nil {
		nt.wg.Add(1)
		go func() {
			defer nt.wg.Done()
			nt.rendezvous()
		}()
	}
	return nt, nil
}

// VerifyProof implements chat.PubSub: it checks the signature exactly as
// GossipSub checks a live message's, over the pubsub message {from:
// author, data, seqno, topic} with "libp2p-pubsub:" in front.
func (n *Node) VerifyProof(topic string, author chat.PeerID, data []byte, proof chat.Proof) error {
	if len(proof.Signature) == 0 || len(proof.Seqno) == 0 {
		return errors.New("no signature")
	}
	pub, err := peer.ID(author).ExtractPublicKey()
	if err != nil || pub == nil {
		return errors.New("author key is not inlined in its peer ID")
	}
	signed, err := proto.Marshal(&pb.Message{From: []byte(author), Data: data, Seqno: proof.Seqno, Topic: &topic})
	if err != nil {
		return err
	}
	ok, err := pub.Verify(append([]byte(pubsub.SignPrefix), signed...), proof.Signature)
	if err != nil || !ok {
		return errors.New("bad signature")
	}
	return nil
}

// topic is a joined pubsub topic.
type topic struct {
	n      *Node
	name   string
	t      *pubsub.Topic
	sub    *pubsub.Subscription
	evs    *pubsub.TopicEventHandler
	joined time.Time
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
}

// errNoProof is returned when GossipSub took a publish as a duplicate of
// one it had already delivered, so validation (where the proof is caught)
// did not run; the message stays unpublished and goes out again later.
var errNoProof = errors.New("published before; no proof caught")

// Publish implements chat.Topic. Right after joining, the mesh is not
// built yet and GossipSub would send the message to nobody: then it waits
// (briefly) for a peer in the topic first. Local validation runs inside
// Publish, so the proof is set when it returns.
func (t *topic) Publish(ctx context.Context, data []byte) (chat.Proof, error) {
	var proof chat.Proof
	withProof := pubsub.WithValidatorData(&proof)
	err := errors.New("not published")
	published := false
	if time.Since(t.joined) < freshTopic && len(t.t.ListPeers()) == 0 {
		// Wait at most readinessWait, and never past the fresh window: a
		// queue of messages to a lone topic must not wait each in turn.
		wctx, cancel := context.WithDeadline(ctx, minTime(time.Now().Add(readinessWait), t.joined.Add(freshTopic)))
		err = t.t.Publish(wctx, data, withProof, pubsub.WithReadiness(pubsub.MinTopicSize(1)))
		cancel()
		// Nobody came: publish anyway (sync brings it to members later).
		published = !errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil
	}
	if !published {
		err = t.t.Publish(ctx, data, withProof)
	}
	if err == nil && len(proof.Signature) == 0 {
		err = errNoProof
	}
	return proof, err
}

// Next implements chat.Topic: the next message from another node, as the
// validator decoded it.
func (t *topic) Next(ctx context.Context) (*chat.PubSubMessage, error) {
	for {
		m, err := t.sub.Next(ctx)
		if err != nil {
			return nil, err
		}
		cm, ok := m.ValidatorData.(*chat.Message)
		if m.ReceivedFrom == t.n.self || !ok {
			continue // our own publish
		}
		return &chat.PubSubMessage{From: chat.PeerID(m.GetFrom()), Message: cm}, nil
	}
}

// NextPeerEvent implements chat.Topic.
func (t *topic) NextPeerEvent(ctx context.Context) (chat.TopicPeerEvent, error) {
	ev, err := t.evs.NextPeerEvent(ctx)
	if err != nil {
		return chat.TopicPeerEvent{}, err
	}
	return chat.TopicPeerEvent{Peer: chat.PeerID(ev.Peer), Joined: ev.Type == pubsub.PeerJoin}, nil
}

// Peers implements chat.Topic.
func (t *topic) Peers() []chat.PeerID {
	ps := t.t.ListPeers()
	out := make([]chat.PeerID, len(ps))
	for i, p := range ps {
		out[i] = chat.PeerID(p)
	}
	return out
}

// Close implements chat.Topic.
func (t *topic) Close() error {
	var err error
	t.once.Do(func() {
		t.cancel()
		t.wg.Wait()
		t.evs.Cancel()
		t.sub.Cancel()
		err = errors.Join(t.t.Close(), t.n.ps.UnregisterTopicValidator(t.name))
	})
	return err
}

// rendezvous advertises the topic in the DHT under its own name and
// connects to the peers found there, so members that share only a
// bootstrap peer meet. Advertising is retried quickly while it fails (at
// start the routing table is still empty), then renewed before it expires.
func (t *topic) rendezvous() {
	disc := drouting.NewRoutingDiscovery(t.n.dht)
	var advertisedUntil time.Time
	retry := time.Second
	wait := time.Second // the first round soon after joining
	for {
		select {
		case <-t.ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = rendezvousEvery
		if time.Now().After(advertisedUntil) {
			actx, cancel := context.WithTimeout(t.ctx, time.Minute)
			ttl, err := disc.Advertise(actx, t.name)
			cancel()
			if err != nil {
				wait, retry = retry, min(2*retry, rendezvousEvery)
			} else {
				advertisedUntil, retry = time.Now().Add(7*ttl/8), time.Second
			}
		}
		ctx, cancel := context.WithTimeout(t.ctx, 20*time.Second)
		found, err := disc.FindPeers(ctx, t.name)
		if err == nil {
			for ai := range found {
				if ai.ID == t.n.self || len(ai.Addrs) == 0 {
					continue
				}
				t.n.addKnownAddrs(ai.ID, ai.Addrs)
			}
		}
		cancel()
	}
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
