// Package notifytest is the test kit for desktop notifications: a private
// D-Bus session bus (dbus-daemon) and a fake org.freedesktop.Notifications
// server on it that records each call.
package notifytest

import (
	"bufio"
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
)

// Call is one Notify call the fake server received.
type Call struct {
	App, Summary, Body string
	Hints              map[string]dbus.Variant
}

// StartSessionBus starts a private session bus (dbus-daemon --session)
// for the test and returns its address. It skips the test when
// dbus-daemon is not installed (Debian package dbus-daemon).
func StartSessionBus(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("dbus-daemon")
	if err != nil {
		t.Skip("dbus-daemon not installed (apt-get install dbus-daemon): skipping the D-Bus test")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "--session", "--print-address", "--nofork")
	out, err := cmd.StdoutPipe()
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start dbus-daemon: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
	})
	addr := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		addr <- strings.TrimSpace(line)
	}()
	select {
	case a := <-addr:
		if a == "" {
			t.Fatal("dbus-daemon printed no address")
		}
		return a
	case <-time.After(10 * time.Second):
		t.Fatal("dbus-daemon printed no address in 10s")
	}
	return ""
}

// Server is a fake notification server.
type Server struct {
	calls chan Call
}

// Notify implements org.freedesktop.Notifications.Notify.
func (s *Server) Notify(app string, _ uint32, _, summary, body string, _ []string, hints map[string]dbus.Variant, _ int32) (uint32, *dbus.Error) {
	s.calls <- Call{App: app, Summary: summary, Body: body, Hints: hints}
	return 1, nil
}

// GetCapabilities implements org.freedesktop.Notifications.GetCapabilities.
func (s *Server) GetCapabilities() ([]string, *dbus.Error) { return []string{"body"}, nil }

// Serve registers a fake org.freedesktop.Notifications on the bus at addr
// for the test's duration.
func Serve(t testing.TB, addr string) *Server {
	t.Helper()
	conn, err := dbus.Connect(addr)
	if err != nil {
		t.Fatalf("connect to %s: %v", addr, err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	s := &Server{calls: make(chan Call, 1024)}
	if err := conn.Export(s, "/org/freedesktop/Notifications", "org.freedesktop.Notifications"); err != nil {
		t.Fatal(err)
	}
	reply, err := conn.RequestName("org.freedesktop.Notifications", dbus.NameFlagDoNotQueue)
	if err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("own org.freedesktop.Notifications: reply %v, err %v", reply, err)
	}
	return s
}

// Next waits for the next call, failing the test after timeout.
func (s *Server) Next(t testing.TB, timeout time.Duration) Call {
	t.Helper()
	select {
	case c := <-s.calls:
		return c
	case <-time.After(timeout):
		t.Fatalf("no notification over D-Bus within %v", timeout)
	}
	return Call{}
}

// Calls is the channel of calls, for tests that select on it.
func (s *Server) Calls() <-chan Call { return s.calls }
