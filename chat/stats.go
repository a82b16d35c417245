package chat

import (
	"sort"
	"sync"
	"sync/atomic"
)

// Counters a metrics exporter reads (Stats). They are cheap to keep: an
// atomic add where traffic passes, a map under a lock for messages. The
// chat package knows nothing of how they are exported.

// Direction of a counted message.
const (
	DirIn  = "in"  // another node's message stored here
	DirOut = "out" // this node's message stored (sent)
)

// MessageCount is how many messages of one kind, direction and
// conversation type ("dm" or "room") were stored since the start.
type MessageCount struct {
	Direction string
	Kind      string
	ConvType  string
	Count     uint64
}

// Stats is a snapshot of the service's counters since it was built.
type Stats struct {
	Messages []MessageCount // sorted by direction, conversation type, kind
	// SyncOpened counts history-sync sessions this node opened, SyncServed
	// those it answered; SyncFailed the ones (of either) that ended in an
	// error.
	SyncOpened, SyncServed, SyncFailed uint64
	SyncBytesIn, SyncBytesOut          uint64 // on sync streams, both roles
	FileBytesIn, FileBytesOut          uint64 // file chunk payloads fetched and served
}

type messageKey struct{ dir, kind, conv string }

type counters struct {
	mu   sync.Mutex
	msgs map[messageKey]uint64

	syncOpened, syncServed, syncFailed atomic.Uint64
	syncIn, syncOut                    atomic.Uint64
	fileIn, fileOut                    atomic.Uint64
}

func (c *counters) message(self PeerID, m *Message) {
	k := messageKey{dir: DirIn, kind: m.Kind.String(), conv: "dm"}
	if m.Author == self {
		k.dir = DirOut
	}
	if _, ok := m.Conversation.Room(); ok {
		k.conv = "room"
	}
	c.mu.Lock()
	if c.msgs == nil {
		c.msgs = make(map[messageKey]uint64)
	}
	c.msgs[k]++
	c.mu.Unlock()
}

func (c *counters) syncDone(opened bool, in, out int64, err error) {
	if opened {
		c.syncOpened.Add(1)
	} else {
		c.syncServed.Add(1)
	}
	if err != nil {
		c.syncFailed.Add(1)
	}
	c.syncIn.Add(uint64(max(in, 0)))
	c.syncOut.Add(uint64(max(out, 0)))
}

// Stats returns the service's counters.
func (s *Service) Stats() Stats {
	c := &s.stats
	st := Stats{
		SyncOpened: c.syncOpened.Load(), SyncServed: c.syncServed.Load(), SyncFailed: c.syncFailed.Load(),
		SyncBytesIn: c.syncIn.Load(), SyncBytesOut: c.syncOut.Load(),
		FileBytesIn: c.fileIn.Load(), FileBytesOut: c.fileOut.Load(),
	}
	c.mu.Lock()
	for k, n := range c.msgs {
		st.Messages = append(st.Messages, MessageCount{Direction: k.dir, Kind: k.kind, ConvType: k.conv, Count: n})
	}
	c.mu.Unlock()
	sort.Slice(st.Messages, func(i, j int) bool {
		a, b := st.Messages[i], st.Messages[j]
		if a.Direction != b.Direction {
			return a.Direction < b.Direction
		}
		if a.ConvType != b.ConvType {
			return a.ConvType < b.ConvType
		}
		return a.Kind < b.Kind
	})
	return st
}
