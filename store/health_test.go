package store_test

import (
	"context"
	"testing"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/store"
)

func TestCheckReadsRecords(t *testing.T) {
	s, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	h, err := s.Check(t.Context(), 1000)
	if err != nil || h.Read != 1 {
		t.Fatalf("empty store: got %+v, %v; want the version record read", h, err)
	}
	if err := s.PutRoom(chat.Room{Name: "dev"}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutRoom(chat.Room{Name: "ops"}); err != nil {
		t.Fatal(err)
	}
	if h, err = s.Check(t.Context(), 1000); err != nil || h.Read != 3 {
		t.Errorf("two rooms: got %+v, %v; want 3 records read", h, err)
	}
	if h, err = s.Check(t.Context(), 2); err != nil || h.Read != 2 {
		t.Errorf("max 2: got %+v, %v; want 2 records read", h, err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.Check(ctx, 1000); err == nil {
		t.Errorf("cancelled: no error")
	}
	_ = s.Close()
	if _, err := s.Check(t.Context(), 1000); err == nil {
		t.Errorf("closed store: no error")
	}
}
