package app

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestLoadConfigMissingFile(t *testing.T) {
	c, err := LoadConfig(filepath.Join(t.TempDir(), "config.toml"))
	if err != nil {
		t.Fatalf("LoadConfig of a missing file: got %v, want nil", err)
	}
	if !reflect.DeepEqual(c, Config{}) {
		t.Errorf("LoadConfig of a missing file: got %+v, want the zero Config", c)
	}
}

func TestLoadConfigRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		text string
	}{
		{"unknown key", "nick = \"alice\"\nnickname = \"bob\"\n"},
		{"unknown table", "nick = \"alice\"\n[extra]\nx = 1\n"},
		{"wrong type", "nick = 3\n"},
		{"list as string", "listen = \"/ip4/127.0.0.1/tcp/1\"\n"},
		{"syntax", "nick = \n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "config.toml")
			if err := os.WriteFile(path, []byte(tc.text), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := LoadConfig(path)
			if err == nil {
				t.Fatalf("LoadConfig(%q): got nil, want an error", tc.text)
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error: got %q, want it to name %s", err, path)
			}
		})
	}
}

func TestLoadConfigRetention(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(path, []byte("nick = \"alice\"\nretention = \"90d\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := LoadConfig(path)
	if err != nil || c.Retention != "90d" {
		t.Errorf("LoadConfig: got %+v, %v; want retention 90d", c, err)
	}
}

func TestLoadConfigUnreadable(t *testing.T) {
	// A directory where the file should be.
	path := filepath.Join(t.TempDir(), "config.toml")
	if err := os.Mkdir(path, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadConfig(path); err == nil {
		t.Fatalf("LoadConfig of a directory: got nil, want an error")
	}
}

func TestConfigRoundTrip(t *testing.T) {
	yes, no := true, false
	for _, tc := range []struct {
		name string
		c    Config
	}{
		{"zero", Config{}},
		{"nick only", Config{Nick: "alice"}},
		{"everything", Config{
			Nick:      "bob.b-2_",
			Listen:    []string{"/ip4/127.0.0.1/tcp/7714", "/ip4/127.0.0.1/udp/7714/quic-v1"},
			Bootstrap: []string{"/ip4/192.0.2.1/tcp/4001/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN"},
			MDNS:      &no,
			DHT:       &yes,
			AutoJoin:  []string{"lobby", "dev"},
			RoomRate:  20.5,
			RoomBurst: 100,
			Retention: "90d",
			APIListen: "127.0.0.1:7715",
			LogLevel:  "debug",
		}},
		{"unicode nick", Config{Nick: "zoë"}},
		{"no rooms", Config{Nick: "alice", AutoJoin: []string{}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "config.toml")
			if err := tc.c.Save(path); err != nil {
				t.Fatalf("Save: %v", err)
			}
			got, err := LoadConfig(path)
			if err != nil {
				t.Fatalf("LoadConfig: %v", err)
			}
			if !reflect.DeepEqual(got, tc.c) {
				t.Errorf("round trip: got %+v, want %+v", got, tc.c)
			}
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if perm := fi.Mode().Perm(); perm != 0o600 {
				t.Errorf("mode: got %#o, want 0600", perm)
			}
			if _, err := os.Stat(path + ".tmp"); !os.IsNotExist(err) {
				t.Errorf("temporary file: got %v, want it gone", err)
			}
		})
	}
}

func TestConfigSaveOmitsUnset(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.toml")
	if err := (Config{Nick: "alice"}).Save(path); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	if !strings.HasPrefix(text, "#") {
		t.Errorf("config: got %q, want it to start with a comment", text)
	}
	for _, key := range []string{"listen", "bootstrap", "mdns", "dht", "auto_join", "room_rate", "room_burst", "retention", "api_listen", "log_level"} {
		if strings.Contains(text, key) {
			t.Errorf("config: got %q, want no %s (unset)", text, key)
		}
	}
}

func TestConfigSaveTightensMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(path, []byte("nick = \"old\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := (Config{Nick: "new"}).Save(path); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("mode after Save over a 0644 file: got %#o, want 0600", perm)
	}
	c, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.Nick != "new" {
		t.Errorf("nick: got %q, want new", c.Nick)
	}
}

func TestConfigSaveMissingDir(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope", "config.toml")
	if err := (Config{Nick: "alice"}).Save(path); err == nil {
		t.Fatalf("Save into a missing directory: got nil, want an error")
	}
}

func TestBoolOr(t *testing.T) {
	yes, no := true, false
	for _, tc := range []struct {
		p    *bool
		def  bool
		want bool
	}{
		{nil, true, true},
		{nil, false, false},
		{&yes, false, true},
		{&no, true, false},
	} {
		if got := boolOr(tc.p, tc.def); got != tc.want {
			t.Errorf("boolOr(%v, %v): got %v, want %v", tc.p, tc.def, got, tc.want)
		}
	}
}
