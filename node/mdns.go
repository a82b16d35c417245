package node

import (
	"slices"
	"strings"
	"sync"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/discovery/mdns"
)

// mdnsRunner runs mDNS discovery and restarts it when the host's addresses
// change: the mDNS service binds interfaces and advertises addresses only
// when it starts.
type mdnsRunner struct {
	n *Node

	mu    sync.Mutex
	svc   mdns.Service
	addrs string
}

func newMDNSRunner(n *Node) *mdnsRunner { return &mdnsRunner{n: n} }

func (r *mdnsRunner) addrKey() string {
	addrs := addrStrings(r.n.h.Addrs())
	slices.Sort(addrs)
	return strings.Join(addrs, " ")
}

func (r *mdnsRunner) start() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.startLocked()
}

func (r *mdnsRunner) startLocked() error {
	svc := mdns.NewMdnsService(r.n.h, MDNSServiceTag, r)
	if err := svc.Start(); err != nil {
		return err
	}
	r.svc = svc
	r.addrs = r.addrKey()
	return nil
}

func (r *mdnsRunner) addressesChanged() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.svc == nil || r.addrKey() == r.addrs {
		return
	}
	r.n.log.Info("local addresses changed; restarting mDNS")
	_ = r.svc.Close()
	r.svc = nil
	if err := r.startLocked(); err != nil {
		r.n.log.Warn("could not restart mDNS", "err", err)
	}
}

func (r *mdnsRunner) stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.svc != nil {
		_ = r.svc.Close()
		r.svc = nil
	}
}

// HandlePeerFound implements mdns.Notifee. It must not block.
func (r *mdnsRunner) HandlePeerFound(ai peer.AddrInfo) {
	r.n.log.Debug("mDNS found peer", "peer", ai.ID)
	r.n.addKnownAddrs(ai.ID, ai.Addrs)
}
