package hooks

import (
	"net"
	"strings"
	"testing"
)

// TestAdvertise: a bound address is named as it is; a wildcard bind is
// named by a LAN address or the hostname, never 0.0.0.0, with its port.
func TestAdvertise(t *testing.T) {
	if got := advertise(&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 7715}); got != "127.0.0.1:7715" {
		t.Errorf("loopback: got %q", got)
	}
	got := advertise(&net.TCPAddr{IP: net.IPv4zero, Port: 7715})
	host, port, err := net.SplitHostPort(got)
	if err != nil || port != "7715" || host == "0.0.0.0" || host == "" || strings.HasPrefix(host, "127.") {
		t.Errorf("wildcard: got %q, want a LAN address or the hostname with port 7715", got)
	}
}
