package hooks

import "net/http"

// Receiver is a native receiver for one tool's own webhook format
// (GitHub, GitLab, Jira): it checks that a POST comes from the tool and
// turns the event into a Payload, so it is rendered like any Slack-format
// hook message.
type Receiver interface {
	// Verify checks the request's signature or token against the hook's
	// secret. An error means 401 and nothing posted.
	Verify(h http.Header, body []byte, secret string) error
	// Payload turns the event into a short, readable, linked message. An
	// event it does not know becomes a one-line summary, never an error;
	// an error means the body is not the tool's JSON at all (400).
	Payload(h http.Header, body []byte) (Payload, error)
}

// receivers maps a hook kind ("github", "gitlab", "jira") to its native
// receiver; each tool's file adds itself from an init function.
var receivers = map[string]Receiver{}

// ReceiverFor is the native receiver of kind, or nil when there is none
// (a Slack-format hook).
func ReceiverFor(kind string) Receiver { return receivers[kind] }
