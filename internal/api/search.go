package api

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/parley-chat/parley/chat"
)

// Search limits (see chat.SearchQuery).
const (
	DefaultSearchLimit = chat.DefaultSearchLimit
	MaxSearchLimit     = chat.MaxSearchLimit
)

// SearchHit is one message found by GET /api/v1/search.
type SearchHit struct {
	ID           string `json:"id"`
	Conversation string `json:"conversation"`
	From         string `json:"from"`
	Text         string `json:"text"`    // the message's current text
	SentAt       string `json:"sent_at"` // RFC 3339, the author's clock
}

// SearchHitOf converts a chat search hit for the API.
func SearchHitOf(h chat.SearchHit) SearchHit {
	return SearchHit{
		ID:           h.ID.String(),
		Conversation: string(h.Conversation),
		From:         h.From.String(),
		Text:         h.Text,
		SentAt:       h.SentAt.Format(time.RFC3339Nano),
	}
}

// handleSearch answers GET /api/v1/search?q=...&in=CONV&from=PEER&limit=N
// with the messages found, newest first.
func (s *Server) handleSearch(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	sq := chat.SearchQuery{Text: q.Get("q")}
	if sq.Text == "" {
		writeError(w, http.StatusBadRequest, CodeBadRequest, "missing ?q=<words, prefix* or \"a phrase\">")
		return
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxSearchLimit {
			writeError(w, http.StatusBadRequest, CodeBadRequest, fmt.Sprintf("limit %q: want a number from 1 to %d", v, MaxSearchLimit))
			return
		}
		sq.Limit = n
	}
	if v := q.Get("in"); v != "" {
		conv, err := s.backend.Resolve(v)
		if err != nil {
			writeErr(w, err)
			return
		}
		if !allowConv(w, r, conv) {
			return
		}
		sq.In = conv
	}
	if v := q.Get("from"); v != "" {
		p, err := s.backend.ResolvePeer(v)
		if err != nil {
			writeErr(w, err)
			return
		}
		sq.From = p
	}
	hits, err := s.backend.Search(sq)
	if err != nil {
		writeErr(w, err)
		return
	}
	// A token limited to some conversations sees hits in those only
	// (so possibly fewer than limit: ask with in= for a full page).
	out := make([]SearchHit, 0, len(hits))
	for _, h := range hits {
		if covers(r, h.Conversation) {
			out = append(out, SearchHitOf(h))
		}
	}
	writeJSON(w, http.StatusOK, out)
}
