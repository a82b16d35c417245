// Command parley is the Parley messenger: the daemon, its command-line
// client and the interactive chat. See README.md.
//
// cli.go wires the commands; daemon.go runs the node (init, daemon);
// the client commands, built with clientCommand (clientcmd.go), are in
// node.go (id, peers, connect, open), conversations.go (send, history,
// tail), rooms.go (join, leave, rooms, members, retention), verify.go
// (verify) and tokens.go (token create, list, revoke); chat.go opens the
// interactive chat. Peers are shown by the display names the daemon gives
// them.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(report(err, os.Stderr))
}

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// usageError is a mistake in how parley was called (exit 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// runtimeError is a failure while doing what was asked (exit 1).
type runtimeError struct{ err error }

func (e runtimeError) Error() string { return e.err.Error() }
func (e runtimeError) Unwrap() error { return e.err }

// report prints err in one line and returns the exit code.
func report(err error, stderr io.Writer) int {
	if err == nil {
		return exitOK
	}
	msg := strings.ReplaceAll(err.Error(), "\n", " ")
	_, _ = fmt.Fprintf(stderr, "parley: %s\n", msg)
	var re runtimeError
	if errors.As(err, &re) {
		return exitFailure
	}
	return exitUsage
}
