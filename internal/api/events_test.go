package api

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/chat"
)

// eventStream is Client.Events run in a goroutine owned by the test, with
// every event kept, so that waiting for one event loses no other.
type eventStream struct {
	events chan Event
	done   chan error // what Events returned
	seen   []Event
}

// followEvents follows c's events until ctx ends.
func followEvents(t *testing.T, ctx context.Context, c *Client) *eventStream {
	t.Helper()
	s := &eventStream{events: make(chan Event, 64), done: make(chan error, 1)}
	go func() {
		s.done <- c.Events(ctx, func(e Event) error {
			select {
			case s.events <- e:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}()
	return s
}

// wait returns the first event (seen before or arriving now) that
// matches.
func (s *eventStream) wait(t *testing.T, what string, match func(Event) bool) Event {
	t.Helper()
	for _, e := range s.seen {
		if match(e) {
			return e
		}
	}
	deadline := time.After(waitTimeout)
	for {
		select {
		case e := <-s.events:
			s.seen = append(s.seen, e)
			if match(e) {
				return e
			}
		case <-deadline:
			t.Fatalf("timed out after %v waiting for %s", waitTimeout, what)
			return Event{}
		}
	}
}

func waitErr(t *testing.T, done <-chan error, what string) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(waitTimeout):
		t.Fatalf("timed out after %v waiting for %s", waitTimeout, what)
		return nil
	}
}

func TestEventsNDJSON(t *testing.T) {
	c := newCluster(t)
	alice, bob := c.node("alice"), c.node("bob")
	c.connect(alice, bob)
	ts := startServer(t, alice)
	events := followEvents(t, t.Context(), ts.client)
	sub := ts.backend.waitSubscription(t)

	// A peer comes.
	carol := c.node("carol")
	c.link(alice.ID, carol.ID)
	e := events.wait(t, "carol's peer event", func(e Event) bool { return e.Type == "peer" && e.Peer.PeerID == carol.ID.String() })
	if !e.Peer.Connected || e.Message != nil || e.Status != nil || e.Time.IsZero() {
		t.Errorf("peer event: got %+v (peer %+v), want carol connected", e, e.Peer)
	}

	// A message arrives.
	in, err := bob.Svc.SendDM(t.Context(), alice.ID, "hi there")
	if err != nil {
		t.Fatal(err)
	}
	e = events.wait(t, "the message event", func(e Event) bool { return e.Type == "message" && e.Message.ID == in.ID.String() })
	stored, err := alice.Svc.Message(in.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(*e.Message, MessageOf(stored, "bob")) || e.Status != nil || e.Peer != nil || e.Time.Location() != time.UTC {
		t.Errorf("message event: got %+v (message %+v), want %+v", e, e.Message, MessageOf(stored, "bob"))
	}

	// A message goes out and is delivered.
	out, err := alice.Svc.SendDM(t.Context(), bob.ID, "hi bob")
	if err != nil {
		t.Fatal(err)
	}
	e = events.wait(t, "the delivery", func(e Event) bool { return e.Type == "status" && e.Status.Status == "delivered" })
	want := StatusChange{ID: out.ID.String(), Conversation: string(chat.DMConversation(bob.ID)), Status: "delivered"}
	if *e.Status != want || e.Message != nil {
		t.Errorf("status event: got %+v (status %+v), want %+v", e, e.Status, want)
	}

	// The messenger closing the channel (a dropped subscriber, or
	// shutdown) ends the stream; the client says so.
	if err := alice.Svc.Close(); err != nil {
		t.Fatal(err)
	}
	err = waitErr(t, events.done, "Events to return after the channel closed")
	if err == nil || !strings.Contains(err.Error(), "closed the event stream") {
		t.Errorf("Events: got %v, want the daemon closed the event stream", err)
	}
	waitClosed(t, sub.cancelled, "the server to cancel its subscription")
}

func TestEventsRoom(t *testing.T) {
	c := newCluster(t)
	alice, bob := c.node("alice"), c.node("bob")
	c.connect(alice, bob)
	ts := startServer(t, alice)
	events := followEvents(t, t.Context(), ts.client)
	ts.backend.waitSubscription(t)

	if _, err := bob.Svc.JoinRoom(t.Context(), "dev"); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.client.Join(t.Context(), "#dev"); err != nil {
		t.Fatal(err)
	}
	e := events.wait(t, "the room event", func(e Event) bool { return e.Type == "room" })
	if e.Room != "dev" || e.Joined == nil || !*e.Joined {
		t.Errorf("room event: got %+v, want dev joined", e)
	}
	e = events.wait(t, "bob online in #dev", func(e Event) bool {
		return e.Type == "presence" && e.Peer.PeerID == bob.ID.String() && e.Peer.Connected
	})
	if e.Room != "dev" {
		t.Errorf("presence event: got room %q, want dev", e.Room)
	}
	if err := bob.Svc.Typing(t.Context(), "dev"); err != nil {
		t.Fatal(err)
	}
	e = events.wait(t, "bob typing", func(e Event) bool { return e.Type == "typing" })
	if e.Room != "dev" || e.Peer == nil || e.Peer.PeerID != bob.ID.String() || e.Peer.Nick != "bob" {
		t.Errorf("typing event: got %+v (peer %+v), want bob in dev", e, e.Peer)
	}
	m, err := bob.Svc.SendRoom(t.Context(), "dev", "hello room")
	if err != nil {
		t.Fatal(err)
	}
	e = events.wait(t, "bob's room message", func(e Event) bool { return e.Type == "message" && e.Message.ID == m.ID.String() })
	if e.Message.Room != "dev" || e.Message.Text != "hello room" || e.Message.Status != "received" {
		t.Errorf("room message event: got %+v", e.Message)
	}
	if err := ts.client.MarkRead(t.Context(), "#dev", ""); err != nil {
		t.Fatal(err)
	}
	e = events.wait(t, "the read event", func(e Event) bool { return e.Type == "read" })
	if e.Conversation != "room:dev" {
		t.Errorf("read event: got conversation %q, want room:dev", e.Conversation)
	}
	if _, err := ts.client.Leave(t.Context(), "#dev"); err != nil {
		t.Fatal(err)
	}
	e = events.wait(t, "the leave event", func(e Event) bool { return e.Type == "room" && e.Joined != nil && !*e.Joined })
	if e.Room != "dev" {
		t.Errorf("leave event: got %+v, want dev left", e)
	}
}

func TestEventsClientCancel(t *testing.T) {
	ts := serve(t)
	ctx, cancel := context.WithCancel(t.Context())
	events := followEvents(t, ctx, ts.client)
	sub := ts.backend.waitSubscription(t)
	cancel()
	if err := waitErr(t, events.done, "Events to return after cancel"); err != nil {
		t.Errorf("Events after cancel: got %v, want nil", err)
	}
	waitClosed(t, sub.cancelled, "the server to cancel the subscription of a client that left")
}

func TestEventsCallbackError(t *testing.T) {
	ts := serve(t)
	stop := errors.New("enough")
	done := make(chan error, 1)
	go func() { done <- ts.client.Events(t.Context(), func(Event) error { return stop }) }()
	sub := ts.backend.waitSubscription(t)
	if _, err := ts.node.Svc.JoinRoom(t.Context(), "dev"); err != nil {
		t.Fatal(err)
	}
	if err := waitErr(t, done, "Events to return the callback's error"); !errors.Is(err, stop) {
		t.Errorf("Events: got %v, want %v", err, stop)
	}
	waitClosed(t, sub.cancelled, "the server to cancel the subscription")
}

// sseReader reads Server-Sent Events frames from a response body.
type sseReader struct {
	frames chan sseFrame
}

type sseFrame struct {
	text string
	err  error
}

// readSSE reads body's frames ("...\n\n") in a goroutine until it ends;
// the last frame carries the error that ended it (io.EOF for a clean end).
func readSSE(body io.Reader) *sseReader {
	r := &sseReader{frames: make(chan sseFrame, 64)}
	rd := bufio.NewReader(body)
	go func() {
		defer close(r.frames)
		var sb strings.Builder
		for {
			line, err := rd.ReadString('\n')
			sb.WriteString(line)
			if err != nil {
				r.frames <- sseFrame{sb.String(), err}
				return
			}
			if line == "\n" {
				r.frames <- sseFrame{sb.String(), nil}
				sb.Reset()
			}
		}
	}()
	return r
}

// next returns the next frame that starts with prefix.
func (r *sseReader) next(t *testing.T, prefix string) sseFrame {
	t.Helper()
	deadline := time.After(waitTimeout)
	for {
		select {
		case f, ok := <-r.frames:
			if !ok {
				t.Fatalf("the SSE stream ended before a frame starting %q", prefix)
			}
			if f.err != nil || strings.HasPrefix(f.text, prefix) {
				return f
			}
		case <-deadline:
			t.Fatalf("timed out after %v waiting for an SSE frame starting %q", waitTimeout, prefix)
			return sseFrame{}
		}
	}
}

// end waits for the stream to end and returns the error it ended with
// (io.EOF: a clean end).
func (r *sseReader) end(t *testing.T) error {
	t.Helper()
	deadline := time.After(waitTimeout)
	for {
		select {
		case f, ok := <-r.frames:
			if !ok {
				return io.EOF
			}
			if f.err != nil {
				return f.err
			}
		case <-deadline:
			t.Fatalf("timed out after %v waiting for the SSE stream to end", waitTimeout)
			return nil
		}
	}
}

func TestEventsSSE(t *testing.T) {
	c := newCluster(t)
	alice, bob := c.node("alice"), c.node("bob")
	c.connect(alice, bob)
	ts := startServer(t, alice)

	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://parley/api/v1/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/event-stream")
	resp, err := ts.client.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status: got %d, want 200", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("Content-Type: got %q, want text/event-stream", ct)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control: got %q, want no-store", cc)
	}
	sub := ts.backend.waitSubscription(t)
	sse := readSSE(resp.Body)

	m, err := bob.Svc.SendDM(t.Context(), alice.ID, "over SSE")
	if err != nil {
		t.Fatal(err)
	}
	f := sse.next(t, "event: message\n")
	if f.err != nil {
		t.Fatalf("read SSE event: %v (got %q)", f.err, f.text)
	}
	data, ok := strings.CutPrefix(f.text, "event: message\ndata: ")
	if !ok || !strings.HasSuffix(data, "}\n\n") || strings.Count(data, "\n") != 2 {
		t.Fatalf("SSE event: got %q, want \"event: message\\ndata: {...}\\n\\n\"", f.text)
	}
	var e Event
	if err := json.Unmarshal([]byte(data), &e); err != nil {
		t.Fatalf("SSE data %q: %v", data, err)
	}
	stored, err := alice.Svc.Message(m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if e.Type != "message" || e.Message == nil || !reflect.DeepEqual(*e.Message, MessageOf(stored, "bob")) {
		t.Errorf("SSE event: got %+v, want message %+v", e, MessageOf(stored, "bob"))
	}

	// The messenger closing the channel ends the response cleanly.
	if err := alice.Svc.Close(); err != nil {
		t.Fatal(err)
	}
	if err := sse.end(t); !errors.Is(err, io.EOF) {
		t.Errorf("end of SSE stream: got %v, want a clean end", err)
	}
	waitClosed(t, sub.cancelled, "the server to cancel its subscription")
}

// TestEventsFromAStoppedMessenger checks that a stream asked for after
// the messenger stopped ends at once instead of hanging.
func TestEventsFromAStoppedMessenger(t *testing.T) {
	ts := serve(t)
	if err := ts.node.Svc.Close(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- ts.client.Events(t.Context(), func(Event) error { return nil }) }()
	if err := waitErr(t, done, "Events to return"); err == nil || !strings.Contains(err.Error(), "closed the event stream") {
		t.Errorf("Events: got %v, want the daemon closed the event stream", err)
	}
}
