// Package metrics exports a node's counters in Prometheus' text format.
//
// The parts of a node keep cheap counters of their own (chat.Service.Stats,
// node.Node's peer count and score summary, store.Store's disk usage and
// outbox length) and know nothing of Prometheus; a Collector reads them at
// scrape time into a private registry, beside Go's runtime and process
// collectors. Webhook deliveries are counted by whoever delivers them,
// through Registry.HookDelivered (the hooks package takes it as a small
// interface of its own).
package metrics

import (
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/parley-chat/parley/chat"
)

// Chat is what the collector reads of the messenger (*chat.Service).
type Chat interface {
	Stats() chat.Stats
}

// ScoreSummary summarises GossipSub's peer scores.
type ScoreSummary struct {
	Peers            int // how many peers are scored
	Min, Median, Max float64
}

// DiskUsage is the store's size on disk, in bytes.
type DiskUsage struct {
	LSM, VLog, Files int64
}

// Sources are what a Registry reads at scrape time; a nil one is left out.
// The daemon fills them from its parts (chat.Service, node.Node,
// store.Store), which know nothing of Prometheus.
type Sources struct {
	Chat   Chat
	Peers  func() int                // Parley peers connected now
	Scores func() ScoreSummary       // GossipSub peer scores
	Outbox func() (int, error)       // direct messages awaiting acknowledgement
	Disk   func() (DiskUsage, error) // the store's size
	Logger *slog.Logger
}

// Registry is a node's private Prometheus registry (never the global one).
type Registry struct {
	reg   *prometheus.Registry
	hooks *prometheus.CounterVec
}

// New builds the registry of a node's metrics.
func New(src Sources) *Registry {
	if src.Logger == nil {
		src.Logger = slog.New(slog.DiscardHandler)
	}
	r := &Registry{
		reg: prometheus.NewRegistry(),
		hooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parley_webhook_deliveries_total",
			Help: "Outgoing webhook delivery attempts by result: delivered, failed (to be retried), dropped (given up).",
		}, []string{"result"}),
	}
	for _, res := range []string{HookDelivered, HookFailed, HookDropped} {
		r.hooks.WithLabelValues(res) // present at 0 from the start
	}
	r.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		r.hooks,
		&collector{src: src},
	)
	return r
}

// Results of a webhook delivery attempt.
const (
	HookDelivered = "delivered" // the receiver answered 2xx
	HookFailed    = "failed"    // it failed and will be retried
	HookDropped   = "dropped"   // it failed for the last time
)

// HookDelivered counts one outgoing webhook delivery attempt with its
// result (HookDelivered, HookFailed or HookDropped; another string is
// counted under its own label).
func (r *Registry) HookDelivered(result string) {
	r.hooks.WithLabelValues(result).Inc()
}

// Gatherer is the registry, for tests and other exporters.
func (r *Registry) Gatherer() prometheus.Gatherer { return r.reg }

// Handler serves the metrics in Prometheus' text (or negotiated) format.
func (r *Registry) Handler() http.Handler {
	return promhttp.HandlerFor(r.reg, promhttp.HandlerOpts{})
}
