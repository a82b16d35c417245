package chat_test

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/chat/chattest"
	"github.com/parley-chat/parley/internal/wire"
)

// This file holds what only this package's tests need; everything shared
// with other packages' tests is in chattest.

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

// openRaw opens a stream from the node of transport from to peer to, with
// deadlines so that a broken test cannot hang on it.
func openRaw(t testing.TB, from *chattest.Transport, to chat.PeerID, protocol string) chat.Stream {
	t.Helper()
	s, err := from.OpenStream(t.Context(), to, protocol)
	if err != nil {
		t.Fatalf("open %s stream: %v", protocol, err)
	}
	_ = s.SetReadDeadline(time.Now().Add(chattest.Timeout))
	_ = s.SetWriteDeadline(time.Now().Add(chattest.Timeout))
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

// messageIDsIn returns the IDs of the messages in a run of DM frames.
func messageIDsIn(b []byte) []chat.MessageID {
	var out []chat.MessageID
	for len(b) > 0 {
		n, k := binary.Uvarint(b)
		if k <= 0 || uint64(len(b)-k) < n {
			break
		}
		var f wire.DMFrame
		if proto.Unmarshal(b[k:k+int(n)], &f) == nil && f.GetMessage() != nil {
			out = append(out, chat.MessageIDOf(f.GetMessage().GetEnvelope()))
		}
		b = b[k+int(n):]
	}
	return out
}

// barrier sends a message from one node to another and waits until the
// receiver has announced it. Events are announced in order, so afterwards
// every event the receiver published before that message is in its log:
// counting events there then misses none.
func barrier(t testing.TB, from, to *chattest.Node) {
	t.Helper()
	m, err := from.Svc.SendDM(t.Context(), to.ID, "barrier")
	if err != nil {
		t.Fatalf("barrier: %v", err)
	}
	to.Events.WaitFor(t, "the barrier message", chattest.MessageIs(m.ID))
}

// dmHistory returns n's whole direct conversation with peer.
func dmHistory(n *chattest.Node, peer chat.PeerID) []*chat.Message {
	return n.History(chat.DMConversation(peer))
}

func idsOf(ms []*chat.Message) []chat.MessageID {
	out := make([]chat.MessageID, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	return out
}

// summarize renders messages for failure messages.
func summarize(ms []*chat.Message) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = fmt.Sprintf("%s %s %q", m.ID, m.Status, m.Reason)
	}
	return out
}

// bodiesOf returns the messages' bodies, join and leave lines as "+" and "-".
func bodiesOf(ms []*chat.Message) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		switch m.Kind {
		case chat.KindJoin:
			out[i] = "+"
		case chat.KindLeave:
			out[i] = "-"
		default:
			out[i] = m.Body
		}
	}
	return out
}

// peerDown matches the event of peer p going down.
func peerDown(p chat.PeerID) func(chat.Event) bool {
	return func(ev chat.Event) bool {
		return ev.Type == chat.EventPeer && ev.Peer.ID == p && !ev.Peer.Connected
	}
}
