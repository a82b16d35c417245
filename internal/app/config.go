package app

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"net"
	"os"
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2"
)

// DefaultPort is the TCP and UDP (QUIC) port a node listens on unless told
// otherwise; if it is taken the node takes a free one.
const DefaultPort = 7714

// Config is config.toml.
type Config struct {
	Nick      string   `toml:"nick"`
	Listen    []string `toml:"listen,omitempty"`     // multiaddrs; empty: all interfaces on DefaultPort
	Bootstrap []string `toml:"bootstrap,omitempty"`  // DHT bootstrap peers; none by default (private)
	MDNS      *bool    `toml:"mdns,omitempty"`       // LAN discovery; default true
	DHT       *bool    `toml:"dht,omitempty"`        // Kademlia DHT; default true
	AutoJoin  []string `toml:"auto_join,omitzero"`   // rooms joined on the first start; default ["lobby"], [] for none (kept when saved: omitzero, not omitempty)
	RoomRate  float64  `toml:"room_rate,omitempty"`  // messages/s one author may send into a room before being ignored; default 500
	RoomBurst int      `toml:"room_burst,omitempty"` // and in a burst; default 5000
	Retention string   `toml:"retention,omitempty"`  // how long room history is kept: "90d", "2w", "36h"; default forever
	APIListen string   `toml:"api_listen,omitempty"`
	// HooksListen is the address of the webhook listener (issue 11),
	// "" (off) by default. Here only parley doctor reads it (it checks
	// that something answers there); the webhook work adds the listener.
	HooksListen string `toml:"hooks_listen,omitempty"`
	LogLevel    string `toml:"log_level,omitempty"` // debug, info, warn, error

	// NotifyKeywords are words (or phrases) that notify like a mention
	// wherever they occur as whole words, in any case; none by default.
	NotifyKeywords []string `toml:"notify_keywords,omitempty"`

	// ReadReceipts tells the members of a conversation how far this node
	// has read it ("seen by" in rooms, "read" in direct messages); default
	// true. Off, this node sends none and still shows others'.
	ReadReceipts *bool `toml:"read_receipts,omitempty"`

	// Files.
	AutoDownload string `toml:"auto_download,omitempty"` // files up to this size are fetched on arrival: "16MiB" by default, "0" for none
	MaxFileSize  string `toml:"max_file_size,omitempty"` // the largest file shared or fetched: "4GiB" by default
	FileCache    string `toml:"file_cache,omitempty"`    // room for others' files, least recently used dropped first: "10GiB" by default
	DownloadDir  string `toml:"download_dir,omitempty"`  // where fetched files are saved: <data dir>/downloads by default
}

// ParseSize reads a size such as "16MiB", "4GiB", "500MB", "1024" (bytes).
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	units := []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}, {"B", 1}}
	mult := int64(1)
	for _, u := range units {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 || n > math.MaxInt64/mult {
		return 0, fmt.Errorf("size %q: want a number of bytes with an optional unit (KiB, MiB, GiB, TiB, KB, MB, GB, TB)", s)
	}
	return n * mult, nil
}

// sizeOr is ParseSize of s, or def when s is empty.
func sizeOr(s string, def int64, key string) (int64, error) {
	if s == "" {
		return def, nil
	}
	n, err := ParseSize(s)
	if err != nil {
		return 0, fmt.Errorf("config %s: %w", key, err)
	}
	return n, nil
}

// LoadConfig reads config.toml; a missing file is an empty config.
func LoadConfig(path string) (Config, error) {
	var c Config
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return c, fmt.Errorf("read config: %w", err)
	}
	dec := toml.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return c, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// Save writes the config file (0600).
func (c Config) Save(path string) error {
	var buf bytes.Buffer
	buf.WriteString("# Parley node configuration. See README.md for every setting.\n")
	if err := toml.NewEncoder(&buf).Encode(c); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, buf.Bytes(), 0o600); err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	return os.Rename(tmp, path)
}

// defaultListen listens on all interfaces on DefaultPort (TCP and QUIC,
// IPv4 and IPv6), or on free ports if DefaultPort is taken.
func defaultListen() []string {
	port := DefaultPort
	if !portFree(port) {
		port = 0
	}
	out := []string{
		fmt.Sprintf("/ip4/0.0.0.0/tcp/%d", port),
		fmt.Sprintf("/ip4/0.0.0.0/udp/%d/quic-v1", port),
	}
	if ipv6Available() {
		out = append(out,
			fmt.Sprintf("/ip6/::/tcp/%d", port),
			fmt.Sprintf("/ip6/::/udp/%d/quic-v1", port))
	}
	return out
}

func portFree(port int) bool {
	addr := fmt.Sprintf("0.0.0.0:%d", port)
	l, err := net.Listen("tcp4", addr)
	if err != nil {
		return false
	}
	_ = l.Close()
	pc, err := net.ListenPacket("udp4", addr)
	if err != nil {
		return false
	}
	_ = pc.Close()
	return true
}

func ipv6Available() bool {
	l, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		return false
	}
	_ = l.Close()
	return true
}

func boolOr(p *bool, def bool) bool {
	if p == nil {
		return def
	}
	return *p
}
