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
// quit, and ends then: those are not leaks. Its input reader
// (ultraviolet's TerminalReader) hands parsed keys to the program with a
// plain channel send that does not watch for the program's end: a key a
// test types as the program quits leaves that goroutine blocked for good
// (Program.waitForReadLoop gives up on it after 500 ms). That is the
// library's, once per such program, and not a leak of the client's.
func TestMain(m *testing.M) {
	leaktest.Main(m,
		goleak.IgnoreAnyFunction("github.com/charmbracelet/ultraviolet.(*TerminalReader).sendEvents"),
		goleak.IgnoreAnyFunction("charm.land/bubbletea/v2.Tick.func1"),
		goleak.IgnoreAnyFunction("charm.land/bubbletea/v2.(*Program).execBatchMsg"),
	)
}
