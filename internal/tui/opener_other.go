//go:build !unix

package tui

import "os/exec"

// detach does nothing where there are no sessions to start.
func detach(*exec.Cmd) {}
