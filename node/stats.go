package node

import (
	"slices"
)

// ConnectedPeers is how many Parley peers are connected and identified
// now (not counting other libp2p peers, such as relays).
func (n *Node) ConnectedPeers() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	up := 0
	for _, k := range n.known {
		if k.up {
			up++
		}
	}
	return up
}

// ScoreSummary summarises the latest GossipSub peer scores (all topics
// together, as the router's score inspector reports them): how many peers
// are scored and their lowest, median and highest score. With no scored
// peer every value is 0.
type ScoreSummary struct {
	Peers            int
	Min, Median, Max float64
}

// Scores returns the summary of the latest peer scores.
func (n *Node) Scores() ScoreSummary {
	n.scoreMu.Lock()
	vals := make([]float64, 0, len(n.scores))
	for _, v := range n.scores {
		vals = append(vals, v)
	}
	n.scoreMu.Unlock()
	if len(vals) == 0 {
		return ScoreSummary{}
	}
	slices.Sort(vals)
	med := vals[len(vals)/2]
	if len(vals)%2 == 0 {
		med = (vals[len(vals)/2-1] + vals[len(vals)/2]) / 2
	}
	return ScoreSummary{Peers: len(vals), Min: vals[0], Median: med, Max: vals[len(vals)-1]}
}
