package tui

import (
	"os"
	"strings"
	"sync"

	"github.com/godbus/dbus/v5"
)

// Notifier shows a desktop notification.
type Notifier interface {
	Notify(title, body string)
}

type nopNotifier struct{}

func (nopNotifier) Notify(string, string) {}

// dbusNotifier talks to org.freedesktop.Notifications on the session bus.
type dbusNotifier struct {
	mu   sync.Mutex
	conn *dbus.Conn
}

// DesktopNotifier returns a notifier over D-Bus when a session bus is
// there, and one that does nothing otherwise.
func DesktopNotifier() Notifier {
	if os.Getenv("DBUS_SESSION_BUS_ADDRESS") == "" {
		return nopNotifier{}
	}
	conn, err := dbus.ConnectSessionBus()
	if err != nil {
		return nopNotifier{}
	}
	return &dbusNotifier{conn: conn}
}

func (d *dbusNotifier) Notify(title, body string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	obj := d.conn.Object("org.freedesktop.Notifications", "/org/freedesktop/Notifications")
	// Fire and forget: a missing notification daemon must not stall the UI.
	obj.Go("org.freedesktop.Notifications.Notify", dbus.FlagNoReplyExpected, nil,
		"Parley", uint32(0), "", markupSafe(title), markupSafe(body), []string{}, map[string]dbus.Variant{}, int32(5000))
}

// markupSafe makes peer text plain for notification servers that read
// body markup: control characters go (printable), and &, < and > are
// escaped.
func markupSafe(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(printable(s))
}
