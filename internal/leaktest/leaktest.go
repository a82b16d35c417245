// Package leaktest fails a test binary whose tests leave goroutines of this
// module running: every goroutine must have an owner that stops it. Call
// Main from a package's TestMain.
package leaktest

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

const module = "github.com/parley-chat/parley/"

// Main runs the tests, then waits up to 5 s for goroutines started by this
// module's code to end; if any remain it prints their stacks and fails.
func Main(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if leaks := Leaked(5 * time.Second); leaks != "" {
			fmt.Fprintf(os.Stderr, "goroutines still running after the tests:\n\n%s\n", leaks)
			code = 1
		}
	}
	os.Exit(code)
}

// Leaked waits up to timeout for every goroutine whose stack mentions this
// module (but not this package) to end, and returns the stacks of those
// that do not.
func Leaked(timeout time.Duration) string {
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		var leaks []string
		for i, g := range strings.Split(string(buf), "\n\n") {
			if i == 0 { // this goroutine
				continue
			}
			if strings.Contains(g, module) && !strings.Contains(g, module+"internal/leaktest.") {
				leaks = append(leaks, g)
			}
		}
		if len(leaks) == 0 || time.Now().After(deadline) {
			return strings.Join(leaks, "\n\n")
		}
		<-tick.C
	}
}
