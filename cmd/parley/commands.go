package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/internal/api"
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
				rows[i] = presence{nick: p.Nick, peerID: p.PeerID, online: p.Connected, lastSeen: p.LastSeen}
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

// maxStdinText caps a message read from standard input.
const maxStdinText = 1 << 20

func (c *cli) sendCmd() *cobra.Command {
	var text string
	return clientCommand(c, clientCmd[api.Message]{
		use:   "send PEER|#ROOM TEXT|-",
		short: "Send a message to a peer (peer ID or @nick) or a room (#name); '-' reads the text from standard input",
		args:  exactArgs(2, "a peer (peer ID or @nick) or #room, and a text or '-' to read it from standard input"),
		before: func(args []string) error {
			text = args[1]
			if text != "-" {
				return nil
			}
			b, err := io.ReadAll(io.LimitReader(c.stdin, maxStdinText+1))
			if err != nil {
				return runtimeError{fmt.Errorf("read standard input: %w", err)}
			}
			if len(b) > maxStdinText {
				return usageError{fmt.Errorf("message too large: standard input is over %d bytes", maxStdinText)}
			}
			text = strings.TrimRight(string(b), "\n")
			return nil
		},
		call: func(cl *api.Client, args []string) (api.Message, error) {
			return cl.Send(c.ctx, args[0], text)
		},
		print: func(_ *api.Client, m api.Message) error {
			_, _ = fmt.Fprintln(c.stdout, m.ID)
			return nil
		},
	})
}

func (c *cli) historyCmd() *cobra.Command {
	var all, keepUnread bool
	var limit int
	var before string
	cmd := clientCommand(c, clientCmd[[]api.Message]{
		use:   "history PEER|#ROOM [--limit N] [--json]",
		short: "Show a conversation (peer ID, @nick or #room), oldest first, and mark it read",
		args:  exactArgs(1, "a peer (peer ID or @nick) or #room"),
		before: func([]string) error {
			if limit < 1 || limit > api.MaxHistoryLimit {
				return usageError{fmt.Errorf("--limit %d: want 1 to %d", limit, api.MaxHistoryLimit)}
			}
			return nil
		},
		json: true,
		call: func(cl *api.Client, args []string) ([]api.Message, error) {
			ms, err := cl.HistoryAll(c.ctx, args[0], limit, before, all)
			if err != nil {
				return nil, err
			}
			if !keepUnread && before == "" && len(ms) > 0 {
				if err := cl.MarkRead(c.ctx, args[0], ""); err != nil {
					return nil, err
				}
			}
			return nonNil(ms), nil
		},
		print: func(cl *api.Client, ms []api.Message) error {
			names := c.nicknames(cl)
			for _, m := range ms {
				c.printMessage(m, names)
			}
			return nil
		},
	})
	cmd.Flags().IntVar(&limit, "limit", api.DefaultHistoryLimit, "how many of the newest messages to show")
	cmd.Flags().StringVar(&before, "before", "", "show messages before this message ID (paging)")
	cmd.Flags().BoolVar(&all, "all", false, "rooms: include join and leave lines")
	cmd.Flags().BoolVar(&keepUnread, "keep-unread", false, "do not mark the conversation read")
	return cmd
}

// nicknames maps peer IDs (and this node's) to nicknames, best effort.
func (c *cli) nicknames(cl *api.Client) map[string]string {
	names := map[string]string{}
	if peers, err := cl.Peers(c.ctx); err == nil {
		for _, p := range peers {
			if p.Nick != "" {
				names[p.PeerID] = p.Nick
			}
		}
	}
	if id, err := cl.Identity(c.ctx); err == nil {
		names[id.PeerID] = id.Nick + " (you)"
	}
	return names
}

func (c *cli) printMessage(m api.Message, names map[string]string) {
	who := names[m.From]
	if who == "" {
		who = shortID(m.From)
	}
	at := m.SentAt
	if t, err := time.Parse(time.RFC3339Nano, m.SentAt); err == nil {
		at = t.Local().Format(timeLayout)
	}
	if m.Kind == "join" || m.Kind == "leave" {
		verb := map[string]string{"join": "joined", "leave": "left"}[m.Kind]
		_, _ = fmt.Fprintf(c.stdout, "%s  * %s %s #%s\n", at, who, verb, m.Room)
		return
	}
	status := ""
	if m.Status != "received" {
		status = "  [" + m.Status + "]"
		if m.Reason != "" {
			status = "  [" + m.Status + ": " + m.Reason + "]"
		}
	}
	_, _ = fmt.Fprintf(c.stdout, "%s  <%s> %s%s\n", at, who, m.Text, status)
}

func shortID(id string) string {
	if len(id) > 8 {
		return "…" + id[len(id)-8:]
	}
	return id
}

func (c *cli) tailCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "tail [--json]",
		Short: "Follow new messages, delivery changes and peers coming and going",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(*cobra.Command, []string) error {
			cl, err := c.client()
			if err != nil {
				return err
			}
			names := c.nicknames(cl)
			err = cl.Events(c.ctx, func(e api.Event) error {
				if asJSON {
					return c.writeJSON(e)
				}
				switch {
				case e.Message != nil:
					c.printMessage(*e.Message, names)
				case e.Status != nil:
					_, _ = fmt.Fprintf(c.stdout, "* %s %s\n", shortID(e.Status.ID), e.Status.Status)
				case e.Peer != nil:
					if e.Peer.Nick != "" {
						names[e.Peer.PeerID] = e.Peer.Nick
					}
					_, _ = fmt.Fprintf(c.stdout, "* %s (%s) is %s\n", orDash(e.Peer.Nick), shortID(e.Peer.PeerID), onlineWord(e.Peer.Connected))
				}
				return nil
			})
			if err != nil && !errors.Is(err, context.Canceled) {
				return c.fail(err)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print each event as one JSON line")
	return cmd
}

func (c *cli) joinCmd() *cobra.Command {
	return c.roomChangeCmd("join '#ROOM'", "Join a room (names: lower-case letters, digits, '-' and '_'; up to 64)",
		(*api.Client).Join, "joined #%s\n", "already in #%s\n")
}

func (c *cli) leaveCmd() *cobra.Command {
	return c.roomChangeCmd("leave '#ROOM'", "Leave a room (its history stays)",
		(*api.Client).Leave, "left #%s\n", "not in #%s\n")
}

// roomChangeCmd is join or leave: check the name, ask the daemon, and say
// whether anything changed.
func (c *cli) roomChangeCmd(use, short string, do func(*api.Client, context.Context, string) (api.JoinResponse, error), changed, unchanged string) *cobra.Command {
	return clientCommand(c, clientCmd[api.JoinResponse]{
		use:    use,
		short:  short,
		args:   exactArgs(1, "a room (#name)"),
		before: roomName,
		call: func(cl *api.Client, args []string) (api.JoinResponse, error) {
			return do(cl, c.ctx, args[0])
		},
		print: func(_ *api.Client, res api.JoinResponse) error {
			if res.Changed {
				_, _ = fmt.Fprintf(c.stdout, changed, res.Name)
			} else {
				_, _ = fmt.Fprintf(c.stdout, unchanged, res.Name)
			}
			return nil
		},
	})
}

func (c *cli) roomsCmd() *cobra.Command {
	return clientCommand(c, clientCmd[[]api.Room]{
		use:   "rooms [--json]",
		short: "List the rooms this node is in, with members and unread messages",
		args:  exactArgs(0, "no arguments"),
		json:  true,
		call: func(cl *api.Client, _ []string) ([]api.Room, error) {
			rooms, err := cl.Rooms(c.ctx)
			return nonNil(rooms), err
		},
		print: func(_ *api.Client, rooms []api.Room) error {
			if len(rooms) == 0 {
				_, _ = fmt.Fprintln(c.stdout, "in no rooms (join one: parley join '#name')")
				return nil
			}
			tw := c.table("ROOM\tMEMBERS\tONLINE\tUNREAD")
			for _, r := range rooms {
				_, _ = fmt.Fprintf(tw, "#%s\t%d\t%d\t%d\n", r.Name, r.Members, r.Online, r.Unread)
			}
			return tw.Flush()
		},
	})
}

func (c *cli) membersCmd() *cobra.Command {
	return clientCommand(c, clientCmd[[]api.Member]{
		use:    "members '#ROOM' [--json]",
		short:  "List a room's members: online now, and who else is in it",
		args:   exactArgs(1, "a room (#name)"),
		before: roomName,
		json:   true,
		call: func(cl *api.Client, args []string) ([]api.Member, error) {
			return cl.Members(c.ctx, args[0])
		},
		print: func(_ *api.Client, ms []api.Member) error {
			rows := make([]presence, len(ms))
			for i, m := range ms {
				rows[i] = presence{nick: m.Nick, peerID: m.PeerID, online: m.Online, lastSeen: m.LastSeen}
			}
			return c.presenceTable(rows)
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
