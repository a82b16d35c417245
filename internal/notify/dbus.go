package notify

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/godbus/dbus/v5"
)

// The freedesktop notification service.
const (
	dbusService   = "org.freedesktop.Notifications"
	dbusPath      = "/org/freedesktop/Notifications"
	dbusNotify    = dbusService + ".Notify"
	appName       = "Parley"
	expireDefault = int32(-1) // the server's default timeout
	callTimeout   = 5 * time.Second
)

// DBus raises notifications through org.freedesktop.Notifications on a
// session bus. It connects on first use and again after a failure.
type DBus struct {
	addr string

	mu   sync.Mutex
	conn *dbus.Conn
}

var _ Notifier = (*DBus)(nil)

// NewDBus returns a notifier for the session bus at addr (a D-Bus address
// such as "unix:path=/run/user/1000/bus"). It connects on first use.
func NewDBus(addr string) *DBus { return &DBus{addr: addr} }

// SessionBusAddress is the session bus of env (os.Getenv's shape): its
// DBUS_SESSION_BUS_ADDRESS, else the user bus socket in XDG_RUNTIME_DIR
// when there is one, else "".
func SessionBusAddress(getenv func(string) string) string {
	if a := getenv("DBUS_SESSION_BUS_ADDRESS"); a != "" {
		return a
	}
	if dir := getenv("XDG_RUNTIME_DIR"); dir != "" {
		sock := filepath.Join(dir, "bus")
		if fi, err := os.Stat(sock); err == nil && fi.Mode()&os.ModeSocket != 0 {
			return "unix:path=" + sock
		}
	}
	return ""
}

// Desktop returns the desktop notifier of this session: a D-Bus one when
// a session bus is there, else nil, which it logs once (at Info).
func Desktop(log *slog.Logger) *DBus {
	addr := SessionBusAddress(os.Getenv)
	if addr == "" {
		log.Info("no D-Bus session bus: desktop notifications are off (clients still get notify events)")
		return nil
	}
	return NewDBus(addr)
}

// Notify shows title and body. It waits for the server's answer (at most
// callTimeout), so a missing notification server is an error.
func (d *DBus) Notify(title, body string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.conn == nil {
		conn, err := dbus.Connect(d.addr)
		if err != nil {
			return fmt.Errorf("connect to the session bus: %w", err)
		}
		d.conn = conn
	}
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	obj := d.conn.Object(dbusService, dbusPath)
	call := obj.CallWithContext(ctx, dbusNotify, 0,
		appName, uint32(0), "", title, markupSafe(body), []string{},
		map[string]dbus.Variant{"category": dbus.MakeVariant("im.received")}, expireDefault)
	if call.Err != nil {
		if !d.conn.Connected() {
			_ = d.conn.Close()
			d.conn = nil
		}
		return fmt.Errorf("notify over D-Bus: %w", call.Err)
	}
	return nil
}

// Close drops the connection, if any.
func (d *DBus) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.conn == nil {
		return nil
	}
	err := d.conn.Close()
	d.conn = nil
	return err
}

// markupSafe makes peer text plain for notification servers that read
// body markup: &, < and > are escaped.
func markupSafe(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
