package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/chat/chattest"
	"github.com/parley-chat/parley/store"
)

func TestOpenLockedDirectory(t *testing.T) {
	dir := t.TempDir()
	first := openStore(t, dir)

	second, err := store.Open(dir, store.Options{})
	if !errors.Is(err, store.ErrLocked) {
		if second != nil {
			_ = second.Close()
		}
		t.Fatalf("second open: got %v, want ErrLocked", err)
	}

	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	third, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatalf("open after close: %v", err)
	}
	if err := third.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestCloseIdempotent(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			s := b.open(t)
			for i := range 2 {
				if err := s.Close(); err != nil {
					t.Errorf("close #%d: got %v, want nil", i+1, err)
				}
			}
		})
	}
}

func TestOpenRejectsOtherSchemaVersion(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir)
	if err := store.SetSchemaVersion(s, store.SchemaVersion+1); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Twice: a failed open must release the directory lock, so the second
	// attempt fails on the version again, not with ErrLocked.
	for i := range 2 {
		s, err := store.Open(dir, store.Options{})
		if err == nil {
			_ = s.Close()
			t.Fatalf("open #%d of a newer schema: got nil error, want one", i+1)
		}
		if errors.Is(err, store.ErrLocked) || !strings.Contains(err.Error(), "schema version") {
			t.Errorf("open #%d: got %q, want an error about the schema version", i+1, err)
		}
	}
}

// runStore calls s.Run in a goroutine; the channel gets its result.
func runStore(ctx context.Context, s *store.Store) <-chan error {
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	return done
}

// runResult waits (with a deadline) for Run's result.
func runResult(t *testing.T, done <-chan error, what string) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(chattest.Timeout):
		t.Fatalf("%s: Run did not return within %v", what, chattest.Timeout)
		return nil
	}
}

// addSome writes n messages, so that Run's garbage collection has
// something to look at.
func addSome(t *testing.T, s *store.Store, n int) {
	t.Helper()
	self, peer := newPeer(t), newPeer(t)
	var ms []*chat.Message
	for i := range n {
		ms = append(ms, incoming(t, self, peer, baseHLC+chat.HLC(i), fmt.Sprintf("message %d", i)))
	}
	if _, err := s.AddMessages(ms); err != nil {
		t.Fatal(err)
	}
}

func TestRun(t *testing.T) {
	open := map[string]func(t *testing.T) *store.Store{
		"disk": func(t *testing.T) *store.Store {
			s, err := store.Open(t.TempDir(), store.Options{GCInterval: time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = s.Close() })
			return s
		},
		"memory": func(t *testing.T) *store.Store { return openMemStore(t) },
	}
	for name, open := range open {
		t.Run(name, func(t *testing.T) {
			t.Run("returns nil on cancel", func(t *testing.T) {
				s := open(t)
				ctx, cancel := context.WithCancel(t.Context())
				done := runStore(ctx, s)
				addSome(t, s, 50)
				select {
				case err := <-done:
					t.Fatalf("Run returned %v before ctx was cancelled", err)
				default:
				}
				cancel()
				if err := runResult(t, done, "after cancel"); err != nil {
					t.Errorf("Run after cancel: got %v, want nil", err)
				}
				// The store works without Run.
				addSome(t, s, 5)
				if err := s.Close(); err != nil {
					t.Errorf("close: %v", err)
				}
			})
			t.Run("close stops it", func(t *testing.T) {
				s := open(t)
				done := runStore(t.Context(), s)
				addSome(t, s, 50)
				if err := s.Close(); err != nil {
					t.Errorf("close while running: %v", err)
				}
				if err := runResult(t, done, "after Close"); err != nil {
					t.Errorf("Run after Close: got %v, want nil", err)
				}
				if err := s.Close(); err != nil {
					t.Errorf("second close: %v", err)
				}
			})
			t.Run("after close", func(t *testing.T) {
				s := open(t)
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}
				if err := runResult(t, runStore(t.Context(), s), "after Close"); err != nil {
					t.Errorf("Run after Close: got %v, want nil", err)
				}
			})
		})
	}
}
