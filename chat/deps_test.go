package chat_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencies enforces the package doc: chat imports neither libp2p
// nor Badger (nor the store that wraps Badger); it owns the interfaces
// they are plugged in through.
func TestDependencies(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command not found")
	}
	out, err := exec.CommandContext(t.Context(), goTool, "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	forbidden := []string{
		"github.com/libp2p/",
		"github.com/dgraph-io/",
		"github.com/parley-chat/parley/store",
		"github.com/parley-chat/parley/node",
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, f := range forbidden {
			if strings.HasPrefix(dep, f) {
				t.Errorf("chat depends on %s, want nothing under %s", dep, f)
			}
		}
	}
}
