package app

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestResolvePaths(t *testing.T) {
	root := t.TempDir()
	abs := func(p string) string {
		t.Helper()
		a, err := filepath.Abs(p)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	in := func(parts ...string) string { return filepath.Join(append([]string{root}, parts...)...) }
	everything := map[string]string{"PARLEY_HOME": in("env"), "XDG_DATA_HOME": in("xd"), "XDG_CONFIG_HOME": in("xc"), "HOME": in("h")}
	for _, tc := range []struct {
		name       string
		flag       string
		env        map[string]string // variables not here are set to ""
		wantData   string
		wantConfig string
		wantErr    string
	}{
		{
			name: "flag beats everything", flag: in("flag"), env: everything,
			wantData: in("flag"), wantConfig: in("flag"),
		},
		{
			name: "relative flag is made absolute", flag: "rel/home", env: everything,
			wantData: abs("rel/home"), wantConfig: abs("rel/home"),
		},
		{
			name: "PARLEY_HOME beats XDG", env: everything,
			wantData: in("env"), wantConfig: in("env"),
		},
		{
			name: "relative PARLEY_HOME is made absolute", env: map[string]string{"PARLEY_HOME": "relenv", "HOME": in("h")},
			wantData: abs("relenv"), wantConfig: abs("relenv"),
		},
		{
			name: "XDG beats HOME", env: map[string]string{"XDG_DATA_HOME": in("xd"), "XDG_CONFIG_HOME": in("xc"), "HOME": in("h")},
			wantData: in("xd", "parley"), wantConfig: in("xc", "parley"),
		},
		{
			name: "XDG needs no HOME", env: map[string]string{"XDG_DATA_HOME": in("xd"), "XDG_CONFIG_HOME": in("xc")},
			wantData: in("xd", "parley"), wantConfig: in("xc", "parley"),
		},
		{
			name: "only XDG_DATA_HOME", env: map[string]string{"XDG_DATA_HOME": in("xd"), "HOME": in("h")},
			wantData: in("xd", "parley"), wantConfig: in("h", ".config", "parley"),
		},
		{
			name: "only XDG_CONFIG_HOME", env: map[string]string{"XDG_CONFIG_HOME": in("xc"), "HOME": in("h")},
			wantData: in("h", ".local", "share", "parley"), wantConfig: in("xc", "parley"),
		},
		{
			name: "HOME defaults", env: map[string]string{"HOME": in("h")},
			wantData: in("h", ".local", "share", "parley"), wantConfig: in("h", ".config", "parley"),
		},
		{
			name: "nothing to go on", env: map[string]string{},
			wantErr: "--home",
		},
		{
			name: "flag without HOME", flag: in("flag"), env: map[string]string{},
			wantData: in("flag"), wantConfig: in("flag"),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range []string{"PARLEY_HOME", "XDG_DATA_HOME", "XDG_CONFIG_HOME", "HOME"} {
				t.Setenv(k, tc.env[k])
			}
			p, err := ResolvePaths(tc.flag)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ResolvePaths: got %+v, %v; want an error mentioning %q", p, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ResolvePaths: %v", err)
			}
			if p.Data != tc.wantData || p.Config != tc.wantConfig {
				t.Errorf("ResolvePaths: got {Data: %s, Config: %s}, want {Data: %s, Config: %s}", p.Data, p.Config, tc.wantData, tc.wantConfig)
			}
		})
	}
}

func TestPathsFiles(t *testing.T) {
	p := Paths{Data: "/d", Config: "/c"}
	for _, tc := range []struct{ name, got, want string }{
		{"IdentityFile", p.IdentityFile(), "/d/identity.key"},
		{"ConfigFile", p.ConfigFile(), "/c/config.toml"},
		{"StoreDir", p.StoreDir(), "/d/store"},
		{"Socket", p.Socket(), "/d/api.sock"},
		{"TokenFile", p.TokenFile(), "/d/api.token"},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: got %s, want %s", tc.name, tc.got, tc.want)
		}
	}
}
