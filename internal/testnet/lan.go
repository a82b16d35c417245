package testnet

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// LAN is a simulated LAN: one network namespace holding a bridge, and one
// namespace per node with eth0 = 10.77.0.(10+k)/24 on that bridge and a
// multicast route, so mDNS really multicasts. There is no route out of
// these namespaces: traffic stays among the nodes.
type LAN struct {
	t      testing.TB
	prefix string
	N      int
}

// SkipUnlessLAN skips a test that needs network namespaces: it needs root
// and the ip command.
func SkipUnlessLAN(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("network-namespace LAN test: needs root (run as root, as CI does)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("network-namespace LAN test: needs the ip command (apt-get install iproute2)")
	}
}

// NewLAN builds a LAN of n nodes; t.Cleanup tears it down, stopping every
// process left in its namespaces.
func NewLAN(t testing.TB, n int) *LAN {
	t.Helper()
	SkipUnlessLAN(t)
	l := &LAN{t: t, prefix: fmt.Sprintf("pl%d", os.Getpid()%100000), N: n}
	t.Cleanup(l.down)
	br := l.bridgeNS()
	l.ip("netns", "add", br)
	l.ip("-n", br, "link", "set", "lo", "up")
	l.ip("-n", br, "link", "add", "br0", "type", "bridge")
	l.ip("-n", br, "link", "set", "br0", "type", "bridge", "mcast_snooping", "0", "stp_state", "0", "forward_delay", "0")
	l.ip("-n", br, "link", "set", "br0", "up")
	for k := 1; k <= n; k++ {
		ns := l.NS(k)
		l.ip("netns", "add", ns)
		l.ip("-n", br, "link", "add", fmt.Sprintf("v%d", k), "type", "veth", "peer", "name", "eth0", "netns", ns)
		l.ip("-n", br, "link", "set", fmt.Sprintf("v%d", k), "master", "br0")
		l.ip("-n", br, "link", "set", fmt.Sprintf("v%d", k), "up")
		l.ip("-n", ns, "link", "set", "lo", "up")
		l.ip("-n", ns, "addr", "add", l.Addr(k)+"/24", "dev", "eth0")
		l.ip("-n", ns, "link", "set", "eth0", "multicast", "on")
		l.ip("-n", ns, "link", "set", "eth0", "up")
		l.ip("-n", ns, "route", "add", "224.0.0.0/4", "dev", "eth0")
	}
	return l
}

func (l *LAN) bridgeNS() string { return l.prefix + "-br" }

// NS is the namespace of node k (1-based).
func (l *LAN) NS(k int) string { return fmt.Sprintf("%s-%d", l.prefix, k) }

// Addr is node k's address on the LAN.
func (l *LAN) Addr(k int) string { return fmt.Sprintf("10.77.0.%d", 10+k) }

// Exec is the command prefix that runs a program in node k's namespace.
func (l *LAN) Exec(k int) []string { return []string{"ip", "netns", "exec", l.NS(k)} }

// DelAddr removes node k's LAN address (as before a DHCP lease).
func (l *LAN) DelAddr(k int) { l.ip("-n", l.NS(k), "addr", "del", l.Addr(k)+"/24", "dev", "eth0") }

// AddAddr gives node k its LAN address back.
func (l *LAN) AddAddr(k int) {
	l.ip("-n", l.NS(k), "addr", "add", l.Addr(k)+"/24", "dev", "eth0")
	_ = exec.Command("ip", "-n", l.NS(k), "route", "add", "224.0.0.0/4", "dev", "eth0").Run()
}

// Cut pulls node k's cable: its bridge port goes down.
func (l *LAN) Cut(k int) { l.ip("-n", l.bridgeNS(), "link", "set", fmt.Sprintf("v%d", k), "down") }

// Restore plugs node k's cable back in.
func (l *LAN) Restore(k int) { l.ip("-n", l.bridgeNS(), "link", "set", fmt.Sprintf("v%d", k), "up") }

// Shape limits what node k sends to rate (tc's units, e.g. "100mbit"):
// a token bucket on its eth0, as a slower link would.
func (l *LAN) Shape(k int, rate string) {
	l.t.Helper()
	out, err := exec.Command("ip", "netns", "exec", l.NS(k), "tc", "qdisc", "replace", "dev", "eth0", "root",
		"tbf", "rate", rate, "burst", "256kb", "latency", "100ms").CombinedOutput()
	if err != nil {
		l.t.Fatalf("tc on node %d: %v: %s", k, err, out)
	}
}

func (l *LAN) ip(args ...string) {
	l.t.Helper()
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		l.t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

func (l *LAN) down() {
	out, _ := exec.Command("ip", "netns", "list").Output()
	var mine []string
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) > 0 && strings.HasPrefix(f[0], l.prefix+"-") {
			mine = append(mine, f[0])
		}
	}
	// Stop what still runs inside, by PID: SIGTERM, then SIGKILL.
	for _, sig := range []string{"-TERM", "-KILL"} {
		any := false
		for _, ns := range mine {
			pids, _ := exec.Command("ip", "netns", "pids", ns).Output()
			for _, pid := range strings.Fields(string(pids)) {
				any = true
				_ = exec.Command("kill", sig, pid).Run()
			}
		}
		if !any {
			break
		}
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) && l.pidsLeft(mine) {
			time.Sleep(50 * time.Millisecond)
		}
	}
	for _, ns := range mine {
		_ = exec.Command("ip", "netns", "del", ns).Run()
	}
}

func (l *LAN) pidsLeft(nss []string) bool {
	for _, ns := range nss {
		if pids, _ := exec.Command("ip", "netns", "pids", ns).Output(); len(strings.TrimSpace(string(pids))) > 0 {
			return true
		}
	}
	return false
}
