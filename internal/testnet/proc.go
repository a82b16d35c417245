package testnet

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/api"
)

var (
	buildOnce sync.Once
	buildPath string
	buildErr  error
)

// Binary builds cmd/parley once per test process and returns its path.
// PARLEY_BIN, if set, names a binary built already (for a machine without
// a Go toolchain, where a test binary built elsewhere runs).
func Binary(t testing.TB) string {
	t.Helper()
	if bin := os.Getenv("PARLEY_BIN"); bin != "" {
		return bin
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "parley-bin-")
		if err != nil {
			buildErr = err
			return
		}
		buildPath = filepath.Join(dir, "parley")
		out, err := exec.Command("go", "build", "-o", buildPath, "github.com/parley-chat/parley/cmd/parley").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildPath
}

// Daemon is one parley node run as a real process.
type Daemon struct {
	t      testing.TB
	Name   string
	Home   string
	Prefix []string // command prefix, e.g. ip netns exec NS
	bin    string

	mu      sync.Mutex
	cmd     *exec.Cmd
	waited  chan struct{}
	exitErr error
	logPath string
}

// NewDaemon prepares a node home named name (parley init --nick name).
func NewDaemon(t testing.TB, name string, prefix ...string) *Daemon {
	t.Helper()
	d := &Daemon{t: t, Name: name, Home: filepath.Join(shortTempDir(t), name), Prefix: prefix, bin: Binary(t)}
	if r := d.Run("init", "--nick", name); r.Code != 0 {
		t.Fatalf("%s: init: exit %d: %s", name, r.Code, r.Stderr)
	}
	return d
}

// shortTempDir returns a temporary directory with a short path, so unix
// socket paths stay under the 107-byte limit.
func shortTempDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "pt")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

// Result is the outcome of one CLI invocation.
type Result struct {
	Code   int
	Stdout string
	Stderr string
}

// Run runs parley --home HOME args... and returns its outcome.
func (d *Daemon) Run(args ...string) Result {
	return d.RunInput("", args...)
}

// RunInput is Run with standard input.
func (d *Daemon) RunInput(stdin string, args ...string) Result {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	full := append([]string{d.bin, "--home", d.Home}, args...)
	cmd := exec.CommandContext(ctx, full[0], full[1:]...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		d.t.Fatalf("%s: run %v: %v", d.Name, args, err)
	}
	return Result{Code: code, Stdout: out.String(), Stderr: errb.String()}
}

// MustRun runs a CLI command that must succeed and returns its stdout.
func (d *Daemon) MustRun(args ...string) string {
	d.t.Helper()
	r := d.Run(args...)
	if r.Code != 0 {
		d.t.Fatalf("%s: parley %s: exit %d: %s", d.Name, strings.Join(args, " "), r.Code, r.Stderr)
	}
	return r.Stdout
}

// RunJSON runs a CLI command that prints JSON and decodes it into v.
func (d *Daemon) RunJSON(v any, args ...string) {
	d.t.Helper()
	out := d.MustRun(args...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		d.t.Fatalf("%s: parley %s: bad JSON %q: %v", d.Name, strings.Join(args, " "), out, err)
	}
}

// Start starts parley daemon with args and waits until its API answers.
// It returns how long that took.
func (d *Daemon) Start(args ...string) time.Duration {
	d.t.Helper()
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cmd != nil {
		d.t.Fatalf("%s: already running", d.Name)
	}
	full := append(append(append([]string{}, d.Prefix...), d.bin, "--home", d.Home, "daemon"), args...)
	cmd := exec.Command(full[0], full[1:]...)
	d.logPath = filepath.Join(d.Home, "daemon.log")
	logf, err := os.OpenFile(d.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		d.t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	start := time.Now()
	if err := cmd.Start(); err != nil {
		d.t.Fatalf("%s: start daemon: %v", d.Name, err)
	}
	_ = logf.Close()
	d.cmd = cmd
	d.waited = make(chan struct{})
	go func(waited chan struct{}) {
		err := cmd.Wait()
		d.mu.Lock()
		d.exitErr = err
		d.mu.Unlock()
		close(waited)
	}(d.waited)
	d.t.Cleanup(func() { d.Kill() })
	cl := d.Client()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := cl.Identity(ctx)
		cancel()
		if err == nil {
			return time.Since(start)
		}
		select {
		case <-d.waited:
			d.t.Fatalf("%s: daemon exited at start: %v\n%s", d.Name, d.exitErr, d.Log())
		default:
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("%s: API not ready after 20s: %v\n%s", d.Name, err, d.Log())
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// Log returns the daemon's output so far.
func (d *Daemon) Log() string {
	b, _ := os.ReadFile(d.logPath)
	return string(b)
}

// Client returns an API client for the daemon.
func (d *Daemon) Client() *api.Client { return api.NewClient(filepath.Join(d.Home, "api.sock")) }

// PID returns the daemon's process ID.
func (d *Daemon) PID() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cmd == nil {
		return 0
	}
	return d.cmd.Process.Pid
}

// Stop sends SIGTERM and waits for the exit; it returns the exit code and
// how long the daemon took.
func (d *Daemon) Stop() (code int, took time.Duration) {
	d.t.Helper()
	d.mu.Lock()
	cmd, waited := d.cmd, d.waited
	d.mu.Unlock()
	if cmd == nil {
		d.t.Fatalf("%s: not running", d.Name)
	}
	start := time.Now()
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-waited:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-waited
		d.t.Fatalf("%s: still running 30s after SIGTERM\n%s", d.Name, d.Log())
	}
	took = time.Since(start)
	d.mu.Lock()
	defer d.mu.Unlock()
	d.cmd = nil
	code = cmd.ProcessState.ExitCode()
	return code, took
}

// Kill sends SIGKILL (kill -9) and waits for the process to be gone.
func (d *Daemon) Kill() {
	d.mu.Lock()
	cmd, waited := d.cmd, d.waited
	d.cmd = nil
	d.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill()
	<-waited
}

// RSS returns the daemon's resident set size in bytes (Linux).
func (d *Daemon) RSS() int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", d.PID()))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			var kb int64
			_, _ = fmt.Sscanf(strings.TrimSpace(rest), "%d", &kb)
			return kb << 10
		}
	}
	return 0
}

// Identity returns parley id --json.
func (d *Daemon) Identity() api.Identity {
	d.t.Helper()
	var id api.Identity
	d.RunJSON(&id, "id", "--json")
	return id
}

// Peers returns parley peers --json.
func (d *Daemon) Peers() []api.Peer {
	d.t.Helper()
	var ps []api.Peer
	d.RunJSON(&ps, "peers", "--json")
	return ps
}
