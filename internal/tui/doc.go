// Package tui is Parley's terminal client, built on Bubble Tea v2. It
// talks to a node only through the local API (a Backend, which
// api.Client implements): the same whether it attached to a running
// daemon or the command started an embedded node for it.
//
// Layout: a sidebar of rooms (a private one marked 🔒, or [p] with ASCII
// marks; one this node was removed from marked so) and direct
// conversations with unread counts,
// the timeline of the open conversation (day separators, times, coloured
// nicks, delivery ticks on direct messages, join/leave lines, a line per
// shared file with its size and state; a private room's membership
// operations and anything else not text stay hidden), a members pane when
// the terminal is wide enough (★ or (admin) after a private room's
// admins), the composer and a status bar.
// API calls run as commands (Model.ask), never in Update, so loading
// history never blocks typing; what they return comes back to Update as a
// message.
//
// One concern a file:
//
//   - model.go: Options, the Model's state, New and Init.
//   - update.go: the messages Update receives, Update and the keys.
//   - backend.go: the Backend interface and ask, which runs one call.
//   - conversations.go: opening and switching conversations, the
//     conversation list, members, marking read, leaving a room.
//   - history.go: loaded timelines, their pages and scrolling back.
//   - events.go: the node's event stream (EventMsg, EventsDone), resync
//     after it reopens, alerts and mentions.
//   - composer.go: the text area, sending what is written.
//   - typing.go: telling a room we type, showing who else does.
//   - commands.go: slash commands and the help (scrolled with PgUp/PgDn
//     when longer than the screen); complete.go: Tab completion (of
//     commands' --flags too); names.go: how peers and conversations are named (by
//     the display names the node gives: "nick (SHORTID)" while a nickname
//     is shared, ✓ after a verified peer).
//   - safety.go: the safety-number screen (/verify): the number, its QR
//     code, and y to mark the peer verified.
//   - private.go: private rooms: /create, /join by invite link, /remove,
//     /promote, /members, and how rooms and members are marked.
//   - invite.go: the invite panel (/invite): the link on lines of its own
//     across the whole width, c to copy it (OSC 52), its QR code.
//   - qr.go: a QR code and a text laid out beside it (or under it), for
//     the safety-number screen and the invite panel.
//   - view.go: the frame, sidebar, members pane and status bar;
//     view_timeline.go: the timeline's lines (rendered from the newest up,
//     only as many as the screen shows, each message's kept in a cache);
//     view_app.go: app (webhook) messages with their Slack formatting:
//     the app's name marked [app], mrkdwn styled, attachments behind a
//     bar in their colour, blocks; every payload string cleaned of escape
//     sequences first; theme.go: the styles.
//   - files.go: a message's file lines (remote, downloading with a bar
//     driven by file.progress events, complete with where it was saved,
//     failed with why) and the file events; share.go: /share, its
//     shell-like words and Tab completion of paths; transfer.go: /get
//     (a fetch as a command, off the update loop) and /open; opener.go:
//     the desktop's opener, started detached, never through a shell.
//   - refs.go: how commands name a message: a number shown in place of
//     the time while /reply, /thread, /edit, /delete or /react is typed
//     (frozen while it is), or the start of its ID (as /get takes it).
//   - relations.go: /reply, /edit, /delete, /react; an edit, delete or
//     reaction event fetches its target anew (never a line of its own);
//     quotes, reactions, reply counts and mentions as they render.
//   - thread.go: the thread view (/thread, /also, Esc): the newest page
//     of replies, older pages loaded when scrolled up past the top; a
//     thread reply not sent to the room shows only there, and its root
//     is fetched anew for its count. search.go: /search, its results, and the jump
//     to a hit (older pages loaded until it is there, marked ◀).
//   - run.go: Run, the program with the event stream fed into it;
//     notify.go: desktop notifications.
package tui
