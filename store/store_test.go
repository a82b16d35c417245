package store

import (
	"errors"
	"os/exec"
	"strings"
	"testing"

	"github.com/dgraph-io/badger/v4"
)

func TestOpenLockedDirectory(t *testing.T) {
	dir := t.TempDir()
	first := openStore(t, dir)

	second, err := Open(dir, Options{})
	if !errors.Is(err, ErrLocked) {
		if second != nil {
			_ = second.Close()
		}
		t.Fatalf("second open: got %v, want ErrLocked", err)
	}

	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	third, err := Open(dir, Options{})
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
	if err := s.update(func(txn *badger.Txn) error {
		return txn.Set([]byte{tagVersion}, []byte{schemaVersion + 1})
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Twice: a failed open must release the directory lock, so the second
	// attempt fails on the version again, not with ErrLocked.
	for i := range 2 {
		s, err := Open(dir, Options{})
		if err == nil {
			_ = s.Close()
			t.Fatalf("open #%d of a newer schema: got nil error, want one", i+1)
		}
		if errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "schema version") {
			t.Errorf("open #%d: got %q, want an error about the schema version", i+1, err)
		}
	}
}

// TestDependencies enforces the package doc: store never imports libp2p.
func TestDependencies(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command not found")
	}
	out, err := exec.CommandContext(t.Context(), goTool, "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, "github.com/libp2p/") {
			t.Errorf("store depends on %s, want no libp2p", dep)
		}
	}
}
