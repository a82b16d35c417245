package store_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/store"
)

// TestOutboxLen counts what waits in the outbox: enqueued direct
// messages, less those delivered; received messages never.
func TestOutboxLen(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			s := b.open(t)
			self, alice := newPeer(t), newPeer(t)
			if n, err := s.OutboxLen(); err != nil || n != 0 {
				t.Fatalf("empty outbox: got %d, %v; want 0", n, err)
			}
			var ms []*chat.Message
			for i, body := range []string{"a", "b", "c"} {
				m := outgoing(t, self, alice, baseHLC+chat.HLC(i), body)
				if err := s.Enqueue(m); err != nil {
					t.Fatal(err)
				}
				ms = append(ms, m)
			}
			if _, err := s.AddMessages([]*chat.Message{incoming(t, self, alice, baseHLC+9, "reply")}); err != nil {
				t.Fatal(err)
			}
			if n, err := s.OutboxLen(); err != nil || n != 3 {
				t.Fatalf("outbox after 3 sent and 1 received: got %d, %v; want 3", n, err)
			}
			if err := s.SetStatus([]chat.StatusUpdate{{Message: ms[0], Status: chat.StatusDelivered}}); err != nil {
				t.Fatal(err)
			}
			if n, err := s.OutboxLen(); err != nil || n != 2 {
				t.Fatalf("outbox after one delivered: got %d, %v; want 2", n, err)
			}
		})
	}
}

// TestDiskUsage: a store on disk reports its Badger files and its
// chunks, measured again once the cached size is 30 seconds old.
func TestDiskUsage(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s, err := store.Open(t.TempDir(), store.Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	u, err := s.DiskUsage()
	if err != nil {
		t.Fatal(err)
	}
	if u.Files != 0 {
		t.Errorf("files of a new store: got %d bytes, want 0", u.Files)
	}
	data := bytes.Repeat([]byte("parley "), 40000) // 280,000 bytes
	if _, err := s.ImportFile(bytes.NewReader(data), "a.txt", chat.RoomConversation("team"), 1<<30); err != nil {
		t.Fatal(err)
	}
	if u, err = s.DiskUsage(); err != nil || u.Files != 0 {
		t.Errorf("files within 30 s: got %d bytes, %v; want the cached 0", u.Files, err)
	}
	now = now.Add(30 * time.Second)
	if u, err = s.DiskUsage(); err != nil || u.Files < int64(len(data)) {
		t.Errorf("files after 30 s: got %d bytes, %v; want at least %d", u.Files, err, len(data))
	}
}
