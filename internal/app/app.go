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
	"strings"
	"sync"
	"time"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/crypto"
	"github.com/parley-chat/parley/internal/api"
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
	Logger    *slog.Logger
}

// App is one running node.
type App struct {
	Paths    Paths
	Config   Config
	Identity *crypto.Identity
	Store    *store.Store
	Node     *node.Node
	Chat     *chat.Service
	API      *api.Server

	log     *slog.Logger
	unixL   net.Listener
	tcpL    net.Listener
	token   string
	closeMu sync.Mutex
	closed  bool
	cfgMu   sync.Mutex
}

// Open loads the node in p and starts its network; Run serves it.
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

	listen := cfg.Listen
	if len(o.Listen) > 0 {
		listen = o.Listen
	}
	if len(listen) == 0 {
		listen = defaultListen()
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
	a.Chat, err = chat.New(chat.Config{
		Identity:  id,
		Nick:      cfg.Nick,
		Agent:     Agent,
		Transport: a.Node,
		PubSub:    a.Node,
		Store:     a.Store,
		AutoJoin:  autoJoin,
		RoomRate:  cfg.RoomRate,
		RoomBurst: cfg.RoomBurst,
		Logger:    log.With("part", "chat"),
	})
	if err != nil {
		return nil, err
	}
	if err := a.listenAPI(o.APIListen); err != nil {
		return nil, err
	}
	a.API = api.NewServer(backend{a}, a.token, log.With("part", "api"), web.Handler())
	return a, nil
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

// Run serves the node until ctx is cancelled, then shuts it down (within
// a few seconds) and returns nil.
func (a *App) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 2)
	go func() { errc <- a.Chat.Run(ctx) }()
	go func() { errc <- a.API.Serve(a.unixL, a.tcpL) }()
	a.log.Info("node running", "peer_id", a.Identity.PeerID(), "nick", a.Config.Nick, "addrs", a.Node.Addrs(), "api", a.APIAddr())
	var first error
	select {
	case <-ctx.Done():
	case first = <-errc:
		if first != nil {
			a.log.Error("node part failed", "err", first)
		}
	}
	cancel()
	sctx, scancel := context.WithTimeout(context.Background(), 2*time.Second)
	_ = a.API.Shutdown(sctx)
	scancel()
	// Collect the other part.
	select {
	case err := <-errc:
		if first == nil {
			first = err
		}
	case <-time.After(3 * time.Second):
	}
	return first
}

// Close releases everything Open acquired. It is idempotent.
func (a *App) Close() error {
	a.closeMu.Lock()
	defer a.closeMu.Unlock()
	if a.closed {
		return nil
	}
	a.closed = true
	var errs []error
	if a.Chat != nil {
		errs = append(errs, a.Chat.Close())
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
	if a.Store != nil {
		errs = append(errs, a.Store.Close())
	}
	return errors.Join(errs...)
}

// backend serves the API from an App.
type backend struct{ a *App }

func (b backend) Identity() api.Identity {
	a := b.a
	return api.Identity{
		PeerID:      a.Identity.PeerID().String(),
		Nick:        a.Chat.Nick(),
		Fingerprint: crypto.Fingerprint(a.Identity.PublicKey()),
		Addrs:       a.Node.Addrs(),
		MDNS:        a.Node.MDNS(),
		DHT:         a.Node.DHTMode(),
		Version:     Version,
	}
}

func (b backend) Peers() []chat.Peer { return b.a.Chat.Peers() }

func (b backend) ConnCount(p chat.PeerID) int { return b.a.Node.ConnCount(p) }

func (b backend) Connect(ctx context.Context, addr string) (chat.PeerID, error) {
	p, err := b.a.Node.Connect(ctx, addr)
	if errors.Is(err, node.ErrBadAddr) {
		return "", fmt.Errorf("%w: %w", api.ErrBadRequest, err)
	}
	return p, err
}

func (b backend) ResolvePeer(ref string) (chat.PeerID, error) { return b.a.Chat.ResolvePeer(ref) }

func (b backend) SendDM(to chat.PeerID, text string) (*chat.Message, error) {
	return b.a.Chat.SendDM(to, text)
}

func (b backend) SendRoom(room, text string) (*chat.Message, error) {
	return b.a.Chat.SendRoom(room, text)
}

func (b backend) JoinRoom(room string) (bool, error) { return b.a.Chat.JoinRoom(room) }

func (b backend) LeaveRoom(room string) (bool, error) { return b.a.Chat.LeaveRoom(room) }

func (b backend) Rooms() ([]chat.RoomInfo, error) { return b.a.Chat.Rooms() }

func (b backend) RoomMembers(room string) ([]chat.RoomMember, error) {
	return b.a.Chat.RoomMembers(room)
}

func (b backend) MarkRead(conv chat.Conversation, upTo chat.Cursor) error {
	return b.a.Chat.MarkRead(conv, upTo)
}

func (b backend) Typing(room string) error { return b.a.Chat.Typing(room) }

func (b backend) Conversations() ([]chat.ConversationInfo, error) { return b.a.Chat.Conversations() }

// SetNick changes the nickname and saves it in the config file.
func (b backend) SetNick(nick string) error {
	if err := b.a.Chat.SetNick(nick); err != nil {
		return err
	}
	b.a.cfgMu.Lock()
	defer b.a.cfgMu.Unlock()
	cfg, err := LoadConfig(b.a.Paths.ConfigFile())
	if err != nil {
		return err
	}
	cfg.Nick = nick
	b.a.Config.Nick = nick
	return cfg.Save(b.a.Paths.ConfigFile())
}

func (b backend) History(conv chat.Conversation, before chat.Cursor, limit int) ([]*chat.Message, error) {
	return b.a.Chat.History(conv, before, limit)
}

func (b backend) Message(id chat.MessageID) (*chat.Message, error) { return b.a.Store.Message(id) }

func (b backend) Subscribe() (<-chan chat.Event, func()) { return b.a.Chat.Subscribe() }
