// Package notify decides which messages deserve a desktop notification
// and raises it. The daemon runs an Engine: it follows the chat service's
// events, applies the rules (rules.go) to every message that arrives, and
// for each message the rules pass it calls a Notifier (a D-Bus client of
// org.freedesktop.Notifications on the session bus, dbus.go) and
// publishes an Alert, which the local API streams to clients as a
// "notify" event (the web client turns it into a browser notification).
//
// The rules, in order (docs/NOTIFICATIONS.md has the why):
//
//   - only text messages (chat.KindText) from another peer, sent less
//     than MaxAge before they are seen (history caught up by sync or an
//     outbox after a long absence is counted as unread, not announced);
//   - do-not-disturb (on, or until a local time) silences everything;
//   - the conversation's level: "all", "mentions" or "none"; by default
//     direct conversations are "all" and rooms "mentions";
//   - a message mentions this node when its Mentions hold this node's
//     peer ID, when MentionAll is set (@room, @here), or when its text
//     holds one of the configured keywords as a whole word (any case);
//   - a thread reply that is not also sent to the room notifies only
//     when it mentions this node (whatever the level, unless "none").
//
// The levels and do-not-disturb are kept in a small JSON file in the
// node's data directory (notify.json), written atomically on each change.
// Nothing here logs a message's text: the notification is the only place
// it goes.
package notify
