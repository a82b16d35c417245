package store_test

import (
	"slices"
	"testing"
	"time"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/store"
)

func TestPeersRoundTrip(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir)

	first := time.Date(2025, 1, 2, 3, 4, 5, 678_901_234, time.UTC)
	last := first.Add(36*time.Hour + 123456789*time.Nanosecond)
	alice, bob, carol := newPeer(t), newPeer(t), newPeer(t)
	tests := []struct {
		name string
		peer chat.Peer
	}{
		{"everything set", chat.Peer{
			ID:        alice,
			Nick:      "alice",
			Addrs:     []string{"/ip4/192.0.2.1/tcp/4001", "/ip6/2001:db8::1/udp/4001/quic-v1"},
			FirstSeen: first,
			LastSeen:  last,
			Verified:  true,
			Connected: true, // runtime only: never persisted
		}},
		{"no nick, no addrs", chat.Peer{ID: bob, FirstSeen: first, LastSeen: first}},
		{"zero times", chat.Peer{ID: carol, Nick: "Çarol.ß_1"}},
	}
	for _, tt := range tests {
		if err := s.PutPeer(tt.peer); err != nil {
			t.Fatalf("%s: put: %v", tt.name, err)
		}
	}

	check := func(t *testing.T, s *store.Store) {
		t.Helper()
		peers, err := s.Peers()
		if err != nil {
			t.Fatal(err)
		}
		if len(peers) != len(tests) {
			t.Errorf("peers: got %d, want %d", len(peers), len(tests))
		}
		byID := make(map[chat.PeerID]chat.Peer)
		for _, p := range peers {
			byID[p.ID] = p
		}
		for _, tt := range tests {
			want := tt.peer
			got, ok := byID[want.ID]
			if !ok {
				t.Errorf("%s: peer %s missing", tt.name, want.ID)
				continue
			}
			if got.Nick != want.Nick {
				t.Errorf("%s: Nick: got %q, want %q", tt.name, got.Nick, want.Nick)
			}
			if !slices.Equal(got.Addrs, want.Addrs) {
				t.Errorf("%s: Addrs: got %q, want %q", tt.name, got.Addrs, want.Addrs)
			}
			wantFirst, wantLast := want.FirstSeen.Truncate(time.Millisecond), want.LastSeen.Truncate(time.Millisecond)
			if !got.FirstSeen.Equal(wantFirst) || got.FirstSeen.IsZero() != want.FirstSeen.IsZero() {
				t.Errorf("%s: FirstSeen: got %v, want %v", tt.name, got.FirstSeen, wantFirst)
			}
			if !got.LastSeen.Equal(wantLast) || got.LastSeen.IsZero() != want.LastSeen.IsZero() {
				t.Errorf("%s: LastSeen: got %v, want %v", tt.name, got.LastSeen, wantLast)
			}
			if got.Verified != want.Verified {
				t.Errorf("%s: Verified: got %v, want %v", tt.name, got.Verified, want.Verified)
			}
			if got.Connected {
				t.Errorf("%s: Connected: got true, want false (never persisted)", tt.name)
			}
		}
	}
	t.Run("open", func(t *testing.T) { check(t, s) })

	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openStore(t, dir)
	t.Run("reopened", func(t *testing.T) { check(t, s) })
}

func TestPutPeerReplaces(t *testing.T) {
	s := openMemStore(t)
	id := newPeer(t)
	seen := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	old := chat.Peer{ID: id, Nick: "old", Addrs: []string{"/ip4/192.0.2.1/tcp/1", "/ip4/192.0.2.2/tcp/2"}, FirstSeen: seen, LastSeen: seen}
	updated := chat.Peer{ID: id, Nick: "new", Addrs: []string{"/ip4/192.0.2.3/tcp/3"}, FirstSeen: seen, LastSeen: seen.Add(time.Hour)}
	for _, p := range []chat.Peer{old, updated} {
		if err := s.PutPeer(p); err != nil {
			t.Fatal(err)
		}
	}
	peers, err := s.Peers()
	if err != nil {
		t.Fatal(err)
	}
	if len(peers) != 1 {
		t.Fatalf("peers: got %d, want 1", len(peers))
	}
	got := peers[0]
	if got.Nick != updated.Nick || !slices.Equal(got.Addrs, updated.Addrs) || !got.LastSeen.Equal(updated.LastSeen) {
		t.Errorf("got %+v, want %+v", got, updated)
	}
}

func TestPeersEmpty(t *testing.T) {
	s := openMemStore(t)
	peers, err := s.Peers()
	if err != nil {
		t.Fatal(err)
	}
	if len(peers) != 0 {
		t.Errorf("got %d peers, want none", len(peers))
	}
}
