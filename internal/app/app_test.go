package app

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/crypto"
	"github.com/parley-chat/parley/internal/api"
)

// waitTimeout bounds every wait for something to happen.
const waitTimeout = 10 * time.Second

// testOptions keeps a test node on loopback and off the LAN: never mDNS,
// never the DHT, listening on 127.0.0.1 only.
func testOptions() Options {
	return Options{Listen: []string{"/ip4/127.0.0.1/tcp/0"}, NoMDNS: true, NoDHT: true}
}

// testHome returns the paths of a fresh node home, short enough for the
// API's unix socket.
func testHome(t *testing.T) Paths {
	t.Helper()
	dir := t.TempDir()
	if len(dir) > 80 {
		var err error
		dir, err = os.MkdirTemp("", "app")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.RemoveAll(dir) })
	}
	home := filepath.Join(dir, "h")
	return Paths{Data: home, Config: home}
}

func initHome(t *testing.T, nick string) (Paths, *crypto.Identity) {
	t.Helper()
	p := testHome(t)
	id, err := Init(p, nick)
	if err != nil {
		t.Fatalf("Init: %v", err)
	}
	return p, id
}

func mode(t *testing.T, path string) fs.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode()
}

func TestInit(t *testing.T) {
	p, id := initHome(t, "alice")

	if m := mode(t, p.IdentityFile()); m.Perm() != 0o600 || !m.IsRegular() {
		t.Errorf("identity.key mode: got %v, want a 0600 file", m)
	}
	if m := mode(t, p.Data); m.Perm() != 0o700 || !m.IsDir() {
		t.Errorf("data directory mode: got %v, want a 0700 directory", m)
	}
	if m := mode(t, p.ConfigFile()); m.Perm() != 0o600 {
		t.Errorf("config.toml mode: got %v, want 0600", m)
	}
	loaded, err := crypto.LoadIdentityFile(p.IdentityFile())
	if err != nil {
		t.Fatalf("LoadIdentityFile: %v", err)
	}
	if loaded.PeerID() != id.PeerID() {
		t.Errorf("identity on disk: got %s, want %s", loaded.PeerID(), id.PeerID())
	}
	cfg, err := LoadConfig(p.ConfigFile())
	if err != nil {
		t.Fatalf("LoadConfig: %v", err)
	}
	if want := (Config{Nick: "alice"}); !slicesEqualConfig(cfg, want) {
		t.Errorf("config: got %+v, want %+v", cfg, want)
	}
}

func slicesEqualConfig(a, b Config) bool {
	return a.Nick == b.Nick && slices.Equal(a.Listen, b.Listen) && slices.Equal(a.Bootstrap, b.Bootstrap) &&
		a.MDNS == b.MDNS && a.DHT == b.DHT && slices.Equal(a.AutoJoin, b.AutoJoin) && (a.AutoJoin == nil) == (b.AutoJoin == nil) && a.RoomRate == b.RoomRate &&
		a.RoomBurst == b.RoomBurst && a.Retention == b.Retention && a.APIListen == b.APIListen && a.LogLevel == b.LogLevel
}

func TestInitSplitDirectories(t *testing.T) {
	root := t.TempDir()
	p := Paths{Data: filepath.Join(root, "share", "parley"), Config: filepath.Join(root, "config", "parley")}
	if _, err := Init(p, "alice"); err != nil {
		t.Fatalf("Init: %v", err)
	}
	for _, f := range []string{filepath.Join(p.Data, "identity.key"), filepath.Join(p.Config, "config.toml")} {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	if _, err := os.Stat(filepath.Join(p.Data, "config.toml")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("config.toml in the data directory: got %v, want none", err)
	}
}

func TestInitTwiceKeepsTheKey(t *testing.T) {
	p, first := initHome(t, "alice")
	key, err := os.ReadFile(p.IdentityFile())
	if err != nil {
		t.Fatal(err)
	}
	for _, nick := range []string{"alice", "mallory"} {
		id, err := Init(p, nick)
		if !errors.Is(err, crypto.ErrIdentityExists) {
			t.Fatalf("second Init(%q): got %v, %v; want ErrIdentityExists", nick, id, err)
		}
	}
	after, err := os.ReadFile(p.IdentityFile())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(after, key) {
		t.Errorf("identity.key changed after a refused Init")
	}
	loaded, err := crypto.LoadIdentityFile(p.IdentityFile())
	if err != nil || loaded.PeerID() != first.PeerID() {
		t.Errorf("identity after a refused Init: got %v, %v; want %s", loaded, err, first.PeerID())
	}
	cfg, err := LoadConfig(p.ConfigFile())
	if err != nil || cfg.Nick != "alice" {
		t.Errorf("config after a refused Init: got %+v, %v; want nick alice", cfg, err)
	}
}

func TestInitBadNick(t *testing.T) {
	for _, nick := range []string{"bad nick!", "a b", "tab\there", "@alice", "a/b", strings.Repeat("x", chat.MaxNickLen+1)} {
		t.Run(nick, func(t *testing.T) {
			p := testHome(t)
			_, err := Init(p, nick)
			if !errors.Is(err, chat.ErrBadNick) {
				t.Fatalf("Init(%q): got %v, want ErrBadNick", nick, err)
			}
			if _, err := os.Stat(p.Data); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("home after a refused Init: got %v, want nothing created", err)
			}
		})
	}
}

func TestInitNickEdges(t *testing.T) {
	for _, nick := range []string{"a", strings.Repeat("x", chat.MaxNickLen), "zoë", "b.o-b_2"} {
		t.Run(nick, func(t *testing.T) {
			p := testHome(t)
			if _, err := Init(p, nick); err != nil {
				t.Fatalf("Init(%q): %v", nick, err)
			}
			cfg, err := LoadConfig(p.ConfigFile())
			if err != nil || cfg.Nick != nick {
				t.Errorf("config: got %+v, %v; want nick %q", cfg, err, nick)
			}
		})
	}
}

func TestInitDefaultNick(t *testing.T) {
	p := testHome(t)
	if _, err := Init(p, ""); err != nil {
		t.Fatalf("Init without a nick: %v", err)
	}
	cfg, err := LoadConfig(p.ConfigFile())
	if err != nil {
		t.Fatal(err)
	}
	if err := chat.ValidateNick(cfg.Nick); err != nil {
		t.Errorf("default nick %q: %v", cfg.Nick, err)
	}
	if err := chat.ValidateNick(defaultNick()); err != nil {
		t.Errorf("defaultNick() = %q: %v", defaultNick(), err)
	}
}

func TestInitKeepsOtherSettings(t *testing.T) {
	p := testHome(t)
	if err := os.MkdirAll(p.Config, 0o700); err != nil {
		t.Fatal(err)
	}
	before := Config{Nick: "old", Listen: []string{"/ip4/127.0.0.1/tcp/7000"}, AutoJoin: []string{}, Retention: "90d", LogLevel: "debug"}
	if err := before.Save(p.ConfigFile()); err != nil {
		t.Fatal(err)
	}
	if _, err := Init(p, "alice"); err != nil {
		t.Fatalf("Init: %v", err)
	}
	got, err := LoadConfig(p.ConfigFile())
	if err != nil {
		t.Fatal(err)
	}
	want := before
	want.Nick = "alice"
	if !slicesEqualConfig(got, want) {
		t.Errorf("config: got %+v, want %+v", got, want)
	}
}

func TestOpenUninitialised(t *testing.T) {
	p := testHome(t)
	a, err := Open(p, testOptions())
	if !errors.Is(err, ErrNotInitialised) {
		if a != nil {
			_ = a.Close()
		}
		t.Fatalf("Open of an empty home: got %v, want ErrNotInitialised", err)
	}
	if !strings.Contains(err.Error(), p.Data) {
		t.Errorf("error: got %q, want it to name %s", err, p.Data)
	}
	if _, err := os.Stat(p.StoreDir()); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("store after a refused Open: got %v, want none", err)
	}
}

// open opens the node in p and closes it when the test ends.
func open(t *testing.T, p Paths, o Options) *App {
	t.Helper()
	a, err := Open(p, o)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = a.Close() })
	return a
}

// run runs a in the background; the returned stop cancels it and returns
// Run's result, failing the test if that takes more than 5 seconds.
func run(t *testing.T, a *App) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- a.Run(ctx) }()
	stopped := false
	var result error
	stop = func() error {
		t.Helper()
		if stopped {
			return result
		}
		stopped = true
		cancel()
		select {
		case result = <-ran:
		case <-time.After(5 * time.Second):
			t.Fatalf("Run did not return within 5s of cancel")
		}
		return result
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

func tokenOf(t *testing.T, p Paths) string {
	t.Helper()
	if m := mode(t, p.TokenFile()); m.Perm() != 0o600 {
		t.Errorf("api.token mode: got %v, want 0600", m)
	}
	b, err := os.ReadFile(p.TokenFile())
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[0-9a-f]{64}\n$`).Match(b) {
		t.Errorf("api.token: got %q, want 64 hex digits and a newline", b)
	}
	return strings.TrimSpace(string(b))
}

// tcpGet sends GET path to the loopback TCP API.
func tcpGet(t *testing.T, addr, path, token string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+addr+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: waitTimeout}).Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

func TestOpenRunClose(t *testing.T) {
	p, id := initHome(t, "alice")
	a := open(t, p, testOptions())
	stop := run(t, a)

	if m := mode(t, p.Socket()); m&fs.ModeSocket == 0 || m.Perm() != 0o600 {
		t.Errorf("API socket mode: got %v, want a 0600 socket", m)
	}
	token := tokenOf(t, p)

	// The unix socket needs no token.
	ctx, cancel := context.WithTimeout(t.Context(), waitTimeout)
	defer cancel()
	c := api.NewClient(p.Socket())
	got, err := c.Identity(ctx)
	if err != nil {
		t.Fatalf("Identity over the socket: %v", err)
	}
	want := api.Identity{
		PeerID:      id.PeerID().String(),
		Nick:        "alice",
		Fingerprint: crypto.Fingerprint(id.PublicKey()),
		Addrs:       got.Addrs,
		MDNS:        false,
		DHT:         "off",
		Version:     Version,
	}
	if !identityEqual(got, want) {
		t.Errorf("Identity: got %+v, want %+v", got, want)
	}
	if len(got.Addrs) == 0 {
		t.Errorf("addrs: got none, want the loopback listen address")
	}
	for _, addr := range got.Addrs {
		if !strings.HasPrefix(addr, "/ip4/127.0.0.1/tcp/") || !strings.HasSuffix(addr, "/p2p/"+id.PeerID().String()) {
			t.Errorf("addr %s: want /ip4/127.0.0.1/tcp/PORT/p2p/%s", addr, id.PeerID())
		}
	}
	if peers, err := c.Peers(ctx); err != nil || len(peers) != 0 {
		t.Errorf("Peers of a lone node: got %v, %v; want none", peers, err)
	}

	// The TCP listener is on loopback and wants the token.
	addr := a.APIAddr()
	if !strings.HasPrefix(addr, "127.0.0.1:") {
		t.Fatalf("APIAddr: got %q, want 127.0.0.1:PORT", addr)
	}
	if status, body := tcpGet(t, addr, "/api/v1/id", ""); status != http.StatusUnauthorized {
		t.Errorf("TCP without token: got %d (%s), want 401", status, body)
	}
	if status, body := tcpGet(t, addr, "/api/v1/id", strings.Repeat("f", 64)); status != http.StatusUnauthorized {
		t.Errorf("TCP with a wrong token: got %d (%s), want 401", status, body)
	}
	status, body := tcpGet(t, addr, "/api/v1/id", token)
	if status != http.StatusOK {
		t.Fatalf("TCP with the token: got %d (%s), want 200", status, body)
	}
	var tcpID api.Identity
	if err := json.Unmarshal(body, &tcpID); err != nil {
		t.Fatal(err)
	}
	if tcpID.PeerID != id.PeerID().String() {
		t.Errorf("TCP identity: got %s, want %s", tcpID.PeerID, id.PeerID())
	}

	// A second process (here: a second Open) cannot use the same home, and
	// its attempt leaves the first node's socket alone.
	second, err := Open(p, testOptions())
	if err == nil {
		_ = second.Close()
		t.Fatalf("second Open of a home in use: got nil, want an error")
	}
	if !strings.Contains(err.Error(), "another parley process") {
		t.Errorf("second Open: got %q, want it to mention another parley process", err)
	}
	if _, err := c.Identity(ctx); err != nil {
		t.Errorf("Identity after a refused second Open: %v", err)
	}

	if err := stop(); err != nil {
		t.Errorf("Run: got %v, want nil", err)
	}
	if err := a.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if _, err := os.Stat(p.Socket()); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("API socket after Close: got %v, want it removed", err)
	}
	if err := a.Close(); err != nil {
		t.Errorf("second Close: got %v, want nil", err)
	}
	if _, err := c.Identity(ctx); !errors.Is(err, api.ErrNoDaemon) {
		t.Errorf("Identity after Close: got %v, want ErrNoDaemon", err)
	}

	// The home is free again, and the token survives a restart.
	again := open(t, p, testOptions())
	stopAgain := run(t, again)
	if got := tokenOf(t, p); got != token {
		t.Errorf("token after a restart: got %s, want %s", got, token)
	}
	if _, err := c.Identity(ctx); err != nil {
		t.Errorf("Identity after a restart: %v", err)
	}
	if err := stopAgain(); err != nil {
		t.Errorf("Run after a restart: got %v, want nil", err)
	}
}

func identityEqual(a, b api.Identity) bool {
	return a.PeerID == b.PeerID && a.Nick == b.Nick && a.Fingerprint == b.Fingerprint &&
		slices.Equal(a.Addrs, b.Addrs) && a.MDNS == b.MDNS && a.DHT == b.DHT && a.Version == b.Version
}

func TestOpenOptionsOverrideConfig(t *testing.T) {
	p, _ := initHome(t, "alice")
	cfg, err := LoadConfig(p.ConfigFile())
	if err != nil {
		t.Fatal(err)
	}
	yes := true
	cfg.DHT = &yes
	cfg.Listen = []string{"/ip4/127.0.0.1/tcp/1"} // replaced by Options.Listen
	cfg.APIListen = "off"
	if err := cfg.Save(p.ConfigFile()); err != nil {
		t.Fatal(err)
	}
	a := open(t, p, testOptions())
	info := a.Chat.Info()
	if info.DHT != "off" {
		t.Errorf("DHT with NoDHT over dht = true: got %s, want off", info.DHT)
	}
	if info.MDNS {
		t.Errorf("mDNS with NoMDNS: got on, want off")
	}
	for _, addr := range a.Node.Addrs() {
		if strings.HasPrefix(addr, "/ip4/127.0.0.1/tcp/1/") {
			t.Errorf("addr %s: want the Options listen address, not the config's", addr)
		}
	}
	if got := a.APIAddr(); got != "" {
		t.Errorf("APIAddr with api_listen = \"off\": got %q, want none", got)
	}
}

func TestOpenAPIOff(t *testing.T) {
	p, id := initHome(t, "alice")
	o := testOptions()
	o.APIListen = "off"
	a := open(t, p, o)
	stop := run(t, a)
	if got := a.APIAddr(); got != "" {
		t.Errorf("APIAddr: got %q, want none", got)
	}
	ctx, cancel := context.WithTimeout(t.Context(), waitTimeout)
	defer cancel()
	got, err := api.NewClient(p.Socket()).Identity(ctx)
	if err != nil || got.PeerID != id.PeerID().String() {
		t.Errorf("Identity over the socket with TCP off: got %+v, %v", got, err)
	}
	if err := stop(); err != nil {
		t.Errorf("Run: got %v, want nil", err)
	}
}

func TestOpenFailsCleanly(t *testing.T) {
	for _, tc := range []struct {
		name    string
		prepare func(t *testing.T, p Paths, o *Options)
		wantErr string
	}{
		{
			name:    "API on all interfaces",
			prepare: func(_ *testing.T, _ Paths, o *Options) { o.APIListen = "0.0.0.0:0" },
			wantErr: "only listens on loopback",
		},
		{
			name:    "API on a name",
			prepare: func(_ *testing.T, _ Paths, o *Options) { o.APIListen = "example.com:80" },
			wantErr: "only listens on loopback",
		},
		{
			name:    "API address without port",
			prepare: func(_ *testing.T, _ Paths, o *Options) { o.APIListen = "127.0.0.1" },
			wantErr: "API address",
		},
		{
			name:    "bad listen address",
			prepare: func(_ *testing.T, _ Paths, o *Options) { o.Listen = []string{"not-a-multiaddr"} },
			wantErr: "not-a-multiaddr",
		},
		{
			name: "bad retention",
			prepare: func(t *testing.T, p Paths, _ *Options) {
				if err := os.WriteFile(p.ConfigFile(), []byte("nick = \"alice\"\nretention = \"soon\"\n"), 0o600); err != nil {
					t.Fatal(err)
				}
			},
			wantErr: `config.toml: invalid argument: retention "soon": want a number of days (90d), weeks (2w), a duration like 36h, or forever`,
		},
		{
			name: "negative retention",
			prepare: func(t *testing.T, p Paths, _ *Options) {
				if err := os.WriteFile(p.ConfigFile(), []byte("nick = \"alice\"\nretention = \"-2d\"\n"), 0o600); err != nil {
					t.Fatal(err)
				}
			},
			wantErr: `retention "-2d"`,
		},
		{
			name: "bad config",
			prepare: func(t *testing.T, p Paths, _ *Options) {
				if err := os.WriteFile(p.ConfigFile(), []byte("nick = \"alice\"\ncolour = \"blue\"\n"), 0o600); err != nil {
					t.Fatal(err)
				}
			},
			wantErr: "config",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, _ := initHome(t, "alice")
			good, err := os.ReadFile(p.ConfigFile())
			if err != nil {
				t.Fatal(err)
			}
			o := testOptions()
			tc.prepare(t, p, &o)
			a, err := Open(p, o)
			if err == nil {
				_ = a.Close()
				t.Fatalf("Open: got nil, want an error mentioning %q", tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Open: got %q, want it to mention %q", err, tc.wantErr)
			}
			if _, err := os.Stat(p.Socket()); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("API socket after a failed Open: got %v, want none", err)
			}
			// The failed Open released the home.
			if err := os.WriteFile(p.ConfigFile(), good, 0o600); err != nil {
				t.Fatal(err)
			}
			open(t, p, testOptions())
		})
	}
}

func TestOpenSocketPathTooLong(t *testing.T) {
	base := testHome(t).Data
	long := filepath.Join(base, strings.Repeat("d", max(1, 110-len(base))))
	p := Paths{Data: long, Config: long}
	if len(p.Socket()) <= 107 {
		t.Fatalf("socket path %d bytes: want over 107", len(p.Socket()))
	}
	if _, err := Init(p, "alice"); err != nil {
		t.Fatalf("Init: %v", err)
	}
	a, err := Open(p, testOptions())
	if err == nil {
		_ = a.Close()
		t.Fatalf("Open with a %d-byte socket path: got nil, want an error", len(p.Socket()))
	}
	if !strings.Contains(err.Error(), "--home") {
		t.Errorf("Open: got %q, want advice to use a shorter --home", err)
	}
}

func TestStaleSocketIsReplaced(t *testing.T) {
	p, id := initHome(t, "alice")
	// A crashed daemon leaves a socket file behind; here, a plain file.
	if err := os.WriteFile(p.Socket(), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	a := open(t, p, testOptions())
	stop := run(t, a)
	ctx, cancel := context.WithTimeout(t.Context(), waitTimeout)
	defer cancel()
	got, err := api.NewClient(p.Socket()).Identity(ctx)
	if err != nil || got.PeerID != id.PeerID().String() {
		t.Errorf("Identity after replacing a stale socket: got %+v, %v", got, err)
	}
	if err := stop(); err != nil {
		t.Errorf("Run: got %v, want nil", err)
	}
}

func TestShortTokenIsReplaced(t *testing.T) {
	p, _ := initHome(t, "alice")
	if err := os.WriteFile(p.TokenFile(), []byte("short\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	open(t, p, testOptions())
	if got := tokenOf(t, p); got == "short" {
		t.Errorf("token: got the short one, want a fresh one")
	}
}

func TestTokenFileModeIsEnforced(t *testing.T) {
	p, _ := initHome(t, "alice")
	if err := os.WriteFile(p.TokenFile(), []byte(strings.Repeat("ab", 32)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p.TokenFile(), 0o644); err != nil {
		t.Fatal(err)
	}
	open(t, p, testOptions())
	if got := mode(t, p.TokenFile()); got != 0o600 {
		t.Errorf("api.token mode after Open: got %o, want 600", got)
	}
}

func TestInitWithBrokenConfigCreatesNothing(t *testing.T) {
	p := testHome(t)
	if err := os.MkdirAll(p.Config, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p.ConfigFile(), []byte("no_such_setting = 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Init(p, "alice"); err == nil {
		t.Fatal("Init with a broken config: got nil error")
	}
	if _, err := os.Stat(p.IdentityFile()); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("identity file after a failed Init: %v, want none", err)
	}
}

// TestBackendThroughTheAPI drives the App's backend (chat service, node and
// store) through the API client, with no other peer around.
func TestBackendThroughTheAPI(t *testing.T) {
	p, id := initHome(t, "alice")
	a := open(t, p, testOptions())
	stop := run(t, a)
	ctx, cancel := context.WithTimeout(t.Context(), waitTimeout)
	defer cancel()
	c := api.NewClient(p.Socket())
	self := id.PeerID().String()
	bob, err := crypto.NewIdentity(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	other := bob.PeerID().String()

	// Follow the event stream before sending. The response headers come
	// after the server has subscribed, so no event can be missed after Do.
	evCtx, evCancel := context.WithCancel(ctx)
	events, stopEvents := followEvents(t, evCtx, p.Socket())
	defer func() {
		evCancel()
		_ = stopEvents()
	}()

	for _, tc := range []struct {
		name       string
		call       func() error
		wantStatus int
	}{
		{"connect to junk", func() error { _, err := c.Connect(ctx, "junk"); return err }, http.StatusBadRequest},
		{"connect without /p2p", func() error { _, err := c.Connect(ctx, "/ip4/127.0.0.1/tcp/1"); return err }, http.StatusBadRequest},
		{"connect to self", func() error { _, err := c.Connect(ctx, a.Node.Addrs()[0]); return err }, http.StatusBadRequest},
		{"send to self", func() error { _, err := c.Send(ctx, self, "hi me"); return err }, http.StatusBadRequest},
		{"send to unknown nick", func() error { _, err := c.Send(ctx, "@nobody", "hi"); return err }, http.StatusNotFound},
		{"send to junk", func() error { _, err := c.Send(ctx, "junk", "hi"); return err }, http.StatusNotFound},
		{"send nothing", func() error { _, err := c.Send(ctx, other, "  "); return err }, http.StatusBadRequest},
		{"history with unknown nick", func() error { _, err := c.History(ctx, "@nobody", 0, ""); return err }, http.StatusNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ae *api.Error
			if err := tc.call(); !errors.As(err, &ae) || ae.Status != tc.wantStatus {
				t.Errorf("got %v, want *api.Error with status %d", err, tc.wantStatus)
			}
		})
	}

	m, err := c.Send(ctx, other, "hello bob")
	if err != nil {
		t.Fatalf("Send to an offline peer: %v", err)
	}
	if m.From != self || m.To != other || m.Text != "hello bob" || m.Status != "queued" || m.Conversation != "dm:"+other {
		t.Errorf("Send: got %+v, want a queued message from %s to %s", m, self, other)
	}
	deadline := time.After(waitTimeout)
	for seen := false; !seen; {
		select {
		case e := <-events:
			if e.Type != "message" || e.Message.Kind != "text" {
				continue // peer events and the #lobby join line may come first
			}
			if e.Message == nil || e.Message.ID != m.ID {
				t.Fatalf("message event: got %+v, want the sent message %s", e.Message, m.ID)
			}
			seen = true
		case <-deadline:
			t.Fatalf("timed out after %v waiting for the message event", waitTimeout)
		}
	}

	ms, err := c.History(ctx, other, 10, "")
	if err != nil {
		t.Fatalf("History: %v", err)
	}
	if len(ms) != 1 || ms[0].ID != m.ID {
		t.Errorf("History: got %+v, want the one sent message", ms)
	}
	ms, err = c.History(ctx, other, 10, m.ID)
	if err != nil || len(ms) != 0 {
		t.Errorf("History before the first message: got %+v, %v; want none", ms, err)
	}
	evCancel()
	if err := stopEvents(); err != nil {
		t.Errorf("event stream after cancel: got %v, want it to end", err)
	}
	if err := stop(); err != nil {
		t.Errorf("Run: got %v, want nil", err)
	}
}

// followEvents reads GET /api/v1/events on socket as NDJSON. It returns once
// the daemon has answered, and so subscribed; events arrive on the channel
// until ctx ends. stop waits for the reader to finish after ctx ends.
func followEvents(t *testing.T, ctx context.Context, socket string) (<-chan api.Event, func() error) {
	t.Helper()
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", socket)
	}}
	t.Cleanup(tr.CloseIdleConnections)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://parley/api/v1/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := (&http.Client{Transport: tr}).Do(req) //nolint:bodyclose // the reader goroutine closes it
	if err != nil {
		t.Fatalf("GET /api/v1/events: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		_ = resp.Body.Close()
		t.Fatalf("GET /api/v1/events: got %d, want 200", resp.StatusCode)
	}
	events := make(chan api.Event, 16)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() { _ = resp.Body.Close() }()
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			var e api.Event
			if len(bytes.TrimSpace(sc.Bytes())) == 0 || json.Unmarshal(sc.Bytes(), &e) != nil {
				continue
			}
			select {
			case events <- e:
			case <-ctx.Done():
				return
			}
		}
	}()
	stop := sync.OnceValue(func() error {
		select {
		case <-done:
			return nil
		case <-time.After(waitTimeout):
			return errors.New("the event reader did not stop")
		}
	})
	return events, stop
}
