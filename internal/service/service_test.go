package service

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// fakeSystemctl writes a stand-in for systemctl that appends its
// arguments to a log, answers `show` with show, and fails with stderr
// when fail is set. It returns the program and the log's path.
func fakeSystemctl(t *testing.T, show, failWith string) (prog, log string) {
	t.Helper()
	dir := t.TempDir()
	log = filepath.Join(dir, "calls")
	script := "#!/bin/sh\necho \"$*\" >> " + shellQuote(log) + "\n"
	if failWith != "" {
		script += "echo " + shellQuote(failWith) + " >&2\nexit 1\n"
	}
	script += "case \"$*\" in *show*) printf '%s' " + shellQuote(show) + ";; esac\n"
	prog = filepath.Join(dir, "systemctl")
	if err := os.WriteFile(prog, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return prog, log
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func calls(t *testing.T, log string) []string {
	t.Helper()
	b, err := os.ReadFile(log)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimRight(string(b), "\n"), "\n")
}

func withSession(k string) string {
	if k == "XDG_RUNTIME_DIR" {
		return "/run/user/1000"
	}
	return ""
}

func noSession(string) string { return "" }

func TestInstallUninstall(t *testing.T) {
	prog, log := fakeSystemctl(t, "ActiveState=active\nUnitFileState=enabled\n", "")
	m := Manager{Dir: filepath.Join(t.TempDir(), "systemd", "user"), Systemctl: prog, Getenv: withSession}
	unit := Unit("/usr/bin/parley", []string{"daemon", "--home", "/home/a/p"})
	ctx := t.Context()

	changed, err := m.Install(ctx, unit, false, true)
	if err != nil || !changed {
		t.Fatalf("install: changed %v, err %v", changed, err)
	}
	if b, _ := os.ReadFile(m.Path()); string(b) != unit {
		t.Errorf("unit file: got %q, want the unit", b)
	}
	want := []string{"--user daemon-reload", "--user enable --now parley.service"}
	if got := calls(t, log); !equal(got, want) {
		t.Errorf("systemctl calls: got %q, want %q", got, want)
	}
	// Again: identical, nothing written, systemd asked again (idempotent).
	if changed, err := m.Install(ctx, unit, false, true); err != nil || changed {
		t.Errorf("install again: changed %v, err %v; want unchanged", changed, err)
	}
	// A different unit: refused unless forced.
	other := Unit("/opt/parley", []string{"daemon"})
	if _, err := m.Install(ctx, other, false, true); !errors.Is(err, ErrUnitDiffers) {
		t.Errorf("install a different unit: got %v, want ErrUnitDiffers", err)
	}
	if b, _ := os.ReadFile(m.Path()); string(b) != unit {
		t.Errorf("a refused install changed the file")
	}
	if changed, err := m.Install(ctx, other, true, false); err != nil || !changed {
		t.Errorf("install --force --no-start: changed %v, err %v", changed, err)
	}
	if n := len(calls(t, log)); n != 4 {
		t.Errorf("--no-start ran systemctl: %d calls, want 4", n)
	}

	st, err := m.Status(ctx)
	if err != nil || st != (Status{Installed: true, ActiveState: "active", UnitFileState: "enabled"}) {
		t.Errorf("status: got %+v, %v", st, err)
	}
	if got := calls(t, log); got[len(got)-1] != "--user show -p ActiveState,UnitFileState parley.service" {
		t.Errorf("status asked %q", got[len(got)-1])
	}

	removed, err := m.Uninstall(ctx)
	if err != nil || !removed {
		t.Fatalf("uninstall: removed %v, err %v", removed, err)
	}
	if _, err := os.Stat(m.Path()); !os.IsNotExist(err) {
		t.Errorf("unit file still there: %v", err)
	}
	got := calls(t, log)
	if want := []string{"--user disable --now parley.service", "--user daemon-reload"}; !equal(got[len(got)-2:], want) {
		t.Errorf("uninstall calls: got %q, want %q", got[len(got)-2:], want)
	}
	if removed, err := m.Uninstall(ctx); err != nil || removed {
		t.Errorf("uninstall again: removed %v, err %v; want nothing to do", removed, err)
	}
}

func TestNoUserManager(t *testing.T) {
	// No session: the file is written and removed, systemctl never runs.
	prog, log := fakeSystemctl(t, "", "")
	m := Manager{Dir: t.TempDir(), Systemctl: prog, Getenv: noSession}
	unit := Unit("/usr/bin/parley", []string{"daemon"})
	if changed, err := m.Install(t.Context(), unit, false, true); !changed || !errors.Is(err, ErrNoUserManager) {
		t.Errorf("install: changed %v, err %v; want written and ErrNoUserManager", changed, err)
	}
	if _, err := os.Stat(m.Path()); err != nil {
		t.Errorf("unit not written: %v", err)
	}
	if st, err := m.Status(t.Context()); !st.Installed || !errors.Is(err, ErrNoUserManager) {
		t.Errorf("status: got %+v, %v", st, err)
	}
	if removed, err := m.Uninstall(t.Context()); !removed || !errors.Is(err, ErrNoUserManager) {
		t.Errorf("uninstall: removed %v, err %v", removed, err)
	}
	if _, err := os.Stat(m.Path()); !os.IsNotExist(err) {
		t.Errorf("unit not removed: %v", err)
	}
	if c := calls(t, log); len(c) != 0 {
		t.Errorf("systemctl ran without a session: %q", c)
	}

	// A session variable but no bus behind it: systemctl's own complaint.
	prog, _ = fakeSystemctl(t, "", "Failed to connect to bus: No medium found")
	m = Manager{Dir: t.TempDir(), Systemctl: prog, Getenv: withSession}
	if _, err := m.Install(t.Context(), unit, false, true); !errors.Is(err, ErrNoUserManager) || !strings.Contains(err.Error(), "No medium found") {
		t.Errorf("no bus: got %v", err)
	}
	// Another failure is reported as it is.
	prog, _ = fakeSystemctl(t, "", "Unit parley.service has a bad setting")
	m = Manager{Dir: t.TempDir(), Systemctl: prog, Getenv: withSession}
	if _, err := m.Install(t.Context(), unit, false, true); err == nil || errors.Is(err, ErrNoUserManager) || !strings.Contains(err.Error(), "bad setting") {
		t.Errorf("systemctl failing: got %v", err)
	}
	// No systemctl at all.
	m = Manager{Dir: t.TempDir(), Systemctl: filepath.Join(t.TempDir(), "none"), Getenv: withSession}
	if _, err := m.Install(t.Context(), unit, false, true); !errors.Is(err, ErrNoUserManager) || !strings.Contains(err.Error(), "not found") {
		t.Errorf("no systemctl: got %v", err)
	}
}

func TestUnitDir(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	if d, _ := UnitDir(env(map[string]string{"XDG_CONFIG_HOME": "/x/cfg", "HOME": "/home/a"})); d != "/x/cfg/systemd/user" {
		t.Errorf("XDG_CONFIG_HOME: got %q", d)
	}
	if d, _ := UnitDir(env(map[string]string{"XDG_CONFIG_HOME": "relative", "HOME": "/home/a"})); d != "/home/a/.config/systemd/user" {
		t.Errorf("relative XDG_CONFIG_HOME (ignored, as the spec says): got %q", d)
	}
	if d, _ := UnitDir(env(map[string]string{"HOME": "/home/a"})); d != "/home/a/.config/systemd/user" {
		t.Errorf("HOME: got %q", d)
	}
}

func TestExecArg(t *testing.T) {
	for in, want := range map[string]string{
		"/usr/bin/parley":  "/usr/bin/parley",
		"/home/a b/parley": `"/home/a b/parley"`,
		"/tmp/100%/x":      "/tmp/100%%/x",
		"/tmp/$HOME":       "/tmp/$$HOME",
		`/tmp/say "hi"\`:   `"/tmp/say \"hi\"\\"`,
		";":                `";"`,
		"":                 `""`,
	} {
		if got := execArg(in); got != want {
			t.Errorf("execArg(%q): got %s, want %s", in, got, want)
		}
	}
}

// TestUnitVerifies has systemd-analyze check the unit as the user
// manager would read it: no unknown keys, the command found, its path
// quoted right (one with a blank, a % and a $ in it).
func TestUnitVerifies(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed (apt-get install systemd): the unit is not verified")
	}
	dir := t.TempDir()
	binDir := filepath.Join(dir, "my apps", "100% $real")
	if err := os.MkdirAll(binDir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(binDir, "parley")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	unitDir := filepath.Join(dir, "units")
	m := Manager{Dir: unitDir}
	if _, err := m.Install(t.Context(), Unit(bin, []string{"daemon", "--home", filepath.Join(dir, "a $home")}), false, false); err != nil {
		t.Fatal(err)
	}
	runtime := filepath.Join(dir, "run")
	if err := os.Mkdir(runtime, 0o700); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), analyze, "verify", "--user", m.Path())
	cmd.Env = append(os.Environ(), "XDG_RUNTIME_DIR="+runtime)
	out, err := cmd.CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("systemd-analyze verify --user: %v\n%s\nunit:\n%s", err, out, Unit(bin, nil))
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
