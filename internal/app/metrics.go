package app

import (
	"fmt"
	"log/slog"
	"net"

	"github.com/parley-chat/parley/internal/metrics"
)

// metricSources connects the metrics registry to the node's parts, which
// keep plain counters of their own.
func (a *App) metricSources(log *slog.Logger) metrics.Sources {
	return metrics.Sources{
		Chat:  a.Chat,
		Peers: a.Node.ConnectedPeers,
		Scores: func() metrics.ScoreSummary {
			s := a.Node.Scores()
			return metrics.ScoreSummary{Peers: s.Peers, Min: s.Min, Median: s.Median, Max: s.Max}
		},
		Outbox: a.Store.OutboxLen,
		Disk: func() (metrics.DiskUsage, error) {
			u, err := a.Store.DiskUsage()
			return metrics.DiskUsage{LSM: u.LSM, VLog: u.VLog, Files: u.Files}, err
		},
		Logger: log,
	}
}

// listenMetrics opens metrics_listen (the flag's address over the
// config's), if one is set.
func (a *App) listenMetrics(addr string) error {
	if addr == "" {
		addr = a.Config.MetricsListen
	}
	if addr == "" || addr == "off" {
		return nil
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return fmt.Errorf("metrics address %q: %w", addr, err)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on metrics address %s: %w", addr, err)
	}
	a.metricL = l
	return nil
}

// MetricsAddr is the address of the metrics listener, or "" if there is none.
func (a *App) MetricsAddr() string {
	if a.metricL == nil {
		return ""
	}
	return a.metricL.Addr().String()
}
