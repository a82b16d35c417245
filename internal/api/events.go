package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/parley-chat/parley/internal/notify"
)

// keepAliveEvery is how often an idle event stream gets a keep-alive.
const keepAliveEvery = 15 * time.Second

func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		writeError(w, http.StatusInternalServerError, CodeInternal, "streaming is not supported")
		return
	}
	sse := strings.Contains(r.Header.Get("Accept"), "text/event-stream")
	events, cancel := s.backend.Subscribe()
	defer cancel()
	var alerts <-chan notify.Alert
	if s.cfg.Notify != nil {
		var stop func()
		alerts, stop = s.cfg.Notify.Subscribe()
		defer stop()
	}
	ephemerals, stopEphemerals := s.ephemerals()
	defer stopEphemerals()
	if sse {
		w.Header().Set("Content-Type", "text/event-stream")
	} else {
		w.Header().Set("Content-Type", "application/x-ndjson")
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	flusher.Flush()
	keepalive := time.NewTicker(keepAliveEvery)
	defer keepalive.Stop()
	enc := json.NewEncoder(w)
	stopping := s.life.Context().Done()
	for {
		select {
		case e, ok := <-events:
			if !ok {
				return // fell too far behind, or shutting down: the client reconnects
			}
			if !eventCovered(r, e) {
				continue
			}
			if sse {
				_, _ = fmt.Fprintf(w, "event: %s\ndata: ", e.Type)
			}
			ev := EventOf(e, s.backend.DisplayName)
			if ev.Message != nil && e.Message != nil {
				ev.Message.Files = s.filesOf(e.Message)
			}
			if err := enc.Encode(ev); err != nil {
				return
			}
			if sse {
				_, _ = w.Write([]byte("\n"))
			}
			// Send what is queued in one write.
			if len(events) == 0 {
				flusher.Flush()
			}
		case a := <-alerts:
			if !covers(r, a.Conversation) {
				continue
			}
			if sse {
				_, _ = w.Write([]byte("event: notify\ndata: "))
			}
			if err := enc.Encode(AlertEvent(a, time.Now())); err != nil {
				return
			}
			if sse {
				_, _ = w.Write([]byte("\n"))
			}
			flusher.Flush()
		case e := <-ephemerals:
			if !covers(r, e.Conversation) {
				continue
			}
			if sse {
				_, _ = w.Write([]byte("event: ephemeral\ndata: "))
			}
			if err := enc.Encode(EphemeralEvent(e)); err != nil {
				return
			}
			if sse {
				_, _ = w.Write([]byte("\n"))
			}
			flusher.Flush()
		case <-keepalive.C:
			if sse {
				_, _ = w.Write([]byte(": keep-alive\n\n"))
			} else {
				_, _ = w.Write([]byte("\n"))
			}
			flusher.Flush()
		case <-r.Context().Done():
			return
		case <-stopping:
			return
		}
	}
}
