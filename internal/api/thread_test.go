package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"testing"
)

// getMessages GETs path (over the unix socket) and decodes the messages.
func getMessages(t testing.TB, ts *testServer, path string) (int, []Message) {
	t.Helper()
	status, _, body := ts.unixDo(t, http.MethodGet, path, nil, nil)
	var out []Message
	if status == http.StatusOK {
		if err := json.Unmarshal(body, &out); err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
	}
	return status, out
}

// TestThreadPages: a thread comes whole without limit or before, and by
// pages with them (the root first on every page, then the newest replies
// before `before`), from GET /messages/{id}/thread and GET
// /history?thread=; the root shows its reply count either way.
func TestThreadPages(t *testing.T) {
	ts := serve(t)
	svc := ts.node.Svc
	if _, err := svc.JoinRoom(t.Context(), "dev"); err != nil {
		t.Fatal(err)
	}
	root, err := svc.SendRoom(t.Context(), "dev", "the root")
	if err != nil {
		t.Fatal(err)
	}
	const n = 7
	var replies []string
	for i := range n {
		r, err := svc.Reply(t.Context(), root.ID, fmt.Sprint("reply ", i), true, i == 3)
		if err != nil {
			t.Fatal(err)
		}
		replies = append(replies, r.ID.String())
	}
	rootID := root.ID.String()
	for _, base := range []string{
		"/api/v1/messages/" + rootID + "/thread?",
		"/api/v1/history?" + url.Values{"with": {"#dev"}, "thread": {rootID}}.Encode() + "&",
	} {
		status, whole := getMessages(t, ts, base)
		if status != http.StatusOK || len(whole) != 1+n {
			t.Fatalf("GET %s: got %d with %d messages, want 200 with %d", base, status, len(whole), 1+n)
		}
		if whole[0].ID != rootID || whole[0].Replies != n {
			t.Errorf("GET %s: first got %s with %d replies, want the root with %d", base, whole[0].ID, whole[0].Replies, n)
		}
		status, page := getMessages(t, ts, base+"limit=3")
		if status != http.StatusOK || len(page) != 4 || page[0].ID != rootID || page[1].ID != replies[4] || page[3].ID != replies[6] {
			t.Fatalf("GET %slimit=3: got %d with %d messages, want 200 with the root and the newest 3", base, status, len(page))
		}
		status, page = getMessages(t, ts, base+"limit=3&before="+replies[4])
		if status != http.StatusOK || len(page) != 4 || page[1].ID != replies[1] || page[3].ID != replies[3] {
			t.Fatalf("GET %slimit=3&before=: got %d with %d messages, want the root and replies 1 to 3", base, status, len(page))
		}
		if status, _ := getMessages(t, ts, base+"before="+rootID); status != http.StatusBadRequest {
			t.Errorf("GET %sbefore=<the root>: got %d, want 400 (not a reply in the thread)", base, status)
		}
	}
	// The client asks for the same pages.
	page, err := ts.client.ThreadPage(t.Context(), rootID, 3, replies[4])
	if err != nil || len(page) != 4 || page[0].ID != rootID || page[1].ID != replies[1] || page[3].ID != replies[3] {
		t.Fatalf("ThreadPage(3, before reply 4): got %d messages, %v; want the root and replies 1 to 3", len(page), err)
	}
	if page, err := ts.client.ThreadPage(t.Context(), rootID, 0, ""); err != nil || len(page) != 1+n {
		t.Fatalf("ThreadPage(0, \"\"): got %d messages, %v; want the root and the default page (all %d replies)", len(page), err, n)
	}
}
