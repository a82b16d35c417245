package tui

import (
	"errors"
	"os/exec"
	"path/filepath"
	"runtime"
)

// errNoOpener is returned by desktopOpen where the desktop has no opener.
var errNoOpener = errors.New("no program to open files with")

// desktopOpen opens path with the desktop's opener (xdg-open, or open on
// macOS), detached: the opener runs in a session of its own with no
// terminal, so it neither draws over the client nor waits for it. The
// path is one argument of the program, never seen by a shell, and
// absolute, so a name starting with '-' is no option.
func desktopOpen(path string) error {
	name := map[string]string{"darwin": "open"}[runtime.GOOS]
	if name == "" && runtime.GOOS != "windows" {
		name = "xdg-open"
	}
	if name == "" {
		return errNoOpener
	}
	bin, err := exec.LookPath(name)
	if err != nil {
		return errNoOpener
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	cmd := exec.Command(bin, abs) // stdin, stdout and stderr: the null device
	detach(cmd)
	if err := cmd.Start(); err != nil {
		return err
	}
	// Reap the opener when it ends (xdg-open usually ends at once, having
	// handed the file to an application).
	go func() { _ = cmd.Wait() }()
	return nil
}
