package tui

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/parley-chat/parley/internal/leaktest"
)

// TestMain fails the package if any test leaves a goroutine running (the
// client runs its backend calls and the event stream in goroutines).
// Bubble Tea runs each tick command (the clock tick, the cursor blink) in
// a goroutine of its own that waits out its timer even after the program
// quit, and ends then: those are not leaks.
func TestMain(m *testing.M) {
	leaktest.Main(m,
		goleak.IgnoreAnyFunction("charm.land/bubbletea/v2.Tick.func1"),
		goleak.IgnoreAnyFunction("charm.land/bubbletea/v2.(*Program).execBatchMsg"),
	)
}
