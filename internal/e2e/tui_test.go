package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"charm.land/lipgloss/v2"

	"github.com/parley-chat/parley/internal/api"
	"github.com/parley-chat/parley/internal/testnet"
)

// tuiTerm is the interactive client running in a detached tmux session of
// a private tmux server: the test types with send-keys and reads the
// screen with capture-pane.
type tuiTerm struct {
	t             *testing.T
	sock, session string
	status        string // the shell around the client writes its exit status here
	width, height int
}

// startTUI runs the parley binary with args in a width x height terminal,
// without colours and without desktop notifications. It skips the test
// when tmux is missing.
func startTUI(t *testing.T, width, height int, args ...string) *tuiTerm {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed: the terminal client tests need it")
	}
	dir, err := os.MkdirTemp("", "tx") // short: a unix socket path is at most 107 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	conf := filepath.Join(dir, "tmux.conf")
	// No status line: the pane gets the whole window.
	if err := os.WriteFile(conf, []byte("set -g status off\nset -g remain-on-exit on\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tm := &tuiTerm{t: t, sock: filepath.Join(dir, "s"), session: "tui", status: filepath.Join(dir, "status"), width: width, height: height}
	cmd := []string{"env", "-u", "DBUS_SESSION_BUS_ADDRESS", "NO_COLOR=1", "USER=tester", "TERM=tmux-256color", testnet.Binary(t)}
	cmd = append(cmd, args...)
	for i, a := range cmd {
		cmd[i] = shellQuote(a)
	}
	// The shell in the pane records the exit status: tmux itself does not
	// always notice a pane's process end (it can stay a zombie).
	script := strings.Join(cmd, " ") + "; echo $? > " + shellQuote(tm.status+".tmp") + " && mv " + shellQuote(tm.status+".tmp") + " " + shellQuote(tm.status)
	out, err := exec.Command("tmux", "-S", tm.sock, "-f", conf, "new-session", "-d", "-s", tm.session,
		"-x", strconv.Itoa(width), "-y", strconv.Itoa(height), script).CombinedOutput()
	if err != nil {
		t.Fatalf("tmux new-session: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("tmux", "-S", tm.sock, "kill-server").Run() })
	return tm
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func (tm *tuiTerm) tmux(args ...string) string {
	tm.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-S", tm.sock}, args...)...).CombinedOutput()
	if err != nil {
		tm.t.Fatalf("tmux %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// screen is the visible pane as text, one string per line.
func (tm *tuiTerm) screen() string {
	tm.t.Helper()
	return strings.TrimSuffix(tm.tmux("capture-pane", "-p", "-t", tm.session), "\n")
}

// typeText types s literally; enter then presses Enter.
func (tm *tuiTerm) typeText(s string) { tm.t.Helper(); tm.tmux("send-keys", "-t", tm.session, "-l", s) }

func (tm *tuiTerm) enter(s string) {
	tm.t.Helper()
	tm.typeText(s)
	tm.keys("Enter")
}

// keys presses keys by tmux name: Enter, C-c, M-a, M-Enter.
func (tm *tuiTerm) keys(names ...string) {
	tm.t.Helper()
	tm.tmux(append([]string{"send-keys", "-t", tm.session}, names...)...)
}

// waitScreen waits until cond holds for the screen and returns it.
func (tm *tuiTerm) waitScreen(timeout time.Duration, what string, cond func(string) bool, dump ...func() string) string {
	tm.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		s := tm.screen()
		if cond(s) {
			return s
		}
		if time.Now().After(deadline) {
			var extra strings.Builder
			for _, d := range dump {
				extra.WriteString(d())
			}
			tm.t.Fatalf("timed out after %v waiting for %s; screen:\n%s\n%s", timeout, what, s, extra.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (tm *tuiTerm) waitText(timeout time.Duration, text string, dump ...func() string) string {
	tm.t.Helper()
	return tm.waitScreen(timeout, fmt.Sprintf("%q on screen", text), func(s string) bool { return strings.Contains(s, text) }, dump...)
}

// waitExit waits for the client to end and returns its exit status.
func (tm *tuiTerm) waitExit(timeout time.Duration) int {
	tm.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		b, err := os.ReadFile(tm.status)
		if err == nil {
			code, err := strconv.Atoi(strings.TrimSpace(string(b)))
			if err != nil {
				tm.t.Fatalf("exit status %q: %v", b, err)
			}
			return code
		}
		if time.Now().After(deadline) {
			tm.t.Fatalf("client still running %v after it was told to quit; screen:\n%s\ngoroutines:\n%s", timeout, tm.screen(), tm.dumpGoroutines())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// dumpGoroutines sends SIGQUIT to the client, which prints its goroutines
// and exits, and returns what the pane then holds.
func (tm *tuiTerm) dumpGoroutines() string {
	tm.t.Helper()
	shell := strings.TrimSpace(tm.tmux("display-message", "-p", "-t", tm.session, "#{pane_pid}"))
	out, err := exec.Command("pgrep", "-P", shell).Output()
	if err != nil {
		return "no client process under the pane's shell " + shell
	}
	pid, err := strconv.Atoi(strings.Fields(string(out))[0])
	if err != nil {
		return err.Error()
	}
	if p, err := os.FindProcess(pid); err == nil {
		_ = p.Signal(syscall.SIGQUIT)
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(tm.status); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	return tm.tmux("capture-pane", "-p", "-J", "-S", "-", "-t", tm.session)
}

// checkLayout checks that the screen is the client's layout at the
// terminal's size: the sidebar, the rule above the composer, the status
// bar at the bottom, and no line wider than the terminal.
func (tm *tuiTerm) checkLayout(screen, nick string) {
	tm.t.Helper()
	lines := strings.Split(screen, "\n")
	if len(lines) != tm.height {
		tm.t.Errorf("screen: got %d lines, want %d:\n%s", len(lines), tm.height, screen)
		return
	}
	for i, l := range lines {
		if w := lipgloss.Width(l); w > tm.width {
			tm.t.Errorf("line %d: got width %d, want at most %d: %q", i, w, tm.width, l)
		}
	}
	if !strings.HasPrefix(lines[0], "Rooms") {
		tm.t.Errorf("first line: got %q, want the sidebar's Rooms", lines[0])
	}
	for i, l := range lines[:tm.height-3] {
		if r := []rune(l); len(r) <= 22 || r[22] != '│' {
			tm.t.Errorf("line %d: got %q, want the sidebar's border at column 23", i, l)
		}
	}
	if got, want := lines[tm.height-3], strings.Repeat("─", tm.width); got != want {
		tm.t.Errorf("rule: got %q, want %d ─", got, tm.width)
	}
	if !strings.HasPrefix(lines[tm.height-2], "> ") {
		tm.t.Errorf("composer: got %q, want the prompt", lines[tm.height-2])
	}
	if !strings.HasPrefix(lines[tm.height-1], " "+nick+" · ") {
		tm.t.Errorf("status bar: got %q, want it to start with %q", lines[tm.height-1], nick)
	}
}

// TestTUIAttach runs 'parley' against a running daemon: it attaches,
// joins a room, sends into it, shows what a peer sends, and quits on
// Ctrl+C, leaving the daemon running.
func TestTUIAttach(t *testing.T) {
	alice, bob := testnet.NewDaemon(t, "alice"), testnet.NewDaemon(t, "bob")
	alice.Start(loopbackListen...)
	bob.Start(loopbackListen...)
	alice.MustRun("connect", bob.Identity().Addrs[0])
	bob.MustRun("join", "#team")

	tm := startTUI(t, 100, 30, "--home", alice.Home)
	logs := func() string {
		return "alice's log:\n" + tailLines(alice.Log(), 30) + "\nbob's log:\n" + tailLines(bob.Log(), 30)
	}
	start := time.Now()
	s := tm.waitText(20*time.Second, " alice · ", logs)
	t.Logf("figure: attach to the daemon to a drawn screen: %v", time.Since(start))
	if !strings.Contains(s, "▸#lobby") {
		t.Errorf("screen: want #lobby open:\n%s", s)
	}
	tm.waitScreen(10*time.Second, "bob online", func(s string) bool { return strings.Contains(s, " alice · 1 peer · ") })

	tm.enter("/join #team")
	tm.waitText(10*time.Second, "▸#team", logs)
	waitOrDump(t, 30*time.Second, "alice and bob both members of #team", func() bool {
		return roomMembers(t, alice, "team") == 2 && roomMembers(t, bob, "team") == 2
	}, logs)

	const fromTUI = "hello team, typed in the terminal client"
	tm.enter(fromTUI)
	tm.waitText(10*time.Second, "alice: "+fromTUI)
	waitOrDump(t, 30*time.Second, "bob's history of #team to hold the line typed on alice's client", func() bool {
		for _, m := range history(t, bob, "#team") {
			if m.Text == fromTUI {
				return true
			}
		}
		return false
	}, logs)

	const fromBob = "hello alice, from bob's command line"
	sendRoom(t, bob, "team", fromBob)
	tm.waitText(30*time.Second, "bob: "+fromBob, logs)

	// A direct message from bob shows as unread; Alt+A opens it.
	bob.MustRun("send", "@alice", "a private word")
	tm.waitText(30*time.Second, "● bob (1)", logs)
	tm.keys("M-a")
	tm.waitText(10*time.Second, "bob: a private word", logs)
	tm.enter("got it")
	waitOrDump(t, 30*time.Second, "bob to get alice's reply", func() bool {
		for _, m := range apiHistory(t, bob, "@alice") {
			if m.Text == "got it" {
				return true
			}
		}
		return false
	}, logs)
	s = tm.waitText(30*time.Second, "got it ✓✓", logs)
	tm.checkLayout(s, "alice")
	if !strings.Contains(s, "Peers") {
		t.Errorf("100 wide, in a DM: want the peers pane:\n%s", s)
	}

	tm.keys("C-c")
	if code := tm.waitExit(10 * time.Second); code != 0 {
		t.Errorf("exit status after Ctrl+C: got %d, want 0", code)
	}
	// Attached: the daemon keeps running.
	if id := alice.Identity(); id.Nick != "alice" {
		t.Errorf("alice's daemon after the client quit: got %+v", id)
	}
}

// TestTUIEmbedded runs 'parley' in a fresh home with no daemon: it asks
// for a nickname, starts a node of its own (which serves the API, so the
// CLI works beside it), talks with a daemon, and stops the node on Ctrl+C.
func TestTUIEmbedded(t *testing.T) {
	bob := testnet.NewDaemon(t, "bob")
	bob.Start(loopbackListen...)
	bobAddr := bob.Identity().Addrs[0]
	dir, err := os.MkdirTemp("", "pt")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	home := filepath.Join(dir, "carol")
	cli := func(args ...string) testnet.Result { return runCLI(t, home, args...) }
	logs := func() string {
		b, _ := os.ReadFile(filepath.Join(home, "chat.log"))
		return "carol's chat.log:\n" + tailLines(string(b), 30) + "\nbob's log:\n" + tailLines(bob.Log(), 30)
	}

	tm := startTUI(t, 100, 30, "--home", home, "--no-mdns", "--listen", "/ip4/127.0.0.1/tcp/0")
	s := tm.waitText(20*time.Second, "nickname")
	if !strings.Contains(s, "[tester]") {
		t.Errorf("nickname prompt: got\n%s\nwant the default from $USER, [tester]", s)
	}
	start := time.Now()
	tm.enter("carol")
	s = tm.waitText(30*time.Second, " carol · ", logs)
	t.Logf("figure: nickname entered to the client drawn with its own node: %v", time.Since(start))
	if !strings.Contains(s, "▸#lobby") {
		t.Errorf("screen: want #lobby open:\n%s", s)
	}

	// The embedded node answers the CLI on the home's socket.
	r := cli("id", "--json")
	var id api.Identity
	if err := json.Unmarshal([]byte(r.Stdout), &id); r.Code != 0 || err != nil || id.Nick != "carol" {
		t.Fatalf("parley id beside the client: exit %d, stdout %q, stderr %q; want carol's identity", r.Code, r.Stdout, r.Stderr)
	}
	if r := cli("connect", bobAddr); r.Code != 0 {
		t.Fatalf("parley connect beside the client: exit %d: %s", r.Code, r.Stderr)
	}
	tm.waitText(15*time.Second, " carol · 1 peer · ", logs)
	waitOrDump(t, 30*time.Second, "bob to see carol in #lobby", func() bool { return roomMembers(t, bob, "lobby") == 2 }, logs)

	const fromCarol = "hi bob, carol here from her own node"
	tm.enter(fromCarol)
	waitOrDump(t, 30*time.Second, "bob's #lobby to hold carol's line", func() bool {
		for _, m := range history(t, bob, "#lobby") {
			if m.Text == fromCarol {
				return true
			}
		}
		return false
	}, logs)
	const fromBob = "welcome carol"
	sendRoom(t, bob, "lobby", fromBob)
	tm.waitText(30*time.Second, "bob: "+fromBob, logs)

	// And a direct message: bob to carol, carol answers from the client.
	bob.MustRun("send", "@carol", "direct hello")
	tm.waitText(30*time.Second, "bob (1)", logs)
	tm.keys("M-a")
	tm.waitText(10*time.Second, "bob: direct hello", logs)
	tm.enter("direct reply")
	waitOrDump(t, 30*time.Second, "bob to get carol's direct reply", func() bool {
		for _, m := range apiHistory(t, bob, "@carol") {
			if m.Text == "direct reply" {
				return true
			}
		}
		return false
	}, logs)

	tm.keys("C-c")
	start = time.Now()
	if code := tm.waitExit(20 * time.Second); code != 0 {
		t.Errorf("exit status after Ctrl+C: got %d, want 0", code)
	}
	t.Logf("figure: Ctrl+C to the client and its node gone: %v", time.Since(start))
	// The node stopped with the client.
	r = cli("id")
	if r.Code != 1 || !strings.Contains(r.Stderr, "no daemon") {
		t.Errorf("parley id after the client quit: exit %d, stderr %q; want 1 and \"no daemon\"", r.Code, r.Stderr)
	}

	// The next start asks no nickname, and shows what was said.
	tm = startTUI(t, 100, 30, "--home", home, "--no-mdns", "--listen", "/ip4/127.0.0.1/tcp/0")
	s = tm.waitText(30*time.Second, "bob: "+fromBob, logs)
	if strings.Contains(s, "nickname") {
		t.Errorf("second start: got\n%s\nwant no nickname prompt", s)
	}
	tm.keys("C-c")
	if code := tm.waitExit(20 * time.Second); code != 0 {
		t.Errorf("second start: exit status after Ctrl+C: got %d, want 0", code)
	}
}

// TestTUI80x24 runs the client in the classic 80x24 terminal with a busy
// room: every line fits, the layout holds, no members pane.
func TestTUI80x24(t *testing.T) {
	alice := testnet.NewDaemon(t, "alice")
	alice.Start(loopbackListen...)
	for _, r := range []string{"#dev", "#random", "#a-room-with-a-rather-long-name"} {
		alice.MustRun("join", r)
	}
	sendRoom(t, alice, "lobby", "a short line")
	sendRoom(t, alice, "lobby", strings.Repeat("a long line that has to wrap in a narrow terminal ", 6))
	sendRoom(t, alice, "lobby", "averyveryverylongwordwithoutanyspacesthatcannotwrapatspacesandmustbecutsomewhereinthemiddle")

	tm := startTUI(t, 80, 24, "--home", alice.Home)
	s := tm.waitText(20*time.Second, "cut")
	tm.checkLayout(s, "alice")
	if strings.Contains(s, "Members") || strings.Contains(s, "Peers") {
		t.Errorf("80 wide: want no members pane:\n%s", s)
	}
	if !strings.Contains(s, "#a-room-with-a-rathe ") {
		t.Errorf("sidebar: want the long room name cut to fit:\n%s", s)
	}
	// Three lines in the composer: the layout still fits.
	tm.typeText("one")
	tm.keys("M-Enter")
	tm.typeText("two")
	tm.keys("M-Enter")
	tm.typeText("three")
	s = tm.waitText(10*time.Second, "> three")
	lines := strings.Split(s, "\n")
	if len(lines) != 24 || !strings.HasPrefix(lines[20], "> one") || !strings.HasPrefix(lines[21], "> two") {
		t.Errorf("composer of three lines: got\n%s\nwant lines 21-23 to hold one, two, three", s)
	}
	tm.keys("Enter")
	s = tm.waitText(10*time.Second, "alice: one")
	tm.checkLayout(s, "alice")

	tm.enter("/help")
	s = tm.waitText(10*time.Second, "Commands:")
	tm.checkLayout(s, "alice")
	tm.keys("q")
	tm.waitScreen(10*time.Second, "the help closed", func(s string) bool { return !strings.Contains(s, "Commands:") })
	tm.keys("C-c")
	if code := tm.waitExit(10 * time.Second); code != 0 {
		t.Errorf("exit status after Ctrl+C: got %d, want 0", code)
	}
}

// runCLI runs the parley binary with --home home and args.
func runCLI(t *testing.T, home string, args ...string) testnet.Result {
	t.Helper()
	cmd := exec.Command(testnet.Binary(t), append([]string{"--home", home}, args...)...)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("parley %v: %v", args, err)
	}
	return testnet.Result{Code: code, Stdout: out.String(), Stderr: errb.String()}
}

// TestTUIPrivateRoom creates a private room in the client, shows an
// invite on its panel, and lets bob join with the link read off the
// screen: his line reaches the client. Then the client removes him. The
// pane has no colours (NO_COLOR), so the marks are ASCII.
func TestTUIPrivateRoom(t *testing.T) {
	alice, bob := testnet.NewDaemon(t, "alice"), testnet.NewDaemon(t, "bob")
	alice.Start(loopbackListen...)
	bob.Start(loopbackListen...)
	alice.MustRun("connect", bob.Identity().Addrs[0])
	logs := func() string {
		return "alice's log:\n" + tailLines(alice.Log(), 30) + "\nbob's log:\n" + tailLines(bob.Log(), 30)
	}

	const width = 100
	tm := startTUI(t, width, 40, "--home", alice.Home)
	tm.waitText(20*time.Second, " alice · ", logs)
	tm.enter("/create --private #plans")
	s := tm.waitText(10*time.Second, "▸#plans [p]", logs)
	tm.checkLayout(s, "alice")
	tm.waitText(10*time.Second, "#plans [p]  private · you are an admin", logs)

	tm.enter("/invite")
	s = tm.waitText(10*time.Second, "Invite into #plans [p]", logs)
	// The link: the lines from its start, each the full width but the last.
	var link strings.Builder
	for _, l := range strings.Split(s, "\n") {
		if link.Len() == 0 && !strings.HasPrefix(l, "parley://invite/") {
			continue
		}
		l = strings.TrimRight(l, " ")
		if l == "" {
			break
		}
		link.WriteString(l)
		if len(l) < width {
			break
		}
	}
	if link.Len() == 0 {
		t.Fatalf("invite panel: no link on screen:\n%s", s)
	}
	if r := bob.Run("join", link.String()); r.Code != 0 {
		t.Fatalf("bob joins with the link read off the screen: exit %d, %q %q; screen:\n%s", r.Code, r.Stdout, r.Stderr, s)
	}
	tm.keys("Escape")
	tm.waitScreen(10*time.Second, "the invite panel closed", func(s string) bool { return !strings.Contains(s, "Invite into") })

	const fromBob = "hello from the invited side"
	sendRoom(t, bob, "plans", fromBob)
	tm.waitText(30*time.Second, "bob: "+fromBob, logs)

	tm.enter("/remove @bob")
	s = tm.waitText(30*time.Second, "removed @bob in #plans", logs)
	tm.checkLayout(s, "alice")

	tm.keys("C-c")
	if code := tm.waitExit(10 * time.Second); code != 0 {
		t.Errorf("exit status after Ctrl+C: got %d, want 0", code)
	}
}

// TestTUIThreadAndReactions: in the client, alice opens the thread of
// bob's message and replies there; bob's answer in the thread shows in
// her thread pane and neither reply in the room, where the root counts
// them; reactions from both sides and bob's edit show on the message.
func TestTUIThreadAndReactions(t *testing.T) {
	alice, bob := testnet.NewDaemon(t, "alice"), testnet.NewDaemon(t, "bob")
	alice.Start(loopbackListen...)
	bob.Start(loopbackListen...)
	alice.MustRun("connect", bob.Identity().Addrs[0])
	bob.MustRun("join", "#team")
	logs := func() string {
		return "alice's log:\n" + tailLines(alice.Log(), 30) + "\nbob's log:\n" + tailLines(bob.Log(), 30)
	}

	tm := startTUI(t, 100, 30, "--home", alice.Home)
	tm.waitText(20*time.Second, " alice · ", logs)
	tm.enter("/join #team")
	tm.waitText(10*time.Second, "▸#team", logs)
	waitOrDump(t, 30*time.Second, "alice and bob both members of #team", func() bool {
		return roomMembers(t, alice, "team") == 2 && roomMembers(t, bob, "team") == 2
	}, logs)

	root := sendRoom(t, bob, "team", "who reviews the outbox?")
	tm.waitText(30*time.Second, "bob: who reviews the outbox?", logs)

	tm.enter("/thread 1")
	tm.waitText(10*time.Second, "Thread in #team", logs)
	tm.enter("I will, in the thread")
	tm.waitText(30*time.Second, "alice: I will, in the thread", logs)
	waitOrDump(t, 30*time.Second, "bob's thread to hold alice's reply", func() bool {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		ms, err := bob.Client().Thread(ctx, root)
		return err == nil && slices.ContainsFunc(ms, func(m api.Message) bool { return m.Text == "I will, in the thread" && m.Thread == root })
	}, logs)
	bob.MustRun("reply", root, "thanks alice", "--thread")
	tm.waitText(30*time.Second, "bob: thanks alice", logs)

	tm.keys("Escape")
	s := tm.waitText(30*time.Second, "↳ 2 replies, last at", logs)
	if strings.Contains(s, "thanks alice") || strings.Contains(s, "I will, in the thread") {
		t.Errorf("room after the thread: got\n%s\nwant no thread-only reply in it", s)
	}

	bob.MustRun("react", root, "👍")
	tm.enter("/react 1 🎉")
	bob.MustRun("edit", root, "who reviews the outbox today?")
	s = tm.waitScreen(30*time.Second, "both reactions and the edit", func(s string) bool {
		return strings.Contains(s, "👍 1") && strings.Contains(s, "🎉 1") && strings.Contains(s, "bob: who reviews the outbox today? (edited)")
	}, logs)
	tm.checkLayout(s, "alice")

	// Read receipts: bob reading the room (history marks it read) shows
	// as "seen by 1" under alice's own message; bob reading a direct
	// message shows it "✓✓ read".
	tm.enter("ready for review")
	tm.waitText(30*time.Second, "alice: ready for review", logs)
	waitOrDump(t, 30*time.Second, "bob to hold alice's message", func() bool {
		return strings.Contains(bob.MustRun("history", "#team", "--keep-unread"), "ready for review")
	}, logs)
	bob.MustRun("history", "#team")
	tm.waitText(30*time.Second, "alice: ready for review · seen by 1", logs)
	bobID := bob.Identity().PeerID
	tm.enter("/msg " + bobID + " a word in private")
	tm.waitText(30*time.Second, "alice: a word in private ✓✓", logs)
	bob.MustRun("history", alice.Identity().PeerID)
	tm.waitText(30*time.Second, "alice: a word in private ✓✓ read", logs)

	tm.keys("C-c")
	if code := tm.waitExit(10 * time.Second); code != 0 {
		t.Errorf("exit status after Ctrl+C: got %d, want 0", code)
	}
}

// TestTUIAppMessage: a Slack payload POSTed to a webhook alice's daemon
// hosts shows in bob's client formatted: the app's name marked [app], the
// bold text's content without its asterisks, the attachment behind its
// bar (| without colour) with its fields.
func TestTUIAppMessage(t *testing.T) {
	alice, bob := testnet.NewDaemon(t, "alice"), testnet.NewDaemon(t, "bob")
	alice.Start(append([]string{"--hooks-listen", "127.0.0.1:0"}, loopbackListen...)...)
	bob.Start(loopbackListen...)
	alice.MustRun("connect", bob.Identity().Addrs[0])
	for _, d := range []*testnet.Daemon{alice, bob} {
		d.MustRun("join", "#team")
	}
	logs := func() string {
		return "alice's log:\n" + tailLines(alice.Log(), 30) + "\nbob's log:\n" + tailLines(bob.Log(), 30)
	}
	waitOrDump(t, 30*time.Second, "alice and bob both members of #team", func() bool {
		return roomMembers(t, alice, "team") == 2 && roomMembers(t, bob, "team") == 2
	}, logs)
	var hook api.Webhook
	alice.RunJSON(&hook, "webhook", "create", "#team", "--name", "ci", "--json")
	if !strings.HasPrefix(hook.URL, "http://127.0.0.1:") {
		t.Fatalf("webhook create --json: got %+v, want a loopback URL", hook)
	}

	tm := startTUI(t, 100, 30, "--home", bob.Home)
	tm.waitText(20*time.Second, " bob · ", logs)
	tm.enter("/join #team")
	tm.waitText(10*time.Second, "▸#team", logs)

	const payload = `{
		"text": "*Build 42 passed* on ` + "`main`" + ` <https://ci.example/42|details>",
		"attachments": [{
			"color": "good",
			"title": "Pipeline 42",
			"title_link": "https://ci.example/42",
			"fields": [
				{"title": "Branch", "value": "main", "short": true},
				{"title": "Took", "value": "4m 12s", "short": true}
			],
			"footer": "CI"
		}]
	}`
	if status, body, _ := hookPost(t, hook.URL, "application/json", payload); status != 200 || body != "ok" {
		t.Fatalf("POST the payload: got %d %q, want 200 ok", status, body)
	}
	s := tm.waitScreen(30*time.Second, "the app message formatted", func(s string) bool {
		return strings.Contains(s, "ci [app]: Build 42 passed on main details") && strings.Contains(s, "(https://ci.example/42)") &&
			strings.Contains(s, "| Pipeline 42") && strings.Contains(s, "| Branch: main") && strings.Contains(s, "Took: 4m 12s")
	}, logs)
	if strings.Contains(s, "*Build") || strings.Contains(s, "`main`") {
		t.Errorf("screen: got\n%s\nwant the mrkdwn marks gone", s)
	}
	tm.checkLayout(s, "bob")

	tm.keys("C-c")
	if code := tm.waitExit(10 * time.Second); code != 0 {
		t.Errorf("exit status after Ctrl+C: got %d, want 0", code)
	}
}
