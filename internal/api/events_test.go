package api

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/chat"
)

// followEvents runs Client.Events in a goroutine owned by the test. Events
// arrive on the returned channel; the returned error channel receives what
// Events returned.
func followEvents(t *testing.T, ctx context.Context, c *Client) (<-chan Event, <-chan error) {
	t.Helper()
	events := make(chan Event, 16)
	done := make(chan error, 1)
	go func() {
		done <- c.Events(ctx, func(e Event) error {
			select {
			case events <- e:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}()
	return events, done
}

func nextEvent(t *testing.T, events <-chan Event) Event {
	t.Helper()
	select {
	case e := <-events:
		return e
	case <-time.After(waitTimeout):
		t.Fatalf("timed out after %v waiting for an event", waitTimeout)
		return Event{}
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
	b := newFakeBackend()
	ts := startServer(t, b)
	events, done := followEvents(t, t.Context(), ts.client)
	sub := b.waitSubscription(t)

	self, bob := newPeerID(t), newPeerID(t)
	at := time.Date(2025, 5, 6, 7, 8, 9, 0, time.UTC)
	m := directMessage(t, self, bob, self, "hi there", at, chat.StatusReceived)
	delivered := directMessage(t, self, self, bob, "sent", at, chat.StatusDelivered)
	peer := chat.Peer{ID: bob, Nick: "bob", Connected: true, LastSeen: at}

	sub.ch <- chat.Event{Type: chat.EventMessage, Time: at, Message: m}
	sub.ch <- chat.Event{Type: chat.EventStatus, Time: at.Add(time.Second), Message: delivered}
	sub.ch <- chat.Event{Type: chat.EventPeer, Time: at.Add(2 * time.Second), Peer: &peer}

	e := nextEvent(t, events)
	if e.Type != "message" || !e.Time.Equal(at) || e.Message == nil || *e.Message != MessageOf(m) || e.Status != nil || e.Peer != nil {
		t.Errorf("message event: got %+v, want type message with %+v", e, MessageOf(m))
	}
	e = nextEvent(t, events)
	wantStatus := StatusChange{ID: delivered.ID.String(), Conversation: string(chat.DMConversation(bob)), Status: "delivered"}
	if e.Type != "status" || e.Status == nil || *e.Status != wantStatus || e.Message != nil {
		t.Errorf("status event: got %+v (status %+v), want %+v", e, e.Status, wantStatus)
	}
	e = nextEvent(t, events)
	if e.Type != "peer" || e.Peer == nil || e.Peer.PeerID != bob.String() || e.Peer.Nick != "bob" || !e.Peer.Connected {
		t.Errorf("peer event: got %+v (peer %+v), want bob connected", e, e.Peer)
	}

	// The backend closing the channel (a dropped subscriber, or shutdown)
	// ends the stream; the client says so.
	close(sub.ch)
	err := waitErr(t, done, "Events to return after the channel closed")
	if err == nil || !strings.Contains(err.Error(), "closed the event stream") {
		t.Errorf("Events: got %v, want the daemon closed the event stream", err)
	}
	waitClosed(t, sub.cancelled, "the server to cancel its subscription")
}

func TestEventsClientCancel(t *testing.T) {
	b := newFakeBackend()
	ts := startServer(t, b)
	ctx, cancel := context.WithCancel(t.Context())
	_, done := followEvents(t, ctx, ts.client)
	sub := b.waitSubscription(t)
	cancel()
	if err := waitErr(t, done, "Events to return after cancel"); err != nil {
		t.Errorf("Events after cancel: got %v, want nil", err)
	}
	waitClosed(t, sub.cancelled, "the server to cancel the subscription of a client that left")
}

func TestEventsCallbackError(t *testing.T) {
	b := newFakeBackend()
	ts := startServer(t, b)
	stop := errors.New("enough")
	done := make(chan error, 1)
	go func() { done <- ts.client.Events(t.Context(), func(Event) error { return stop }) }()
	sub := b.waitSubscription(t)
	sub.ch <- chat.Event{Type: chat.EventPeer, Time: time.Now(), Peer: &chat.Peer{ID: newPeerID(t)}}
	if err := waitErr(t, done, "Events to return the callback's error"); !errors.Is(err, stop) {
		t.Errorf("Events: got %v, want %v", err, stop)
	}
	waitClosed(t, sub.cancelled, "the server to cancel the subscription")
}

func TestEventsSSE(t *testing.T) {
	b := newFakeBackend()
	ts := startServer(t, b)

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
	sub := b.waitSubscription(t)

	self, bob := newPeerID(t), newPeerID(t)
	m := directMessage(t, self, bob, self, "over SSE", time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), chat.StatusReceived)
	sub.ch <- chat.Event{Type: chat.EventMessage, Time: time.Now(), Message: m}

	// Read one SSE event, "event: ...\ndata: ...\n\n", with a deadline.
	type frame struct {
		text string
		err  error
	}
	frames := make(chan frame, 1)
	rd := bufio.NewReader(resp.Body)
	go func() {
		var sb strings.Builder
		for {
			line, err := rd.ReadString('\n')
			sb.WriteString(line)
			if err != nil || line == "\n" {
				frames <- frame{sb.String(), err}
				return
			}
		}
	}()
	var f frame
	select {
	case f = <-frames:
	case <-time.After(waitTimeout):
		t.Fatalf("timed out after %v waiting for an SSE event", waitTimeout)
	}
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
	if e.Type != "message" || e.Message == nil || *e.Message != MessageOf(m) {
		t.Errorf("SSE event: got %+v, want message %+v", e, MessageOf(m))
	}

	// Closing the backend channel ends the response.
	close(sub.ch)
	rest := make(chan error, 1)
	go func() {
		_, err := io.Copy(io.Discard, rd)
		rest <- err
	}()
	if err := waitErr(t, rest, "the SSE stream to end"); err != nil {
		t.Errorf("end of SSE stream: got %v, want a clean end", err)
	}
	waitClosed(t, sub.cancelled, "the server to cancel its subscription")
}

func TestShutdownEndsEventStreams(t *testing.T) {
	b := newFakeBackend()
	ts := startServer(t, b)
	_, ndjson := followEvents(t, t.Context(), ts.client)
	subs := []*subscription{b.waitSubscription(t)}

	// A second stream, this one as SSE over TCP.
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
	subs = append(subs, b.waitSubscription(t))
	sse := make(chan error, 1)
	go func() {
		_, err := io.Copy(io.Discard, resp.Body)
		sse <- err
	}()

	ctx, cancel := context.WithTimeout(t.Context(), waitTimeout)
	defer cancel()
	start := time.Now()
	if err := ts.srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown with open streams: got %v after %v, want nil", err, time.Since(start))
	}
	if err := waitErr(t, ndjson, "the NDJSON stream to end"); err == nil {
		t.Errorf("Events after Shutdown: got nil, want an error saying the stream closed")
	}
	if err := waitErr(t, sse, "the SSE stream to end"); err != nil {
		t.Errorf("SSE stream after Shutdown: got %v, want a clean end", err)
	}
	for i, sub := range subs {
		waitClosed(t, sub.cancelled, "subscription "+string(rune('0'+i))+" to be cancelled")
	}
	if err := waitErr(t, ts.served, "Serve to return"); err != nil {
		t.Errorf("Serve: got %v, want nil", err)
	}
	ts.served <- nil // for the cleanup
}
