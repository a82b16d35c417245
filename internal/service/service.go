// Package service writes and manages Parley's systemd user unit
// (parley service install|uninstall|status): the unit file in the user's
// systemd directory, and systemctl --user to load, enable, start, stop
// and query it. The systemctl program is a field, so tests run a
// stand-in that records its arguments.
package service

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// UnitName is the unit's name.
const UnitName = "parley.service"

// ErrNoUserManager: systemctl is missing, or no systemd user manager is
// reachable (containers, CI, a root shell without a login session).
var ErrNoUserManager = errors.New("no systemd user manager")

// ErrUnitDiffers: a different unit file is already installed.
var ErrUnitDiffers = errors.New("a different parley unit is installed")

// UnitDir is the user's systemd unit directory:
// $XDG_CONFIG_HOME/systemd/user, by default ~/.config/systemd/user.
func UnitDir(getenv func(string) string) (string, error) {
	if dir := getenv("XDG_CONFIG_HOME"); dir != "" && filepath.IsAbs(dir) {
		return filepath.Join(dir, "systemd", "user"), nil
	}
	home := getenv("HOME")
	if home == "" {
		var err error
		if home, err = os.UserHomeDir(); err != nil {
			return "", errors.New("cannot find the home directory: set HOME or XDG_CONFIG_HOME")
		}
	}
	return filepath.Join(home, ".config", "systemd", "user"), nil
}

// Unit is the text of the unit that runs binary with args (daemon and
// its --home) under the user's systemd: restarted on failure (not on a
// usage error, exit 2, which a restart cannot mend), with the hardening a
// user manager can apply without privileges.
func Unit(binary string, args []string) string {
	cmd := []string{quoteExec(strings.ReplaceAll(binary, "%", "%%"))}
	for _, a := range args {
		cmd = append(cmd, execArg(a))
	}
	return `# Written by 'parley service install'; 'parley service uninstall' removes it.
[Unit]
Description=Parley peer-to-peer team chat node
Documentation=https://github.com/parley-chat/parley#readme

[Service]
Type=exec
ExecStart=` + strings.Join(cmd, " ") + `
Restart=on-failure
RestartSec=5s
RestartPreventExitStatus=2
TimeoutStopSec=15s
SyslogIdentifier=parley
UMask=0077
NoNewPrivileges=yes
LockPersonality=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
SystemCallArchitectures=native
MemoryDenyWriteExecute=yes

[Install]
WantedBy=default.target
`
}

// execArg quotes an argument of ExecStart as systemd reads it: % and $
// are doubled (no specifiers, no variables), and a word with blanks,
// quotes, backslashes or a semicolon goes in double quotes. (The command
// itself has its % doubled only: systemd expands no variables there.)
func execArg(s string) string {
	return quoteExec(strings.ReplaceAll(strings.ReplaceAll(s, "%", "%%"), "$", "$$"))
}

func quoteExec(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\n\"'\\;") {
		return s
	}
	s = strings.ReplaceAll(s, `\`, `\\`)
	s = strings.ReplaceAll(s, `"`, `\"`)
	s = strings.ReplaceAll(s, "\n", `\n`)
	s = strings.ReplaceAll(s, "\t", `\t`)
	return `"` + s + `"`
}

// Manager installs, removes and queries the unit.
type Manager struct {
	Dir       string              // the unit directory (UnitDir)
	Systemctl string              // the systemctl program; "systemctl" if empty
	Getenv    func(string) string // os.Getenv if nil
}

// Path is the unit file's path.
func (m Manager) Path() string { return filepath.Join(m.Dir, UnitName) }

func (m Manager) getenv(k string) string {
	if m.Getenv == nil {
		return os.Getenv(k)
	}
	return m.Getenv(k)
}

// Install writes the unit (refusing to replace a different one unless
// force; an identical one is left alone) and, if start, reloads the user
// manager and enables and starts the unit. changed reports whether the
// file was written. Without a user manager the file is still written and
// the error wraps ErrNoUserManager.
func (m Manager) Install(ctx context.Context, unit string, force, start bool) (changed bool, err error) {
	old, err := os.ReadFile(m.Path())
	switch {
	case err == nil && bytes.Equal(old, []byte(unit)):
	case err == nil && !force:
		return false, fmt.Errorf("%w at %s: compare it, then run install again with --force to replace it", ErrUnitDiffers, m.Path())
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return false, fmt.Errorf("read %s: %w", m.Path(), err)
	default:
		if err := m.write(unit); err != nil {
			return false, err
		}
		changed = true
	}
	if !start {
		return changed, nil
	}
	if err := m.systemctl(ctx, "daemon-reload"); err != nil {
		return changed, err
	}
	return changed, m.systemctl(ctx, "enable", "--now", UnitName)
}

func (m Manager) write(unit string) error {
	if err := os.MkdirAll(m.Dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", m.Dir, err)
	}
	tmp := m.Path() + ".tmp"
	if err := os.WriteFile(tmp, []byte(unit), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, m.Path()); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("write %s: %w", m.Path(), err)
	}
	return nil
}

// Uninstall stops and disables the unit, removes its file and reloads
// the user manager. removed reports whether there was a file (none:
// nothing to do). Without a
// user manager the file is still removed and the error wraps
// ErrNoUserManager.
func (m Manager) Uninstall(ctx context.Context) (removed bool, err error) {
	if _, err := os.Stat(m.Path()); errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	stopErr := m.systemctl(ctx, "disable", "--now", UnitName)
	if err := os.Remove(m.Path()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Errorf("remove %s: %w", m.Path(), err)
	}
	if stopErr != nil {
		return true, stopErr
	}
	return true, m.systemctl(ctx, "daemon-reload")
}

// Status is what the user manager says of the unit.
type Status struct {
	Installed     bool   // the unit file exists
	ActiveState   string // systemd's ActiveState: "active", "inactive", "failed", …
	UnitFileState string // systemd's UnitFileState: "enabled", "disabled", …
}

// Status reads the unit's state. Without a user manager it returns what
// it knows (Installed) and an error wrapping ErrNoUserManager.
func (m Manager) Status(ctx context.Context) (Status, error) {
	var st Status
	_, err := os.Stat(m.Path())
	st.Installed = err == nil
	out, err := m.output(ctx, "show", "-p", "ActiveState,UnitFileState", UnitName)
	if err != nil {
		return st, err
	}
	for _, line := range strings.Split(out, "\n") {
		k, v, _ := strings.Cut(strings.TrimSpace(line), "=")
		switch k {
		case "ActiveState":
			st.ActiveState = v
		case "UnitFileState":
			st.UnitFileState = v
		}
	}
	return st, nil
}

func (m Manager) systemctl(ctx context.Context, args ...string) error {
	_, err := m.output(ctx, args...)
	return err
}

// output runs systemctl --user args and returns its standard output.
func (m Manager) output(ctx context.Context, args ...string) (string, error) {
	prog := m.Systemctl
	if prog == "" {
		prog = "systemctl"
	}
	path, err := exec.LookPath(prog)
	if err != nil {
		return "", fmt.Errorf("%w: %s not found (this system does not run systemd)", ErrNoUserManager, prog)
	}
	if m.getenv("XDG_RUNTIME_DIR") == "" && m.getenv("DBUS_SESSION_BUS_ADDRESS") == "" {
		return "", fmt.Errorf("%w: neither XDG_RUNTIME_DIR nor DBUS_SESSION_BUS_ADDRESS is set (a container, CI, or a shell without a login session)", ErrNoUserManager)
	}
	full := append([]string{"--user"}, args...)
	cmd := exec.CommandContext(ctx, path, full...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if strings.Contains(msg, "Failed to connect to bus") || strings.Contains(msg, "No medium found") {
			return "", fmt.Errorf("%w: systemctl --user: %s", ErrNoUserManager, firstLine(msg))
		}
		if msg == "" {
			msg = err.Error()
		}
		return "", fmt.Errorf("systemctl --user %s: %s", strings.Join(args, " "), firstLine(msg))
	}
	return stdout.String(), nil
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
