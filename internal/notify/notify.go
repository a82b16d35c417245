package notify

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/parley-chat/parley/chat"
)

// Notifier shows a desktop notification.
type Notifier interface {
	Notify(title, body string) error
}

// Level says which messages of a conversation notify.
type Level string

// Levels. LevelDefault is no setting of its own: the conversation follows
// the default for its kind (DefaultDirect, DefaultRoom).
const (
	LevelAll      Level = "all"
	LevelMentions Level = "mentions"
	LevelNone     Level = "none"
	LevelDefault  Level = "default"
)

// The defaults: every direct message, and mentions in rooms.
const (
	DefaultDirect = LevelAll
	DefaultRoom   = LevelMentions
)

// ErrBadLevel and ErrBadDND report a setting that is not one.
var (
	ErrBadLevel = errors.New("bad notification level")
	ErrBadDND   = errors.New("bad do-not-disturb setting")
)

// ParseLevel reads "all", "mentions", "none" or "default".
func ParseLevel(s string) (Level, error) {
	switch l := Level(strings.ToLower(strings.TrimSpace(s))); l {
	case LevelAll, LevelMentions, LevelNone, LevelDefault:
		return l, nil
	}
	return "", fmt.Errorf("%w %q: use all, mentions, none or default", ErrBadLevel, s)
}

// DefaultLevel is the level of conv when none is set.
func DefaultLevel(conv chat.Conversation) Level {
	if _, ok := conv.Room(); ok {
		return DefaultRoom
	}
	return DefaultDirect
}

// DNDMode is do-not-disturb's setting.
type DNDMode string

// Do-not-disturb modes: off, on until turned off, on until a time.
const (
	DNDOff   DNDMode = "off"
	DNDOn    DNDMode = "on"
	DNDUntil DNDMode = "until"
)

// DND is the do-not-disturb setting. Until is set for DNDUntil.
type DND struct {
	Mode  DNDMode   `json:"mode"`
	Until time.Time `json:"until,omitzero"`
}

// Active reports whether d silences notifications at now.
func (d DND) Active(now time.Time) bool {
	switch d.Mode {
	case DNDOn:
		return true
	case DNDUntil:
		return now.Before(d.Until)
	}
	return false
}

// ParseDND reads a do-not-disturb setting: mode "on", "off", or "until"
// with until a local time "HH:MM" (24-hour clock). The time is the next
// one at or after now's minute: at 23:00, "until 07:30" means tomorrow
// morning, "until 23:30" tonight; a time equal to now's means tomorrow.
// The answer holds the absolute time, in now's location.
func ParseDND(mode, until string, now time.Time) (DND, error) {
	switch DNDMode(strings.ToLower(strings.TrimSpace(mode))) {
	case DNDOn:
		return DND{Mode: DNDOn}, nil
	case DNDOff:
		return DND{Mode: DNDOff}, nil
	case DNDUntil:
		h, m, err := parseClock(until)
		if err != nil {
			return DND{}, err
		}
		t := time.Date(now.Year(), now.Month(), now.Day(), h, m, 0, 0, now.Location())
		if !t.After(now) {
			t = time.Date(now.Year(), now.Month(), now.Day()+1, h, m, 0, 0, now.Location())
		}
		return DND{Mode: DNDUntil, Until: t}, nil
	}
	return DND{}, fmt.Errorf("%w: mode %q: use on, off or until HH:MM", ErrBadDND, mode)
}

// parseClock reads "HH:MM" (or "H:MM").
func parseClock(s string) (hour, minute int, err error) {
	hs, ms, ok := strings.Cut(strings.TrimSpace(s), ":")
	bad := fmt.Errorf("%w: time %q: use HH:MM, 00:00 to 23:59", ErrBadDND, s)
	if !ok || len(hs) < 1 || len(hs) > 2 || len(ms) != 2 {
		return 0, 0, bad
	}
	hour, err1 := strconv.Atoi(hs)
	minute, err2 := strconv.Atoi(ms)
	if err1 != nil || err2 != nil || hour < 0 || hour > 23 || minute < 0 || minute > 59 || hs[0] == '+' || hs[0] == '-' {
		return 0, 0, bad
	}
	return hour, minute, nil
}

// ValidClock reports whether s is a time "HH:MM" ParseDND accepts.
func ValidClock(s string) error {
	_, _, err := parseClock(s)
	return err
}

// Alert is one notification the rules passed: what the daemon showed
// (or would have shown, without a desktop), for clients to show too.
type Alert struct {
	Conversation chat.Conversation
	ID           chat.MessageID
	Title        string
	Body         string
	Mention      bool // the message mentions this node (peer, @room/@here or a keyword)
}

// Settings is every setting of the rules.
type Settings struct {
	Levels   map[chat.Conversation]Level // conversations with a level of their own
	DND      DND
	Keywords []string
	Desktop  bool // a desktop notifier is there (a session bus)
}
