package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
)

var (
	descMessages = prometheus.NewDesc("parley_messages_total",
		"Messages stored since the daemon started, by direction (in: another node's; out: this node's), kind and conversation type (dm or room).",
		[]string{"direction", "kind", "conversation"}, nil)
	descPeers = prometheus.NewDesc("parley_peers_connected",
		"Parley peers connected and identified now.", nil, nil)
	descOutbox = prometheus.NewDesc("parley_outbox_messages",
		"Direct messages waiting in the outbox for the peer's acknowledgement.", nil, nil)
	descSyncSessions = prometheus.NewDesc("parley_sync_sessions_total",
		"History-sync sessions by role (opened by this node, or served to a peer).", []string{"role"}, nil)
	descSyncFailed = prometheus.NewDesc("parley_sync_sessions_failed_total",
		"History-sync sessions (either role) that ended in an error.", nil, nil)
	descSyncBytes = prometheus.NewDesc("parley_sync_bytes_total",
		"Bytes of history-sync streams by direction.", []string{"direction"}, nil)
	descFileBytes = prometheus.NewDesc("parley_file_transfer_bytes_total",
		"Bytes of file chunks by direction (in: fetched and stored; out: served to peers).", []string{"direction"}, nil)
	descScorePeers = prometheus.NewDesc("parley_pubsub_scored_peers",
		"Peers GossipSub keeps a score for.", nil, nil)
	descScore = prometheus.NewDesc("parley_pubsub_peer_score",
		"Summary of GossipSub peer scores over all topics: the lowest, median and highest (0 with no scored peer).", []string{"stat"}, nil)
	descStore = prometheus.NewDesc("parley_store_bytes",
		"Disk used by the store by part: Badger's LSM tree, its value log, and shared files' chunks.", []string{"part"}, nil)
	descScrapeErrors = prometheus.NewDesc("parley_metrics_source_failed",
		"1 for a source that failed to report during this scrape (its metrics are missing; the daemon logs why).", []string{"source"}, nil)
)

// collector reads the node's parts at scrape time.
type collector struct {
	src Sources
}

var _ prometheus.Collector = (*collector)(nil)

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descMessages, descPeers, descOutbox, descSyncSessions, descSyncFailed, descSyncBytes, descFileBytes, descScorePeers, descScore, descStore, descScrapeErrors} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	failed := func(source string, err error) {
		c.src.Logger.Warn("metrics source failed", "source", source, "err", err)
		gauge(descScrapeErrors, 1, source)
	}
	if c.src.Chat != nil {
		st := c.src.Chat.Stats()
		for _, m := range st.Messages {
			counter(descMessages, m.Count, m.Direction, m.Kind, m.ConvType)
		}
		counter(descSyncSessions, st.SyncOpened, "opened")
		counter(descSyncSessions, st.SyncServed, "served")
		counter(descSyncFailed, st.SyncFailed)
		counter(descSyncBytes, st.SyncBytesIn, "in")
		counter(descSyncBytes, st.SyncBytesOut, "out")
		counter(descFileBytes, st.FileBytesIn, "in")
		counter(descFileBytes, st.FileBytesOut, "out")
	}
	if c.src.Peers != nil {
		gauge(descPeers, float64(c.src.Peers()))
	}
	if c.src.Scores != nil {
		s := c.src.Scores()
		gauge(descScorePeers, float64(s.Peers))
		gauge(descScore, s.Min, "min")
		gauge(descScore, s.Median, "median")
		gauge(descScore, s.Max, "max")
	}
	if c.src.Outbox != nil {
		if n, err := c.src.Outbox(); err != nil {
			failed("outbox", err)
		} else {
			gauge(descOutbox, float64(n))
		}
	}
	if c.src.Disk != nil {
		if u, err := c.src.Disk(); err != nil {
			failed("store", err)
		} else {
			gauge(descStore, float64(u.LSM), "lsm")
			gauge(descStore, float64(u.VLog), "vlog")
			gauge(descStore, float64(u.Files), "files")
		}
	}
}
