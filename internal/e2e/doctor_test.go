package e2e

import (
	"encoding/json"
	"errors"
	"os/exec"
	"strings"
	"testing"

	"github.com/parley-chat/parley/internal/testnet"
)

// TestDoctorMulticastInNamespace runs parley doctor inside a network
// namespace of a simulated LAN: with eth0 as the LAN script makes it
// (UP, MULTICAST, an IPv4 address) mDNS can work on it; with its
// MULTICAST flag off the multicast check fails and says how to fix it.
func TestDoctorMulticastInNamespace(t *testing.T) {
	lan := testnet.NewLAN(t, 1)
	d := testnet.NewDaemon(t, "ann")
	multicast := func() (ok bool, detail, fix string) {
		t.Helper()
		args := append(lan.Exec(1), testnet.Binary(t), "--home", d.Home, "doctor", "--json")
		out, err := exec.CommandContext(t.Context(), args[0], args[1:]...).Output()
		var exitErr *exec.ExitError
		if err != nil && !errors.As(err, &exitErr) {
			t.Fatalf("doctor: %v", err)
		}
		var checks []struct {
			Check, Detail, Fix string
			OK                 bool
		}
		if err := json.Unmarshal(out, &checks); err != nil {
			t.Fatalf("doctor --json: %q: %v", out, err)
		}
		for _, c := range checks {
			if c.Check == "multicast" {
				return c.OK, c.Detail, c.Fix
			}
		}
		t.Fatalf("no multicast check in %s", out)
		return
	}
	ok, detail, _ := multicast()
	if !ok || !strings.Contains(detail, "mDNS can work on eth0 ("+lan.Addr(1)+")") {
		t.Errorf("eth0 with multicast: got ok %v, %q", ok, detail)
	}
	if out, err := exec.Command("ip", "-n", lan.NS(1), "link", "set", "eth0", "multicast", "off").CombinedOutput(); err != nil {
		t.Fatalf("multicast off: %v: %s", err, out)
	}
	ok, detail, fix := multicast()
	if ok || !strings.Contains(detail, "eth0 has no MULTICAST flag") || !strings.Contains(fix, "ip link set dev eth0 multicast on") {
		t.Errorf("eth0 without multicast: got ok %v, %q, fix %q", ok, detail, fix)
	}
}
