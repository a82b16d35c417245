// Package api is the daemon's local HTTP API and its Go client.
//
// The daemon serves the same handler twice: on a unix socket in the node's
// home (mode 0600: the file permission is the authentication) and on a
// loopback TCP port, where every request needs "Authorization: Bearer
// <token>" with the token from the home's api.token file (0600), and a Host
// header naming the loopback address (against DNS rebinding). Requests and
// responses are JSON under /api/v1/; errors are {"error": "...", "code":
// "..."} with a message a person can act on. GET /api/v1/events streams
// events as NDJSON, or as Server-Sent Events when the client accepts
// text/event-stream. docs/API.md lists the endpoints.
package api
