package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/crypto"
	"github.com/parley-chat/parley/internal/api"
	"github.com/parley-chat/parley/internal/hooks"
	"github.com/parley-chat/parley/internal/metrics"
	"github.com/parley-chat/parley/internal/notify"
	"github.com/parley-chat/parley/internal/search"
	"github.com/parley-chat/parley/internal/tokens"
	"github.com/parley-chat/parley/internal/web"
	"github.com/parley-chat/parley/node"
	"github.com/parley-chat/parley/store"
)

// Version is Parley's version, shown by identify and the API.
const Version = "0.1.0"

// Agent is the software string sent to peers.
const Agent = "parley/" + Version

// DefaultRoom is joined on a node's first start unless the config's
// auto_join says otherwise.
const DefaultRoom = "lobby"

// ErrNotInitialised is returned by Open for a home without an identity.
var ErrNotInitialised = errors.New("no identity")

// Init creates a node's identity and config in p. It never overwrites an
// existing identity. An empty nick picks one from the user name.
func Init(p Paths, nick string) (*crypto.Identity, error) {
	if nick == "" {
		nick = defaultNick()
	}
	if err := chat.ValidateNick(nick); err != nil {
		return nil, err
	}
	for _, d := range []string{p.Data, p.Config} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("create %s: %w", d, err)
		}
		if err := os.Chmod(d, 0o700); err != nil {
			return nil, fmt.Errorf("restrict %s: %w", d, err)
		}
	}
	// Read the config first: a broken one must not leave a half-made node.
	cfg, err := LoadConfig(p.ConfigFile())
	if err != nil {
		return nil, err
	}
	id, err := crypto.CreateIdentityFile(p.IdentityFile(), rand.Reader)
	if err != nil {
		return nil, err
	}
	cfg.Nick = nick
	if err := cfg.Save(p.ConfigFile()); err != nil {
		return nil, err
	}
	return id, nil
}

func defaultNick() string {
	name := "parley"
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	var b strings.Builder
	for _, r := range name {
		if chat.ValidateNick(string(r)) == nil && b.Len() < chat.MaxNickLen {
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 {
		return "parley"
	}
	return b.String()
}

// Options override the config file (command-line flags).
type Options struct {
	Listen    []string // replaces the config's listen addresses if set
	Bootstrap []string // added to the config's bootstrap peers
	NoMDNS    bool
	NoDHT     bool
	APIListen string // loopback TCP address of the API; "127.0.0.1:0" by default, "off" for none
	// HooksListen is the address of the hooks listener (overrides the
	// config's hooks_listen; "off" for none).
	HooksListen string
	// MetricsListen, if set, overrides the config's metrics_listen ("off":
	// none).
	MetricsListen string
	Logger        *slog.Logger
	// Notifier shows desktop notifications; nil: the session's D-Bus
	// notifier when there is a session bus (notify.Desktop).
	Notifier notify.Notifier
}

// App is one node: its store, libp2p node, chat service, notifications
// and local API.
// Open builds it, Run runs every part, Close releases what Open acquired.
type App struct {
	Paths    Paths
	Config   Config
	Identity *crypto.Identity
	Store    *store.Store
	Search   *search.Index
	Node     *node.Node
	Chat     *chat.Service
	Notify   *notify.Engine
	Hooks    *hooks.Server // nil while hooks_listen is off
	Outgoing *hooks.Outgoing
	// Commands runs the slash commands typed into any client.
	Commands *hooks.CommandRunner
	API      *api.Server
	Tokens   *tokens.Store
	// Metrics is the node's Prometheus registry; a part that delivers
	// webhooks reports each attempt with Metrics.HookDelivered.
	Metrics *metrics.Registry

	log     *slog.Logger
	unixL   net.Listener
	tcpL    net.Listener
	metricL net.Listener
	token   string
	desktop *notify.DBus // the desktop notifier Open made, closed by Close
	closeMu sync.Mutex
	closed  bool
	cfgMu   sync.Mutex

	listenDefault bool // no listen address configured (the node took the default)
}

// Open builds the node in p (the store, the libp2p host and its
// listeners, the chat service, the API's listeners); Run runs it.
func Open(p Paths, o Options) (_ *App, err error) {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	id, err := crypto.LoadIdentityFile(p.IdentityFile())
	if errors.Is(err, crypto.ErrNoIdentity) {
		return nil, fmt.Errorf("%w in %s", ErrNotInitialised, p.Data)
	}
	if err != nil {
		return nil, err
	}
	cfg, err := LoadConfig(p.ConfigFile())
	if err != nil {
		return nil, err
	}
	retention, err := chat.ParseRetention(cfg.Retention)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", p.ConfigFile(), err)
	}
	retention = max(retention, 0) // the node's default: forever is no limit
	a := &App{Paths: p, Config: cfg, Identity: id, log: log}
	defer func() {
		if err != nil {
			_ = a.Close()
		}
	}()

	a.Store, err = store.Open(p.StoreDir(), store.Options{Logger: log.With("part", "store")})
	if errors.Is(err, store.ErrLocked) {
		return nil, fmt.Errorf("another parley process is using %s (is a daemon running?)", p.Data)
	}
	if err != nil {
		return nil, err
	}

	a.Search, err = search.Open(p.SearchDir(), search.Options{Logger: log.With("part", "search")})
	if err != nil {
		return nil, err
	}

	listen := cfg.Listen
	if len(o.Listen) > 0 {
		listen = o.Listen
	}
	if len(listen) == 0 {
		listen = defaultListen()
		a.listenDefault = true
	}
	a.Node, err = node.New(node.Config{
		Identity:  id,
		Listen:    listen,
		Bootstrap: append(append([]string(nil), cfg.Bootstrap...), o.Bootstrap...),
		MDNS:      boolOr(cfg.MDNS, true) && !o.NoMDNS,
		DHT:       boolOr(cfg.DHT, true) && !o.NoDHT,
		Agent:     Agent,
		Logger:    log.With("part", "node"),
	})
	if err != nil {
		return nil, err
	}
	autoJoin := cfg.AutoJoin
	if autoJoin == nil {
		autoJoin = []string{DefaultRoom}
	}
	for i, r := range autoJoin {
		if autoJoin[i], err = chat.ParseRoom(r); err != nil {
			return nil, fmt.Errorf("config auto_join: %w", err)
		}
	}
	autoDownload, err := sizeOr(cfg.AutoDownload, 16<<20, "auto_download")
	if err != nil {
		return nil, err
	}
	maxFile, err := sizeOr(cfg.MaxFileSize, 4<<30, "max_file_size")
	if err != nil {
		return nil, err
	}
	if autoDownload == 0 {
		autoDownload = -1 // none (0 would mean the default)
	}
	fileCache, err := sizeOr(cfg.FileCache, 10<<30, "file_cache")
	if err != nil {
		return nil, err
	}
	downloads := cfg.DownloadDir
	if downloads == "" {
		downloads = filepath.Join(p.Data, "downloads")
	}
	a.Chat, err = chat.New(chat.Config{
		Identity:  id,
		Nick:      cfg.Nick,
		Agent:     Agent,
		Transport: a.Node,
		Network:   a.Node,
		PubSub:    a.Node,
		Store:     a.Store,
		AutoJoin:  autoJoin,
		RoomRate:  cfg.RoomRate,
		RoomBurst: cfg.RoomBurst,
		Retention: retention,
		SaveNick:  a.saveNick,
		Logger:    log.With("part", "chat"),

		Files:        a.Store,
		AutoDownload: autoDownload,
		FileCache:    fileCache,
		MaxFileSize:  maxFile,
		DownloadDir:  downloads,

		Search:         a.Search,
		NoReadReceipts: cfg.ReadReceipts != nil && !*cfg.ReadReceipts,
	})
	if err != nil {
		return nil, err
	}
	notifier := o.Notifier
	if notifier == nil {
		if d := notify.Desktop(log.With("part", "notify")); d != nil {
			notifier, a.desktop = d, d
		}
	}
	a.Notify, err = notify.New(notify.Config{
		Source:   a.Chat,
		Notifier: notifier,
		File:     p.NotifyFile(),
		Keywords: cfg.NotifyKeywords,
		Logger:   log.With("part", "notify"),
	})
	if err != nil {
		return nil, err
	}
	reg, err := hooks.OpenRegistry(p.HooksFile(), nil)
	if err != nil {
		return nil, err
	}
	a.Commands, err = hooks.NewCommandRunner(hooks.CommandRunnerConfig{
		Registry: reg,
		Poster:   a.Chat,
		Self:     a.Chat,
		// Read at each invocation: the listener is made just below (and
		// while it is off, response_url is "").
		ResponseURL: func(token string) string {
			if a.Hooks == nil {
				return ""
			}
			return a.Hooks.ResponseURL(token)
		},
		Logger: log.With("part", "commands"),
	})
	if err != nil {
		return nil, err
	}
	if err := a.listenHooks(o.HooksListen, reg); err != nil {
		return nil, err
	}
	a.Outgoing, err = hooks.NewOutgoing(hooks.OutgoingConfig{
		Registry: reg,
		Source:   a.Chat,
		Poster:   a.Chat,
		Dir:      p.OutgoingDir(),
		// Deliveries by result in /metrics. a.Metrics is set below, before
		// Run starts the dispatcher.
		OnAttempt: func(_ string, d hooks.Delivery) { a.Metrics.HookDelivered(deliveryResult(d.Status)) },
		Logger:    log.With("part", "outgoing"),
	})
	if err != nil {
		return nil, err
	}
	if err := a.listenAPI(o.APIListen); err != nil {
		return nil, err
	}
	if a.Tokens, err = tokens.Open(p.TokensFile(), nil); err != nil {
		return nil, err
	}
	a.Metrics = metrics.New(a.metricSources(log.With("part", "metrics")))
	if err := a.listenMetrics(o.MetricsListen); err != nil {
		return nil, err
	}
	a.API = api.New(api.Config{
		Backend:  a.Chat,
		Notify:   a.Notify,
		Hooks:    hooks.NewManager(reg, a.Hooks),
		Outgoing: a.Outgoing,
		Commands: a.Commands,
		Diagnose: a.Diagnose,
		Token:    a.token,
		Version:  Version,
		UI:       web.Handler(),
		Logger:   log.With("part", "api"),
		Unix:     a.unixL,
		TCP:      a.tcpL,

		Tokens:          a.Tokens,
		Metrics:         a.Metrics.Handler(),
		MetricsListener: a.metricL,
	})
	return a, nil
}

// listenHooks opens the hooks listener, when the flag or the config asks
// for one.
func (a *App) listenHooks(addr string, reg *hooks.Registry) error {
	if addr == "" {
		addr = a.Config.HooksListen
	}
	if addr == "" || addr == "off" {
		return nil
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen for webhooks on %s: %w", addr, err)
	}
	a.Hooks, err = hooks.NewServer(hooks.ServerConfig{
		Registry: reg,
		Poster:   a.Chat,
		Listener: l,
		TLSCert:  a.Config.HooksTLSCert,
		TLSKey:   a.Config.HooksTLSKey,
		Rate:     a.Config.HooksRate,
		Burst:    a.Config.HooksBurst,
		Queue:    a.Config.HooksQueue,
		Commands: a.Commands.ResponseHandler(),
		Logger:   a.log.With("part", "hooks"),
	})
	if err != nil {
		_ = l.Close()
		return err
	}
	return nil
}

// HooksURL is scheme://host:port of the hook URLs, or "" while the
// listener is off.
func (a *App) HooksURL() string {
	if a.Hooks == nil {
		return ""
	}
	return a.Hooks.Base()
}

func (a *App) listenAPI(tcpAddr string) error {
	token, err := loadOrCreateToken(a.Paths.TokenFile())
	if err != nil {
		return err
	}
	a.token = token
	sock := a.Paths.Socket()
	if len(sock) > 107 {
		return fmt.Errorf("API socket path %s is longer than unix sockets allow (107 bytes): use a shorter --home", sock)
	}
	// We hold the store lock, so a socket left here is stale.
	if err := os.Remove(sock); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove stale API socket: %w", err)
	}
	a.unixL, err = net.Listen("unix", sock)
	if err != nil {
		return fmt.Errorf("listen on API socket: %w", err)
	}
	if err := os.Chmod(sock, 0o600); err != nil {
		return fmt.Errorf("restrict API socket: %w", err)
	}
	if tcpAddr == "" {
		tcpAddr = a.Config.APIListen
	}
	if tcpAddr == "" {
		tcpAddr = "127.0.0.1:0"
	}
	if tcpAddr == "off" {
		return nil
	}
	host, _, err := net.SplitHostPort(tcpAddr)
	if err != nil {
		return fmt.Errorf("API address %q: %w", tcpAddr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("API address %q: the API only listens on loopback", tcpAddr)
	}
	a.tcpL, err = net.Listen("tcp", tcpAddr)
	if err != nil {
		return fmt.Errorf("listen on API address %s: %w", tcpAddr, err)
	}
	return nil
}

// loadOrCreateToken returns the API token, making one if there is none.
// The file is kept at mode 0600 whatever it was.
func loadOrCreateToken(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err == nil && len(strings.TrimSpace(string(b))) >= 32 {
		if err := os.Chmod(path, 0o600); err != nil {
			return "", fmt.Errorf("restrict API token: %w", err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("read API token: %w", err)
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", err
	}
	token := hex.EncodeToString(raw[:])
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(token+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write API token: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", fmt.Errorf("write API token: %w", err)
	}
	return token, nil
}

// APIAddr is the loopback TCP address of the API, or "" if it is off.
func (a *App) APIAddr() string {
	if a.tcpL == nil {
		return ""
	}
	return a.tcpL.Addr().String()
}

// part is one long-lived part of the node.
type part struct {
	name string
	run  func(context.Context) error
}

// Run runs every part (store, node, chat service, notifications, and the
// API once the chat service has started) until ctx is cancelled, and
// returns once all of them have stopped. A part that fails stops the
// others, and Run returns its error; after ctx is cancelled
// nothing counts as failing (a part still starting fails when the parts
// under it stop first).
func (a *App) Run(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	for _, p := range []part{
		{"store", a.Store.Run},
		{"node", a.Node.Run},
		{"chat", a.Chat.Run},
		{"notify", a.Notify.Run},
		{"api", a.serveAPI},
		{"hooks", a.serveHooks},
		{"outgoing", a.runOutgoing},
	} {
		g.Go(func() error {
			err := p.run(gctx)
			if err != nil && ctx.Err() != nil {
				// Once ctx is cancelled, an error is what stopping did to a
				// part still starting (the node under the messenger stopped
				// first), not a failure.
				a.log.Debug("node part stopped while starting", "part", p.name, "err", err)
				return nil //nolint:nilerr // see above
			}
			if err != nil {
				a.log.Error("node part failed", "part", p.name, "err", err)
				return fmt.Errorf("%s: %w", p.name, err)
			}
			return nil
		})
	}
	a.log.Info("node running", "peer_id", a.Identity.PeerID(), "nick", a.Config.Nick, "addrs", a.Node.Addrs(), "api", a.APIAddr(), "hooks", a.HooksURL(), "metrics", a.MetricsAddr())
	return g.Wait()
}

// serveAPI serves the API once the messenger has started (opened the rooms
// it had joined), so a client never finds them missing; until then
// clients wait in the listeners' queues.
func (a *App) serveAPI(ctx context.Context) error {
	select {
	case <-a.Chat.Started():
	case <-ctx.Done():
		return nil
	}
	return a.API.Run(ctx)
}

// serveHooks serves the hook URLs once the messenger has started; while
// the listener is off it waits for ctx.
func (a *App) serveHooks(ctx context.Context) error {
	if a.Hooks == nil {
		return nil
	}
	select {
	case <-a.Chat.Started():
	case <-ctx.Done():
		return nil
	}
	return a.Hooks.Run(ctx)
}

// deliveryResult is the metrics label of a delivery's state after an
// attempt: delivered; still pending, so failed and to be retried; or
// failed for good, so dropped.
func deliveryResult(status string) string {
	switch status {
	case hooks.StatusDelivered:
		return metrics.HookDelivered
	case hooks.StatusPending:
		return metrics.HookFailed
	default:
		return metrics.HookDropped
	}
}

// runOutgoing delivers the outgoing webhooks once the messenger has
// started.
func (a *App) runOutgoing(ctx context.Context) error {
	select {
	case <-a.Chat.Started():
	case <-ctx.Done():
		return nil
	}
	return a.Outgoing.Run(ctx)
}

// Close releases everything Open acquired, stopping any part still
// running. It is idempotent.
func (a *App) Close() error {
	a.closeMu.Lock()
	defer a.closeMu.Unlock()
	if a.closed {
		return nil
	}
	a.closed = true
	var errs []error
	if a.API != nil {
		errs = append(errs, a.API.Close())
	}
	if a.Hooks != nil {
		errs = append(errs, a.Hooks.Close())
	}
	if a.Outgoing != nil {
		errs = append(errs, a.Outgoing.Close())
	}
	if a.Notify != nil {
		errs = append(errs, a.Notify.Close())
	}
	if a.Chat != nil {
		errs = append(errs, a.Chat.Close())
	}
	if a.desktop != nil {
		_ = a.desktop.Close()
	}
	if a.Node != nil {
		errs = append(errs, a.Node.Close())
	}
	if a.unixL != nil {
		_ = a.unixL.Close()
		_ = os.Remove(a.Paths.Socket())
	}
	if a.tcpL != nil {
		_ = a.tcpL.Close()
	}
	if a.metricL != nil {
		_ = a.metricL.Close()
	}
	if a.Search != nil {
		errs = append(errs, a.Search.Close())
	}
	if a.Store != nil {
		errs = append(errs, a.Store.Close())
	}
	return errors.Join(errs...)
}

// saveNick writes a changed nickname to the config file.
func (a *App) saveNick(nick string) error {
	a.cfgMu.Lock()
	defer a.cfgMu.Unlock()
	cfg, err := LoadConfig(a.Paths.ConfigFile())
	if err != nil {
		return err
	}
	cfg.Nick = nick
	a.Config.Nick = nick
	return cfg.Save(a.Paths.ConfigFile())
}
