package metrics_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/internal/metrics"
)

type fixedChat chat.Stats

func (f fixedChat) Stats() chat.Stats { return chat.Stats(f) }

// Scrape serves r's handler once and parses the answer with Prometheus'
// own text parser.
func Scrape(t *testing.T, h http.Handler) map[string]*dto.MetricFamily {
	t.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("scrape: %s %s: %s", resp.Status, resp.Header.Get("Content-Type"), b)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("not valid Prometheus text: %v", err)
	}
	return fams
}

// value is the value of the sample of family name with labels (name=value
// pairs), or -1 when there is none.
func value(fams map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	f, ok := fams[name]
	if !ok {
		return -1
	}
next:
	for _, m := range f.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		for i := 0; i+1 < len(labels); i += 2 {
			if have[labels[i]] != labels[i+1] {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Untyped != nil:
			return m.Untyped.GetValue()
		}
	}
	return -1
}

func TestRegistryExports(t *testing.T) {
	r := metrics.New(metrics.Sources{
		Chat: fixedChat{
			Messages: []chat.MessageCount{
				{Direction: "in", Kind: "text", ConvType: "room", Count: 7},
				{Direction: "out", Kind: "react", ConvType: "dm", Count: 2},
			},
			SyncOpened: 3, SyncServed: 4, SyncFailed: 1,
			SyncBytesIn: 100, SyncBytesOut: 200,
			FileBytesIn: 300, FileBytesOut: 400,
		},
		Peers:  func() int { return 5 },
		Scores: func() metrics.ScoreSummary { return metrics.ScoreSummary{Peers: 3, Min: -2, Median: 0.5, Max: 9} },
		Outbox: func() (int, error) { return 6, nil },
		Disk:   func() (metrics.DiskUsage, error) { return metrics.DiskUsage{LSM: 10, VLog: 20, Files: 30}, nil },
	})
	r.HookDelivered(metrics.HookDelivered)
	r.HookDelivered(metrics.HookDelivered)
	r.HookDelivered(metrics.HookFailed)
	fams := Scrape(t, r.Handler())

	for _, tc := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"parley_messages_total", []string{"direction", "in", "kind", "text", "conversation", "room"}, 7},
		{"parley_messages_total", []string{"direction", "out", "kind", "react", "conversation", "dm"}, 2},
		{"parley_sync_sessions_total", []string{"role", "opened"}, 3},
		{"parley_sync_sessions_total", []string{"role", "served"}, 4},
		{"parley_sync_sessions_failed_total", nil, 1},
		{"parley_sync_bytes_total", []string{"direction", "in"}, 100},
		{"parley_sync_bytes_total", []string{"direction", "out"}, 200},
		{"parley_file_transfer_bytes_total", []string{"direction", "in"}, 300},
		{"parley_file_transfer_bytes_total", []string{"direction", "out"}, 400},
		{"parley_peers_connected", nil, 5},
		{"parley_pubsub_scored_peers", nil, 3},
		{"parley_pubsub_peer_score", []string{"stat", "min"}, -2},
		{"parley_pubsub_peer_score", []string{"stat", "median"}, 0.5},
		{"parley_pubsub_peer_score", []string{"stat", "max"}, 9},
		{"parley_outbox_messages", nil, 6},
		{"parley_store_bytes", []string{"part", "lsm"}, 10},
		{"parley_store_bytes", []string{"part", "vlog"}, 20},
		{"parley_store_bytes", []string{"part", "files"}, 30},
		{"parley_webhook_deliveries_total", []string{"result", "delivered"}, 2},
		{"parley_webhook_deliveries_total", []string{"result", "failed"}, 1},
		{"parley_webhook_deliveries_total", []string{"result", "dropped"}, 0},
	} {
		if got := value(fams, tc.name, tc.labels...); got != tc.want {
			t.Errorf("%s%v: got %v, want %v", tc.name, tc.labels, got, tc.want)
		}
	}
	for _, name := range []string{"go_goroutines", "process_resident_memory_bytes"} {
		if _, ok := fams[name]; !ok {
			t.Errorf("%s missing: want Go's runtime and process collectors", name)
		}
	}
	if got := fams["parley_messages_total"].GetType(); got != dto.MetricType_COUNTER {
		t.Errorf("parley_messages_total type: got %v, want counter", got)
	}
}

// TestRegistrySourceFails: a source that fails leaves its metrics out and
// says so, and the rest are still served.
func TestRegistrySourceFails(t *testing.T) {
	r := metrics.New(metrics.Sources{
		Peers:  func() int { return 1 },
		Outbox: func() (int, error) { return 0, errors.New("disk on fire") },
	})
	fams := Scrape(t, r.Handler())
	if got := value(fams, "parley_outbox_messages"); got != -1 {
		t.Errorf("outbox of a failing source: got %v, want none", got)
	}
	if got := value(fams, "parley_metrics_source_failed", "source", "outbox"); got != 1 {
		t.Errorf("source failed: got %v, want 1", got)
	}
	if got := value(fams, "parley_peers_connected"); got != 1 {
		t.Errorf("peers: got %v, want 1", got)
	}
}

// TestRegistriesArePrivate: two nodes in one process keep their own counts.
func TestRegistriesArePrivate(t *testing.T) {
	a, b := metrics.New(metrics.Sources{}), metrics.New(metrics.Sources{})
	a.HookDelivered(metrics.HookDropped)
	if got := value(Scrape(t, b.Handler()), "parley_webhook_deliveries_total", "result", "dropped"); got != 0 {
		t.Errorf("b's dropped deliveries after a's: got %v, want 0", got)
	}
}
