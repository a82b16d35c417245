package hooks

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// Hook kinds.
const (
	KindSlack    = "slack"    // Slack's incoming-webhook format
	KindGitHub   = "github"   // GitHub's webhooks, X-Hub-Signature-256
	KindGitLab   = "gitlab"   // GitLab's, X-Gitlab-Token
	KindJira     = "jira"     // Jira's signed webhooks
	KindOutgoing = "outgoing" // messages of the conversation POSTed out (Standard Webhooks)
)

// Registry errors.
var (
	ErrExists   = errors.New("already exists")
	ErrNotFound = errors.New("not found")
	ErrInvalid  = errors.New("invalid")
)

// Limits on what a hook or command is made of.
const (
	MaxNameLen     = 80 // bytes of a hook's name (it becomes the app name)
	MaxTriggers    = 16
	MaxTriggerLen  = 64
	MaxCommandLen  = 32 // bytes of a command's name, without the slash
	maxURLLen      = 2048
	maxSecretLen   = 256
	tokenBytes     = 24 // a hook URL's secret: 192 bits
	whsecBytes     = 32 // an outgoing hook's signing secret
	secretHexBytes = 20 // a generated verification secret
)

// Hook is one webhook of this node.
type Hook struct {
	Name         string    `json:"name"`         // unique on this node; the app name its messages show
	Conversation string    `json:"conversation"` // "room:<name>" or "dm:<peer ID>"
	Kind         string    `json:"kind"`         // slack, github, gitlab, jira or outgoing
	Token        string    `json:"token,omitempty"`
	Secret       string    `json:"secret,omitempty"` // github/gitlab/jira: the verification secret; outgoing: whsec_…
	URL          string    `json:"url,omitempty"`    // outgoing: where matching messages are POSTed
	Triggers     []string  `json:"triggers,omitempty"`
	Created      time.Time `json:"created"`
}

// Incoming reports whether the hook receives POSTs (every kind but
// outgoing).
func (h Hook) Incoming() bool { return h.Kind != KindOutgoing }

// Command is one slash command of this node.
type Command struct {
	Name    string    `json:"name"` // with its slash: "/deploy"
	URL     string    `json:"url"`
	Token   string    `json:"token"` // sent as Slack's verification token
	Created time.Time `json:"created"`
}

// registryFile is the file's layout.
type registryFile struct {
	Hooks    []Hook    `json:"hooks"`
	Commands []Command `json:"commands"`
}

// Registry keeps the node's webhooks and slash commands in a JSON file
// (mode 0600: it holds the hooks' secrets), rewritten whole on each
// change through a temporary file and a rename.
type Registry struct {
	file string
	now  func() time.Time

	mu       sync.Mutex
	hooks    []Hook
	commands []Command
}

// OpenRegistry loads the registry kept in file (none yet: empty).
func OpenRegistry(file string, now func() time.Time) (*Registry, error) {
	if now == nil {
		now = time.Now
	}
	r := &Registry{file: file, now: now}
	b, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return r, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read webhooks: %w", err)
	}
	var f registryFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("read webhooks %s: %w", file, err)
	}
	r.hooks, r.commands = f.Hooks, f.Commands
	return r, nil
}

func (r *Registry) save() error {
	b, err := json.MarshalIndent(registryFile{Hooks: nonNil(r.hooks), Commands: nonNil(r.commands)}, "", "  ")
	if err != nil {
		return err
	}
	tmp := r.file + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("write webhooks: %w", err)
	}
	if err := os.Rename(tmp, r.file); err != nil {
		return fmt.Errorf("write webhooks: %w", err)
	}
	return nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// Hooks returns every hook, oldest first.
func (r *Registry) Hooks() []Hook {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.hooks)
}

// Hook returns the hook named name.
func (r *Registry) Hook(name string) (Hook, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	i := slices.IndexFunc(r.hooks, func(h Hook) bool { return h.Name == name })
	if i < 0 {
		return Hook{}, false
	}
	return r.hooks[i], true
}

// ByToken returns the incoming hook whose URL carries token.
func (r *Registry) ByToken(token string) (Hook, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, h := range r.hooks {
		if h.Token != "" && h.Incoming() && subtleEqual(h.Token, token) {
			return h, true
		}
	}
	return Hook{}, false
}

// CreateHook adds a hook. Name, Conversation and Kind are the caller's;
// Secret (github, gitlab, jira) may be given. It makes the URL token of
// an incoming hook, a verification secret for a native receiver given
// none, and the whsec_ signing secret of an outgoing hook.
func (r *Registry) CreateHook(h Hook) (Hook, error) {
	if err := checkName(h.Name); err != nil {
		return Hook{}, err
	}
	if h.Conversation == "" {
		return Hook{}, fmt.Errorf("%w: a hook posts into a conversation", ErrInvalid)
	}
	switch h.Kind {
	case "":
		h.Kind = KindSlack
		fallthrough
	case KindSlack:
		if h.Secret != "" {
			return Hook{}, fmt.Errorf("%w: --secret goes with --github, --gitlab or --jira", ErrInvalid)
		}
	case KindGitHub, KindGitLab, KindJira:
		if len(h.Secret) > maxSecretLen {
			return Hook{}, fmt.Errorf("%w: a secret is at most %d bytes", ErrInvalid, maxSecretLen)
		}
		if h.Secret == "" {
			h.Secret = hex.EncodeToString(random(secretHexBytes))
		}
	case KindOutgoing:
		if h.Secret != "" {
			return Hook{}, fmt.Errorf("%w: an outgoing hook's secret is made for it", ErrInvalid)
		}
		if err := checkURL(h.URL); err != nil {
			return Hook{}, err
		}
		h.Secret = "whsec_" + base64.StdEncoding.EncodeToString(random(whsecBytes))
	default:
		return Hook{}, fmt.Errorf("%w: kind %q: want slack, github, gitlab, jira or outgoing", ErrInvalid, h.Kind)
	}
	if h.Kind != KindOutgoing && (h.URL != "" || len(h.Triggers) > 0) {
		return Hook{}, fmt.Errorf("%w: a URL and triggers go with an outgoing hook", ErrInvalid)
	}
	if len(h.Triggers) > MaxTriggers {
		return Hook{}, fmt.Errorf("%w: at most %d triggers", ErrInvalid, MaxTriggers)
	}
	for _, t := range h.Triggers {
		if strings.TrimSpace(t) == "" || len(t) > MaxTriggerLen || !utf8.ValidString(t) {
			return Hook{}, fmt.Errorf("%w: trigger %q: want 1 to %d bytes of text", ErrInvalid, t, MaxTriggerLen)
		}
	}
	h.Token = ""
	if h.Incoming() {
		h.Token = base64.RawURLEncoding.EncodeToString(random(tokenBytes))
	}
	h.Created = r.now().UTC()
	r.mu.Lock()
	defer r.mu.Unlock()
	if slices.ContainsFunc(r.hooks, func(o Hook) bool { return o.Name == h.Name }) {
		return Hook{}, fmt.Errorf("webhook %q %w: pick another name or delete it first", h.Name, ErrExists)
	}
	r.hooks = append(r.hooks, h)
	if err := r.save(); err != nil {
		r.hooks = r.hooks[:len(r.hooks)-1]
		return Hook{}, err
	}
	return h, nil
}

// DeleteHook removes the hook named name; its URL answers no_service from
// then on.
func (r *Registry) DeleteHook(name string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	i := slices.IndexFunc(r.hooks, func(h Hook) bool { return h.Name == name })
	if i < 0 {
		return fmt.Errorf("webhook %q %w", name, ErrNotFound)
	}
	old := r.hooks
	r.hooks = slices.Delete(slices.Clone(r.hooks), i, i+1)
	if err := r.save(); err != nil {
		r.hooks = old
		return err
	}
	return nil
}

// Commands returns every slash command, oldest first.
func (r *Registry) Commands() []Command {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.commands)
}

// Command returns the command named name ("/deploy" or "deploy").
func (r *Registry) Command(name string) (Command, bool) {
	name = "/" + strings.TrimPrefix(name, "/")
	r.mu.Lock()
	defer r.mu.Unlock()
	i := slices.IndexFunc(r.commands, func(c Command) bool { return c.Name == name })
	if i < 0 {
		return Command{}, false
	}
	return r.commands[i], true
}

// CreateCommand adds a slash command; an empty Token gets a random one.
func (r *Registry) CreateCommand(c Command) (Command, error) {
	c.Name = "/" + strings.TrimPrefix(c.Name, "/")
	if err := checkCommandName(c.Name); err != nil {
		return Command{}, err
	}
	if err := checkURL(c.URL); err != nil {
		return Command{}, err
	}
	if len(c.Token) > maxSecretLen || strings.ContainsFunc(c.Token, unicode.IsSpace) {
		return Command{}, fmt.Errorf("%w: a token is at most %d bytes without spaces", ErrInvalid, maxSecretLen)
	}
	if c.Token == "" {
		c.Token = hex.EncodeToString(random(secretHexBytes))
	}
	c.Created = r.now().UTC()
	r.mu.Lock()
	defer r.mu.Unlock()
	if slices.ContainsFunc(r.commands, func(o Command) bool { return o.Name == c.Name }) {
		return Command{}, fmt.Errorf("command %s %w: pick another name or delete it first", c.Name, ErrExists)
	}
	r.commands = append(r.commands, c)
	if err := r.save(); err != nil {
		r.commands = r.commands[:len(r.commands)-1]
		return Command{}, err
	}
	return c, nil
}

// DeleteCommand removes a slash command ("/deploy" or "deploy").
func (r *Registry) DeleteCommand(name string) error {
	name = "/" + strings.TrimPrefix(name, "/")
	r.mu.Lock()
	defer r.mu.Unlock()
	i := slices.IndexFunc(r.commands, func(c Command) bool { return c.Name == name })
	if i < 0 {
		return fmt.Errorf("command %s %w", name, ErrNotFound)
	}
	old := r.commands
	r.commands = slices.Delete(slices.Clone(r.commands), i, i+1)
	if err := r.save(); err != nil {
		r.commands = old
		return err
	}
	return nil
}

// checkName checks a hook's name: 1 to MaxNameLen bytes of letters,
// digits, spaces and . _ - ( ), not starting or ending with a space.
func checkName(name string) error {
	ok := name != "" && len(name) <= MaxNameLen && utf8.ValidString(name) && strings.TrimSpace(name) == name
	for _, r := range name {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !strings.ContainsRune(" ._-()", r) {
			ok = false
		}
	}
	if !ok {
		return fmt.Errorf("%w: hook name %q: want 1 to %d letters, digits, spaces, '.', '_', '-', '(' and ')'", ErrInvalid, name, MaxNameLen)
	}
	return nil
}

// checkCommandName checks "/name": 1 to MaxCommandLen of a-z, 0-9, '-', '_'.
func checkCommandName(name string) error {
	s := strings.TrimPrefix(name, "/")
	ok := s != "" && len(s) <= MaxCommandLen
	for _, r := range s {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' && r != '_' {
			ok = false
		}
	}
	if !ok {
		return fmt.Errorf("%w: command %q: want /NAME with 1 to %d of a-z, 0-9, '-' and '_'", ErrInvalid, name, MaxCommandLen)
	}
	return nil
}

// checkURL accepts an absolute http or https URL.
func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(s) > maxURLLen {
		return fmt.Errorf("%w: URL %q: want an http:// or https:// address", ErrInvalid, s)
	}
	return nil
}

// random returns n bytes from the system's secure random source.
func random(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (it crashes the program instead)
	return b
}
