package hooks

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"
)

// wait is how long a test waits for an event before it fails: generous,
// for a busy machine; nothing is measured against it.
const wait = 30 * time.Second

func testHook(t *testing.T, url string, triggers ...string) OutgoingHook {
	t.Helper()
	secret, err := NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	return OutgoingHook{Name: "ci", Conversation: "room:dev", URL: url, Triggers: triggers, Secret: secret}
}

func textMessage(id, text string) OutgoingMessage {
	return OutgoingMessage{
		ID: id, Conversation: "room:dev", Kind: "text",
		Author: "12D3KooWAnn", AuthorName: "ann", Text: text,
		Time: time.Date(2026, 12, 5, 18, 0, 0, 123456000, time.UTC),
	}
}

// hookTable is a registry for tests: the dispatcher looks hooks up in it.
type hookTable struct {
	mu    sync.Mutex
	hooks map[string]OutgoingHook
}

func newHookTable(hooks ...OutgoingHook) *hookTable {
	ht := &hookTable{hooks: map[string]OutgoingHook{}}
	for _, h := range hooks {
		ht.set(h)
	}
	return ht
}

func (ht *hookTable) set(h OutgoingHook) {
	ht.mu.Lock()
	ht.hooks[h.Name] = h
	ht.mu.Unlock()
}

func (ht *hookTable) remove(name string) {
	ht.mu.Lock()
	delete(ht.hooks, name)
	ht.mu.Unlock()
}

func (ht *hookTable) lookup(name string) (OutgoingHook, bool) {
	ht.mu.Lock()
	defer ht.mu.Unlock()
	h, ok := ht.hooks[name]
	return h, ok
}

// attempts tells a test that a delivery attempt was recorded.
type attempts chan struct{}

func newAttempts() attempts { return make(attempts, 1) }

func (a attempts) observe(string, Delivery) {
	select {
	case a <- struct{}{}:
	default:
	}
}

// until waits, attempt by attempt, until cond holds.
func (a attempts) until(t *testing.T, what string, cond func() bool) {
	t.Helper()
	timeout := time.After(wait)
	for !cond() {
		select {
		case <-a:
		case <-timeout:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// startDispatcher runs a dispatcher until the test ends.
func startDispatcher(t *testing.T, cfg DispatcherConfig) *Dispatcher {
	t.Helper()
	d, err := NewDispatcher(cfg)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- d.Run(t.Context()) }()
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Error(err)
		}
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return d
}

// gotPost is one POST a receiver got, its signature checked.
type gotPost struct {
	id       string
	verified error
	body     OutgoingBody
	raw      []byte
}

// receiver is a webhook endpoint that checks the Standard Webhooks
// signature of every POST and answers with status(n) for the n-th POST
// (counting from 1) and reply as its body.
type receiver struct {
	t      *testing.T
	key    []byte
	status func(n int) int
	reply  string
	n      atomic.Int32
	posts  chan gotPost
}

func newReceiver(t *testing.T, secret string, status func(n int) int, reply string) *receiver {
	key, err := ParseSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	return &receiver{t: t, key: key, status: status, reply: reply, posts: make(chan gotPost, 100)}
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		rc.t.Error(err)
		return
	}
	p := gotPost{id: r.Header.Get(HeaderWebhookID), raw: raw}
	p.verified = Verify(rc.key, r.Header, raw, time.Now(), 0)
	if err := json.Unmarshal(raw, &p.body); err != nil {
		p.verified = errors.Join(p.verified, err)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		p.verified = errors.Join(p.verified, errors.New("content type "+ct))
	}
	n := int(rc.n.Add(1))
	code := rc.status(n)
	rc.posts <- p
	if code == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "120")
	}
	w.WriteHeader(code)
	_, _ = io.WriteString(w, rc.reply)
}

func (rc *receiver) next(t *testing.T) gotPost {
	t.Helper()
	select {
	case p := <-rc.posts:
		if p.verified != nil {
			t.Fatalf("POST %s: %v", p.id, p.verified)
		}
		return p
	case <-time.After(wait):
		t.Fatal("no POST arrived")
	}
	return gotPost{}
}

func always(code int) func(int) int { return func(int) int { return code } }

// waitStatus waits until the delivery reaches status.
func waitStatus(t *testing.T, a attempts, d *Dispatcher, hook, id, status string) Delivery {
	t.Helper()
	var got Delivery
	a.until(t, "delivery "+id+" to become "+status, func() bool {
		for _, del := range d.Deliveries(hook) {
			if del.ID == id && del.Status == status {
				got = del
				return true
			}
		}
		return false
	})
	return got
}

func TestMatches(t *testing.T) {
	hook := OutgoingHook{Name: "ci", Conversation: "room:dev", Triggers: []string{"deploy", "Build"}}
	all := OutgoingHook{Name: "all", Conversation: "room:dev"}
	msg := func(text string) OutgoingMessage { return textMessage("m", text) }
	tests := []struct {
		name    string
		hook    OutgoingHook
		msg     OutgoingMessage
		trigger string
		ok      bool
	}{
		{"trigger word first", hook, msg("deploy prod now"), "deploy", true},
		{"trigger alone", hook, msg("deploy"), "deploy", true},
		{"case does not matter", hook, msg("BUILD it"), "Build", true},
		{"colon after the word", hook, msg("deploy: prod"), "deploy", true},
		{"leading space", hook, msg("  deploy prod"), "deploy", true},
		{"word inside the text", hook, msg("please deploy"), "", false},
		{"longer word", hook, msg("deployment done"), "", false},
		{"no triggers: every message", all, msg("anything"), "", true},
		{"other conversation", all, OutgoingMessage{Kind: "text", Conversation: "room:ops", Text: "x"}, "", false},
		{"posted by an app", all, OutgoingMessage{Kind: "text", Conversation: "room:dev", App: "ci", Text: "x"}, "", false},
		{"not a text message", all, OutgoingMessage{Kind: "join", Conversation: "room:dev"}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			trigger, ok := Matches(tt.hook, tt.msg)
			if trigger != tt.trigger || ok != tt.ok {
				t.Fatalf("got %q %v, want %q %v", trigger, ok, tt.trigger, tt.ok)
			}
		})
	}
}

func TestOfferPersistsBeforeReturning(t *testing.T) {
	dir := t.TempDir()
	hook := testHook(t, "http://127.0.0.1:1/hook", "deploy")
	d, err := NewDispatcher(DispatcherConfig{Dir: dir, Lookup: newHookTable(hook).lookup})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()

	queued, err := d.Offer(hook, textMessage("m1", "deploy prod"))
	if err != nil || !queued {
		t.Fatalf("Offer: got %v %v, want queued", queued, err)
	}
	id := DeliveryID(hook.Name, "m1")
	fi, err := os.Stat(filepath.Join(dir, id+".json"))
	if err != nil {
		t.Fatalf("the delivery is not on disk when Offer returns: %v", err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("got mode %v, want 0600", fi.Mode().Perm())
	}
	if queued, err := d.Offer(hook, textMessage("m1", "deploy prod")); queued || err != nil {
		t.Fatalf("the same message again: got %v %v, want not queued", queued, err)
	}
	if queued, _ := d.Offer(hook, textMessage("m2", "hello")); queued {
		t.Fatal("a message without the trigger was queued")
	}

	// A new dispatcher over the directory sees the pending delivery.
	d2, err := NewDispatcher(DispatcherConfig{Dir: dir, Lookup: newHookTable(hook).lookup})
	if err != nil {
		t.Fatal(err)
	}
	defer d2.Close()
	got := d2.Deliveries(hook.Name)
	if len(got) != 1 || got[0].ID != id || got[0].Status != StatusPending || got[0].Attempts != 0 || got[0].NextAttempt == nil {
		t.Fatalf("got %+v, want one pending delivery %s with a next attempt", got, id)
	}
	raw, _ := json.Marshal(got[0])
	for _, field := range []string{`"id"`, `"status"`, `"attempts"`, `"last_error"`, `"next_attempt"`} {
		if !strings.Contains(string(raw), field) {
			t.Errorf("delivery JSON %s lacks %s", raw, field)
		}
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Offer(hook, textMessage("m3", "deploy")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Offer after Close: got %v, want ErrClosed", err)
	}
}

func TestDeliverySignedWithSlackFieldsAndReplyPostedBack(t *testing.T) {
	hook := testHook(t, "", "deploy")
	rc := newReceiver(t, hook.Secret, always(200), `{"text": "deploying prod"}`)
	srv := httptest.NewServer(rc)
	defer srv.Close()
	hook.URL = srv.URL
	type back struct {
		hook  string
		msg   DeliveredMessage
		reply Payload
	}
	backs := make(chan back, 1)
	a := newAttempts()
	d := startDispatcher(t, DispatcherConfig{
		Dir: t.TempDir(), Lookup: newHookTable(hook).lookup, OnAttempt: a.observe,
		PostBack: func(h OutgoingHook, m DeliveredMessage, p Payload) { backs <- back{h.Name, m, p} },
	})
	msg := textMessage("m1", "deploy prod")
	msg.Thread = "root1"
	if _, err := d.Offer(hook, msg); err != nil {
		t.Fatal(err)
	}
	p := rc.next(t)
	want := OutgoingBody{
		ChannelID: "room:dev", ChannelName: "dev", Timestamp: "1796493600.123456",
		UserID: "12D3KooWAnn", UserName: "ann", Text: "deploy prod", TriggerWord: "deploy",
		Type: "message", App: "ci", MessageID: "m1", Conversation: "room:dev", Thread: "root1",
		SentAt: "2026-12-05T18:00:00.123456Z",
	}
	if p.body != want {
		t.Fatalf("body:\n got %+v\nwant %+v", p.body, want)
	}
	if p.id != DeliveryID("ci", "m1") {
		t.Fatalf("webhook-id: got %s, want %s", p.id, DeliveryID("ci", "m1"))
	}
	select {
	case b := <-backs:
		if b.hook != "ci" || b.msg != (DeliveredMessage{ID: "m1", Conversation: "room:dev", Thread: "root1"}) || b.reply.Text != "deploying prod" {
			t.Fatalf("post back: got %+v", b)
		}
	case <-time.After(wait):
		t.Fatal("the reply was not posted back")
	}
	del := waitStatus(t, a, d, "ci", p.id, StatusDelivered)
	if del.Attempts != 1 || del.NextAttempt != nil || del.LastError != "" {
		t.Fatalf("got %+v, want delivered on the first attempt", del)
	}
}

func TestRetriesKeepTheIDAndStopAtTheFirstSuccess(t *testing.T) {
	hook := testHook(t, "")
	rc := newReceiver(t, hook.Secret, func(n int) int {
		if n <= 2 {
			return http.StatusInternalServerError
		}
		return http.StatusNoContent
	}, "")
	srv := httptest.NewServer(rc)
	defer srv.Close()
	hook.URL = srv.URL
	dir := t.TempDir()
	table := newHookTable(hook)
	a := newAttempts()
	cfg := DispatcherConfig{Dir: dir, Lookup: table.lookup, MinBackoff: time.Millisecond, MaxBackoff: 4 * time.Millisecond, Workers: 1, OnAttempt: a.observe}
	d := startDispatcher(t, cfg)
	if _, err := d.Offer(hook, textMessage("m1", "hello")); err != nil {
		t.Fatal(err)
	}
	id := DeliveryID("ci", "m1")
	for i := range 3 {
		if p := rc.next(t); p.id != id {
			t.Fatalf("attempt %d: webhook-id %s, want %s", i+1, p.id, id)
		}
	}
	del := waitStatus(t, a, d, "ci", id, StatusDelivered)
	if del.Attempts != 3 {
		t.Fatalf("got %d attempts, want 3", del.Attempts)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}

	// A new dispatcher over the same directory sends the delivered one
	// never again: the next POST it makes is for a new message.
	d2 := startDispatcher(t, cfg)
	if _, err := d2.Offer(hook, textMessage("m2", "again")); err != nil {
		t.Fatal(err)
	}
	if p := rc.next(t); p.id != DeliveryID("ci", "m2") {
		t.Fatalf("after the restart got a POST of %s, want only m2's", p.id)
	}
}

func TestPendingDeliveryResumesAfterRestartAndIsDeliveredOnce(t *testing.T) {
	hook := testHook(t, "")
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close() // nothing listens there: connection refused
	hook.URL = down.URL
	dir := t.TempDir()
	table := newHookTable(hook)
	a := newAttempts()
	cfg := DispatcherConfig{Dir: dir, Lookup: table.lookup, MinBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond, OnAttempt: a.observe}
	d := startDispatcher(t, cfg)
	if _, err := d.Offer(hook, textMessage("m1", "while down")); err != nil {
		t.Fatal(err)
	}
	id := DeliveryID("ci", "m1")
	a.until(t, "two failed attempts", func() bool { return d.Deliveries("ci")[0].Attempts >= 2 })
	if del := d.Deliveries("ci")[0]; del.Status != StatusPending || del.LastError == "" {
		t.Fatalf("got %+v, want pending with the last error", del)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}

	rc := newReceiver(t, hook.Secret, always(200), "")
	up := httptest.NewServer(rc)
	defer up.Close()
	hook.URL = up.URL
	table.set(hook)
	d2 := startDispatcher(t, cfg)
	if p := rc.next(t); p.id != id {
		t.Fatalf("got %s, want %s", p.id, id)
	}
	waitStatus(t, a, d2, "ci", id, StatusDelivered)
	// Offer of the same message again (an event replayed) sends nothing;
	// a new message's POST is the next one the receiver sees.
	if queued, _ := d2.Offer(hook, textMessage("m1", "while down")); queued {
		t.Fatal("a delivered message was queued again")
	}
	if _, err := d2.Offer(hook, textMessage("m2", "next")); err != nil {
		t.Fatal(err)
	}
	if p := rc.next(t); p.id != DeliveryID("ci", "m2") {
		t.Fatalf("got a second POST of %s, want m2's", p.id)
	}
	if n := rc.n.Load(); n != 2 {
		t.Fatalf("receiver got %d POSTs, want 2", n)
	}
}

func TestGoneAndDeletedHookFailAtOnce(t *testing.T) {
	hook := testHook(t, "")
	rc := newReceiver(t, hook.Secret, always(http.StatusGone), "")
	srv := httptest.NewServer(rc)
	defer srv.Close()
	hook.URL = srv.URL
	table := newHookTable(hook)
	a := newAttempts()
	d := startDispatcher(t, DispatcherConfig{Dir: t.TempDir(), Lookup: table.lookup, OnAttempt: a.observe})
	if _, err := d.Offer(hook, textMessage("m1", "x")); err != nil {
		t.Fatal(err)
	}
	del := waitStatus(t, a, d, "ci", DeliveryID("ci", "m1"), StatusFailed)
	if del.Attempts != 1 || !strings.Contains(del.LastError, "410") {
		t.Fatalf("got %+v, want failed after one attempt with 410", del)
	}

	table.remove("ci")
	if _, err := d.Offer(hook, textMessage("m2", "x")); err != nil {
		t.Fatal(err)
	}
	del = waitStatus(t, a, d, "ci", DeliveryID("ci", "m2"), StatusFailed)
	if del.LastError != "webhook deleted" {
		t.Fatalf("got %+v, want failed: webhook deleted", del)
	}
}

func TestRedirectIsAFailure(t *testing.T) {
	hook := testHook(t, "")
	var hits atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer target.Close()
	srv := httptest.NewServer(http.RedirectHandler(target.URL, http.StatusTemporaryRedirect))
	defer srv.Close()
	hook.URL = srv.URL
	a := newAttempts()
	d := startDispatcher(t, DispatcherConfig{Dir: t.TempDir(), Lookup: newHookTable(hook).lookup, GiveUpAfter: time.Nanosecond, OnAttempt: a.observe})
	if _, err := d.Offer(hook, textMessage("m1", "x")); err != nil {
		t.Fatal(err)
	}
	del := waitStatus(t, a, d, "ci", DeliveryID("ci", "m1"), StatusFailed)
	if !strings.Contains(del.LastError, "307") || hits.Load() != 0 {
		t.Fatalf("got %+v and %d POSTs at the redirect's target, want a 307 failure and none", del, hits.Load())
	}
}

// handlerTransport serves requests with a handler in memory, so a test in
// a synctest bubble can run for a fake day.
type handlerTransport struct{ h http.Handler }

func (ht handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	ht.h.ServeHTTP(rec, r)
	if r.Body != nil {
		_ = r.Body.Close()
	}
	if err := r.Context().Err(); err != nil {
		return nil, err // as a real transport: the request was cut off
	}
	return rec.Result(), nil
}

func TestBackoffDoublesToAnHourThenFailsAfterADay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hook := testHook(t, "http://receiver.test/hook")
		var mu sync.Mutex
		var times []time.Time
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			times = append(times, time.Now())
			mu.Unlock()
			w.WriteHeader(http.StatusInternalServerError)
		})
		d := startDispatcher(t, DispatcherConfig{
			Dir: t.TempDir(), Lookup: newHookTable(hook).lookup,
			Client: &http.Client{Transport: handlerTransport{h}},
		})
		start := time.Now()
		if _, err := d.Offer(hook, textMessage("m1", "x")); err != nil {
			t.Fatal(err)
		}
		time.Sleep(23 * time.Hour)
		synctest.Wait()
		if del := d.Deliveries("ci")[0]; del.Status != StatusPending || del.NextAttempt == nil {
			t.Fatalf("after 23 h: got %+v, want still pending", del)
		}
		time.Sleep(2 * time.Hour)
		synctest.Wait()
		del := d.Deliveries("ci")[0]
		if del.Status != StatusFailed || del.NextAttempt != nil || !strings.Contains(del.LastError, "500") {
			t.Fatalf("after 25 h: got %+v, want failed with the 500", del)
		}
		mu.Lock()
		defer mu.Unlock()
		if del.Attempts != len(times) {
			t.Fatalf("got %d attempts recorded, %d POSTs", del.Attempts, len(times))
		}
		if !times[0].Equal(start) {
			t.Fatalf("first attempt at +%s, want at once", times[0].Sub(start))
		}
		want := 10 * time.Second
		for i := 1; i < len(times)-1; i++ {
			gap := times[i].Sub(times[i-1])
			if gap < want*3/4 || gap > want*5/4 {
				t.Fatalf("gap %d: got %s, want %s ±25%%", i, gap, want)
			}
			want = min(want*2, time.Hour)
		}
		if last := times[len(times)-1].Sub(start); last != 24*time.Hour {
			t.Fatalf("last attempt at +%s, want at +24h", last)
		}
	})
}

func TestRetryAfterIsHonoured(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hook := testHook(t, "http://receiver.test/hook")
		rc := newReceiver(t, hook.Secret, func(n int) int {
			if n == 1 {
				return http.StatusServiceUnavailable // with Retry-After: 120
			}
			return http.StatusOK
		}, "")
		d := startDispatcher(t, DispatcherConfig{
			Dir: t.TempDir(), Lookup: newHookTable(hook).lookup,
			Client: &http.Client{Transport: handlerTransport{rc}},
		})
		if _, err := d.Offer(hook, textMessage("m1", "x")); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		time.Sleep(119 * time.Second)
		synctest.Wait()
		if n := rc.n.Load(); n != 1 {
			t.Fatalf("got %d POSTs before Retry-After passed, want 1", n)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if del := d.Deliveries("ci")[0]; del.Status != StatusDelivered || del.Attempts != 2 {
			t.Fatalf("got %+v, want delivered on the second attempt", del)
		}
	})
}

func TestPruneKeepsTheNewestRecords(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hook := testHook(t, "http://receiver.test/hook")
		rc := newReceiver(t, hook.Secret, always(200), "")
		dir := t.TempDir()
		d := startDispatcher(t, DispatcherConfig{
			Dir: dir, Lookup: newHookTable(hook).lookup, KeepCount: 2, KeepFor: time.Hour,
			Client: &http.Client{Transport: handlerTransport{rc}},
		})
		for _, id := range []string{"m1", "m2", "m3"} {
			if _, err := d.Offer(hook, textMessage(id, "x")); err != nil {
				t.Fatal(err)
			}
			synctest.Wait()
			time.Sleep(time.Second) // distinct delivery times
		}
		time.Sleep(time.Minute) // the next prune
		synctest.Wait()
		got := d.Deliveries("ci")
		if len(got) != 2 || got[0].ID != DeliveryID("ci", "m3") || got[1].ID != DeliveryID("ci", "m2") {
			t.Fatalf("got %+v, want m3's and m2's deliveries", got)
		}
		if _, err := os.Stat(filepath.Join(dir, DeliveryID("ci", "m1")+".json")); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("m1's file: got %v, want removed", err)
		}
		time.Sleep(2 * time.Hour)
		synctest.Wait()
		if got := d.Deliveries("ci"); len(got) != 0 {
			t.Fatalf("after KeepFor: got %+v, want none", got)
		}
	})
}

func TestUnreadableRecordsAreSetAside(t *testing.T) {
	dir := t.TempDir()
	hook := testHook(t, "http://127.0.0.1:1/")
	d, err := NewDispatcher(DispatcherConfig{Dir: dir, Lookup: newHookTable(hook).lookup})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Offer(hook, textMessage("m1", "x")); err != nil {
		t.Fatal(err)
	}
	d.Close()
	bad := filepath.Join(dir, "msg_aaaa.json")
	torn := filepath.Join(dir, "msg_bbbb.json.123.tmp")
	for path, data := range map[string]string{bad: "{not json", torn: `{"id":`} {
		if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	d2, err := NewDispatcher(DispatcherConfig{Dir: dir, Lookup: newHookTable(hook).lookup})
	if err != nil {
		t.Fatal(err)
	}
	defer d2.Close()
	if got := d2.Deliveries("ci"); len(got) != 1 || got[0].ID != DeliveryID("ci", "m1") {
		t.Fatalf("got %+v, want the good delivery only", got)
	}
	if _, err := os.Stat(bad + ".corrupt"); err != nil {
		t.Fatalf("the unreadable record was not kept aside: %v", err)
	}
	if _, err := os.Stat(torn); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the torn write is still there: %v", err)
	}
}

func TestParseReply(t *testing.T) {
	tests := []struct {
		answer string
		text   string
		ok     bool
	}{
		{`{"text": "hi"}`, "hi", true},
		{`{"attachments": [{"text": "card"}]}`, "", true},
		{`ok`, "", false},
		{``, "", false},
		{`{"text": "  "}`, "", false},
		{`{"ok": true}`, "", false},
		{`{"text": `, "", false},
	}
	for _, tt := range tests {
		p, ok := ParseReply([]byte(tt.answer))
		if ok != tt.ok || p.Text != tt.text {
			t.Errorf("ParseReply(%q): got %q %v, want %q %v", tt.answer, p.Text, ok, tt.text, tt.ok)
		}
	}
}

func FuzzParseReply(f *testing.F) {
	f.Add([]byte(`{"text": "hi", "attachments": [{"ts": 12}]}`))
	f.Add([]byte(`{"blocks": [{"type": "section"}]}`))
	f.Add([]byte(`ok`))
	f.Fuzz(func(t *testing.T, answer []byte) {
		p, ok := ParseReply(answer)
		if !ok && (p.Text != "" || p.Attachments != nil) {
			t.Fatal("no reply but a payload")
		}
	})
}

// FuzzDecodeRecord: a record file, whatever it holds, is read or refused;
// a record read back is one the dispatcher can schedule.
func FuzzDecodeRecord(f *testing.F) {
	r := record{ID: DeliveryID("ci", "m1"), Hook: "ci", Status: StatusPending, Created: time.Unix(1, 0), Body: json.RawMessage(`{}`)}
	good, _ := json.Marshal(&r)
	f.Add(good)
	f.Add([]byte(`{"id":"msg_../../etc","hook":"x","status":"pending","body":{}}`))
	f.Add([]byte(`{"id":"msg_a","hook":"x","status":"delivered","attempts":-1,"body":{}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := decodeRecord(data)
		if err != nil {
			return
		}
		if !validDeliveryID(r.ID) || strings.ContainsAny(r.ID, "/.\\") {
			t.Fatalf("accepted id %q", r.ID)
		}
		if r.Status == StatusPending && r.NextAttempt.IsZero() {
			t.Fatal("pending without a next attempt")
		}
	})
}

// TestCloseCutsOffAPOSTWhichTheNextRunSends: a POST in flight when the
// dispatcher stops stays pending, and the next dispatcher sends it; no
// goroutine is left behind.
func TestCloseCutsOffAPOSTWhichTheNextRunSends(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	hook := testHook(t, "")
	arrived := make(chan struct{}, 1)
	var hold atomic.Bool
	hold.Store(true)
	rc := newReceiver(t, hook.Secret, always(200), "")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hold.Load() {
			_, _ = io.Copy(io.Discard, r.Body) // then the server notices the client going
			arrived <- struct{}{}
			<-r.Context().Done() // never answers: the dispatcher gives up when closed
			return
		}
		rc.ServeHTTP(w, r)
	}))
	defer srv.Close()
	hook.URL = srv.URL
	dir := t.TempDir()
	a := newAttempts()
	cfg := DispatcherConfig{Dir: dir, Lookup: newHookTable(hook).lookup, OnAttempt: a.observe}
	d, err := NewDispatcher(cfg)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- d.Run(context.Background()) }()
	if _, err := d.Offer(hook, textMessage("m1", "x")); err != nil {
		t.Fatal(err)
	}
	<-arrived
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if del := d.Deliveries("ci")[0]; del.Status != StatusPending || del.Attempts != 0 {
		t.Fatalf("got %+v, want pending with no attempt counted", del)
	}

	hold.Store(false)
	d2, err := NewDispatcher(cfg)
	if err != nil {
		t.Fatal(err)
	}
	go func() { done <- d2.Run(context.Background()) }()
	if p := rc.next(t); p.id != DeliveryID("ci", "m1") {
		t.Fatalf("got %s", p.id)
	}
	waitStatus(t, a, d2, "ci", DeliveryID("ci", "m1"), StatusDelivered)
	if err := d2.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	srv.CloseClientConnections()
}

func TestWorkersBoundConcurrentPOSTs(t *testing.T) {
	hook := testHook(t, "")
	var inFlight, most atomic.Int32
	arrived := make(chan struct{}, 100)
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		arrived <- struct{}{}
		<-release
		inFlight.Add(-1)
	}))
	defer srv.Close()
	hook.URL = srv.URL
	a := newAttempts()
	d := startDispatcher(t, DispatcherConfig{Dir: t.TempDir(), Lookup: newHookTable(hook).lookup, Workers: 2, OnAttempt: a.observe})
	const n = 8
	for i := range n {
		if _, err := d.Offer(hook, textMessage("m"+strconv.Itoa(i), "x")); err != nil {
			t.Fatal(err)
		}
	}
	for range n {
		<-arrived
		release <- struct{}{}
	}
	a.until(t, "every delivery", func() bool {
		for _, del := range d.Deliveries("ci") {
			if del.Status != StatusDelivered {
				return false
			}
		}
		return true
	})
	if m := most.Load(); m > 2 {
		t.Fatalf("%d POSTs were in flight at once, want at most 2", m)
	}
}
