package node

import (
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/discovery/mdns"
)

// ifacePollInterval is how often interface addresses are checked. libp2p
// itself notices new interface addresses only after its one-minute cache
// expires, which is too slow for a laptop joining a network.
const ifacePollInterval = 2 * time.Second

// mdnsRunner runs mDNS discovery and restarts it when the machine's
// addresses change: the mDNS service binds interfaces and advertises
// addresses only when it starts.
type mdnsRunner struct {
	n *Node

	mu    sync.Mutex
	svc   mdns.Service
	addrs string
}

func newMDNSRunner(n *Node) *mdnsRunner { return &mdnsRunner{n: n} }

// addrKey summarises the machine's interface addresses.
func (r *mdnsRunner) addrKey() string {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return ""
	}
	out := make([]string, len(addrs))
	for i, a := range addrs {
		out[i] = a.String()
	}
	slices.Sort(out)
	return strings.Join(out, " ")
}

// watch restarts mDNS when interface addresses change, until the node closes.
func (r *mdnsRunner) watch() {
	t := time.NewTicker(ifacePollInterval)
	defer t.Stop()
	for {
		select {
		case <-r.n.ctx().Done():
			return
		case <-t.C:
			r.addressesChanged()
		}
	}
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
