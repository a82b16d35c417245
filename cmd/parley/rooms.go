package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/internal/api"
)

func (c *cli) joinCmd() *cobra.Command {
	cmd := c.roomChangeCmd("join '#ROOM' | join LINK", "Join a room (names: lower-case letters, digits, '-' and '_'; up to 64), or a private room by its invite link",
		(*api.Client).Join, "joined #%s\n", "already in #%s\n")
	byName := cmd.RunE
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) == 1 && isInviteLink(args[0]) {
			return c.joinLink(args[0])
		}
		return byName(cmd, args)
	}
	return cmd
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
				name := "#" + r.Name
				switch {
				case r.Removed:
					name += " (private, removed)"
				case r.Private:
					name += " (private, " + r.Role + ")"
				}
				_, _ = fmt.Fprintf(tw, "%s\t%d\t%d\t%d\n", name, r.Members, r.Online, r.Unread)
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
				rows[i] = presence{name: m.Display, peerID: m.PeerID, online: m.Online, lastSeen: m.LastSeen}
			}
			return c.presenceTable(rows)
		},
	})
}

func (c *cli) retentionCmd() *cobra.Command {
	return clientCommand(c, clientCmd[api.Room]{
		use:   "retention '#ROOM' [DURATION|forever|default] [--json]",
		short: "Show or set how long this node keeps a room's history (90d, 2w, 36h, forever, or default: the node's retention setting)",
		args:  rangeArgs(1, 2, "a room (#name) and optionally a duration (90d, 2w, 36h), forever or default"),
		before: func(args []string) error {
			if err := roomName(args); err != nil {
				return err
			}
			if len(args) == 2 {
				if _, err := chat.ParseRetention(args[1]); err != nil {
					return usageError{err}
				}
			}
			return nil
		},
		json: true,
		call: func(cl *api.Client, args []string) (api.Room, error) {
			if len(args) == 2 {
				return cl.SetRoomRetention(c.ctx, args[0], args[1])
			}
			name, _ := chat.ParseRoom(args[0])
			rooms, err := cl.Rooms(c.ctx)
			if err != nil {
				return api.Room{}, err
			}
			for _, r := range rooms {
				if r.Name == name {
					return r, nil
				}
			}
			return api.Room{}, fmt.Errorf("not in #%s: join it first (parley%s join '#%s')", name, c.homeFlag(), name)
		},
		print: func(_ *api.Client, r api.Room) error {
			if r.Retention == "forever" {
				_, _ = fmt.Fprintf(c.stdout, "#%s keeps its history forever\n", r.Name)
			} else {
				_, _ = fmt.Fprintf(c.stdout, "#%s keeps its history for %s\n", r.Name, r.Retention)
			}
			return nil
		},
	})
}
