package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/parley-chat/parley/internal/api"
)

func (c *cli) joinCmd() *cobra.Command {
	return c.roomChangeCmd("join '#ROOM'", "Join a room (names: lower-case letters, digits, '-' and '_'; up to 64)",
		(*api.Client).Join, "joined #%s\n", "already in #%s\n")
}

func (c *cli) leaveCmd() *cobra.Command {
	return c.roomChangeCmd("leave '#ROOM'", "Leave a room (its history stays)",
		(*api.Client).Leave, "left #%s\n", "not in #%s\n")
}

// roomChangeCmd is join or leave: check the name, ask the daemon, and say
// whether anything changed.
func (c *cli) roomChangeCmd(use, short string, do func(*api.Client, context.Context, string) (api.JoinResponse, error), changed, unchanged string) *cobra.Command {
	return clientCommand(c, clientCmd[api.JoinResponse]{
		use:    use,
		short:  short,
		args:   exactArgs(1, "a room (#name)"),
		before: roomName,
		call: func(cl *api.Client, args []string) (api.JoinResponse, error) {
			return do(cl, c.ctx, args[0])
		},
		print: func(_ *api.Client, res api.JoinResponse) error {
			if res.Changed {
				_, _ = fmt.Fprintf(c.stdout, changed, res.Name)
			} else {
				_, _ = fmt.Fprintf(c.stdout, unchanged, res.Name)
			}
			return nil
		},
	})
}

func (c *cli) roomsCmd() *cobra.Command {
	return clientCommand(c, clientCmd[[]api.Room]{
		use:   "rooms [--json]",
		short: "List the rooms this node is in, with members and unread messages",
		args:  exactArgs(0, "no arguments"),
		json:  true,
		call: func(cl *api.Client, _ []string) ([]api.Room, error) {
			rooms, err := cl.Rooms(c.ctx)
			return nonNil(rooms), err
		},
		print: func(_ *api.Client, rooms []api.Room) error {
			if len(rooms) == 0 {
				_, _ = fmt.Fprintln(c.stdout, "in no rooms (join one: parley join '#name')")
				return nil
			}
			tw := c.table("ROOM\tMEMBERS\tONLINE\tUNREAD")
			for _, r := range rooms {
				_, _ = fmt.Fprintf(tw, "#%s\t%d\t%d\t%d\n", r.Name, r.Members, r.Online, r.Unread)
			}
			return tw.Flush()
		},
	})
}

func (c *cli) membersCmd() *cobra.Command {
	return clientCommand(c, clientCmd[[]api.Member]{
		use:    "members '#ROOM' [--json]",
		short:  "List a room's members: online now, and who else is in it",
		args:   exactArgs(1, "a room (#name)"),
		before: roomName,
		json:   true,
		call: func(cl *api.Client, args []string) ([]api.Member, error) {
			return cl.Members(c.ctx, args[0])
		},
		print: func(_ *api.Client, ms []api.Member) error {
			rows := make([]presence, len(ms))
			for i, m := range ms {
				rows[i] = presence{nick: m.Nick, peerID: m.PeerID, online: m.Online, lastSeen: m.LastSeen}
			}
			return c.presenceTable(rows)
		},
	})
}
