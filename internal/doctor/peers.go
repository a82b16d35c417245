package doctor

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/parley-chat/parley/internal/api"
)

// Peers is one check for the known peers as a whole, then one per peer
// that is not connected, saying why it is unreachable (the daemon's last
// dial or connection error) and what to do.
func Peers(peers []api.Peer) []Check {
	var online []string
	var out []Check
	for _, p := range peers {
		if p.Connected {
			online = append(online, p.Display)
			continue
		}
		out = append(out, unreachable(p))
	}
	if len(peers) == 0 {
		return []Check{fail("peers", "no peers known yet",
			"on a LAN, peers running Parley appear by themselves (see the multicast check); elsewhere: parley connect MULTIADDR (the other side's 'parley id' shows it)")}
	}
	sum := fmt.Sprintf("%d known, %d online", len(peers), len(online))
	if len(online) > 0 {
		sum += ": " + strings.Join(online, ", ")
	}
	head := pass("peers", sum)
	if len(online) == 0 {
		head = fail("peers", sum, "no peer is reachable: see each peer's check below, and the multicast and listen checks")
	}
	return append([]Check{head}, out...)
}

// unreachable explains one peer that is not connected.
func unreachable(p api.Peer) Check {
	name := "peer " + p.Display
	seen := "never connected"
	if p.LastSeen != nil {
		seen = "last seen " + p.LastSeen.Local().Format(time.DateTime)
	}
	if p.LastError == "" && len(p.Addrs) == 0 {
		return fail(name, fmt.Sprintf("unreachable (%s): no address known for %s", seen, p.PeerID),
			"on a LAN mDNS finds it once it runs Parley; elsewhere: parley connect MULTIADDR with the address its 'parley id' shows")
	}
	if p.LastError == "" {
		return fail(name, fmt.Sprintf("unreachable (%s), not dialled yet", seen), "wait a few seconds: Parley redials known peers by itself")
	}
	why, fix := explain(p.LastError)
	at := ""
	if p.LastErrorAt != nil {
		at = " at " + p.LastErrorAt.Local().Format(time.TimeOnly)
	}
	return fail(name, fmt.Sprintf("unreachable (%s): %s; last error%s: %s", seen, why, at, p.LastError), fix)
}

// explain turns a dial or connection error into what it means and what
// to do.
func explain(reason string) (why, fix string) {
	r := strings.ToLower(reason)
	has := func(subs ...string) bool {
		return slices.ContainsFunc(subs, func(s string) bool { return strings.Contains(r, s) })
	}
	switch {
	case has("peer id mismatch", "peer ids don't match", "unexpected peer"):
		return "another node answers at its address", "get its current address (its 'parley id') and parley connect it"
	case has("connection refused"):
		return "nothing listens at its address: Parley is not running there, or listens on another port now",
			"ask them to start Parley (parley daemon, or parley service install); if it runs, parley connect the address its 'parley id' shows"
	case has("no route to host", "network is unreachable", "host is down"):
		return "its address is on no network this machine reaches",
			"join the same network (or VPN) as the peer, or parley connect an address it has now"
	case has("stopped answering pings"):
		return "its connection went silent (network cut, machine asleep or switched off)",
			"nothing to do if it is off; Parley redials by itself once it is back"
	case has("i/o timeout", "deadline exceeded", "timeout", "timed out"):
		return "no answer at its address: it is off, asleep, on another network, or a firewall drops Parley's port",
			"check that it is on and on this network; allow TCP and UDP port 7714 through its firewall"
	case has("connection lost"):
		return "its connection closed", "Parley redials by itself; if it stays away, check that Parley runs there"
	case has("no addresses", "no good addresses"):
		return "no address to dial", "parley connect MULTIADDR with the address its 'parley id' shows"
	}
	return "dialling it failed", "Parley keeps redialling; check that Parley runs there and its address is reachable from here"
}

// Clock checks the clock skew measured against each peer when it last
// connected.
func Clock(peers []api.Peer, maxSkew time.Duration) Check {
	const name = "clock"
	type skew struct {
		who string
		d   time.Duration
	}
	var all, bad []skew
	for _, p := range peers {
		if p.ClockSkewMs == nil {
			continue
		}
		s := skew{p.Display, time.Duration(*p.ClockSkewMs) * time.Millisecond}
		all = append(all, s)
		if s.d.Abs() > maxSkew {
			bad = append(bad, s)
		}
	}
	if len(all) == 0 {
		return pass(name, "no peer's clock measured yet (it is measured when a peer connects; older versions do not send it)")
	}
	word := func(s skew) string {
		if s.d.Abs() < time.Second {
			return s.who + "'s clock agrees with this machine's (within a second)"
		}
		if s.d > 0 {
			return fmt.Sprintf("%s's clock is %v ahead of this machine's", s.who, s.d.Round(time.Second))
		}
		return fmt.Sprintf("%s's clock is %v behind this machine's", s.who, (-s.d).Round(time.Second))
	}
	if len(bad) > 0 {
		parts := make([]string, len(bad))
		for i, s := range bad {
			parts[i] = word(s)
		}
		return fail(name, strings.Join(parts, "; ")+fmt.Sprintf(" (more than %v: message times and ordering look wrong)", maxSkew),
			"turn on time sync on whichever machine is wrong: timedatectl set-ntp true (or install chrony/systemd-timesyncd)")
	}
	worst := slices.MaxFunc(all, func(a, b skew) int { return cmp.Compare(a.d.Abs(), b.d.Abs()) })
	return pass(name, fmt.Sprintf("%d peers measured; the furthest off: %s", len(all), word(worst)))
}
