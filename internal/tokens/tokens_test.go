package tokens

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func openTemp(t *testing.T, now func() time.Time) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tokens.json")
	s, err := Open(path, now)
	if err != nil {
		t.Fatal(err)
	}
	return s, path
}

func TestCreateCheckRevoke(t *testing.T) {
	s, path := openTemp(t, nil)
	secret, tok, err := s.Create("ci-bot", ScopeSend, []string{"room:team", "room:team", "dm:x"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(secret, Prefix) || len(secret) != len(Prefix)+43 {
		t.Errorf("token %q: want %s and 43 base64url characters (256 bits)", secret, Prefix)
	}
	if got := strings.Join(tok.Convs, ","); got != "dm:x,room:team" {
		t.Errorf("convs: got %s, want dm:x,room:team (sorted, once each)", got)
	}
	g, ok := s.Check(secret)
	if !ok || g.Name != "ci-bot" || g.Scope != ScopeSend || !g.Limited() {
		t.Fatalf("check: got %+v %v", g, ok)
	}
	if !g.AllowsConv("room:team") || g.AllowsConv("room:other") {
		t.Error("grant: want room:team allowed and room:other not")
	}
	for _, bad := range []string{"", secret + "x", secret[:len(secret)-1], strings.TrimPrefix(secret, Prefix), "pat_"} {
		if _, ok := s.Check(bad); ok {
			t.Errorf("check %q: accepted", bad)
		}
	}

	// Only the hash is on disk, mode 0600.
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), strings.TrimPrefix(secret, Prefix)) {
		t.Error("tokens.json holds the token itself")
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("tokens.json mode: got %o, want 600", fi.Mode().Perm())
	}

	if err := s.Revoke("ci-bot"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-g.Revoked:
	default:
		t.Error("revoking did not close the grant's Revoked channel")
	}
	if _, ok := s.Check(secret); ok {
		t.Error("a revoked token is still accepted")
	}
	if err := s.Revoke("ci-bot"); err == nil {
		t.Error("revoking twice: no error")
	}
}

func TestReopenKeepsTokens(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	clock := func() time.Time { return now }
	s, path := openTemp(t, clock)
	readSecret, _, err := s.Create("reader", ScopeRead, nil)
	if err != nil {
		t.Fatal(err)
	}
	sendSecret, _, err := s.Create("sender", ScopeSend, []string{"room:a"})
	if err != nil {
		t.Fatal(err)
	}
	now = now.Add(2 * time.Minute)
	if _, ok := s.Check(readSecret); !ok {
		t.Fatal("reader refused")
	}
	if err := s.Revoke("sender"); err != nil {
		t.Fatal(err)
	}

	s2, err := Open(path, clock)
	if err != nil {
		t.Fatal(err)
	}
	list := s2.List()
	if len(list) != 1 || list[0].Name != "reader" || list[0].Scope != ScopeRead || len(list[0].Convs) != 0 {
		t.Fatalf("after reopen: got %+v, want the reader alone", list)
	}
	if !list[0].LastUsed.Equal(now) {
		t.Errorf("last used: got %v, want %v", list[0].LastUsed, now)
	}
	if _, ok := s2.Check(readSecret); !ok {
		t.Error("reader refused after reopen")
	}
	if _, ok := s2.Check(sendSecret); ok {
		t.Error("revoked sender accepted after reopen")
	}
}

func TestCreateRefuses(t *testing.T) {
	s, _ := openTemp(t, nil)
	if _, _, err := s.Create("bot", ScopeRead, nil); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		scope Scope
	}{
		{"bot", ScopeRead},                   // exists
		{"", ScopeRead},                      // no name
		{"has space", ScopeRead},             // bad name
		{strings.Repeat("x", 65), ScopeRead}, // too long
		{"admin", Scope("admin")},            // bad scope
		{"-leading-dash", ScopeSend},         // must start with a letter or digit
	} {
		if _, _, err := s.Create(tc.name, tc.scope, nil); err == nil {
			t.Errorf("create %q scope %q: no error", tc.name, tc.scope)
		}
	}
	if n := len(s.List()); n != 1 {
		t.Errorf("tokens after refusals: got %d, want 1", n)
	}
}

func TestScopeAllows(t *testing.T) {
	for _, tc := range []struct {
		have, need Scope
		want       bool
	}{
		{ScopeRead, ScopeRead, true},
		{ScopeRead, ScopeSend, false},
		{ScopeSend, ScopeRead, true},
		{ScopeSend, ScopeSend, true},
		{ScopeSend, Scope("admin"), false},
	} {
		if got := tc.have.Allows(tc.need); got != tc.want {
			t.Errorf("%s allows %s: got %v, want %v", tc.have, tc.need, got, tc.want)
		}
	}
}

func TestOpenRejectsBrokenFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens.json")
	for _, body := range []string{
		`{`,
		`{"version":2,"tokens":[]}`,
		`{"version":1,"tokens":[{"name":"a","scope":"root","convs":[],"created":"2026-01-01T00:00:00Z","hash":"` + strings.Repeat("0", 64) + `"}]}`,
		`{"version":1,"tokens":[{"name":"a","scope":"read","convs":[],"created":"2026-01-01T00:00:00Z","hash":"abc"}]}`,
		`{"version":1,"tokens":[null]}`,
		`{"version":1,"extra":1}`,
		`{"version":1,"tokens":[]}{}`,
		`{"version":1,"tokens":[{"name":"a","scope":"read","convs":[],"created":"2026-01-01T00:00:00Z","hash":"` + strings.Repeat("AB", 32) + `"}]}`,
	} {
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := Open(path, nil); err == nil {
			t.Errorf("open %s: no error", body)
		}
	}
}

// FuzzDecode feeds tokens.json's decoder arbitrary bytes: it must never
// panic, and what it accepts must survive a write and a read unchanged.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"version":1,"tokens":[]}`))
	f.Add([]byte(`{"version":1,"tokens":[{"name":"a","scope":"read","convs":["room:x"],"created":"2026-01-01T00:00:00Z","hash":"` + strings.Repeat("ab", 32) + `"}]}`))
	f.Add([]byte(`{"version":1,"tokens":[{"name":"a","scope":"send","convs":null,"created":"2026-01-01T00:00:00Z","last_used":"2026-01-02T00:00:00Z","hash":"` + strings.Repeat("cd", 32) + `"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		entries, err := decode(b)
		if err != nil {
			return
		}
		path := filepath.Join(t.TempDir(), "tokens.json")
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := Open(path, nil)
		if err != nil {
			t.Fatalf("decode accepted what Open refuses: %v", err)
		}
		s.mu.Lock()
		err = s.saveLocked()
		s.mu.Unlock()
		if err != nil {
			t.Fatal(err)
		}
		again, err := Open(path, nil)
		if err != nil {
			t.Fatalf("reopen what was saved: %v", err)
		}
		if got := len(again.List()); got != len(entries) {
			t.Fatalf("tokens after a round trip: got %d, want %d", got, len(entries))
		}
	})
}
