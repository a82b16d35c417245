package node

import (
	"fmt"
	"regexp"
	"strconv"

	ma "github.com/multiformats/go-multiaddr"
)

// ListenAddr is a listen multiaddr taken apart, for checks that probe its
// port with the standard library (parley doctor).
type ListenAddr struct {
	Addr    string // the multiaddr, canonical
	Network string // "tcp" or "udp"
	Host    string // the IP address
	Port    int    // 0: any free port
	rest    string // what follows the port (/quic-v1, /ws, …)
}

var listenShape = regexp.MustCompile(`^/(ip4|ip6)/([^/]+)/(tcp|udp)/([0-9]+)(.*)$`)

// ParseListen takes a listen multiaddr apart: an IP address, TCP or UDP,
// a port, and the transport above it.
func ParseListen(addr string) (ListenAddr, error) {
	m, err := ma.NewMultiaddr(addr)
	if err != nil {
		return ListenAddr{}, fmt.Errorf("%w %q: %v", ErrBadAddr, addr, err)
	}
	s := m.String()
	g := listenShape.FindStringSubmatch(s)
	if g == nil {
		return ListenAddr{}, fmt.Errorf("%w %q: want /ip4 or /ip6, then /tcp or /udp and a port", ErrBadAddr, addr)
	}
	port, err := strconv.Atoi(g[4])
	if err != nil || port > 65535 {
		return ListenAddr{}, fmt.Errorf("%w %q: bad port", ErrBadAddr, addr)
	}
	return ListenAddr{Addr: s, Network: g[3], Host: g[2], Port: port, rest: g[5]}, nil
}

// ListenState is one address the node was asked to listen on, and what
// it got.
type ListenState struct {
	ListenAddr
	Bound []string // the bound multiaddrs that serve it (none: it failed)
}

// Listening reports, for each configured listen address, the addresses
// the host bound for it (with the port it got when it asked for any).
func (n *Node) Listening() []ListenState {
	var bound []ListenAddr
	for _, a := range n.h.Network().ListenAddresses() {
		if la, err := ParseListen(a.String()); err == nil {
			bound = append(bound, la)
		}
	}
	out := make([]ListenState, 0, len(n.cfg.Listen))
	for _, req := range n.cfg.Listen {
		la, err := ParseListen(req)
		if err != nil {
			out = append(out, ListenState{ListenAddr: ListenAddr{Addr: req}})
			continue
		}
		st := ListenState{ListenAddr: la}
		for _, b := range bound {
			if b.Network == la.Network && b.Host == la.Host && b.rest == la.rest && (la.Port == 0 || b.Port == la.Port) {
				st.Bound = append(st.Bound, b.Addr)
			}
		}
		out = append(out, st)
	}
	return out
}
