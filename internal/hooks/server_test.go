package hooks_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/chat/chattest"
	"github.com/parley-chat/parley/internal/hooks"
)

const dev = "dev"

var devConv = chat.RoomConversation(dev)

// rig is two members of #dev, ann hosting a hooks server.
type rig struct {
	ann, bob *chattest.Node
	reg      *hooks.Registry
	srv      *hooks.Server
}

func newRig(t *testing.T, cfg hooks.ServerConfig) *rig {
	t.Helper()
	net := chattest.NewNet(t)
	ann := chattest.NewNode(t, net, chattest.WithRooms(), chattest.WithNick("ann"))
	bob := chattest.NewNode(t, net, chattest.WithRooms(), chattest.WithNick("bob"))
	net.Connect(ann.ID, bob.ID)
	for _, n := range []*chattest.Node{ann, bob} {
		if _, err := n.Svc.JoinRoom(t.Context(), dev); err != nil {
			t.Fatal(err)
		}
	}
	reg, err := hooks.OpenRegistry(filepath.Join(t.TempDir(), "hooks.json"), nil)
	if err != nil {
		t.Fatal(err)
	}
	l, err := netListen()
	if err != nil {
		t.Fatal(err)
	}
	cfg.Registry, cfg.Poster, cfg.Listener = reg, ann.Svc, l
	srv, err := hooks.NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("hooks server: %v", err)
		}
	})
	return &rig{ann: ann, bob: bob, reg: reg, srv: srv}
}

func netListen() (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }

// hook creates a Slack-format hook into #dev and returns its URL.
func (r *rig) hook(t *testing.T, name string) string {
	t.Helper()
	h, err := r.reg.CreateHook(hooks.Hook{Name: name, Conversation: string(devConv)})
	if err != nil {
		t.Fatal(err)
	}
	return r.srv.URL(h)
}

// appMessages are the app messages a member holds in #dev.
func appMessages(t testing.TB, n *chattest.Node) []*chat.Message {
	t.Helper()
	ms, err := n.Svc.History(devConv, chat.HistoryQuery{Limit: chat.MaxHistoryLimit})
	if err != nil {
		t.Fatal(err)
	}
	var out []*chat.Message
	for _, m := range ms {
		if m.App != "" {
			out = append(out, m)
		}
	}
	return out
}

func post(t testing.TB, ctx context.Context, u, contentType, body string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	req.Close = true // no idle connection outlives the test
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return 0, "", nil
		}
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// TestServerPostsSlackPayloads: a JSON and a form-encoded payload are
// answered ok and reach the other member as app messages with the text
// rendered plain; bad POSTs get Slack's errors and post nothing.
func TestServerPostsSlackPayloads(t *testing.T) {
	r := newRig(t, hooks.ServerConfig{MaxBody: 4096})
	u := r.hook(t, "CI Bot")

	payload := `{"text":"*Build* <https://ci.example/7|#7> passed","icon_emoji":":white_check_mark:","attachments":[{"title":"Logs","title_link":"https://ci.example/7/log","fields":[{"title":"Branch","value":"main"}]}],"blocks":[{"type":"divider"},{"type":"context","elements":[{"type":"mrkdwn","text":"_took 3m_"}]}]}`
	if code, body, _ := post(t, t.Context(), u, "application/json", payload); code != http.StatusOK || body != "ok" {
		t.Fatalf("JSON POST: got %d %q, want 200 ok", code, body)
	}
	form := url.Values{"payload": {`{"text":"from a form &amp; more"}`}}.Encode()
	if code, body, _ := post(t, t.Context(), u, "application/x-www-form-urlencoded", form); code != http.StatusOK || body != "ok" {
		t.Fatalf("form POST: got %d %q, want 200 ok", code, body)
	}
	var got []*chat.Message
	chattest.WaitFor(t, 0, "both hook messages at bob", func() bool {
		got = appMessages(t, r.bob)
		return len(got) == 2
	})
	wantText := "Build #7 (https://ci.example/7) passed\nLogs (https://ci.example/7/log)\nBranch: main\n――――――――――\ntook 3m"
	if got[0].Body != wantText || got[0].App != "CI Bot" || got[0].AppIcon != ":white_check_mark:" || got[0].Author != r.ann.ID {
		t.Errorf("JSON hook message at bob: text %q app %q icon %q author %s; want %q from CI Bot, authored by ann", got[0].Body, got[0].App, got[0].AppIcon, got[0].Author, wantText)
	}
	var rich hooks.Payload
	if err := json.Unmarshal(got[0].Rich, &rich); err != nil || len(rich.Attachments) != 1 || len(rich.Blocks) != 2 {
		t.Errorf("rich at bob: %s (%v); want the payload with its attachment and blocks", got[0].Rich, err)
	}
	if got[1].Body != "from a form & more" {
		t.Errorf("form hook message: got %q", got[1].Body)
	}

	other := r.hook(t, "other")
	if err := r.reg.DeleteHook("other"); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, url, ct, body string
		code                int
		want                string
	}{
		{"malformed JSON", u, "application/json", `{"text":`, http.StatusBadRequest, "invalid_payload"},
		{"form without payload", u, "application/x-www-form-urlencoded", "text=hi", http.StatusBadRequest, "invalid_payload"},
		{"nothing to show", u, "application/json", `{"username":"x","attachments":[{"color":"good"}]}`, http.StatusBadRequest, "no_text"},
		{"too large", u, "application/json", `{"text":"` + strings.Repeat("x", 5000) + `"}`, http.StatusRequestEntityTooLarge, "request_too_large"},
		{"unknown token", r.srv.Base() + "/hooks/nope", "application/json", `{"text":"x"}`, http.StatusNotFound, "no_service"},
		{"deleted hook", other, "application/json", `{"text":"x"}`, http.StatusNotFound, "no_service"},
		{"another path", r.srv.Base() + "/services/x", "application/json", `{"text":"x"}`, http.StatusNotFound, "no_service"},
	} {
		if code, body, _ := post(t, t.Context(), tt.url, tt.ct, tt.body); code != tt.code || body != tt.want {
			t.Errorf("%s: got %d %q, want %d %q", tt.name, code, body, tt.code, tt.want)
		}
	}
	// A last good POST: once it is at bob, nothing the bad ones sent is.
	if code, _, _ := post(t, t.Context(), u, "application/json", `{"text":"last"}`); code != http.StatusOK {
		t.Fatalf("last POST: %d", code)
	}
	chattest.WaitFor(t, 0, "the last hook message at bob", func() bool { return len(appMessages(t, r.bob)) >= 3 })
	if ms := appMessages(t, r.ann); len(ms) != 3 || ms[2].Body != "last" {
		t.Errorf("ann holds %d app messages, want 3 (the bad POSTs posted nothing)", len(ms))
	}
}

// TestServerQueueFullAnswers429: once the hook's one token is spent, of
// five POSTs at once two wait in its queue of two and three are answered
// 429 with Retry-After, posting nothing.
func TestServerQueueFullAnswers429(t *testing.T) {
	r := newRig(t, hooks.ServerConfig{Rate: 0.001, Burst: 1, Queue: 2})
	u := r.hook(t, "slow")
	if code, _, _ := post(t, t.Context(), u, "application/json", `{"text":"first"}`); code != http.StatusOK {
		t.Fatalf("first POST: %d, want 200", code)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	type result struct {
		code       int
		retryAfter string
	}
	results := make(chan result, 5)
	var wg sync.WaitGroup
	for i := range 5 {
		wg.Go(func() {
			code, _, h := post(t, ctx, u, "application/json", `{"text":"n`+strconv.Itoa(i)+`"}`)
			if code != 0 {
				results <- result{code, h.Get("Retry-After")}
			}
		})
	}
	counts := map[int]int{}
	for range 3 {
		select {
		case res := <-results:
			counts[res.code]++
			if res.code == http.StatusTooManyRequests {
				if n, err := strconv.Atoi(res.retryAfter); err != nil || n < 1 {
					t.Errorf("429 with Retry-After %q, want whole seconds", res.retryAfter)
				}
			}
		case <-time.After(time.Minute):
			t.Fatalf("answers so far %v; want three 429 (the rest wait)", counts)
		}
	}
	if counts[http.StatusTooManyRequests] != 3 {
		t.Errorf("answers: %v, want three 429", counts)
	}
	cancel() // the two waiting give up
	wg.Wait()
	if n := len(appMessages(t, r.ann)); n != 1 {
		t.Errorf("ann holds %d app messages, want 1", n)
	}
}

// TestServerBurstLosesNothing: 300 POSTs from 30 callers at once into a
// hook with a small queue; callers retry a 429 as Retry-After says (here
// sped up); every message arrives at the other member, each once.
func TestServerBurstLosesNothing(t *testing.T) {
	r := newRig(t, hooks.ServerConfig{Rate: 2000, Burst: 20, Queue: 10})
	u := r.hook(t, "burst")
	const callers, each = 30, 10
	var wg sync.WaitGroup
	var mu sync.Mutex
	limited := 0
	for c := range callers {
		wg.Go(func() {
			for i := range each {
				body := `{"text":"m` + strconv.Itoa(c*each+i) + `"}`
				for {
					code, _, _ := post(t, t.Context(), u, "application/json", body)
					if code == http.StatusOK {
						break
					}
					if code != http.StatusTooManyRequests {
						t.Errorf("POST: %d", code)
						return
					}
					mu.Lock()
					limited++
					mu.Unlock()
					time.Sleep(10 * time.Millisecond) // a caller's backoff, not synchronisation
				}
			}
		})
	}
	wg.Wait()
	chattest.WaitFor(t, 0, "every burst message at bob", func() bool { return len(appMessages(t, r.bob)) >= callers*each })
	seen := map[string]bool{}
	for _, m := range appMessages(t, r.bob) {
		if seen[m.Body] {
			t.Errorf("%q twice", m.Body)
		}
		seen[m.Body] = true
	}
	if len(seen) != callers*each {
		t.Errorf("bob holds %d distinct messages, want %d", len(seen), callers*each)
	}
	t.Logf("%d answers were 429 and retried", limited)
}
