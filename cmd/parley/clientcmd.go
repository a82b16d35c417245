package main

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/internal/api"
)

// clientCmd is the shape most client commands share: check the arguments,
// ask the daemon one thing, print the answer.
type clientCmd[T any] struct {
	use, short string
	args       cobra.PositionalArgs
	// before, if set, runs before the daemon is asked: argument checks
	// (a usage error), reading input.
	before func(args []string) error
	// call asks the daemon; an error from it goes through cli.fail.
	call func(cl *api.Client, args []string) (T, error)
	// print writes the answer for a person.
	print func(cl *api.Client, v T) error
	// json adds --json: the answer as one JSON line instead.
	json bool
}

// clientCommand builds the cobra command for cc.
func clientCommand[T any](c *cli, cc clientCmd[T]) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   cc.use,
		Short: cc.short,
		Args:  cc.args,
		RunE: func(_ *cobra.Command, args []string) error {
			if cc.before != nil {
				if err := cc.before(args); err != nil {
					return err
				}
			}
			cl, err := c.client()
			if err != nil {
				return err
			}
			v, err := cc.call(cl, args)
			if err != nil {
				return c.fail(err)
			}
			if asJSON {
				return c.writeJSON(v)
			}
			return cc.print(cl, v)
		},
	}
	if cc.json {
		cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	}
	return cmd
}

// roomName rejects a first argument that is no room name.
func roomName(args []string) error {
	if _, err := chat.ParseRoom(args[0]); err != nil {
		return usageError{err}
	}
	return nil
}

func (c *cli) writeJSON(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return runtimeError{err}
	}
	printJSONLine(c.stdout, string(b))
	return nil
}

// nonNil makes a nil list an empty one, so that it prints as [] in JSON.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// table starts a table on stdout with its header line (columns apart by
// tabs); Flush prints it.
func (c *cli) table(header string) *tabwriter.Writer {
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	_, _ = fmt.Fprintln(tw, header)
	return tw
}

// presence is a line of the peers and members tables.
type presence struct {
	name, peerID string // name: the display name the daemon gives
	online       bool
	lastSeen     *time.Time
}

// presenceTable prints peers or room members: who, online or not, and
// when last seen.
func (c *cli) presenceTable(rows []presence) error {
	tw := c.table("NAME\tPEER ID\tSTATE\tLAST SEEN")
	for _, r := range rows {
		seen := "-"
		if r.lastSeen != nil {
			seen = r.lastSeen.Local().Format(timeLayout)
		}
		_, _ = fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", orDash(r.name), r.peerID, onlineWord(r.online), seen)
	}
	return tw.Flush()
}

// timeLayout is how times print.
const timeLayout = "2006-01-02 15:04:05"

func onlineWord(online bool) string {
	if online {
		return "online"
	}
	return "offline"
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
