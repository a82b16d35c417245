package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// serviceEnv points parley service at a fresh unit directory and a
// stand-in systemctl that logs its arguments and says the unit is active
// and enabled; session says whether a user manager seems reachable. It
// returns the unit's path and the log's.
func serviceEnv(t *testing.T, session bool) (unit, log string) {
	t.Helper()
	dir := t.TempDir()
	log = filepath.Join(dir, "calls")
	prog := filepath.Join(dir, "systemctl")
	script := "#!/bin/sh\necho \"$*\" >> '" + log + "'\ncase \"$*\" in *show*) printf 'ActiveState=active\\nUnitFileState=enabled\\n';; esac\n"
	if err := os.WriteFile(prog, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "config"))
	t.Setenv(systemctlEnv, prog)
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "")
	t.Setenv("PARLEY_HOME", "")
	if session {
		t.Setenv("XDG_RUNTIME_DIR", filepath.Join(dir, "run"))
	} else {
		t.Setenv("XDG_RUNTIME_DIR", "")
	}
	return filepath.Join(dir, "config", "systemd", "user", "parley.service"), log
}

func TestServiceInstallStatusUninstall(t *testing.T) {
	unit, log := serviceEnv(t, true)
	home := testHome(t)
	r := parley(t.Context(), "", "--home", home, "service", "install")
	if r.code != exitOK || !strings.Contains(r.stdout, unit+" written") {
		t.Fatalf("install: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	b, err := os.ReadFile(unit)
	if err != nil {
		t.Fatal(err)
	}
	bin, _ := os.Executable()
	if resolved, err := filepath.EvalSymlinks(bin); err == nil {
		bin = resolved
	}
	for _, want := range []string{"\nExecStart=" + bin + " daemon --home " + home + "\n", "\nRestart=on-failure\n", "\nRestartSec=", "\nWantedBy=default.target\n", "\nDocumentation=", "\nNoNewPrivileges=yes\n"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("unit lacks %q:\n%s", want, b)
		}
	}
	logged, _ := os.ReadFile(log)
	if string(logged) != "--user daemon-reload\n--user enable --now parley.service\n" {
		t.Errorf("systemctl calls: %q", logged)
	}

	// Again: unchanged. For another home: refused, unless --force.
	if r := parley(t.Context(), "", "--home", home, "service", "install", "--no-start"); r.code != exitOK || !strings.Contains(r.stdout, "unchanged") {
		t.Errorf("install again: exit %d, %q %q", r.code, r.stdout, r.stderr)
	}
	other := testHome(t)
	r = parley(t.Context(), "", "--home", other, "service", "install")
	if r.code != exitFailure || !strings.Contains(r.stderr, "--force") {
		t.Errorf("install for another home: exit %d, stderr %q; want 1 and --force", r.code, r.stderr)
	}
	oneLine(t, "refused install", r.stderr)
	if b2, _ := os.ReadFile(unit); string(b2) != string(b) {
		t.Errorf("a refused install changed the unit")
	}

	r = parley(t.Context(), "", "--home", home, "service", "status", "--json")
	var st map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil || r.code != exitOK {
		t.Fatalf("status --json: exit %d, %q: %v", r.code, r.stdout, err)
	}
	for k, want := range map[string]any{"unit": unit, "installed": true, "enabled": true, "active": true, "active_state": "active", "unit_file_state": "enabled", "daemon": false} {
		if st[k] != want {
			t.Errorf("status %s: got %#v, want %#v", k, st[k], want)
		}
	}
	// The daemon answering shows in status.
	startDaemon(t, home)
	r = parley(t.Context(), "", "--home", home, "service", "status")
	if r.code != exitOK || !strings.Contains(r.stdout, "daemon:    answers on its API") || !strings.Contains(r.stdout, "active:    yes (active)") {
		t.Errorf("status: exit %d, %q", r.code, r.stdout)
	}

	r = parley(t.Context(), "", "--home", home, "service", "uninstall")
	if r.code != exitOK || !strings.Contains(r.stdout, "removed") {
		t.Errorf("uninstall: exit %d, %q %q", r.code, r.stdout, r.stderr)
	}
	if _, err := os.Stat(unit); !os.IsNotExist(err) {
		t.Errorf("unit still there: %v", err)
	}
	logged, _ = os.ReadFile(log)
	if !strings.HasSuffix(string(logged), "--user disable --now parley.service\n--user daemon-reload\n") {
		t.Errorf("uninstall's systemctl calls: %q", logged)
	}
}

// TestServiceWithoutUserManager: in a container or CI (no session), the
// unit is still written and removed, and each command says in one line
// what to do, exit 1.
func TestServiceWithoutUserManager(t *testing.T) {
	unit, log := serviceEnv(t, false)
	home := testHome(t)
	r := parley(t.Context(), "", "--home", home, "service", "install")
	if r.code != exitFailure || !strings.Contains(r.stderr, "no systemd user manager") || !strings.Contains(r.stderr, "systemctl --user enable --now parley.service") {
		t.Errorf("install: exit %d, stderr %q", r.code, r.stderr)
	}
	oneLine(t, "install without a user manager", r.stderr)
	if _, err := os.Stat(unit); err != nil {
		t.Errorf("unit not written: %v", err)
	}
	r = parley(t.Context(), "", "--home", home, "service", "status", "--json")
	var st map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil || r.code != exitFailure || st["installed"] != true || st["error"] == nil {
		t.Errorf("status --json: exit %d, %q, %v", r.code, r.stdout, err)
	}
	r = parley(t.Context(), "", "--home", home, "service", "uninstall")
	if r.code != exitFailure || !strings.Contains(r.stderr, "removed") {
		t.Errorf("uninstall: exit %d, stderr %q", r.code, r.stderr)
	}
	oneLine(t, "uninstall without a user manager", r.stderr)
	if _, err := os.Stat(unit); !os.IsNotExist(err) {
		t.Errorf("unit not removed: %v", err)
	}
	if _, err := os.Stat(log); !os.IsNotExist(err) {
		t.Errorf("systemctl ran without a user manager")
	}
	if r := parley(t.Context(), "", "service"); r.code != exitUsage {
		t.Errorf("service alone: exit %d, want 2", r.code)
	}
}
