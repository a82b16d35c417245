package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/internal/api"
	"github.com/parley-chat/parley/internal/app"
	"github.com/parley-chat/parley/internal/tui"
)

// chat opens the interactive client: attached to the home's daemon if one
// answers, else with a node of its own that stops when the client quits.
func (c *cli) chat() error {
	in, ok := c.stdin.(*os.File)
	if !ok || !term.IsTerminal(int(in.Fd())) {
		return usageError{errors.New("'parley' alone opens the interactive chat, which needs a terminal: run 'parley --help' for the other commands")}
	}
	p, err := c.paths()
	if err != nil {
		return err
	}
	cl := api.NewClient(p.Socket())
	ctx, cancel := context.WithCancel(c.ctx)
	defer cancel()

	probe, pcancel := context.WithTimeout(ctx, 2*time.Second)
	_, err = cl.Identity(probe)
	pcancel()
	if err != nil {
		if !errors.Is(err, api.ErrNoDaemon) {
			return c.fail(err)
		}
		stop, err := c.embeddedNode(ctx, p)
		if err != nil {
			return err
		}
		defer stop()
	}
	plain := c.noColor || os.Getenv("NO_COLOR") != ""
	opts := tui.Options{
		Color: !plain,
		// Plain terminals get plain marks too ([p] for 🔒), and so does
		// the Linux console, whose fonts have no emoji.
		// No desktop notifier: the node (daemon or embedded) raises
		// desktop notifications itself, by its rules (internal/notify).
		ASCII: plain || os.Getenv("TERM") == "linux",
	}
	opts.Bell = c.bell
	if err := tui.Run(ctx, cl, opts, c.stdin, c.stdout); err != nil {
		return runtimeError{err}
	}
	return nil
}

// embeddedNode starts a node in this process (creating an identity on the
// first run, asking for a nickname) and returns how to stop it. Its log
// goes to chat.log in the home, not over the screen.
func (c *cli) embeddedNode(ctx context.Context, p app.Paths) (stop func(), err error) {
	if _, err := os.Stat(p.IdentityFile()); errors.Is(err, os.ErrNotExist) {
		nick, err := c.askNick()
		if err != nil {
			return nil, err
		}
		if _, err := app.Init(p, nick); err != nil {
			return nil, c.fail(err)
		}
	}
	if err := os.MkdirAll(p.Data, 0o700); err != nil {
		return nil, runtimeError{err}
	}
	logf, err := os.OpenFile(filepath.Join(p.Data, "chat.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, runtimeError{fmt.Errorf("open log: %w", err)}
	}
	log := slog.New(slog.NewTextHandler(logf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	o := c.node
	o.Logger = log
	a, err := app.Open(p, o)
	if err != nil {
		_ = logf.Close()
		return nil, c.fail(err)
	}
	nctx, ncancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := a.Run(nctx); err != nil {
			log.Error("node stopped", "err", err)
		}
	}()
	return func() {
		ncancel()
		<-done
		_ = a.Close()
		_ = logf.Close()
	}, nil
}

// askNick asks for a nickname on the terminal (Enter takes the default).
func (c *cli) askNick() (string, error) {
	def := "parley"
	if u := os.Getenv("USER"); chat.ValidateNick(u) == nil {
		def = u
	}
	r := bufio.NewReader(c.stdin)
	_, _ = fmt.Fprintln(c.stdout, "Welcome to Parley. This is the first start here: a new identity will be created.")
	for {
		_, _ = fmt.Fprintf(c.stdout, "Choose a nickname [%s]: ", def)
		line, err := r.ReadString('\n')
		if err != nil && line == "" {
			return "", runtimeError{errors.New("no nickname given")}
		}
		nick := strings.TrimSpace(line)
		if nick == "" {
			nick = def
		}
		if err := chat.ValidateNick(nick); err != nil {
			_, _ = fmt.Fprintln(c.stdout, err)
			continue
		}
		return nick, nil
	}
}
