package app

import (
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/chat/chattest"
	"github.com/parley-chat/parley/internal/api"
)

// checkStopped checks that every part of a has stopped: a part's Run
// called again returns at once only once the part has stopped completely
// (see lifecycle.Lifetime.Run); and what each part serves says so.
func checkStopped(t *testing.T, a *App) {
	t.Helper()
	for _, p := range []part{
		{"store", a.Store.Run},
		{"node", a.Node.Run},
		{"chat", a.Chat.Run},
		{"api", a.API.Run},
	} {
		ctx, cancel := context.WithCancel(context.Background())
		ran := make(chan error, 1)
		go func() { ran <- p.run(ctx) }()
		select {
		case err := <-ran:
			if err != nil {
				t.Errorf("%s: Run after the app stopped: got %v, want nil", p.name, err)
			}
		case <-time.After(waitTimeout):
			t.Errorf("%s is still running %v after App.Run returned", p.name, waitTimeout)
			cancel()
			if err := <-ran; err != nil {
				t.Errorf("%s: Run after cancel: %v", p.name, err)
			}
		}
		cancel()
	}
	ctx, cancel := context.WithTimeout(t.Context(), waitTimeout)
	defer cancel()
	if _, err := a.Chat.SendDM(ctx, randomPeer(t), "anyone?"); !errors.Is(err, chat.ErrClosed) {
		t.Errorf("chat after the app stopped: got %v, want ErrClosed", err)
	}
	if _, err := api.NewClient(a.Paths.Socket()).Identity(ctx); !errors.Is(err, api.ErrNoDaemon) {
		t.Errorf("API socket after the app stopped: got %v, want ErrNoDaemon", err)
	}
	if addr := a.APIAddr(); addr != "" {
		if c, err := net.Dial("tcp", addr); err == nil {
			_ = c.Close()
			t.Errorf("API on %s after the app stopped: still accepts connections", addr)
		}
	}
}

func randomPeer(t *testing.T) chat.PeerID {
	t.Helper()
	_, id := initHome(t, "x")
	return id.PeerID()
}

func TestRunStopsEveryPartOnCancel(t *testing.T) {
	p, _ := initHome(t, "alice")
	a := open(t, p, testOptions())
	stop := run(t, a)
	ctx, cancel := context.WithTimeout(t.Context(), waitTimeout)
	defer cancel()
	if _, err := api.NewClient(p.Socket()).Identity(ctx); err != nil {
		t.Fatalf("Identity while running: %v", err)
	}
	if err := stop(); err != nil {
		t.Errorf("Run after cancel: got %v, want nil", err)
	}
	checkStopped(t, a)
	if err := a.Close(); err != nil {
		t.Errorf("Close after Run: %v", err)
	}
}

// TestRunStopsWhenAPartFails breaks the API's unix listener under it: the
// API fails, the other parts stop, and Run returns the API's error
// without being cancelled.
func TestRunStopsWhenAPartFails(t *testing.T) {
	p, _ := initHome(t, "alice")
	a := open(t, p, testOptions())
	var runErr error
	ran := make(chan struct{})
	go func() {
		defer close(ran)
		runErr = a.Run(context.Background())
	}()
	t.Cleanup(func() {
		_ = a.Close()
		select {
		case <-ran:
		case <-time.After(waitTimeout):
			t.Errorf("Run did not return after Close")
		}
	})
	ctx, cancel := context.WithTimeout(t.Context(), waitTimeout)
	defer cancel()
	if _, err := api.NewClient(p.Socket()).Identity(ctx); err != nil {
		t.Fatalf("Identity while running: %v", err)
	}

	if err := a.unixL.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ran:
	case <-time.After(waitTimeout):
		t.Fatalf("Run did not return within %v of the API's listener failing", waitTimeout)
	}
	if err := runErr; !errors.Is(err, net.ErrClosed) || !strings.HasPrefix(err.Error(), "api: ") {
		t.Errorf("Run: got %v, want the API's error (api: ... use of closed network connection)", err)
	}
	checkStopped(t, a)
}

func TestRetentionFromConfig(t *testing.T) {
	p, _ := initHome(t, "alice")
	f, err := os.OpenFile(p.ConfigFile(), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("retention = \"90d\"\n"); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	a := open(t, p, testOptions())
	if a.Config.Retention != "90d" {
		t.Errorf("Config.Retention: got %q, want 90d", a.Config.Retention)
	}
	stop := run(t, a)
	ctx, cancel := context.WithTimeout(t.Context(), waitTimeout)
	defer cancel()
	c := api.NewClient(p.Socket())
	// The API answers once the messenger has started: #lobby is joined.
	var rooms []api.Room
	chattest.WaitFor(t, waitTimeout, "#"+DefaultRoom, func() bool {
		rooms, err = c.Rooms(ctx)
		return err != nil || len(rooms) > 0
	})
	if err != nil || len(rooms) != 1 || rooms[0].Name != DefaultRoom || rooms[0].Retention != "90d" {
		t.Fatalf("rooms: got %+v, %v; want #%s kept 90d (the config's default)", rooms, err, DefaultRoom)
	}
	// A room's own setting overrides the default, "forever" too; "default"
	// goes back to it.
	for _, tc := range []struct{ set, want string }{{"2w", "14d"}, {"forever", "forever"}, {"default", "90d"}} {
		room, err := c.SetRoomRetention(ctx, "#"+DefaultRoom, tc.set)
		if err != nil || room.Retention != tc.want {
			t.Errorf("SetRoomRetention(%q): got %+v, %v; want %s", tc.set, room, err, tc.want)
		}
	}
	if err := stop(); err != nil {
		t.Errorf("Run: got %v, want nil", err)
	}
}

// TestRunCancelledWhileStarting cancels Run as it starts: parts still
// starting fail because the parts they use (the node under the messenger)
// are stopping already; that is not a failure, and Run returns nil.
func TestRunCancelledWhileStarting(t *testing.T) {
	p, _ := initHome(t, "alice")
	for i := range 10 {
		a, err := Open(p, testOptions())
		if err != nil {
			t.Fatalf("Open %d: %v", i, err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := a.Run(ctx); err != nil {
			t.Errorf("Run %d with a cancelled context: got %v, want nil", i, err)
		}
		if err := a.Close(); err != nil {
			t.Errorf("Close %d: %v", i, err)
		}
	}
}
