package e2e

import (
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/hooks"
	"github.com/parley-chat/parley/internal/testnet"
)

// sigReceiver is an outgoing webhook's endpoint on loopback that checks
// the Standard Webhooks signature of every POST and counts the verified
// ones by webhook-id. It can go down (its port closed: connection
// refused) and come back on the same port.
type sigReceiver struct {
	t    *testing.T
	key  []byte
	addr string

	mu   sync.Mutex
	srv  *http.Server
	got  map[string]int // webhook-id → verified POSTs
	text map[string]string
	bad  []string
}

func newSigReceiver(t *testing.T) *sigReceiver {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	r := &sigReceiver{t: t, addr: addr, got: map[string]int{}, text: map[string]string{}}
	t.Cleanup(r.down)
	return r
}

func (r *sigReceiver) url() string { return "http://" + r.addr + "/hook" }

func (r *sigReceiver) up(secret string) {
	key, err := hooks.ParseSecret(secret)
	if err != nil {
		r.t.Fatal(err)
	}
	l, err := net.Listen("tcp", r.addr)
	if err != nil {
		r.t.Fatalf("receiver back on %s: %v", r.addr, err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(r.serve), ReadHeaderTimeout: 10 * time.Second}
	r.mu.Lock()
	r.key, r.srv = key, srv
	r.mu.Unlock()
	go func() { _ = srv.Serve(l) }()
}

func (r *sigReceiver) down() {
	r.mu.Lock()
	srv := r.srv
	r.srv = nil
	r.mu.Unlock()
	if srv != nil {
		_ = srv.Close()
	}
}

func (r *sigReceiver) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err == nil {
		err = hooks.Verify(r.key, req.Header, body, time.Now(), 0)
	}
	if err != nil {
		r.bad = append(r.bad, err.Error())
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	id := req.Header.Get(hooks.HeaderWebhookID)
	r.got[id]++
	r.text[id] = string(body)
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"text": "roger: *deploying*"}`)
}

func (r *sigReceiver) count(id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.bad) > 0 {
		r.t.Fatalf("POSTs failed verification: %v", r.bad)
	}
	return r.got[id]
}

func (r *sigReceiver) body(id string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.text[id]
}

func deliveries(t *testing.T, d *testnet.Daemon, name string) []hooks.Delivery {
	t.Helper()
	var ds []hooks.Delivery
	d.RunJSON(&ds, "webhook", "deliveries", name, "--json")
	return ds
}

// TestOutgoingWebhookEndToEnd: bob's message in #dev that starts with the
// trigger is POSTed by alice's daemon, signed per Standard Webhooks, to a
// receiver that is down; alice is killed (kill -9) and started again while
// it is down; once the receiver is back the delivery arrives exactly once
// (same webhook-id), deliveries --json shows it delivered, and the
// receiver's reply is posted into #dev as the hook's app message. A
// message without the trigger is not sent.
func TestOutgoingWebhookEndToEnd(t *testing.T) {
	alice, bob := hookPair(t, "")
	rc := newSigReceiver(t)
	h := createHook(t, alice, "#dev", "--name", "relay", "--outgoing", rc.url(), "--trigger", "deploy")
	if !strings.HasPrefix(h.Secret, "whsec_") {
		t.Fatalf("got %+v, want a whsec_ secret", h)
	}

	bob.MustRun("send", "#dev", "hello there")
	bob.MustRun("send", "#dev", "deploy prod please")
	var first hooks.Delivery
	waitUntil(t, 30*time.Second, "a failed attempt while the receiver is down", func() bool {
		ds := deliveries(t, alice, "relay")
		if len(ds) == 1 && ds[0].Attempts >= 1 {
			first = ds[0]
			return true
		}
		return false
	})
	if first.Status != hooks.StatusPending || first.NextAttempt == nil || !strings.Contains(first.LastError, "refused") {
		t.Fatalf("while down: got %+v, want pending with connection refused and a next attempt", first)
	}

	if got := sample(scrape(t, alice), "parley_webhook_deliveries_total", "result", "failed"); got < 1 {
		t.Errorf("parley_webhook_deliveries_total{result=failed} while the receiver is down: got %v, want at least 1", got)
	}

	alice.Kill()
	rc.up(h.Secret)
	alice.Start(append([]string{"--hooks-listen", "127.0.0.1:0"}, loopbackListen...)...)

	waitUntil(t, 60*time.Second, "the delivery after the restart", func() bool { return rc.count(first.ID) > 0 })
	var done hooks.Delivery
	waitUntil(t, 10*time.Second, "delivered in deliveries --json", func() bool {
		done = deliveries(t, alice, "relay")[0]
		return done.Status == hooks.StatusDelivered
	})
	if done.ID != first.ID || done.Attempts < 2 || done.NextAttempt != nil || done.LastError != "" {
		t.Fatalf("got %+v, want %s delivered after at least 2 attempts", done, first.ID)
	}
	if body := rc.body(first.ID); !strings.Contains(body, `"text":"deploy prod please"`) || !strings.Contains(body, `"trigger_word":"deploy"`) || !strings.Contains(body, `"channel_name":"dev"`) {
		t.Fatalf("body %s lacks the message's Slack fields", body)
	}
	waitUntil(t, 20*time.Second, "the reply posted as relay's app message", func() bool {
		for _, m := range appHistory(t, alice) {
			if m.App == "relay" && m.Text == "roger: deploying" {
				return true
			}
		}
		return false
	})

	// Once more after a clean restart: the delivered message is never sent
	// again; the next one is.
	alice.Stop()
	alice.Start(append([]string{"--hooks-listen", "127.0.0.1:0"}, loopbackListen...)...)
	alice.MustRun("send", "#dev", "deploy staging")
	waitUntil(t, 30*time.Second, "the second delivery", func() bool {
		ds := deliveries(t, alice, "relay")
		return len(ds) == 2 && ds[0].Status == hooks.StatusDelivered && rc.count(ds[0].ID) == 1
	})
	if n := rc.count(first.ID); n != 1 {
		t.Fatalf("the first message reached the receiver %d times, want exactly once", n)
	}
	// /metrics counts attempts since this start: the one delivery.
	fams := scrape(t, alice)
	if got := sample(fams, "parley_webhook_deliveries_total", "result", "delivered"); got != 1 {
		t.Errorf("parley_webhook_deliveries_total{result=delivered}: got %v, want 1", got)
	}
	if got := sample(fams, "parley_webhook_deliveries_total", "result", "failed") + sample(fams, "parley_webhook_deliveries_total", "result", "dropped"); got != 0 {
		t.Errorf("failed and dropped deliveries since the restart: got %v, want 0", got)
	}
	if r := alice.Run("webhook", "deliveries", "nope", "--json"); r.Code != 1 || !strings.Contains(r.Stderr, "not found") {
		t.Fatalf("unknown hook: exit %d, stderr %q; want exit 1, not found", r.Code, r.Stderr)
	}
}
