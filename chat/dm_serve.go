package chat

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/parley-chat/parley/internal/wire"
)

// maxAckBatch is the most messages a receiver persists and acknowledges
// together.
const maxAckBatch = 512

// handle serves one inbound /parley/dm/1.0.0 stream: batches of messages
// are validated, persisted, and then acknowledged. Malformed frames reset
// the stream; well-formed messages we will never accept are acknowledged as
// rejected so the sender stops retrying.
func (d *dmLinks) handle(remote PeerID, st Stream) {
	d.s.serveInbound(st, "direct message stream", remote, func() error { return d.serve(remote, st) })
}

func (d *dmLinks) serve(remote PeerID, st Stream) error {
	s := d.s
	fr := newFrameReader(st, s.cfg.MaxFrame)
	bw := bufio.NewWriterSize(st, 16<<10)
	// The first frame must come within FirstFrameTimeout; after that the
	// sender may idle for StreamIdleTimeout before it closes the stream.
	// The read deadline is refreshed lazily, so it allows between half
	// and all of its d: half must still cover the sender's idle time.
	_ = st.SetReadDeadline(time.Now().Add(s.cfg.FirstFrameTimeout))
	readDL := deadline{set: st.SetReadDeadline, d: 2 * (s.cfg.StreamIdleTimeout + s.cfg.FirstFrameTimeout), at: time.Now()}
	writeDL := deadline{set: st.SetWriteDeadline, d: s.cfg.AckTimeout}
	var out []byte
	first := true
	for {
		if !first {
			readDL.refresh()
		}
		first = false
		batch := make([]*Message, 0, 8)
		entries := make([]*wire.AckEntry, 0, 8)
		for {
			b, err := fr.Next()
			if err != nil {
				if len(batch) == 0 && len(entries) == 0 && errors.Is(err, io.EOF) {
					return nil
				}
				return err
			}
			m, entry, err := d.accept(remote, b)
			if err != nil {
				return err
			}
			entries = append(entries, entry)
			if m != nil {
				batch = append(batch, m)
			}
			if fr.Buffered() == 0 || len(entries) >= maxAckBatch {
				break
			}
		}
		if _, err := s.storeArrived(batch); err != nil {
			return err
		}
		ack, err := proto.Marshal(&wire.DMFrame{Frame: &wire.DMFrame_Ack{Ack: &wire.Ack{Entries: entries}}})
		if err != nil {
			return err
		}
		out = appendFrame(out[:0], ack)
		writeDL.refresh()
		if _, err := bw.Write(out); err != nil {
			return err
		}
		if err := bw.Flush(); err != nil {
			return err
		}
	}
}

// accept decodes one frame. It returns an error for a frame that is not a
// well-formed message (the stream is reset), else an ack entry and, if the
// message is acceptable, the message.
func (d *dmLinks) accept(remote PeerID, b []byte) (*Message, *wire.AckEntry, error) {
	s := d.s
	var f wire.DMFrame
	if err := proto.Unmarshal(b, &f); err != nil {
		return nil, nil, fmt.Errorf("bad frame: %w", err)
	}
	dm := f.GetMessage()
	if dm == nil {
		return nil, nil, errors.New("bad frame: not a message")
	}
	id := MessageIDOf(dm.Envelope)
	reject := func(reason string) (*Message, *wire.AckEntry, error) {
		s.log.Debug("rejected direct message", "peer", remote, "id", id, "reason", reason)
		return nil, &wire.AckEntry{Id: id[:], Status: wire.AckStatus_ACK_STATUS_REJECTED, Reason: reason}, nil
	}
	m, err := DecodeEnvelope(dm.Envelope)
	if err != nil {
		return reject(err.Error())
	}
	switch {
	case m.Author != remote:
		return reject("author is not the sending peer")
	case m.To != s.self:
		return reject("not addressed to this peer")
	case s.clock.TooFarAhead(m.HLC, s.cfg.MaxClockSkew):
		return reject(fmt.Sprintf("timestamp %s is too far ahead of the recipient's clock", m.SentAt().Format(time.RFC3339)))
	case dmFrameSize(m) > s.cfg.MaxFrame:
		return reject("too large")
	}
	if m.Kind == KindKey {
		// A private room's key: kept with the room, not as a message.
		if err := s.takeGrant(remote, m.grant); err != nil {
			return reject(err.Error())
		}
		return nil, &wire.AckEntry{Id: id[:], Status: wire.AckStatus_ACK_STATUS_STORED}, nil
	}
	if m.Kind == KindRead {
		// A read receipt: applied to the conversation, not kept as a message.
		m.Conversation = s.peers.dmConversation(remote)
		s.receiptArrived(m)
		return nil, &wire.AckEntry{Id: id[:], Status: wire.AckStatus_ACK_STATUS_STORED}, nil
	}
	m.Envelope = slices.Clone(m.Envelope)
	m.Conversation = s.peers.dmConversation(remote)
	m.Status = StatusReceived
	m.ReceivedAt = s.cfg.Now()
	return m, &wire.AckEntry{Id: id[:], Status: wire.AckStatus_ACK_STATUS_STORED}, nil
}
