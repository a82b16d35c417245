package main

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/internal/app"
)

func (c *cli) initCmd() *cobra.Command {
	var nick string
	cmd := &cobra.Command{
		Use:   "init [--nick NAME]",
		Short: "Create this node's identity and config",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(*cobra.Command, []string) error {
			p, err := c.paths()
			if err != nil {
				return err
			}
			id, err := app.Init(p, nick)
			if err != nil {
				if errors.Is(err, chat.ErrBadNick) {
					return usageError{err}
				}
				return c.fail(err)
			}
			_, _ = fmt.Fprintf(c.stdout, "created identity %s in %s\nstart the node with: parley%s daemon\n", id.PeerID(), p.Data, c.homeFlag())
			return nil
		},
	}
	cmd.Flags().StringVar(&nick, "nick", "", "your nickname: letters, digits, '-', '_', '.' (default: your user name)")
	return cmd
}

func (c *cli) daemonCmd() *cobra.Command {
	var o app.Options
	var logLevel string
	cmd := &cobra.Command{
		Use:   "daemon [--listen MULTIADDR]... [--bootstrap MULTIADDR]... [--no-mdns] [--no-dht]",
		Short: "Run the node in the foreground until interrupted (creates an identity on first start)",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(*cobra.Command, []string) error {
			p, err := c.paths()
			if err != nil {
				return err
			}
			cfg, err := app.LoadConfig(p.ConfigFile())
			if err != nil {
				return c.fail(err)
			}
			if logLevel == "" {
				logLevel = cfg.LogLevel
			}
			level, err := parseLevel(logLevel)
			if err != nil {
				return usageError{err}
			}
			o.Logger = slog.New(slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: level}))
			a, err := app.Open(p, o)
			if errors.Is(err, app.ErrNotInitialised) {
				// First start: make an identity (nick from the user name).
				id, ierr := app.Init(p, "")
				if ierr != nil {
					return c.fail(ierr)
				}
				o.Logger.Info("created a new identity; set your nickname in config.toml or start with 'parley init --nick NAME'", "peer_id", id.PeerID(), "home", p.Data)
				a, err = app.Open(p, o)
			}
			if err != nil {
				return c.fail(err)
			}
			runErr := a.Run(c.ctx)
			closed := make(chan error, 1)
			go func() { closed <- a.Close() }()
			select {
			case err := <-closed:
				if err != nil {
					o.Logger.Warn("shutdown", "err", err)
				}
			case <-time.After(4 * time.Second):
				o.Logger.Warn("shutdown is taking long; exiting anyway")
			}
			if runErr != nil {
				return c.fail(runErr)
			}
			o.Logger.Info("stopped")
			return nil
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&o.Listen, "listen", nil, "multiaddr to listen on (repeatable; default all interfaces, port 7714, TCP and QUIC)")
	f.StringArrayVar(&o.Bootstrap, "bootstrap", nil, "DHT bootstrap peer, a /p2p multiaddr (repeatable; none by default)")
	f.BoolVar(&o.NoMDNS, "no-mdns", false, "do not discover peers on the LAN")
	f.BoolVar(&o.NoDHT, "no-dht", false, "do not run the DHT")
	f.StringVar(&o.APIListen, "api-listen", "", "loopback address of the HTTP API (default 127.0.0.1:0; \"off\" for the unix socket only)")
	f.StringVar(&o.HooksListen, "hooks-listen", "", "address of the webhook listener, e.g. 127.0.0.1:0 or 0.0.0.0:7715 (default: config hooks_listen, off)")
	f.StringVar(&o.MetricsListen, "metrics-listen", "", "address of an unauthenticated listener serving only /metrics (default off; as metrics_listen in config)")
	f.StringVar(&logLevel, "log-level", "", "debug, info, warn or error (default info)")
	return cmd
}

func parseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "", "info":
		return slog.LevelInfo, nil
	case "debug":
		return slog.LevelDebug, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("log level %q: want debug, info, warn or error", s)
}
