package tui

import (
	"bytes"
	"context"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/api"
)

// waitTimeout bounds every wait; things normally take milliseconds.
const waitTimeout = 10 * time.Second

// syncBuffer is a bytes.Buffer the program writes while the test reads.
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

// waitFor polls cond until it holds or waitTimeout passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", waitTimeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// runProgram starts Run over fb with a pipe for the keyboard and a buffer
// for the screen, and returns them with Run's result.
func runProgram(t *testing.T, ctx context.Context, fb *fakeBackend) (keys *io.PipeWriter, screen *syncBuffer, done chan error) {
	t.Helper()
	inR, inW := io.Pipe()
	screen = &syncBuffer{}
	done = make(chan error, 1)
	go func() {
		done <- Run(ctx, fb, Options{Now: func() time.Time { return t0 }, Loc: time.UTC}, inR, screen)
	}()
	t.Cleanup(func() {
		_ = inW.Close()
		_ = inR.Close()
	})
	return inW, screen, done
}

// waitLobby waits until the program shows #lobby. A pipe has no size, so
// the test answers as a terminal reports its size in cells (CSI 8 ; rows ;
// columns t), again until the screen is drawn: Bubble Tea's own first size
// (0x0 for output that is no terminal) may come after the first report.
func waitLobby(t *testing.T, keys io.Writer, screen *syncBuffer) {
	t.Helper()
	waitFor(t, "the lobby on screen", func() bool {
		if strings.Contains(screen.String(), "#lobby") {
			return true
		}
		_, err := keys.Write([]byte("\x1b[8;24;80t"))
		return err != nil
	})
	if !strings.Contains(screen.String(), "#lobby") {
		t.Fatal("the program stopped reading its input before drawing")
	}
}

func waitDone(t *testing.T, done chan error) {
	t.Helper()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: got %v, want nil", err)
		}
	case <-time.After(waitTimeout):
		t.Fatal("Run did not return")
	}
}

// TestRunFollowsEventsAndQuitsOnCtrlC runs the real program: events from
// the backend reach the screen, and Ctrl+C (byte 3 on the terminal) ends
// Run with no error.
func TestRunFollowsEventsAndQuitsOnCtrlC(t *testing.T) {
	fb := newFakeBackend()
	fb.events = make(chan api.Event)
	keys, screen, done := runProgram(t, t.Context(), fb)
	waitLobby(t, keys, screen)
	msg := textMsg("e1", "room:lobby", bobID, "hello from the stream", t0)
	select {
	case fb.events <- api.Event{Type: "message", Message: &msg}:
	case <-time.After(waitTimeout):
		t.Fatal("Run never followed the event stream")
	}
	waitFor(t, "the event's message on screen", func() bool { return strings.Contains(screen.String(), "hello from the stream") })

	if _, err := keys.Write([]byte("hi\r")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the typed line sent", func() bool { return len(fb.callsOf("Send")) == 1 })
	if got := fb.callsOf("Send")[0]; got[0] != "#lobby" || got[1] != "hi" {
		t.Errorf("Send: got %q, want #lobby, hi", got)
	}
	if _, err := keys.Write([]byte{3}); err != nil {
		t.Fatal(err)
	}
	waitDone(t, done)
}

// TestRunReportsLostEventStream closes the stream: the status bar says so.
func TestRunReportsLostEventStream(t *testing.T) {
	fb := newFakeBackend()
	fb.events = make(chan api.Event)
	keys, screen, done := runProgram(t, t.Context(), fb)
	waitLobby(t, keys, screen)
	waitFor(t, "the event stream followed", func() bool { return len(fb.callsOf("Events")) == 1 })
	close(fb.events)
	waitFor(t, "the lost stream on screen", func() bool { return strings.Contains(screen.String(), "lost the node's event stream") })
	if _, err := keys.Write([]byte{3}); err != nil {
		t.Fatal(err)
	}
	waitDone(t, done)
}

// TestRunEndsWithContext cancels Run's context: it returns nil.
func TestRunEndsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	fb := newFakeBackend()
	keys, screen, done := runProgram(t, ctx, fb)
	waitLobby(t, keys, screen)
	cancel()
	waitDone(t, done)
}
