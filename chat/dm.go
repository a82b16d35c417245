package chat

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"

	"github.com/parley-chat/parley/internal/wire"
)

// dmLinks delivers direct messages: one link per peer, each delivering that
// peer's outbox over one stream at a time (dm_link.go), and the serving of
// inbound streams (dm_serve.go).
type dmLinks struct {
	s *Service

	mu    sync.Mutex
	links map[PeerID]*dmLink
}

func newDMLinks(s *Service) *dmLinks { return &dmLinks{s: s, links: make(map[PeerID]*dmLink)} }

// start queues the persisted outbox for delivery.
func (d *dmLinks) start() error {
	outbox, err := d.s.cfg.Store.Outbox()
	if err != nil {
		return err
	}
	for p, ms := range outbox {
		d.link(p).enqueue(ms...)
	}
	return nil
}

// link returns p's link, making it on first use.
func (d *dmLinks) link(p PeerID) *dmLink {
	d.mu.Lock()
	defer d.mu.Unlock()
	l, ok := d.links[p]
	if !ok {
		l = newDMLink(d.s, p)
		d.links[p] = l
	}
	return l
}

// existing returns p's link if it has one.
func (d *dmLinks) existing(p PeerID) *dmLink {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.links[p]
}

func (d *dmLinks) peerUp(p PeerID) { d.link(p).peerUp() }

// overlaySent marks the messages of ms that are on the wire as sent.
func (d *dmLinks) overlaySent(conv Conversation, ms []*Message) {
	if p, ok := conv.Peer(); ok {
		if l := d.existing(p); l != nil {
			l.overlaySent(ms)
		}
	}
}

// dmFrameSize is the size of m's frame on the wire, length prefix included.
func dmFrameSize(m *Message) int {
	n := proto.Size(dmMessageFrame(m))
	return uvarintLen(n) + n
}

func dmMessageFrame(m *Message) *wire.DMFrame {
	return &wire.DMFrame{Frame: &wire.DMFrame_Message{Message: &wire.DMMessage{Envelope: m.Envelope}}}
}

func uvarintLen(n int) int {
	l := 1
	for n >= 0x80 {
		n >>= 7
		l++
	}
	return l
}

// SendDM stores a direct message to peer `to` in the outbox and returns it
// once it is persisted; delivery continues in the background.
func (s *Service) SendDM(ctx context.Context, to PeerID, body string) (*Message, error) {
	if strings.TrimSpace(body) == "" {
		return nil, ErrEmptyMessage
	}
	return s.sendDM(ctx, to, body, nil)
}

// sendDM is SendDM for a text and files (either may be empty, not both).
func (s *Service) sendDM(ctx context.Context, to PeerID, body string, files []FileManifest) (*Message, error) {
	return s.sendDMMessage(ctx, to, &Message{Kind: KindText, Body: body, Files: files})
}

// sendDMMessage sends m, whose content fields (Kind, Body, Files, the
// relations) are set, to peer `to`.
func (s *Service) sendDMMessage(ctx context.Context, to PeerID, m *Message) (*Message, error) {
	if to == s.self {
		return nil, ErrSelf
	}
	if !utf8.ValidString(m.Body) {
		return nil, fmt.Errorf("%w: text is not UTF-8", ErrBadEnvelope)
	}
	if s.life.Stopping() {
		return nil, ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.Conversation = s.peers.dmConversation(to)
	m.Author, m.To, m.HLC = s.self, to, s.clock.Now()
	m.Status, m.ReceivedAt = StatusQueued, s.cfg.Now()
	if m.Kind == KindText || m.Kind == KindEdit {
		s.fillMentions(m)
	}
	if err := encodeEnvelope(m); err != nil {
		return nil, err
	}
	if size := dmFrameSize(m); size > s.cfg.MaxFrame {
		return nil, fmt.Errorf("%w: %d bytes of text make a %d-byte frame, the limit is %d", ErrTooLarge, len(m.Body), size, s.cfg.MaxFrame)
	}
	if err := s.cfg.Store.Enqueue(m); err != nil {
		return nil, fmt.Errorf("store message: %w", err)
	}
	s.peers.touch(to)
	s.relationsArrived([]*Message{m}) // indexes it too
	s.publish(Event{Type: EventMessage, Message: m})
	s.dms.link(to).enqueue(m)
	return m, nil
}

// MaxFrame returns the cap on one direct-message frame; the text a message
// can carry is that less the envelope (about 150 bytes).
func (s *Service) MaxFrame() int { return s.cfg.MaxFrame }

// storeArrived persists messages that arrived (by a DM stream, a room
// topic or sync), announces the new ones and reports how many were new.
func (s *Service) storeArrived(ms []*Message) (int, error) {
	if len(ms) == 0 {
		return 0, nil
	}
	for _, m := range ms {
		s.clock.Observe(m.HLC) // before storing: a reply must sort after it
	}
	added, err := s.cfg.Store.AddMessages(ms)
	if err != nil {
		return 0, fmt.Errorf("store messages: %w", err)
	}
	n := 0
	var fresh []*Message
	for i, m := range ms {
		if added[i] {
			n++
			fresh = append(fresh, m)
		}
	}
	s.relationsArrived(fresh) // deletes erase before anyone hears of them
	for _, m := range fresh {
		if len(m.Files) > 0 {
			s.filesArrived(m) // recorded before anyone hears of the message
		}
		s.publish(Event{Type: EventMessage, Message: m})
	}
	return n, nil
}

func poke(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

func statusCopy(m *Message, st Status, reason string) *Message {
	return &Message{ID: m.ID, Conversation: m.Conversation, Author: m.Author, To: m.To, HLC: m.HLC, Status: st, Reason: reason}
}
