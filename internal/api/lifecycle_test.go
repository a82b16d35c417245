package api

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
)

// waitRun waits for Run's result.
func waitRun(t *testing.T, ran <-chan error) error {
	t.Helper()
	return waitErr(t, ran, "Run to return")
}

// checkStopped checks that neither listener answers any more.
func checkStopped(t *testing.T, socket, tcpAddr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), waitTimeout)
	defer cancel()
	if _, err := NewClient(socket).Identity(ctx); !errors.Is(err, ErrNoDaemon) {
		t.Errorf("unix socket after the server stopped: got %v, want ErrNoDaemon", err)
	}
	if c, err := net.Dial("tcp", tcpAddr); err == nil {
		_ = c.Close()
		t.Errorf("TCP listener after the server stopped: still accepts connections")
	}
}

func TestRunReturnsNilOnCancel(t *testing.T) {
	n := newCluster(t).node("alice")
	socket, unixL, tcpL := listeners(t)
	s := New(Config{Backend: n.Svc, Token: testToken, Unix: unixL, TCP: tcpL})
	ctx, cancel := context.WithCancel(t.Context())
	ran := make(chan error, 1)
	go func() { ran <- s.Run(ctx) }()
	c := NewClient(socket)
	defer c.http.CloseIdleConnections()
	if _, err := c.Identity(t.Context()); err != nil {
		t.Fatalf("Identity while running: %v", err)
	}
	cancel()
	if err := waitRun(t, ran); err != nil {
		t.Errorf("Run after cancel: got %v, want nil", err)
	}
	checkStopped(t, socket, tcpL.Addr().String())
	for range 2 {
		if err := s.Close(); err != nil {
			t.Errorf("Close after Run: got %v, want nil", err)
		}
	}
}

func TestCloseBeforeRun(t *testing.T) {
	n := newCluster(t).node("alice")
	socket, unixL, tcpL := listeners(t)
	s := New(Config{Backend: n.Svc, Token: testToken, Unix: unixL, TCP: tcpL})
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	ran := make(chan error, 1)
	go func() { ran <- s.Run(t.Context()) }()
	if err := waitRun(t, ran); err != nil {
		t.Errorf("Run after Close: got %v, want nil", err)
	}
	checkStopped(t, socket, tcpL.Addr().String())
}

// TestCloseEndsEventStreams checks that Close ends open event streams
// (NDJSON over the socket, SSE over TCP) instead of waiting for them,
// cancels their subscriptions, and makes Run return nil.
func TestCloseEndsEventStreams(t *testing.T) {
	ts := serve(t)
	ndjson := followEvents(t, t.Context(), ts.client).done
	subs := []*subscription{ts.backend.waitSubscription(t)}

	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+ts.tcpAddr+"/api/v1/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := ts.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("SSE over TCP: got %d, want 200", resp.StatusCode)
	}
	subs = append(subs, ts.backend.waitSubscription(t))
	sse := make(chan error, 1)
	go func() {
		_, err := io.Copy(io.Discard, resp.Body)
		sse <- err
	}()

	closed := make(chan error, 1)
	go func() { closed <- ts.srv.Close() }()
	if err := waitErr(t, closed, "Close with open streams to return"); err != nil {
		t.Errorf("Close: got %v, want nil", err)
	}
	// Close waited for the handlers: the streams have ended, they were not
	// left open when the shutdown gave up waiting.
	for i, sub := range subs {
		select {
		case <-sub.cancelled:
		default:
			t.Errorf("subscription %d still open after Close returned", i)
		}
	}
	if err := waitErr(t, ndjson, "the NDJSON stream to end"); err == nil {
		t.Errorf("Events after Close: got nil, want an error saying the stream closed")
	}
	if err := waitErr(t, sse, "the SSE stream to end"); err != nil {
		t.Errorf("SSE stream after Close: got %v, want a clean end", err)
	}
	err = waitRun(t, ts.ran)
	if err != nil {
		t.Errorf("Run: got %v, want nil", err)
	}
	ts.ran <- err // for the cleanup
}

// brokenListener fails its next Accept with errBrokenListener once broken
// is set and the listener under it is closed.
type brokenListener struct {
	net.Listener
	broken atomic.Bool
}

var errBrokenListener = errors.New("listener broke")

func (l *brokenListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil && l.broken.Load() {
		return nil, errBrokenListener
	}
	return c, err
}

func (l *brokenListener) breakNow() {
	l.broken.Store(true)
	_ = l.Close()
}

func TestListenerErrorStopsServer(t *testing.T) {
	for _, which := range []string{"unix", "tcp"} {
		t.Run(which, func(t *testing.T) {
			n := newCluster(t).node("alice")
			socket, unixL, tcpL := listeners(t)
			cfg := Config{Backend: n.Svc, Token: testToken, Unix: unixL, TCP: tcpL}
			bl := &brokenListener{Listener: unixL}
			if which == "unix" {
				cfg.Unix = bl
			} else {
				bl.Listener = tcpL
				cfg.TCP = bl
			}
			s := New(cfg)
			ran := make(chan error, 1)
			go func() { ran <- s.Run(t.Context()) }()
			c := NewClient(socket)
			defer c.http.CloseIdleConnections()
			if _, err := c.Identity(t.Context()); err != nil {
				t.Fatalf("Identity while running: %v", err)
			}
			bl.breakNow()
			if err := waitRun(t, ran); !errors.Is(err, errBrokenListener) {
				t.Errorf("Run after the %s listener broke: got %v, want %v", which, err, errBrokenListener)
			}
			checkStopped(t, socket, tcpL.Addr().String())
			if err := s.Close(); err != nil {
				t.Errorf("Close after a failed Run: got %v, want nil", err)
			}
		})
	}
}
