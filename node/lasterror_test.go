package node_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/chat/chattest"
	"github.com/parley-chat/parley/node"
)

// TestLastErrorSaysWhyAPeerIsUnreachable: a peer that is up has no last
// error; once it stops, the redials that fail say why, in one line.
func TestLastErrorSaysWhyAPeerIsUnreachable(t *testing.T) {
	a, b := newLoopbackNode(t), newLoopbackNode(t)
	registerDM(a)
	registerDM(b)
	ctx, cancel := context.WithTimeout(t.Context(), chattest.Timeout)
	defer cancel()
	bID := chat.PeerID(b.Host().ID())
	if _, err := a.Connect(ctx, b.Addrs()[0]); err != nil {
		t.Fatalf("connect: %v", err)
	}
	if reason, at := a.LastError(bID); reason != "" || !at.IsZero() {
		t.Errorf("while up: got (%q, %v), want no error", reason, at)
	}
	stopped := time.Now()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	var reason string
	var at time.Time
	chattest.WaitFor(t, 0, "a redial of the stopped peer failing with connection refused", func() bool {
		reason, at = a.LastError(bID)
		return strings.Contains(reason, "connection refused")
	})
	if strings.ContainsAny(reason, "\n\r") {
		t.Errorf("reason %q: want one line", reason)
	}
	if at.Before(stopped.Add(-time.Second)) {
		t.Errorf("error time %v is before the peer stopped (%v)", at, stopped)
	}
	if strings.Contains(reason, "connection lost") {
		t.Errorf("reason %q: want the dial error, not the lost connection", reason)
	}
}

func TestListening(t *testing.T) {
	n := newNode(t, "/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/udp/0/quic-v1")
	got := n.Listening()
	if len(got) != 2 {
		t.Fatalf("got %d states, want 2: %+v", len(got), got)
	}
	for i, want := range []string{"tcp", "udp"} {
		st := got[i]
		if st.Network != want || st.Host != "127.0.0.1" || st.Port != 0 || len(st.Bound) != 1 {
			t.Errorf("state %d: got %+v, want %s on 127.0.0.1, any port, one bound address", i, st, want)
			continue
		}
		b, err := node.ParseListen(st.Bound[0])
		if err != nil || b.Port == 0 || b.Network != want {
			t.Errorf("bound %q: got %+v, %v; want a %s port", st.Bound[0], b, err, want)
		}
	}
	for _, bad := range []string{"/ip4/127.0.0.1", "/dns4/example.com/tcp/1", "nonsense"} {
		if _, err := node.ParseListen(bad); err == nil {
			t.Errorf("ParseListen(%q): no error", bad)
		}
	}
}
