package api

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestClientNoDaemon(t *testing.T) {
	dir := shortDir(t)

	// A socket file nobody listens on any more (a daemon that crashed).
	stale := filepath.Join(dir, "stale.sock")
	l, err := net.Listen("unix", stale)
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); err != nil {
		t.Fatalf("stale socket: %v", err)
	}

	calls := map[string]func(*Client, context.Context) error{
		"Identity": func(c *Client, ctx context.Context) error { _, err := c.Identity(ctx); return err },
		"Peers":    func(c *Client, ctx context.Context) error { _, err := c.Peers(ctx); return err },
		"Send":     func(c *Client, ctx context.Context) error { _, err := c.Send(ctx, "@bob", "hi"); return err },
		"History":  func(c *Client, ctx context.Context) error { _, err := c.History(ctx, "@bob", 5, ""); return err },
		"Connect": func(c *Client, ctx context.Context) error {
			_, err := c.Connect(ctx, "/ip4/127.0.0.1/tcp/1")
			return err
		},
		"Events": func(c *Client, ctx context.Context) error { return c.Events(ctx, func(Event) error { return nil }) },
		"SetRoomRetention": func(c *Client, ctx context.Context) error {
			_, err := c.SetRoomRetention(ctx, "#dev", "90d")
			return err
		},
	}
	for _, tc := range []struct {
		name   string
		socket string
	}{
		{"missing socket", filepath.Join(dir, "missing.sock")},
		{"missing directory", filepath.Join(dir, "nope", "api.sock")},
		{"stale socket", stale},
	} {
		for name, call := range calls {
			t.Run(tc.name+"/"+name, func(t *testing.T) {
				ctx, cancel := context.WithTimeout(t.Context(), waitTimeout)
				defer cancel()
				err := call(NewClient(tc.socket), ctx)
				if !errors.Is(err, ErrNoDaemon) {
					t.Fatalf("got %v, want an error wrapping ErrNoDaemon", err)
				}
				if !strings.Contains(err.Error(), tc.socket) {
					t.Errorf("error: got %q, want it to name the socket %s", err, tc.socket)
				}
			})
		}
	}
}

// rawServer serves handler on a unix socket until the test ends.
func rawServer(t *testing.T, handler http.Handler) string {
	t.Helper()
	socket := filepath.Join(shortDir(t), "raw.sock")
	l, err := net.Listen("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: waitTimeout}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(l)
	}()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		_ = srv.Shutdown(ctx)
		select {
		case <-done:
		case <-time.After(waitTimeout):
			t.Errorf("raw server did not stop")
		}
	})
	return socket
}

func TestClientReadsErrors(t *testing.T) {
	for _, tc := range []struct {
		name        string
		status      int
		body        string
		wantCode    string
		wantMessage string
	}{
		{"JSON error", http.StatusConflict, `{"error":"ambiguous peer @bob","code":"conflict"}`, CodeConflict, "ambiguous peer @bob"},
		{"plain text", http.StatusBadGateway, "upstream broke", "", "daemon answered 502 Bad Gateway"},
		{"JSON without message", http.StatusTeapot, `{"code":"x"}`, "x", "daemon answered 418 I'm a teapot"},
		{"redirect", http.StatusMultipleChoices, "", "", "daemon answered 300 Multiple Choices"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			socket := rawServer(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			}))
			c := NewClient(socket)
			_, err := c.Identity(t.Context())
			var ae *Error
			if !errors.As(err, &ae) {
				t.Fatalf("got %v (%T), want *api.Error", err, err)
			}
			want := Error{Status: tc.status, Code: tc.wantCode, Message: tc.wantMessage}
			if *ae != want {
				t.Errorf("got %+v, want %+v", *ae, want)
			}
			// Events reads errors the same way.
			err = c.Events(t.Context(), func(Event) error { return nil })
			if !errors.As(err, &ae) || ae.Status != tc.status {
				t.Errorf("Events: got %v, want *api.Error with status %d", err, tc.status)
			}
		})
	}
}

func TestClientBadAnswers(t *testing.T) {
	t.Run("bad JSON", func(t *testing.T) {
		socket := rawServer(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write([]byte("{not json"))
		}))
		_, err := NewClient(socket).Identity(t.Context())
		if err == nil || !strings.Contains(err.Error(), "bad answer") {
			t.Errorf("Identity: got %v, want a bad answer error", err)
		}
	})
	t.Run("bad event", func(t *testing.T) {
		socket := rawServer(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write([]byte("\n{\"type\":\"peer\"}\nnot json\n"))
		}))
		var got []Event
		err := NewClient(socket).Events(t.Context(), func(e Event) error {
			got = append(got, e)
			return nil
		})
		if err == nil || !strings.Contains(err.Error(), "bad event") {
			t.Errorf("Events: got %v, want a bad event error", err)
		}
		if len(got) != 1 || got[0].Type != "peer" {
			t.Errorf("events before the bad one: got %+v, want one peer event", got)
		}
	})
}
