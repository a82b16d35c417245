package doctor

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/parley-chat/parley/crypto"
	"github.com/parley-chat/parley/internal/api"
)

// Daemon is the check that the home's daemon answers: err is what asking
// it for its identity returned.
func Daemon(id api.Identity, err error, dataDir, startCmd string) Check {
	if err != nil {
		if errors.Is(err, api.ErrNoDaemon) {
			return fail("daemon", "not running for "+dataDir, "start it: "+startCmd+" (or keep one running: parley service install)")
		}
		return fail("daemon", "does not answer: "+err.Error(), "look at its log (journalctl --user -u parley if it runs as a service); restart it")
	}
	return pass("daemon", fmt.Sprintf("running (parley %s), peer ID %s", id.Version, id.PeerID))
}

// Identity checks the identity key file: present, mode 0600, readable,
// and the same peer ID as the running daemon's (daemonPeer, "" when none
// runs).
func Identity(keyFile, daemonPeer, initCmd string) Check {
	const name = "identity"
	fi, err := os.Stat(keyFile)
	if errors.Is(err, fs.ErrNotExist) {
		return fail(name, "no identity key at "+keyFile, "create one: "+initCmd+" (the daemon makes one on its first start too)")
	}
	if err != nil {
		return fail(name, "cannot read "+keyFile+": "+err.Error(), "check the permissions of the home directory")
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return fail(name, fmt.Sprintf("%s is mode %04o: others may read the private key", keyFile, perm), "chmod 600 "+keyFile)
	}
	id, err := crypto.LoadIdentityFile(keyFile)
	if err != nil {
		return fail(name, err.Error(), "restore the key from a backup; a new one (move it away, then parley init) is a new peer ID that peers must verify again")
	}
	if daemonPeer != "" && daemonPeer != id.PeerID().String() {
		return fail(name, fmt.Sprintf("the daemon runs as %s but %s holds %s", daemonPeer, keyFile, id.PeerID()), "restart the daemon so that it loads this key")
	}
	return pass(name, fmt.Sprintf("peer ID %s, %s mode %04o", id.PeerID(), keyFile, fi.Mode().Perm()))
}

// Interface is what the multicast check needs of a network interface.
type Interface struct {
	Name      string
	Up        bool
	Multicast bool
	Loopback  bool
	IPv4      []string
}

// Interfaces lists this machine's network interfaces.
func Interfaces() ([]Interface, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, err
	}
	out := make([]Interface, 0, len(ifs))
	for _, i := range ifs {
		it := Interface{Name: i.Name, Up: i.Flags&net.FlagUp != 0, Multicast: i.Flags&net.FlagMulticast != 0, Loopback: i.Flags&net.FlagLoopback != 0}
		addrs, _ := i.Addrs()
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil {
				it.IPv4 = append(it.IPv4, n.IP.String())
			}
		}
		out = append(out, it)
	}
	return out, nil
}

// Multicast says whether mDNS can find peers here, and on which
// interfaces: it needs one that is UP, has the MULTICAST flag and an IPv4
// address, and is not loopback.
func Multicast(ifs []Interface, mdnsOn bool) Check {
	const name = "multicast"
	var good, noFlag []string
	for _, i := range ifs {
		if i.Loopback || !i.Up || len(i.IPv4) == 0 {
			continue
		}
		label := i.Name + " (" + strings.Join(i.IPv4, ", ") + ")"
		if i.Multicast {
			good = append(good, label)
		} else {
			noFlag = append(noFlag, i.Name)
		}
	}
	var detail string
	switch {
	case len(good) > 0:
		detail = "mDNS can work on " + strings.Join(good, ", ")
		if len(noFlag) > 0 {
			detail += "; not on " + strings.Join(noFlag, ", ") + " (no MULTICAST flag)"
		}
	case len(noFlag) > 0:
		detail = "mDNS cannot work here: " + strings.Join(noFlag, ", ") + " has no MULTICAST flag"
	default:
		detail = "mDNS cannot find anyone here: no network interface but loopback is up with an IPv4 address"
	}
	if !mdnsOn {
		return pass(name, "mDNS is off (mdns = false or --no-mdns): peers come from parley connect and bootstrap peers; "+detail)
	}
	if len(good) > 0 {
		return pass(name, detail)
	}
	if len(noFlag) > 0 {
		return fail(name, detail, fmt.Sprintf("turn multicast on (as root): ip link set dev %s multicast on; or reach peers by address: parley connect MULTIADDR", noFlag[0]))
	}
	return fail(name, detail, "connect this machine to a network (Ethernet, Wi-Fi); peers elsewhere: parley connect MULTIADDR, or bootstrap peers in config.toml")
}

// DiskSpace is the free (for unprivileged users) and total bytes of the
// file system holding path; a path not made yet is measured at its
// nearest existing parent.
func DiskSpace(path string) (free, total uint64, err error) {
	for {
		if _, err := os.Stat(path); err == nil {
			break
		}
		parent := filepath.Dir(path)
		if parent == path {
			break
		}
		path = parent
	}
	return statfs(path)
}

// Disk checks the free space where the node keeps its data.
func Disk(dir string, free, total uint64, err error, th Thresholds) Check {
	const name = "disk"
	if err != nil {
		return fail(name, "cannot measure free space at "+dir+": "+err.Error(), "check that the home directory exists and is readable")
	}
	pct := 0.0
	if total > 0 {
		pct = float64(free) / float64(total) * 100
	}
	detail := fmt.Sprintf("%s free of %s (%.1f%%) at %s", bytesText(free), bytesText(total), pct, dir)
	if free < th.MinFreeBytes || pct < th.MinFreePercent {
		return fail(name, detail+fmt.Sprintf(": under %s or %.0f%%", bytesText(th.MinFreeBytes), th.MinFreePercent),
			"free some space: parley keeps history and others' files there (file_cache in config.toml bounds the files)")
	}
	return pass(name, detail)
}

func bytesText(n uint64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatUint(n, 10) + " B"
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// Port is a listen address taken apart (node.ParseListen does it).
type Port struct {
	Addr    string
	Network string // "tcp" or "udp"
	Host    string
	Port    int
}

// PortFree binds the port a moment to see whether another program holds
// it; nil when it is free.
func PortFree(network, host string, port int) error {
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	if network == "udp" {
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			return err
		}
		return pc.Close()
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return l.Close()
}

// ListenRunning checks the running daemon's listen addresses: each
// configured one must be bound; for one that is not, it says whether
// another program holds the port.
func ListenRunning(d api.Diagnosis, defaultPort int, free func(network, host string, port int) error) Check {
	const name = "listen"
	var bound, broken []string
	fix := ""
	for _, st := range d.Listen {
		if len(st.Bound) > 0 {
			bound = append(bound, st.Bound...)
			continue
		}
		why := "not bound"
		if st.Port != 0 && free != nil {
			if err := free(st.Network, st.Host, st.Port); err != nil {
				why = fmt.Sprintf("%s port %d is taken by another program (%v)", st.Network, st.Port, err)
				fix = fmt.Sprintf("stop the program holding it (ss -lnp 'sport = :%d' shows which), or choose another port in config.toml listen, then restart the daemon", st.Port)
			}
		}
		broken = append(broken, st.Addr+": "+why)
	}
	if len(broken) > 0 {
		if fix == "" {
			fix = "look at the daemon's log for why it could not listen there; check the address exists on this machine"
		}
		return fail(name, "not listening on "+strings.Join(broken, "; ")+listIfAny("; listening on ", bound), fix)
	}
	if len(bound) == 0 {
		return fail(name, "the node listens nowhere", "set listen in config.toml (or remove it for the default) and restart the daemon")
	}
	detail := "listening on " + strings.Join(bound, ", ")
	if d.ListenDefault && !boundOn(d, defaultPort) {
		detail += fmt.Sprintf(" (port %d was taken when the daemon started, so it took free ports: firewall rules for %d do not apply)", defaultPort, defaultPort)
	}
	return pass(name, detail)
}

func boundOn(d api.Diagnosis, port int) bool {
	suffix := "/" + strconv.Itoa(port)
	for _, st := range d.Listen {
		for _, b := range st.Bound {
			if strings.Contains(b, suffix+"/") || strings.HasSuffix(b, suffix) {
				return true
			}
		}
	}
	return false
}

func listIfAny(prefix string, s []string) string {
	if len(s) == 0 {
		return ""
	}
	return prefix + strings.Join(s, ", ")
}

// ListenStopped checks, with no daemon running, that the ports it would
// listen on are free. isDefault: no listen address is configured (the
// daemon then takes free ports if the default one is taken).
func ListenStopped(ports []Port, isDefault bool, free func(network, host string, port int) error) Check {
	const name = "listen"
	var taken []string
	for _, p := range ports {
		if p.Port == 0 {
			continue
		}
		if err := free(p.Network, p.Host, p.Port); err != nil {
			taken = append(taken, fmt.Sprintf("%s port %d on %s (%v)", p.Network, p.Port, p.Host, err))
		}
	}
	if len(taken) == 0 {
		return pass(name, "daemon not running; the ports it would listen on are free")
	}
	detail := "taken by another program: " + strings.Join(taken, "; ")
	if isDefault {
		return pass(name, detail+"; the daemon will listen on free ports instead")
	}
	return fail(name, detail, "stop the program holding it (ss -lnp shows which), or choose another port in config.toml listen")
}

// Store checks what the daemon found reading its store.
func Store(d api.Diagnosis) Check {
	const name = "store"
	size := bytesText(uint64(max(d.Store.LSMBytes, 0)) + uint64(max(d.Store.VLogBytes, 0)))
	if !d.Store.OK {
		return fail(name, "reading the store failed: "+d.Store.Error+" (store size "+size+")",
			"stop the daemon and back up the home's store/ directory; if it stays unreadable, restart with an empty store (history is synced again from peers for rooms)")
	}
	return pass(name, fmt.Sprintf("open, %d records read back; %s as Badger last measured it", d.Store.Read, size))
}

// Hooks checks that the webhook listener answers: a TCP connect to it
// (to loopback when it listens on every address).
func Hooks(addr string, running bool, dial func(ctx context.Context, addr string) error) Check {
	const name = "hooks"
	if addr == "" {
		return pass(name, "webhook listener off (hooks_listen not set)")
	}
	target, err := dialTarget(addr)
	if err != nil {
		return fail(name, "hooks_listen "+strconv.Quote(addr)+": "+err.Error(), "set hooks_listen to HOST:PORT in config.toml")
	}
	if !running {
		return fail(name, "daemon not running: nothing serves webhooks at "+addr, "start the daemon")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := dial(ctx, target); err != nil {
		return fail(name, "nothing answers at "+target+" (hooks_listen "+addr+"): "+err.Error(),
			"look at the daemon's log for why the webhook listener did not start (the port may be taken); restart the daemon")
	}
	return pass(name, "webhook listener answers at "+target)
}

// dialTarget is where to reach a listen address from this machine: a
// wildcard host becomes loopback.
func dialTarget(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", err
	}
	if p, err := strconv.Atoi(port); err != nil || p <= 0 || p > 65535 {
		return "", fmt.Errorf("port %q: the daemon reports no bound port", port)
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return net.JoinHostPort(host, port), nil
}

// DialTCP connects to addr and hangs up: something answers there.
func DialTCP(ctx context.Context, addr string) error {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	return c.Close()
}
