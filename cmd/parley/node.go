package main

import (
	"fmt"
	"os"
	"os/exec"

	"github.com/spf13/cobra"

	"github.com/parley-chat/parley/internal/api"
)

func (c *cli) idCmd() *cobra.Command {
	return clientCommand(c, clientCmd[api.Identity]{
		use:   "id [--json]",
		short: "Show this node's peer ID, nickname, fingerprint and addresses",
		args:  exactArgs(0, "no arguments"),
		json:  true,
		call: func(cl *api.Client, _ []string) (api.Identity, error) {
			return cl.Identity(c.ctx)
		},
		print: func(_ *api.Client, id api.Identity) error {
			_, _ = fmt.Fprintf(c.stdout, "peer id:     %s\nnick:        %s\nfingerprint: %s\ndiscovery:   mDNS %s, DHT %s\naddresses:\n", id.PeerID, id.Nick, id.Fingerprint, onOff(id.MDNS), id.DHT)
			for _, a := range id.Addrs {
				_, _ = fmt.Fprintf(c.stdout, "  %s\n", a)
			}
			return nil
		},
	})
}

func (c *cli) peersCmd() *cobra.Command {
	return clientCommand(c, clientCmd[[]api.Peer]{
		use:   "peers [--json]",
		short: "List known peers",
		args:  exactArgs(0, "no arguments"),
		json:  true,
		call: func(cl *api.Client, _ []string) ([]api.Peer, error) {
			return cl.Peers(c.ctx)
		},
		print: func(_ *api.Client, peers []api.Peer) error {
			if len(peers) == 0 {
				_, _ = fmt.Fprintln(c.stdout, "no known peers yet (LAN peers appear by themselves; others: parley connect MULTIADDR)")
				return nil
			}
			rows := make([]presence, len(peers))
			for i, p := range peers {
				rows[i] = presence{name: p.Display, peerID: p.PeerID, online: p.Connected, lastSeen: p.LastSeen}
			}
			return c.presenceTable(rows)
		},
	})
}

func (c *cli) connectCmd() *cobra.Command {
	return clientCommand(c, clientCmd[string]{
		use:   "connect MULTIADDR",
		short: "Connect to a peer by address (…/p2p/<peer ID>) and wait until it is up",
		args:  exactArgs(1, "one multiaddr ending in /p2p/<peer ID>"),
		call: func(cl *api.Client, args []string) (string, error) {
			return cl.Connect(c.ctx, args[0])
		},
		print: func(_ *api.Client, p string) error {
			_, _ = fmt.Fprintf(c.stdout, "connected to %s\n", p)
			return nil
		},
	})
}

func (c *cli) openCmd() *cobra.Command {
	var noBrowser bool
	cmd := clientCommand(c, clientCmd[string]{
		use:   "open [--no-browser]",
		short: "Print a one-time login link to the web client (and try to open a browser)",
		args:  exactArgs(0, "no arguments"),
		call: func(cl *api.Client, _ []string) (string, error) {
			return cl.LoginLink(c.ctx)
		},
		print: func(_ *api.Client, url string) error {
			_, _ = fmt.Fprintln(c.stdout, url)
			if !noBrowser {
				openBrowser(url)
			}
			return nil
		},
	})
	cmd.Flags().BoolVar(&noBrowser, "no-browser", false, "only print the link")
	return cmd
}

// openBrowser tries xdg-open when there is a display; any failure is
// silent (the link is printed anyway).
func openBrowser(url string) {
	if os.Getenv("DISPLAY") == "" && os.Getenv("WAYLAND_DISPLAY") == "" {
		return
	}
	path, err := exec.LookPath("xdg-open")
	if err != nil {
		return
	}
	cmd := exec.Command(path, url)
	cmd.Stdout, cmd.Stderr = nil, nil
	if err := cmd.Start(); err == nil {
		go func() { _ = cmd.Wait() }()
	}
}
