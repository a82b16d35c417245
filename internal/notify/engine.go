package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/internal/lifecycle"
)

// Source is what the engine follows: the chat service.
type Source interface {
	Self() chat.PeerID
	DisplayName(p chat.PeerID) string
	Subscribe() (<-chan chat.Event, func())
}

var _ Source = (*chat.Service)(nil)

// Config configures an Engine. Zero values are documented per field.
type Config struct {
	Source   Source
	Notifier Notifier // the desktop; nil: none (alerts still go to clients)
	// File keeps the levels and do-not-disturb across restarts; "" keeps
	// them in memory only.
	File     string
	Keywords []string      // count as mentions (config notify_keywords)
	MaxAge   time.Duration // 0: DefaultMaxAge; negative: no limit
	Now      func() time.Time
	Logger   *slog.Logger
}

// Engine applies the rules to every message the source reports, raises
// desktop notifications and publishes Alerts. New builds it, Run runs it,
// Close stops it.
type Engine struct {
	cfg  Config
	log  *slog.Logger
	life *lifecycle.Lifetime

	mu     sync.Mutex // guards levels, dnd and the file
	levels map[chat.Conversation]Level
	dnd    DND

	subsMu sync.Mutex
	subs   map[chan Alert]struct{}

	failing bool // the notifier's last call failed (logged once per streak); engine goroutine only
}

// alertBuffer is how many alerts a subscriber may lag behind; later ones
// are dropped for it (a notification is not worth blocking for).
const alertBuffer = 64

// settingsFile is the JSON form of the file.
type settingsFile struct {
	Levels map[chat.Conversation]Level `json:"levels,omitempty"`
	DND    DND                         `json:"dnd"`
}

// New builds an engine and reads its settings file.
func New(cfg Config) (*Engine, error) {
	if cfg.Source == nil {
		return nil, errors.New("notify: no source")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	switch {
	case cfg.MaxAge == 0:
		cfg.MaxAge = DefaultMaxAge
	case cfg.MaxAge < 0:
		cfg.MaxAge = 0
	}
	cfg.Keywords = CleanKeywords(cfg.Keywords)
	e := &Engine{
		cfg: cfg, log: cfg.Logger, life: lifecycle.New(),
		levels: map[chat.Conversation]Level{}, dnd: DND{Mode: DNDOff},
		subs: map[chan Alert]struct{}{},
	}
	if err := e.load(); err != nil {
		return nil, err
	}
	return e, nil
}

func (e *Engine) load() error {
	if e.cfg.File == "" {
		return nil
	}
	b, err := os.ReadFile(e.cfg.File)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read notification settings: %w", err)
	}
	var f settingsFile
	if err := json.Unmarshal(b, &f); err != nil {
		return fmt.Errorf("notification settings %s: %w (fix or remove the file)", e.cfg.File, err)
	}
	for conv, l := range f.Levels {
		if _, err := ParseLevel(string(l)); err != nil || l == LevelDefault || !validConversation(conv) {
			continue // a setting this version does not know: dropped at the next save
		}
		e.levels[conv] = l
	}
	switch f.DND.Mode {
	case DNDOn, DNDUntil:
		e.dnd = f.DND
	}
	return nil
}

// save writes the settings; e.mu is held.
func (e *Engine) save() error {
	if e.cfg.File == "" {
		return nil
	}
	b, err := json.MarshalIndent(settingsFile{Levels: e.levels, DND: e.dnd}, "", "  ")
	if err != nil {
		return err
	}
	tmp := e.cfg.File + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("write notification settings: %w", err)
	}
	if err := os.Rename(tmp, e.cfg.File); err != nil {
		return fmt.Errorf("write notification settings: %w", err)
	}
	return nil
}

func validConversation(c chat.Conversation) bool {
	if room, ok := c.Room(); ok {
		return chat.ValidateRoomName(room) == nil
	}
	_, ok := c.Peer()
	return ok
}

// Settings returns every setting.
func (e *Engine) Settings() Settings {
	e.mu.Lock()
	defer e.mu.Unlock()
	return Settings{
		Levels:   maps.Clone(e.levels),
		DND:      e.dnd,
		Keywords: append([]string(nil), e.cfg.Keywords...),
		Desktop:  e.cfg.Notifier != nil,
	}
}

// Level returns conv's level and whether it is conv's own (not the
// default).
func (e *Engine) Level(conv chat.Conversation) (Level, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	l, own := e.levels[conv]
	if !own {
		l = DefaultLevel(conv)
	}
	return l, own
}

// SetLevel sets conv's level; LevelDefault takes its own level away.
func (e *Engine) SetLevel(conv chat.Conversation, l Level) error {
	if _, err := ParseLevel(string(l)); err != nil {
		return err
	}
	if !validConversation(conv) {
		return fmt.Errorf("%w: no conversation %q", ErrBadLevel, conv)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	old, had := e.levels[conv]
	if l == LevelDefault {
		delete(e.levels, conv)
	} else {
		e.levels[conv] = l
	}
	if err := e.save(); err != nil {
		if had {
			e.levels[conv] = old
		} else {
			delete(e.levels, conv)
		}
		return err
	}
	return nil
}

// SetDND sets do-not-disturb (see ParseDND) and returns the setting.
func (e *Engine) SetDND(mode, until string) (DND, error) {
	d, err := ParseDND(mode, until, e.cfg.Now())
	if err != nil {
		return DND{}, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	old := e.dnd
	e.dnd = d
	if err := e.save(); err != nil {
		e.dnd = old
		return DND{}, err
	}
	return d, nil
}

// DNDActive reports whether do-not-disturb silences notifications now.
func (e *Engine) DNDActive() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.dnd.Active(e.cfg.Now())
}

// Now is the engine's clock.
func (e *Engine) Now() time.Time { return e.cfg.Now() }

// Subscribe returns a channel of the alerts from now on and a function
// that ends the subscription. A subscriber that lags behind misses alerts.
func (e *Engine) Subscribe() (<-chan Alert, func()) {
	ch := make(chan Alert, alertBuffer)
	e.subsMu.Lock()
	e.subs[ch] = struct{}{}
	e.subsMu.Unlock()
	return ch, func() {
		e.subsMu.Lock()
		delete(e.subs, ch)
		e.subsMu.Unlock()
	}
}

func (e *Engine) publish(a Alert) {
	e.subsMu.Lock()
	defer e.subsMu.Unlock()
	for ch := range e.subs {
		select {
		case ch <- a:
		default:
		}
	}
}

// Run follows the source until ctx is cancelled or Close is called.
func (e *Engine) Run(ctx context.Context) error {
	return e.life.Run(ctx, func() error {
		events, cancel := e.cfg.Source.Subscribe()
		e.life.Go(func() { e.follow(events, cancel) })
		return nil
	}, nil)
}

// Close stops the engine. It is idempotent.
func (e *Engine) Close() error {
	e.life.Close(nil)
	return nil
}

func (e *Engine) follow(events <-chan chat.Event, cancel func()) {
	defer func() { cancel() }()
	stopping := e.life.Context().Done()
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				select {
				case <-stopping:
					return
				default:
				}
				// Dropped for lagging behind (or the source stopped):
				// follow again from here.
				e.log.Warn("notifications fell behind the event stream; some messages did not notify")
				cancel()
				events, cancel = e.cfg.Source.Subscribe()
				continue
			}
			if ev.Type == chat.EventMessage && ev.Message != nil {
				e.Handle(ev.Message)
			}
		case <-stopping:
			return
		}
	}
}

// Handle applies the rules to m and, if they say so, publishes an alert
// and notifies the desktop. It reports the decision.
func (e *Engine) Handle(m *chat.Message) Decision {
	now := e.cfg.Now()
	e.mu.Lock()
	rules := Rules{Self: e.cfg.Source.Self(), Levels: e.levels, DND: e.dnd, Keywords: e.cfg.Keywords, MaxAge: e.cfg.MaxAge}
	d := rules.Decide(m, now)
	e.mu.Unlock()
	if !d.Notify {
		e.log.Debug("no notification", "conversation", m.Conversation, "id", m.ID, "why", d.Why)
		return d
	}
	title, body := e.render(m)
	e.publish(Alert{Conversation: m.Conversation, ID: m.ID, Title: title, Body: body, Mention: d.Mention})
	if e.cfg.Notifier == nil {
		return d
	}
	if err := e.cfg.Notifier.Notify(title, body); err != nil {
		if !e.failing {
			e.log.Warn("desktop notification failed", "err", err)
		}
		e.failing = true
	} else {
		e.failing = false
	}
	return d
}

// previewRunes is how much of a message's text a notification shows.
const previewRunes = 140

// render makes a notification of m: who and where, and the start of the
// text.
func (e *Engine) render(m *chat.Message) (title, body string) {
	title = e.cfg.Source.DisplayName(m.Author)
	if room, ok := m.Conversation.Room(); ok {
		where := " in #" + room
		if !m.Thread.IsZero() && !m.AlsoRoom {
			where = " in a thread in #" + room
		}
		title += where
	}
	body = Preview(m.Body, previewRunes)
	if body == "" && len(m.Files) > 0 {
		body = "shared " + m.Files[0].Name
		if len(m.Files) > 1 {
			body += fmt.Sprintf(" and %d more files", len(m.Files)-1)
		}
	}
	return title, body
}

// Preview is text on one line, control characters dropped and runs of
// white space made one space, cut to at most n runes (then ending in "…").
func Preview(text string, n int) string {
	words := strings.FieldsFunc(text, unicode.IsSpace)
	var b strings.Builder
	count := 0
	for i, w := range words {
		if i > 0 {
			if count >= n {
				return b.String() + "…"
			}
			b.WriteByte(' ')
			count++
		}
		for _, r := range w {
			if unicode.IsControl(r) || r == utf8.RuneError {
				continue
			}
			if count >= n {
				return strings.TrimRight(b.String(), " ") + "…"
			}
			b.WriteRune(r)
			count++
		}
	}
	return b.String()
}
