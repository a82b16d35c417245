package node_test

import (
	"testing"

	"github.com/parley-chat/parley/internal/leaktest"
)

// TestMain fails the package if any test leaves a goroutine running.
func TestMain(m *testing.M) { leaktest.Main(m) }
