// Package tokens keeps the scoped API tokens that scripts and bots use on
// the daemon's loopback TCP API.
//
// A token is "pat_" followed by 256 random bits (base64url, unpadded). It
// is shown once, when it is made; the daemon keeps only its SHA-256 hash,
// with its name, scope and conversations, in a JSON file of its own
// (<home>/tokens.json, mode 0600). A file rather than the Badger store: the
// tokens are the API's business, not the messenger's, they are few, a
// person can read (and delete) the file, and the API can check a token
// without the store.
//
// Scopes: ScopeRead may read (history, messages, search, conversations,
// rooms, members, peers, the event stream, files); ScopeSend may also
// send messages, replies, reactions and files. Either may be limited to
// conversations. What each endpoint demands is the API's to say
// (internal/api); this package stores, checks and revokes.
package tokens

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

// Prefix starts every token, so that one found in a log or a repository
// is recognised for what it is.
const Prefix = "pat_"

// Scope is what a token may do.
type Scope string

// Scopes.
const (
	ScopeRead Scope = "read" // GET the conversations' messages and the event stream
	ScopeSend Scope = "send" // read, and send messages, replies, reactions and files
)

// Allows reports whether a token of scope s may do what need demands.
func (s Scope) Allows(need Scope) bool {
	switch need {
	case ScopeRead:
		return s == ScopeRead || s == ScopeSend
	case ScopeSend:
		return s == ScopeSend
	}
	return false
}

// ParseScope reads "read" or "send".
func ParseScope(s string) (Scope, error) {
	switch Scope(s) {
	case ScopeRead, ScopeSend:
		return Scope(s), nil
	}
	return "", fmt.Errorf("%w: scope %q: want read or send", ErrInvalid, s)
}

// Errors.
var (
	ErrInvalid  = errors.New("invalid token request")
	ErrExists   = errors.New("a token of that name exists")
	ErrNotFound = errors.New("no token of that name")
)

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// Token describes one token (never the secret itself).
type Token struct {
	Name    string    `json:"name"`
	Scope   Scope     `json:"scope"`
	Convs   []string  `json:"convs"` // conversation IDs (room:NAME, dm:PEER); empty: all
	Created time.Time `json:"created"`
	// LastUsed is when the token last authenticated a request (kept to
	// the minute on disk); zero: never.
	LastUsed time.Time `json:"last_used,omitzero"`
}

// Grant is what an accepted token may do, for the request it came with.
type Grant struct {
	Name  string
	Scope Scope
	// Revoked is closed when the token is revoked: a request still being
	// served (an event stream) ends.
	Revoked <-chan struct{}
	convs   map[string]bool
}

// Limited reports whether the grant is limited to some conversations.
func (g *Grant) Limited() bool { return len(g.convs) > 0 }

// AllowsConv reports whether the grant covers the conversation with ID conv.
func (g *Grant) AllowsConv(conv string) bool { return len(g.convs) == 0 || g.convs[conv] }

// Convs are the conversations the grant is limited to (nil: all).
func (g *Grant) Convs() []string {
	if len(g.convs) == 0 {
		return nil
	}
	out := make([]string, 0, len(g.convs))
	for c := range g.convs {
		out = append(out, c)
	}
	slices.Sort(out)
	return out
}

type entry struct {
	Token
	Hash    string `json:"hash"` // hex SHA-256 of the token
	revoked chan struct{}
	saved   time.Time // LastUsed as on disk
}

// file is tokens.json.
type file struct {
	Version int      `json:"version"`
	Tokens  []*entry `json:"tokens"`
}

const fileVersion = 1

// lastUsedEvery is how stale LastUsed may be on disk: a busy bot does not
// rewrite the file on every request.
const lastUsedEvery = time.Minute

// Store keeps the tokens of one node. It is safe for concurrent use.
type Store struct {
	path string
	now  func() time.Time

	mu     sync.Mutex
	byName map[string]*entry
	byHash map[string]*entry
}

// Open reads the tokens in path (a missing file holds none).
func Open(path string, now func() time.Time) (*Store, error) {
	if now == nil {
		now = time.Now
	}
	s := &Store{path: path, now: now, byName: map[string]*entry{}, byHash: map[string]*entry{}}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read tokens: %w", err)
	}
	entries, err := decode(b)
	if err != nil {
		return nil, fmt.Errorf("tokens file %s: %w", path, err)
	}
	for _, e := range entries {
		e.revoked = make(chan struct{})
		e.saved = e.LastUsed
		s.byName[e.Name] = e
		s.byHash[e.Hash] = e
	}
	if err := os.Chmod(path, 0o600); err != nil {
		return nil, fmt.Errorf("restrict tokens file: %w", err)
	}
	return s, nil
}

// decode parses and checks tokens.json.
func decode(b []byte) ([]*entry, error) {
	var f file
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("more after the tokens")
	}
	if f.Version != fileVersion {
		return nil, fmt.Errorf("version %d: want %d", f.Version, fileVersion)
	}
	names, hashes := map[string]bool{}, map[string]bool{}
	for _, e := range f.Tokens {
		if e == nil {
			return nil, errors.New("an empty token entry")
		}
		if !nameRE.MatchString(e.Name) || names[e.Name] {
			return nil, fmt.Errorf("token name %q: bad or repeated", e.Name)
		}
		if _, err := ParseScope(string(e.Scope)); err != nil {
			return nil, fmt.Errorf("token %s: %w", e.Name, err)
		}
		if h, err := hex.DecodeString(e.Hash); err != nil || len(h) != sha256.Size || hex.EncodeToString(h) != e.Hash || hashes[e.Hash] {
			return nil, fmt.Errorf("token %s: bad or repeated hash", e.Name)
		}
		if e.Convs == nil {
			e.Convs = []string{}
		}
		names[e.Name], hashes[e.Hash] = true, true
	}
	return f.Tokens, nil
}

func hashOf(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// Create makes a token and returns it (the only time it is shown) with
// its description. convs are conversation IDs; none: every conversation.
func (s *Store) Create(name string, scope Scope, convs []string) (string, Token, error) {
	if !nameRE.MatchString(name) {
		return "", Token{}, fmt.Errorf("%w: name %q: 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit", ErrInvalid, name)
	}
	if _, err := ParseScope(string(scope)); err != nil {
		return "", Token{}, err
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", Token{}, err
	}
	secret := Prefix + base64.RawURLEncoding.EncodeToString(raw[:])
	cs := slices.Clone(convs)
	slices.Sort(cs)
	cs = slices.Compact(cs)
	if cs == nil {
		cs = []string{}
	}
	e := &entry{
		Token:   Token{Name: name, Scope: scope, Convs: cs, Created: s.now().UTC().Truncate(time.Second)},
		Hash:    hashOf(secret),
		revoked: make(chan struct{}),
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.byName[name]; ok {
		return "", Token{}, fmt.Errorf("%w: %s (revoke it first)", ErrExists, name)
	}
	s.byName[name], s.byHash[e.Hash] = e, e
	if err := s.saveLocked(); err != nil {
		delete(s.byName, name)
		delete(s.byHash, e.Hash)
		return "", Token{}, err
	}
	return secret, e.describe(), nil
}

func (e *entry) describe() Token {
	t := e.Token
	t.Convs = slices.Clone(t.Convs)
	return t
}

// List describes every token, by name.
func (s *Store) List() []Token {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Token, 0, len(s.byName))
	for _, e := range s.byName {
		out = append(out, e.describe())
	}
	slices.SortFunc(out, func(a, b Token) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Revoke deletes the token called name: it is refused from now on, and
// requests it authenticated that are still open see Grant.Revoked closed.
func (s *Store) Revoke(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.byName[name]
	if !ok {
		return fmt.Errorf("%w: %s", ErrNotFound, name)
	}
	delete(s.byName, name)
	delete(s.byHash, e.Hash)
	close(e.revoked)
	// Refused at once even if the file cannot be written; the error says
	// the token would be back after a restart.
	if err := s.saveLocked(); err != nil {
		return fmt.Errorf("token %s is refused until the daemon restarts, but %w", name, err)
	}
	return nil
}

// Check returns the grant of a presented token, or false for a token that
// is not (or no longer) known. It records when the token was used.
func (s *Store) Check(secret string) (*Grant, bool) {
	if !strings.HasPrefix(secret, Prefix) {
		return nil, false
	}
	h := hashOf(secret)
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.byHash[h]
	if !ok {
		return nil, false
	}
	now := s.now().UTC()
	e.LastUsed = now
	if now.Sub(e.saved) >= lastUsedEvery {
		if err := s.saveLocked(); err == nil {
			e.saved = now
		}
	}
	g := &Grant{Name: e.Name, Scope: e.Scope, Revoked: e.revoked}
	if len(e.Convs) > 0 {
		g.convs = make(map[string]bool, len(e.Convs))
		for _, c := range e.Convs {
			g.convs[c] = true
		}
	}
	return g, true
}

// saveLocked writes the file (0600) by renaming a complete copy over it.
func (s *Store) saveLocked() error {
	f := file{Version: fileVersion, Tokens: make([]*entry, 0, len(s.byName))}
	for _, e := range s.byName {
		f.Tokens = append(f.Tokens, e)
	}
	slices.SortFunc(f.Tokens, func(a, b *entry) int { return strings.Compare(a.Name, b.Name) })
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	tmp := s.path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("write tokens: %w", err)
	}
	if err := os.Rename(tmp, s.path); err != nil {
		return fmt.Errorf("write tokens: %w", err)
	}
	return nil
}
