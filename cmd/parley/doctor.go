package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/parley-chat/parley/internal/api"
	"github.com/parley-chat/parley/internal/app"
	"github.com/parley-chat/parley/internal/doctor"
	"github.com/parley-chat/parley/node"
)

// doctorAskTimeout bounds each question to the daemon.
const doctorAskTimeout = 10 * time.Second

func (c *cli) doctorCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "doctor [--json]",
		Short: "Check this node: daemon, identity, ports, multicast, peers, clocks, disk, store, webhooks",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(*cobra.Command, []string) error {
			checks, err := c.doctor(doctor.DefaultThresholds())
			if err != nil {
				return err
			}
			if asJSON {
				err = doctor.WriteJSON(c.stdout, checks)
			} else {
				err = doctor.WriteText(c.stdout, checks)
			}
			if err != nil {
				return runtimeError{err}
			}
			if n := doctor.Failed(checks); n > 0 {
				return runtimeError{fmt.Errorf("%d of %d checks failed (each says how to fix it)", n, len(checks))}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, `print [{"check", "ok", "detail", "fix"}]`)
	return cmd
}

// doctor runs every check: those of the daemon through its API, the
// others here.
func (c *cli) doctor(th doctor.Thresholds) ([]doctor.Check, error) {
	p, err := c.paths()
	if err != nil {
		return nil, err
	}
	cfg, err := app.LoadConfig(p.ConfigFile())
	if err != nil {
		return nil, runtimeError{err}
	}
	startCmd := "parley" + c.homeFlag() + " daemon"
	cl := api.NewClient(p.Socket())
	ask := func(f func(ctx context.Context) error) error {
		ctx, cancel := context.WithTimeout(c.ctx, doctorAskTimeout)
		defer cancel()
		return f(ctx)
	}

	var id api.Identity
	idErr := ask(func(ctx context.Context) (err error) { id, err = cl.Identity(ctx); return })
	running := idErr == nil
	checks := []doctor.Check{doctor.Daemon(id, idErr, p.Data, startCmd)}
	checks = append(checks, doctor.Identity(p.IdentityFile(), id.PeerID, "parley"+c.homeFlag()+" init --nick NAME"))

	var diag api.Diagnosis
	var peers []api.Peer
	var diagErr error
	if running {
		diagErr = ask(func(ctx context.Context) (err error) { diag, err = cl.Diagnosis(ctx); return })
		if diagErr == nil {
			diagErr = ask(func(ctx context.Context) (err error) { peers, err = cl.Peers(ctx); return })
		}
	}

	// Listen ports.
	switch {
	case !running:
		checks = append(checks, doctor.ListenStopped(configuredPorts(cfg), len(cfg.Listen) == 0, doctor.PortFree))
	case diagErr != nil:
		checks = append(checks, askFailed("listen", diagErr))
	default:
		checks = append(checks, doctor.ListenRunning(diag, app.DefaultPort, doctor.PortFree))
	}

	// Multicast, here (the daemon runs on this machine).
	mdnsOn := cfg.MDNS == nil || *cfg.MDNS
	if running {
		mdnsOn = id.MDNS
	}
	ifs, err := doctor.Interfaces()
	if err != nil {
		checks = append(checks, doctor.Check{Check: "multicast", Detail: "cannot list network interfaces: " + err.Error(), Fix: "run doctor where it may read the network configuration"})
	} else {
		checks = append(checks, doctor.Multicast(ifs, mdnsOn))
	}

	// Peers and their clocks.
	switch {
	case !running:
		checks = append(checks, doctor.NotChecked("peers", startCmd), doctor.NotChecked("clock", startCmd))
	case diagErr != nil:
		checks = append(checks, askFailed("peers", diagErr), askFailed("clock", diagErr))
	default:
		checks = append(checks, doctor.Peers(peers)...)
		checks = append(checks, doctor.Clock(peers, th.MaxSkew))
	}

	free, total, derr := doctor.DiskSpace(p.Data)
	checks = append(checks, doctor.Disk(p.Data, free, total, derr, th))

	hooks := cfg.HooksListen
	switch {
	case !running:
		checks = append(checks, doctor.NotChecked("store", startCmd))
	case diagErr != nil:
		checks = append(checks, askFailed("store", diagErr))
	default:
		checks = append(checks, doctor.Store(diag))
		hooks = diag.HooksListen
	}
	checks = append(checks, doctor.Hooks(hooks, running, doctor.DialTCP))
	return checks, nil
}

// configuredPorts are the ports the daemon would listen on, from the
// config (or the default).
func configuredPorts(cfg app.Config) []doctor.Port {
	listen := cfg.Listen
	if len(listen) == 0 {
		listen = []string{
			fmt.Sprintf("/ip4/0.0.0.0/tcp/%d", app.DefaultPort),
			fmt.Sprintf("/ip4/0.0.0.0/udp/%d/quic-v1", app.DefaultPort),
		}
	}
	var out []doctor.Port
	for _, a := range listen {
		la, err := node.ParseListen(a)
		if err != nil {
			continue
		}
		out = append(out, doctor.Port{Addr: la.Addr, Network: la.Network, Host: la.Host, Port: la.Port})
	}
	return out
}

func askFailed(name string, err error) doctor.Check {
	return doctor.Check{Check: name, Detail: "the daemon did not answer: " + err.Error(), Fix: "restart the daemon (an older daemon has no /api/v1/doctor: restart it with this parley)"}
}
