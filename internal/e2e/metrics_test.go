package e2e

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/parley-chat/parley/internal/testnet"
)

// scrape reads d's /metrics over its unix socket and parses it with
// Prometheus' own text parser (which fails on anything that is not valid
// exposition format).
func scrape(t *testing.T, d *testnet.Daemon) map[string]*dto.MetricFamily {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	text, err := d.Client().Metrics(ctx)
	if err != nil {
		t.Fatalf("%s: GET /metrics: %v", d.Name, err)
	}
	return parseMetrics(t, text)
}

func parseMetrics(t *testing.T, text string) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("/metrics is not valid Prometheus text: %v", err)
	}
	return fams
}

// sample is the value of family name's sample with the given label pairs;
// 0 when there is none (a counter not yet counted).
func sample(fams map[string]*dto.MetricFamily, name string, labels ...string) float64 {
next:
	for _, m := range fams[name].GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		for i := 0; i+1 < len(labels); i += 2 {
			if have[labels[i]] != labels[i+1] {
				continue next
			}
		}
		if m.Counter != nil {
			return m.Counter.GetValue()
		}
		return m.Gauge.GetValue()
	}
	return 0
}

// TestMetrics scrapes two daemons on 127.0.0.1 (mDNS off) before and after
// traffic between them: direct messages both ways, room messages, a
// history sync when bob joins late, a file; the counters move by exactly
// what was sent. /metrics answers on the unix socket, on the TCP API with
// any token (never without), and on metrics_listen without one (and
// nothing else there).
func TestMetrics(t *testing.T) {
	alice, bob := testnet.NewDaemon(t, "alice"), testnet.NewDaemon(t, "bob")
	alice.Start(append([]string{"--metrics-listen", "127.0.0.1:0"}, loopbackListen...)...)
	bob.Start(loopbackListen...)
	aliceID, bobID := alice.Identity().PeerID, bob.Identity().PeerID
	alice.MustRun("join", "#team")
	waitLobby(t, bob)

	a0, b0 := scrape(t, alice), scrape(t, bob)
	for _, name := range []string{"parley_peers_connected", "parley_outbox_messages", "parley_store_bytes", "parley_pubsub_peer_score",
		"parley_sync_sessions_total", "parley_sync_bytes_total", "parley_file_transfer_bytes_total", "parley_webhook_deliveries_total",
		"go_goroutines", "process_resident_memory_bytes"} {
		if _, ok := a0[name]; !ok {
			t.Errorf("alice's metrics lack %s", name)
		}
	}

	// alice writes in #team before bob is there: bob gets these by sync.
	var early []string
	for _, text := range []string{"before bob one", "before bob two"} {
		early = append(early, sendRoom(t, alice, "team", text))
	}
	alice.MustRun("connect", bob.Identity().Addrs[0])
	waitUntil(t, 15*time.Second, "alice and bob connected", func() bool { return connected(t, alice, bobID) && connected(t, bob, aliceID) })
	bob.MustRun("join", "#team")
	waitUntil(t, 60*time.Second, "bob syncing #team's history", func() bool {
		return len(history(t, bob, "#team")) >= len(early)
	})
	waitUntil(t, 15*time.Second, "both in #team", func() bool {
		return roomMembers(t, alice, "team") == 2 && roomMembers(t, bob, "team") == 2
	})

	// Three direct messages alice -> bob, one back, one live room message.
	var dms []string
	for _, text := range []string{"dm one", "dm two", "dm three"} {
		dms = append(dms, strings.TrimSpace(alice.MustRun("send", bobID, text)))
	}
	back := strings.TrimSpace(bob.MustRun("send", aliceID, "dm back"))
	live := sendRoom(t, alice, "team", "with bob now")
	defer func() {
		if t.Failed() {
			ms := history(t, alice, bobID)
			for _, id := range dms {
				t.Logf("alice's dm %s: %s", id, statusOf(ms, id))
			}
			t.Logf("bob's back %q: %q; live %q: %q", back, statusOf(history(t, bob, aliceID), back), live, statusOf(history(t, bob, "#team"), live))
		}
	}()
	waitUntil(t, 30*time.Second, "everything delivered", func() bool {
		ms := history(t, alice, bobID)
		for _, id := range dms {
			if statusOf(ms, id) != "delivered" {
				return false
			}
		}
		return statusOf(history(t, bob, aliceID), back) == "delivered" &&
			statusOf(history(t, bob, "#team"), live) == "received"
	})

	// A 200 KiB file to bob directly: fetched on arrival.
	path, _ := writeRandom(t, t.TempDir(), "report.bin", 200<<10)
	fileMsg := share(t, alice, path, bobID)
	waitUntil(t, 60*time.Second, "bob holding the file", func() bool {
		fs := filesOf(t, bob, aliceID, fileMsg)
		return len(fs) == 1 && fs[0].State == "complete"
	})

	a1, b1 := scrape(t, alice), scrape(t, bob)
	delta := func(before, after map[string]*dto.MetricFamily, name string, labels ...string) float64 {
		return sample(after, name, labels...) - sample(before, name, labels...)
	}
	msgs := "parley_messages_total"
	for _, tc := range []struct {
		who           string
		before, after map[string]*dto.MetricFamily
		labels        []string
		want          float64
	}{
		{"alice", a0, a1, []string{"direction", "out", "kind", "text", "conversation", "dm"}, 4}, // 3 texts and the file's message
		{"alice", a0, a1, []string{"direction", "in", "kind", "text", "conversation", "dm"}, 1},
		{"alice", a0, a1, []string{"direction", "out", "kind", "text", "conversation", "room"}, 3},
		{"alice", a0, a1, []string{"direction", "in", "kind", "text", "conversation", "room"}, 0},
		{"bob", b0, b1, []string{"direction", "in", "kind", "text", "conversation", "dm"}, 4},
		{"bob", b0, b1, []string{"direction", "out", "kind", "text", "conversation", "dm"}, 1},
		{"bob", b0, b1, []string{"direction", "in", "kind", "text", "conversation", "room"}, 3},
		{"bob", b0, b1, []string{"direction", "out", "kind", "text", "conversation", "room"}, 0},
	} {
		if got := delta(tc.before, tc.after, msgs, tc.labels...); got != tc.want {
			t.Errorf("%s: %s%v went up by %v, want %v", tc.who, msgs, tc.labels, got, tc.want)
		}
	}
	if got := sample(a1, "parley_peers_connected"); got != 1 {
		t.Errorf("alice's connected peers: got %v, want 1", got)
	}
	if got := sample(a1, "parley_outbox_messages"); got != 0 {
		t.Errorf("alice's outbox after delivery: got %v, want 0", got)
	}
	// bob synced #team from alice: sessions and bytes on both sides.
	if delta(a0, a1, "parley_sync_sessions_total", "role", "served")+delta(a0, a1, "parley_sync_sessions_total", "role", "opened") < 1 ||
		delta(b0, b1, "parley_sync_sessions_total", "role", "opened")+delta(b0, b1, "parley_sync_sessions_total", "role", "served") < 1 {
		t.Errorf("sync sessions: alice %v served %v opened, bob %v opened %v served; want at least one each",
			delta(a0, a1, "parley_sync_sessions_total", "role", "served"), delta(a0, a1, "parley_sync_sessions_total", "role", "opened"),
			delta(b0, b1, "parley_sync_sessions_total", "role", "opened"), delta(b0, b1, "parley_sync_sessions_total", "role", "served"))
	}
	if delta(b0, b1, "parley_sync_bytes_total", "direction", "in") <= 0 || delta(a0, a1, "parley_sync_bytes_total", "direction", "out") <= 0 {
		t.Error("sync bytes did not move on both sides")
	}
	// The file: bob fetched it from alice (sealed chunks, so a little more
	// than the file); alice served at least that (a chunk asked twice is
	// served twice, stored once).
	out, in := delta(a0, a1, "parley_file_transfer_bytes_total", "direction", "out"), delta(b0, b1, "parley_file_transfer_bytes_total", "direction", "in")
	if in < 200<<10 || out < in {
		t.Errorf("file bytes: alice served %v, bob fetched %v; want at least %d fetched and at least that served", out, in, 200<<10)
	}
	if sample(a1, "parley_store_bytes", "part", "files") < 200<<10 && sample(a1, "parley_store_bytes", "part", "files") != 0 {
		t.Errorf("alice's store files: got %v, want 0 (not measured yet) or the file", sample(a1, "parley_store_bytes", "part", "files"))
	}

	// TCP API: authenticated like the API, any scope.
	base := tcpBase(t, alice)
	reader := createToken(t, alice, "--name", "scraper", "--scope", "read", "--conv", "#team")
	for _, tc := range []struct {
		token string
		want  int
	}{{reader.Token, 200}, {"", 401}, {"pat_" + strings.Repeat("B", 43), 401}} {
		code, body := asToken(t, tc.token, "GET", base+"/metrics", "")
		if code != tc.want {
			t.Errorf("TCP /metrics with token %q: got %d, want %d", tc.token, code, tc.want)
		}
		if code == 200 {
			parseMetrics(t, body)
		}
	}

	// metrics_listen: /metrics without authentication, nothing else.
	m := regexp.MustCompile(`metrics=(127\.0\.0\.1:\d+)`).FindStringSubmatch(alice.Log())
	if m == nil {
		t.Fatalf("alice's log names no metrics listener:\n%s", alice.Log())
	}
	mbase := "http://" + m[1]
	code, body := asToken(t, "", "GET", mbase+"/metrics", "")
	if code != 200 {
		t.Fatalf("metrics_listen /metrics: got %d", code)
	}
	if got := sample(parseMetrics(t, body), msgs, "direction", "out", "kind", "text", "conversation", "dm"); got < 4 {
		t.Errorf("metrics_listen: alice's dm texts out: got %v, want at least 4", got)
	}
	for _, path := range []string{"/api/v1/id", "/api/v1/history?with=%23team", "/", "/login", "/debug/pprof/"} {
		if code, _ := asToken(t, "", "GET", mbase+path, ""); code != http.StatusNotFound {
			t.Errorf("metrics_listen GET %s: got %d, want 404", path, code)
		}
	}
	if code, _ := asToken(t, "", "POST", mbase+"/metrics", "{}"); code != http.StatusMethodNotAllowed {
		t.Errorf("metrics_listen POST /metrics: got %d, want 405", code)
	}
}
