package hooks

import (
	"testing"

	"github.com/parley-chat/parley/internal/leaktest"
)

// TestMain fails the run if a goroutine started by this module is still
// running once every test has cleaned up.
func TestMain(m *testing.M) { leaktest.Main(m) }
