package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/spf13/cobra"

	"github.com/parley-chat/parley/crypto"
	"github.com/parley-chat/parley/internal/api"
	"github.com/parley-chat/parley/internal/app"
)

// cli holds what every command shares.
type cli struct {
	ctx    context.Context
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	home   string

	noColor, bell bool
	node          app.Options // the embedded node's flags
}

// run parses args and runs the command. It is main without the process.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	c := &cli{ctx: ctx, stdin: stdin, stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:           "parley",
		Short:         "Parley: serverless peer-to-peer team chat",
		Long:          "Parley: serverless peer-to-peer team chat.\n\n'parley' alone opens the interactive chat (with its own node if no daemon runs).\nStart a headless node with 'parley daemon'; the other commands talk to it.",
		SilenceErrors: true,
		SilenceUsage:  true,
		Version:       app.Version,
		Args:          noArgs,
		RunE:          func(cmd *cobra.Command, _ []string) error { return c.chat() },
	}
	root.Flags().BoolVar(&c.noColor, "no-color", false, "interactive chat: no colours (also NO_COLOR)")
	root.Flags().BoolVar(&c.bell, "bell", false, "interactive chat: ring the terminal bell on direct messages and mentions")
	root.Flags().StringArrayVar(&c.node.Listen, "listen", nil, "embedded node: multiaddr to listen on (as for 'daemon')")
	root.Flags().StringArrayVar(&c.node.Bootstrap, "bootstrap", nil, "embedded node: DHT bootstrap peer (as for 'daemon')")
	root.Flags().BoolVar(&c.node.NoMDNS, "no-mdns", false, "embedded node: no LAN discovery")
	root.Flags().BoolVar(&c.node.NoDHT, "no-dht", false, "embedded node: no DHT")
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.PersistentFlags().StringVar(&c.home, "home", "", "node directory (default $PARLEY_HOME, else ~/.local/share/parley and ~/.config/parley)")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(c.initCmd(), c.daemonCmd(), c.idCmd(), c.peersCmd(), c.connectCmd(), c.sendCmd(), c.historyCmd(), c.tailCmd(),
		c.replyCmd(), c.editCmd(), c.deleteCmd(), c.reactCmd(),
		c.joinCmd(), c.leaveCmd(), c.roomsCmd(), c.membersCmd(), c.retentionCmd(), c.verifyCmd(), c.openCmd(),
		c.createCmd(), c.inviteCmd(), c.removeCmd(), c.promoteCmd(), c.settingsCmd(), c.shareCmd(), c.getCmd(), c.notifyCmd(), c.dndCmd(), c.searchCmd(), c.exportCmd(),
		c.webhookCmd(), c.commandCmd(), c.tokenCmd(), c.doctorCmd(), c.serviceCmd())
	_, err := root.ExecuteC()
	var re runtimeError
	var ue usageError
	if err != nil && !errors.As(err, &re) && !errors.As(err, &ue) {
		// Errors cobra makes itself (unknown command or flag) are usage errors.
		err = usageError{err}
	}
	return err
}

func noArgs(_ *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageError{fmt.Errorf("unknown command %q: run 'parley --help' to see the commands", args[0])}
	}
	return nil
}

func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usageError{fmt.Errorf("%s takes %s (usage: %s)", cmd.Name(), what, cmd.UseLine())}
		}
		return nil
	}
}

func rangeArgs(lo, hi int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < lo || len(args) > hi {
			return usageError{fmt.Errorf("%s takes %s (usage: %s)", cmd.Name(), what, cmd.UseLine())}
		}
		return nil
	}
}

func (c *cli) paths() (app.Paths, error) {
	p, err := app.ResolvePaths(c.home)
	if err != nil {
		return p, usageError{err}
	}
	return p, nil
}

// homeFlag is how to name this node's home again in advice.
func (c *cli) homeFlag() string {
	if c.home == "" {
		return ""
	}
	return " --home " + c.home
}

// client returns an API client for the node's daemon.
func (c *cli) client() (*api.Client, error) {
	p, err := c.paths()
	if err != nil {
		return nil, err
	}
	return api.NewClient(p.Socket()), nil
}

// fail turns an error from the daemon or the app into one a person can act on.
func (c *cli) fail(err error) error {
	if err == nil {
		return nil
	}
	var ae *api.Error
	var ue usageError
	var re runtimeError
	switch {
	case errors.As(err, &ue), errors.As(err, &re):
		return err // already says which
	case errors.Is(err, api.ErrNoDaemon):
		p, _ := c.paths()
		return runtimeError{fmt.Errorf("no daemon running for %s: start one with 'parley%s daemon'", p.Data, c.homeFlag())}
	case errors.Is(err, app.ErrNotInitialised):
		return runtimeError{fmt.Errorf("%w: run 'parley%s init --nick NAME' first", err, c.homeFlag())}
	case errors.Is(err, crypto.ErrIdentityExists):
		return runtimeError{fmt.Errorf("%w: this node already has an identity; refusing to replace it", err)}
	case errors.As(err, &ae):
		if ae.Status == http.StatusBadRequest || ae.Status == http.StatusRequestEntityTooLarge {
			return usageError{err}
		}
		return runtimeError{err}
	}
	return runtimeError{err}
}

func printJSONLine(w io.Writer, s string) { _, _ = io.WriteString(w, strings.TrimRight(s, "\n")+"\n") }
