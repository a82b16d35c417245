package e2e

import (
	"testing"

	"github.com/parley-chat/parley/internal/leaktest"
)

// TestMain fails the run if a goroutine started by these tests (a
// daemon's waiter, an event reader, a browser driver) is still running
// once every test has cleaned up.
func TestMain(m *testing.M) { leaktest.Main(m) }
