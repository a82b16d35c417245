package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/parley-chat/parley/internal/app"
)

// result is what one parley invocation did.
type result struct {
	code   int
	stdout string
	stderr string
}

// syncBuffer is a bytes.Buffer safe for a command writing in one goroutine
// while the test reads in another.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// parley runs the command line args as main would, with stdin as standard
// input, and returns its exit code and output.
func parley(ctx context.Context, stdin string, args ...string) result {
	var stdout, stderr syncBuffer
	err := run(ctx, args, strings.NewReader(stdin), &stdout, &stderr)
	code := report(err, &stderr)
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// testHome returns a node home that does not exist yet, short enough for
// the API's unix socket.
func testHome(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if len(dir) > 80 {
		var err error
		dir, err = os.MkdirTemp("", "parley")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.RemoveAll(dir) })
	}
	return filepath.Join(dir, "h")
}

// oneLine checks that s is exactly one line starting "parley: ".
func oneLine(t *testing.T, what, s string) {
	t.Helper()
	if !strings.HasPrefix(s, "parley: ") || !strings.HasSuffix(s, "\n") || strings.Count(s, "\n") != 1 {
		t.Errorf("%s: got %q, want one line starting \"parley: \"", what, s)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		stdin   string
		wantErr string // in stderr
	}{
		{name: "no args", args: nil, wantErr: "needs a terminal"},
		{name: "unknown command", args: []string{"frobnicate"}, wantErr: "frobnicate"},
		{name: "unknown flag", args: []string{"--frob"}, wantErr: "frob"},
		{name: "unknown subcommand flag", args: []string{"peers", "--frob"}, wantErr: "frob"},
		{name: "bad nick", args: []string{"init", "--nick", "bad nick!"}, wantErr: "invalid nickname"},
		{name: "long nick", args: []string{"init", "--nick", strings.Repeat("n", 33)}, wantErr: "invalid nickname"},
		{name: "init with an argument", args: []string{"init", "alice"}, wantErr: "init"},
		{name: "history limit 0", args: []string{"history", "X", "--limit", "0"}, wantErr: "--limit"},
		{name: "history limit negative", args: []string{"history", "X", "--limit", "-5"}, wantErr: "--limit"},
		{name: "history limit over max", args: []string{"history", "X", "--limit", "10001"}, wantErr: "--limit"},
		{name: "history limit not a number", args: []string{"history", "X", "--limit", "ten"}, wantErr: "limit"},
		{name: "history without peer", args: []string{"history"}, wantErr: "history"},
		{name: "history with two peers", args: []string{"history", "X", "Y"}, wantErr: "history"},
		{name: "send with one arg", args: []string{"send", "X"}, wantErr: "send"},
		{name: "send with no args", args: []string{"send"}, wantErr: "send"},
		{name: "send with three args", args: []string{"send", "X", "hello", "world"}, wantErr: "send"},
		{name: "send stdin too large", args: []string{"send", "X", "-"}, stdin: strings.Repeat("a", maxStdinText+1), wantErr: "too large"},
		{name: "connect without addr", args: []string{"connect"}, wantErr: "connect"},
		{name: "id with an argument", args: []string{"id", "me"}, wantErr: "id"},
		{name: "peers with an argument", args: []string{"peers", "all"}, wantErr: "peers"},
		{name: "tail with an argument", args: []string{"tail", "x"}, wantErr: "tail"},
		{name: "verify without a peer", args: []string{"verify"}, wantErr: "verify takes a peer"},
		{name: "verify two peers", args: []string{"verify", "@a", "@b"}, wantErr: "usage: parley verify"},
		{name: "verify bad flag", args: []string{"verify", "@a", "--yes"}, wantErr: "yes"},
		{name: "retention without a room", args: []string{"retention"}, wantErr: "retention takes a room"},
		{name: "retention with three args", args: []string{"retention", "#dev", "90d", "now"}, wantErr: "usage: parley retention"},
		{name: "retention of a bad room", args: []string{"retention", "#Dev", "90d"}, wantErr: "invalid room name"},
		{name: "retention bad duration", args: []string{"retention", "#dev", "soon"}, wantErr: `retention "soon"`},
		{name: "retention negative", args: []string{"retention", "#dev", "--", "-1d"}, wantErr: `retention "-1d"`},
		{name: "retention negative as a flag", args: []string{"retention", "#dev", "-1d"}, wantErr: "-1d"},
		{name: "retention bad flag", args: []string{"retention", "#dev", "--keep"}, wantErr: "keep"},
		{name: "daemon with an argument", args: []string{"daemon", "now"}, wantErr: "daemon"},
		{name: "daemon bad log level", args: []string{"daemon", "--log-level", "loud"}, wantErr: "log level"},
		{name: "daemon bad flag value", args: []string{"daemon", "--no-mdns=maybe"}, wantErr: "no-mdns"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			home := testHome(t)
			r := parley(t.Context(), tc.stdin, append([]string{"--home", home}, tc.args...)...)
			if r.code != exitUsage {
				t.Fatalf("parley %q: got exit %d (stderr %q), want %d", tc.args, r.code, r.stderr, exitUsage)
			}
			oneLine(t, "stderr", r.stderr)
			if !strings.Contains(r.stderr, tc.wantErr) {
				t.Errorf("stderr: got %q, want it to mention %q", r.stderr, tc.wantErr)
			}
			if r.stdout != "" {
				t.Errorf("stdout: got %q, want nothing", r.stdout)
			}
			if _, err := os.Stat(home); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("home after a usage error: got %v, want nothing created", err)
			}
		})
	}
}

func TestHelpAndVersion(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--help"}, "daemon"},
		{[]string{"send", "--help"}, "send PEER"},
		{[]string{"--version"}, app.Version},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			r := parley(t.Context(), "", tc.args...)
			if r.code != exitOK {
				t.Fatalf("got exit %d (stderr %q), want 0", r.code, r.stderr)
			}
			if !strings.Contains(r.stdout, tc.want) {
				t.Errorf("stdout: got %q, want it to mention %q", r.stdout, tc.want)
			}
		})
	}
}

func TestInitTwice(t *testing.T) {
	home := testHome(t)
	first := parley(t.Context(), "", "--home", home, "init", "--nick", "alice")
	if first.code != exitOK {
		t.Fatalf("first init: got exit %d (stderr %q), want 0", first.code, first.stderr)
	}
	if !strings.Contains(first.stdout, "created identity") || !strings.Contains(first.stdout, "--home "+home+" daemon") {
		t.Errorf("first init stdout: got %q, want the new identity and how to start the daemon", first.stdout)
	}
	keyFile := filepath.Join(home, "identity.key")
	key, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatalf("identity.key after init: %v", err)
	}

	second := parley(t.Context(), "", "--home", home, "init", "--nick", "bob")
	if second.code != exitFailure {
		t.Fatalf("second init: got exit %d (stderr %q), want %d", second.code, second.stderr, exitFailure)
	}
	oneLine(t, "second init stderr", second.stderr)
	if !strings.Contains(second.stderr, "already") {
		t.Errorf("second init stderr: got %q, want it to say an identity already exists", second.stderr)
	}
	after, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(after, key) {
		t.Errorf("identity.key changed after a refused init")
	}
	cfg, err := app.LoadConfig(filepath.Join(home, "config.toml"))
	if err != nil || cfg.Nick != "alice" {
		t.Errorf("config after a refused init: got %+v, %v; want nick alice", cfg, err)
	}
}

func TestNoDaemon(t *testing.T) {
	initialised := testHome(t)
	if r := parley(t.Context(), "", "--home", initialised, "init", "--nick", "alice"); r.code != exitOK {
		t.Fatalf("init: exit %d: %s", r.code, r.stderr)
	}
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"peers", []string{"peers"}},
		{"peers json", []string{"peers", "--json"}},
		{"id", []string{"id"}},
		{"history", []string{"history", "@bob"}},
		{"send", []string{"send", "@bob", "hi"}},
		{"connect", []string{"connect", "/ip4/127.0.0.1/tcp/1/p2p/x"}},
		{"tail", []string{"tail"}},
		{"retention", []string{"retention", "#dev"}},
		{"verify", []string{"verify", "@bob"}},
		{"verify confirm json", []string{"verify", "@bob", "--confirm", "--json"}},
		{"set retention", []string{"retention", "#dev", "90d"}},
	} {
		for _, h := range []struct{ name, home string }{{"fresh", testHome(t)}, {"initialised", initialised}} {
			home := h.home
			t.Run(tc.name+"/"+h.name, func(t *testing.T) {
				r := parley(t.Context(), "", append([]string{"--home", home}, tc.args...)...)
				if r.code != exitFailure {
					t.Fatalf("got exit %d (stderr %q), want %d", r.code, r.stderr, exitFailure)
				}
				oneLine(t, "stderr", r.stderr)
				if !strings.Contains(r.stderr, "daemon") {
					t.Errorf("stderr: got %q, want it to name the daemon", r.stderr)
				}
				if want := "parley --home " + home + " daemon"; !strings.Contains(r.stderr, want) {
					t.Errorf("stderr: got %q, want the advice %q", r.stderr, want)
				}
				if r.stdout != "" {
					t.Errorf("stdout: got %q, want nothing", r.stdout)
				}
			})
		}
	}
}

func TestNoDaemonWithParleyHome(t *testing.T) {
	home := testHome(t)
	t.Setenv("PARLEY_HOME", home)
	r := parley(t.Context(), "", "peers")
	if r.code != exitFailure {
		t.Fatalf("got exit %d (stderr %q), want %d", r.code, r.stderr, exitFailure)
	}
	if !strings.Contains(r.stderr, home) || !strings.Contains(r.stderr, "'parley daemon'") {
		t.Errorf("stderr: got %q, want it to name %s and advise 'parley daemon'", r.stderr, home)
	}
}

func TestReport(t *testing.T) {
	for _, tc := range []struct {
		name       string
		err        error
		wantCode   int
		wantStderr string
	}{
		{"nil", nil, exitOK, ""},
		{"usage", usageError{errors.New("bad flag")}, exitUsage, "parley: bad flag\n"},
		{"runtime", runtimeError{errors.New("disk full")}, exitFailure, "parley: disk full\n"},
		{"wrapped runtime", fmt.Errorf("while sending: %w", runtimeError{errors.New("gone")}), exitFailure, "parley: while sending: gone\n"},
		{"plain", errors.New("something"), exitUsage, "parley: something\n"},
		{"multi-line", runtimeError{errors.New("first\nsecond\nthird")}, exitFailure, "parley: first second third\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			if got := report(tc.err, &stderr); got != tc.wantCode {
				t.Errorf("exit code: got %d, want %d", got, tc.wantCode)
			}
			if got := stderr.String(); got != tc.wantStderr {
				t.Errorf("stderr: got %q, want %q", got, tc.wantStderr)
			}
		})
	}
}

func TestParseLevel(t *testing.T) {
	for _, tc := range []struct {
		in      string
		wantErr bool
	}{
		{"", false}, {"info", false}, {"INFO", false}, {"debug", false}, {"warn", false}, {"warning", false}, {"error", false},
		{"trace", true}, {"loud", true},
	} {
		_, err := parseLevel(tc.in)
		if (err != nil) != tc.wantErr {
			t.Errorf("parseLevel(%q): got %v, want error %v", tc.in, err, tc.wantErr)
		}
	}
}
