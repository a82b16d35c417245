package node

import (
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"
)

// TestScoreSummary summarises what GossipSub's score inspector reports.
func TestScoreSummary(t *testing.T) {
	n := &Node{}
	if got := n.Scores(); got != (ScoreSummary{}) {
		t.Errorf("no scores: got %+v, want zero", got)
	}
	for _, tc := range []struct {
		scores map[peer.ID]float64
		want   ScoreSummary
	}{
		{map[peer.ID]float64{"a": 3}, ScoreSummary{Peers: 1, Min: 3, Median: 3, Max: 3}},
		{map[peer.ID]float64{"a": -10, "b": 0, "c": 5}, ScoreSummary{Peers: 3, Min: -10, Median: 0, Max: 5}},
		{map[peer.ID]float64{"a": -1, "b": 1, "c": 2, "d": 100}, ScoreSummary{Peers: 4, Min: -1, Median: 1.5, Max: 100}},
	} {
		n.inspectScores(tc.scores)
		if got := n.Scores(); got != tc.want {
			t.Errorf("scores %v: got %+v, want %+v", tc.scores, got, tc.want)
		}
	}
}
