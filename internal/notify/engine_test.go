package notify

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/internal/notify/notifytest"
)

// fakeSource is a chat service as the engine sees it.
type fakeSource struct {
	events chan chat.Event
}

func newFakeSource() *fakeSource { return &fakeSource{events: make(chan chat.Event, 16)} }

func (f *fakeSource) Self() chat.PeerID { return me }
func (f *fakeSource) DisplayName(p chat.PeerID) string {
	switch p {
	case alice:
		return "alice"
	case bob:
		return "bob <b>"
	}
	return p.Short()
}
func (f *fakeSource) Subscribe() (<-chan chat.Event, func()) { return f.events, func() {} }

// fakeNotifier records what it is asked to show.
type fakeNotifier struct {
	mu    sync.Mutex
	calls [][2]string
	err   error
}

func (f *fakeNotifier) Notify(title, body string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, [2]string{title, body})
	return f.err
}

func (f *fakeNotifier) got() [][2]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([][2]string(nil), f.calls...)
}

func newEngine(t *testing.T, cfg Config) *Engine {
	t.Helper()
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return noon }
	}
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	return e
}

func TestEngineFollowsEvents(t *testing.T) {
	src := newFakeSource()
	n := &fakeNotifier{}
	e := newEngine(t, Config{Source: src, Notifier: n, Keywords: []string{"deploy", " ", "DEPLOY"}})
	alerts, cancel := e.Subscribe()
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- e.Run(t.Context()) }()

	quiet := roomMsg("general", alice, "nothing to see")
	quiet.ID = chat.MessageID{1}
	loud := roomMsg("general", bob, "the deploy is <done> & dusted")
	loud.ID = chat.MessageID{2}
	src.events <- chat.Event{Type: chat.EventPeer}
	src.events <- chat.Event{Type: chat.EventMessage, Message: quiet}
	src.events <- chat.Event{Type: chat.EventMessage, Message: loud}

	// Events are handled in order: the first alert is for loud.
	select {
	case a := <-alerts:
		want := Alert{Conversation: loud.Conversation, ID: loud.ID, Title: "bob <b> in #general", Body: "the deploy is <done> & dusted", Mention: true}
		if a != want {
			t.Errorf("alert: got %+v, want %+v", a, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no alert")
	}
	if got := n.got(); len(got) != 1 || got[0] != [2]string{"bob <b> in #general", "the deploy is <done> & dusted"} {
		t.Errorf("desktop: got %q, want one notification for the deploy", got)
	}
	if s := e.Settings(); len(s.Keywords) != 1 || s.Keywords[0] != "deploy" || !s.Desktop {
		t.Errorf("settings: got %+v", s)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Errorf("Run: %v", err)
	}
}

func TestEngineSettingsPersist(t *testing.T) {
	file := filepath.Join(t.TempDir(), "notify.json")
	now := time.Date(2026, 3, 10, 23, 0, 0, 0, zone)
	clock := func() time.Time { return now }
	src := newFakeSource()
	n := &fakeNotifier{}
	e := newEngine(t, Config{Source: src, Notifier: n, File: file, Now: clock})
	general := chat.RoomConversation("general")
	if err := e.SetLevel(general, LevelAll); err != nil {
		t.Fatal(err)
	}
	if err := e.SetLevel(chat.DMConversation(alice), LevelNone); err != nil {
		t.Fatal(err)
	}
	if err := e.SetLevel(chat.DMConversation(alice), "loud"); !errors.Is(err, ErrBadLevel) {
		t.Errorf("bad level: got %v, want ErrBadLevel", err)
	}
	if err := e.SetLevel("nonsense", LevelAll); !errors.Is(err, ErrBadLevel) {
		t.Errorf("bad conversation: got %v, want ErrBadLevel", err)
	}
	d, err := e.SetDND("until", "01:30")
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 3, 11, 1, 30, 0, 0, zone); !d.Until.Equal(want) {
		t.Errorf("DND until: got %v, want %v", d.Until, want)
	}
	if _, err := e.SetDND("until", "25:00"); !errors.Is(err, ErrBadDND) {
		t.Errorf("bad time: got %v, want ErrBadDND", err)
	}

	// A restart keeps them.
	_ = e.Close()
	e2 := newEngine(t, Config{Source: src, Notifier: n, File: file, Now: clock})
	s := e2.Settings()
	if s.Levels[general] != LevelAll || s.Levels[chat.DMConversation(alice)] != LevelNone || len(s.Levels) != 2 {
		t.Errorf("levels after restart: got %v", s.Levels)
	}
	if s.DND.Mode != DNDUntil || !s.DND.Until.Equal(d.Until) {
		t.Errorf("DND after restart: got %+v, want %+v", s.DND, d)
	}

	// Do-not-disturb holds past midnight and ends at 01:30.
	msg := roomMsg("general", alice, "late")
	for _, tc := range []struct {
		at   time.Time
		want bool
	}{
		{time.Date(2026, 3, 11, 0, 30, 0, 0, zone), false},
		{time.Date(2026, 3, 11, 1, 29, 59, 0, zone), false},
		{time.Date(2026, 3, 11, 1, 30, 0, 0, zone), true},
	} {
		now = tc.at
		msg.HLC = chat.HLCFromTime(tc.at)
		if d := e2.Handle(msg); d.Notify != tc.want {
			t.Errorf("at %v: notify %v (%s), want %v", tc.at, d.Notify, d.Why, tc.want)
		}
	}
	if got := len(n.got()); got != 1 {
		t.Errorf("desktop notifications: got %d, want 1", got)
	}

	// default takes the level away; off ends do-not-disturb.
	if err := e2.SetLevel(general, LevelDefault); err != nil {
		t.Fatal(err)
	}
	if _, err := e2.SetDND("off", ""); err != nil {
		t.Fatal(err)
	}
	_ = e2.Close()
	e3 := newEngine(t, Config{Source: src, File: file, Now: clock})
	if s := e3.Settings(); len(s.Levels) != 1 || s.DND.Mode != DNDOff || s.Desktop {
		t.Errorf("after reset: got %+v", s)
	}
	if l, own := e3.Level(general); l != LevelMentions || own {
		t.Errorf("general: got %v (own %v), want the default mentions", l, own)
	}
}

func TestEngineBadFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "notify.json")
	if err := writeFile(file, "{not json"); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Config{Source: newFakeSource(), File: file}); err == nil || !strings.Contains(err.Error(), file) {
		t.Errorf("broken file: got %v, want an error naming it", err)
	}
}

func TestEngineNotifierFailureKeepsGoing(t *testing.T) {
	n := &fakeNotifier{err: errors.New("no server")}
	e := newEngine(t, Config{Source: newFakeSource(), Notifier: n})
	alerts, cancel := e.Subscribe()
	defer cancel()
	for range 3 {
		if d := e.Handle(dmFrom(alice, "hi")); !d.Notify {
			t.Fatalf("not notified: %s", d.Why)
		}
	}
	if len(alerts) != 3 || len(n.got()) != 3 {
		t.Errorf("got %d alerts, %d desktop calls; want 3 and 3", len(alerts), len(n.got()))
	}
}

// TestDBusNotifier sends a notification over a real session bus to a fake
// notification server.
func TestDBusNotifier(t *testing.T) {
	addr := notifytest.StartSessionBus(t)
	srv := notifytest.Serve(t, addr)
	d := NewDBus(addr)
	t.Cleanup(func() { _ = d.Close() })
	e := newEngine(t, Config{Source: newFakeSource(), Notifier: d})
	m := dmFrom(bob, "a <b>bold</b> & plain\nsecond line")
	if dec := e.Handle(m); !dec.Notify {
		t.Fatalf("not notified: %s", dec.Why)
	}
	c := srv.Next(t, 10*time.Second)
	if c.App != "Parley" || c.Summary != "bob <b>" || c.Body != "a &lt;b&gt;bold&lt;/b&gt; &amp; plain second line" {
		t.Errorf("D-Bus call: got %+v", c)
	}
	if got := c.Hints["category"].Value(); got != "im.received" {
		t.Errorf("category hint: got %v", got)
	}

	// Without a bus the notifier reports an error.
	d2 := NewDBus("unix:path=" + filepath.Join(t.TempDir(), "nobus"))
	if err := d2.Notify("t", "b"); err == nil {
		t.Error("no bus: no error")
	}
}

func TestSessionBusAddress(t *testing.T) {
	env := map[string]string{"DBUS_SESSION_BUS_ADDRESS": "unix:path=/x"}
	if got := SessionBusAddress(func(k string) string { return env[k] }); got != "unix:path=/x" {
		t.Errorf("got %q", got)
	}
	env = map[string]string{"XDG_RUNTIME_DIR": t.TempDir()}
	if got := SessionBusAddress(func(k string) string { return env[k] }); got != "" {
		t.Errorf("no bus socket: got %q, want none", got)
	}
}

func writeFile(path, s string) error { return os.WriteFile(path, []byte(s), 0o600) }
