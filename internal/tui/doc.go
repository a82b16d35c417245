// Package tui is Parley's terminal client, built on Bubble Tea v2. It
// talks to a node only through the local API (a Backend, which
// api.Client implements): the same whether it attached to a running
// daemon or the command started an embedded node for it.
//
// Layout: a sidebar of rooms and direct conversations with unread counts,
// the timeline of the open conversation (day separators, times, coloured
// nicks, delivery ticks on direct messages, join/leave lines), a members
// pane when the terminal is wide enough, the composer and a status bar.
// API calls run as commands, never in Update, so loading history never
// blocks typing.
package tui
