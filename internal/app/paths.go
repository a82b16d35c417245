package app

import (
	"errors"
	"os"
	"path/filepath"
)

// Paths are the files of one node.
type Paths struct {
	Data   string // identity, store, API socket and token
	Config string // config.toml
}

// ResolvePaths picks the node's directories: home if set, else $PARLEY_HOME,
// else the XDG data and config directories (~/.local/share/parley and
// ~/.config/parley).
func ResolvePaths(home string) (Paths, error) {
	if home == "" {
		home = os.Getenv("PARLEY_HOME")
	}
	if home != "" {
		abs, err := filepath.Abs(home)
		if err != nil {
			return Paths{}, err
		}
		return Paths{Data: abs, Config: abs}, nil
	}
	data, config := os.Getenv("XDG_DATA_HOME"), os.Getenv("XDG_CONFIG_HOME")
	if data == "" || config == "" {
		u, err := os.UserHomeDir()
		if err != nil {
			return Paths{}, errors.New("cannot find a home directory: pass --home DIR or set PARLEY_HOME")
		}
		if data == "" {
			data = filepath.Join(u, ".local", "share")
		}
		if config == "" {
			config = filepath.Join(u, ".config")
		}
	}
	return Paths{Data: filepath.Join(data, "parley"), Config: filepath.Join(config, "parley")}, nil
}

// IdentityFile is the node's private key (0600).
func (p Paths) IdentityFile() string { return filepath.Join(p.Data, "identity.key") }

// ConfigFile is the node's TOML config.
func (p Paths) ConfigFile() string { return filepath.Join(p.Config, "config.toml") }

// StoreDir is the Badger directory.
func (p Paths) StoreDir() string { return filepath.Join(p.Data, "store") }

// SearchDir is the search index's directory.
func (p Paths) SearchDir() string { return filepath.Join(p.Data, "search") }

// Socket is the local API's unix socket (0600).
func (p Paths) Socket() string { return filepath.Join(p.Data, "api.sock") }

// TokenFile holds the bearer token of the TCP API (0600).
func (p Paths) TokenFile() string { return filepath.Join(p.Data, "api.token") }

// TokensFile holds the scoped API tokens' hashes (0600; internal/tokens).
func (p Paths) TokensFile() string { return filepath.Join(p.Data, "tokens.json") }

// NotifyFile is where the notification levels and do-not-disturb are kept.
func (p Paths) NotifyFile() string { return filepath.Join(p.Data, "notify.json") }

// HooksFile keeps the webhooks and slash commands with their secrets (0600).
func (p Paths) HooksFile() string { return filepath.Join(p.Data, "hooks.json") }

// OutgoingDir holds the outgoing webhooks' deliveries, one file each.
func (p Paths) OutgoingDir() string { return filepath.Join(p.Data, "outgoing") }
