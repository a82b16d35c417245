// Package api is the daemon's local HTTP API and its Go client.
//
// The API serves a Backend, which *chat.Service implements: the handlers
// add HTTP and JSON and nothing else. New builds a Server on the listeners
// it is given, Run serves them until its context ends, Close stops it.
//
// The daemon serves the same handler twice: on a unix socket in the node's
// home (mode 0600: the file permission is the authentication; the socket
// also serves Go's profiler under /debug/pprof/) and on a loopback TCP
// port, where every request needs "Authorization: Bearer <token>" with the
// token from the home's api.token file (0600), or a browser session made
// by a one-time login link (sessions.go), and a Host header naming the
// loopback address (against DNS rebinding). Requests and responses are
// JSON under /api/v1/; errors are {"error": "...", "code": "..."} with a
// message a person can act on, mapped from chat's sentinel errors in one
// place (errors.go). GET /api/v1/events streams events as NDJSON, or as
// Server-Sent Events when the client accepts text/event-stream.
// docs/API.md lists the endpoints.
//
// Peers, members and message authors come with the display name the
// messenger gives them (chat.Service.DisplayName), so that clients show
// peers who share a nickname apart without a rule of their own.
//
// Files: server.go (lifecycle, routes, guards), node.go (identity, peers,
// connect, nick), safety.go (safety numbers, verifying peers),
// conversations.go (send, history, read, conversations), rooms.go,
// events.go, errors.go, types.go (JSON types), sessions.go, client.go.
package api
