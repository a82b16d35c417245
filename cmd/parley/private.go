package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/internal/api"
	"github.com/parley-chat/parley/internal/qrtext"
)

// createCmd creates a room: a private one with --private (this node its
// first admin), else it joins the public room of that name.
func (c *cli) createCmd() *cobra.Command {
	var private bool
	cmd := clientCommand(c, clientCmd[api.JoinResponse]{
		use:    "create '#ROOM' [--private]",
		short:  "Create a room; --private keeps it to its members (you are its first admin; add people with 'parley invite')",
		args:   exactArgs(1, "a room (#name)"),
		before: roomName,
		call: func(cl *api.Client, args []string) (api.JoinResponse, error) {
			if private {
				return cl.CreatePrivate(c.ctx, args[0])
			}
			return cl.Join(c.ctx, args[0])
		},
		print: func(_ *api.Client, res api.JoinResponse) error {
			switch {
			case private:
				_, _ = fmt.Fprintf(c.stdout, "created private room #%s (invite people with: parley invite '#%s')\n", res.Name, res.Name)
			case res.Changed:
				_, _ = fmt.Fprintf(c.stdout, "joined #%s\n", res.Name)
			default:
				_, _ = fmt.Fprintf(c.stdout, "already in #%s\n", res.Name)
			}
			return nil
		},
	})
	cmd.Flags().BoolVar(&private, "private", false, "a private room: an encrypted topic only its members can read")
	return cmd
}

// inviteCmd makes an invite link into a private room, or revokes one.
func (c *cli) inviteCmd() *cobra.Command {
	var (
		uses    int
		expires string
		revoke  string
	)
	cmd := clientCommand(c, clientCmd[api.InviteResponse]{
		use:   "invite '#ROOM' [--uses N] [--expires DURATION] | invite --revoke LINK|ID",
		short: "Print a link that lets people join a private room (default: 1 use, 7 days); the link is the last line of the output",
		args: func(cmd *cobra.Command, args []string) error {
			if revoke != "" {
				return exactArgs(0, "no room with --revoke")(cmd, args)
			}
			return exactArgs(1, "a room (#name)")(cmd, args)
		},
		before: func(args []string) error {
			if revoke != "" {
				return nil
			}
			if uses < 1 {
				return usageError{fmt.Errorf("--uses %d: want 1 or more", uses)}
			}
			return roomName(args)
		},
		json: true,
		call: func(cl *api.Client, args []string) (api.InviteResponse, error) {
			if revoke != "" {
				res, err := cl.RevokeInvite(c.ctx, revoke)
				return api.InviteResponse{Room: res.Name}, err
			}
			return cl.Invite(c.ctx, args[0], api.InviteRequest{Uses: uses, Expires: expires})
		},
		print: func(_ *api.Client, res api.InviteResponse) error {
			if revoke != "" {
				_, _ = fmt.Fprintf(c.stdout, "revoked the invite into #%s\n", res.Room)
				return nil
			}
			if isTerminal(c.stderr) {
				_, _ = fmt.Fprintf(c.stderr, "%s\n\n", qrtext.Draw(res.Link))
			}
			_, _ = fmt.Fprintf(c.stderr, "invite into #%s: %d use(s), until %s\n", res.Room, res.Uses, res.ExpiresAt.Local().Format("2006-01-02 15:04"))
			_, _ = fmt.Fprintln(c.stdout, res.Link)
			return nil
		},
	})
	cmd.Flags().IntVar(&uses, "uses", chat.DefaultInviteUses, "how many people may join with the link")
	cmd.Flags().StringVar(&expires, "expires", "7d", "how long the link works (10m, 36h, 7d)")
	cmd.Flags().StringVar(&revoke, "revoke", "", "revoke an invite (its link or ID) instead")
	return cmd
}

// isInviteLink reports whether a join argument is an invite link.
func isInviteLink(arg string) bool {
	return strings.HasPrefix(strings.TrimSpace(arg), chat.InviteLinkPrefix)
}

// joinLink joins a private room by invite link.
func (c *cli) joinLink(link string) error {
	cl, err := c.client()
	if err != nil {
		return err
	}
	res, err := cl.AcceptInvite(c.ctx, link)
	if err != nil {
		return runtimeError{err}
	}
	if res.Changed {
		_, _ = fmt.Fprintf(c.stdout, "joined private room #%s\n", res.Name)
	} else {
		_, _ = fmt.Fprintf(c.stdout, "already in #%s\n", res.Name)
	}
	return nil
}

// memberChangeCmd is remove or promote: an admin acts on a member.
func (c *cli) memberChangeCmd(use, short, done string, do func(cl *api.Client, room, peer string) error) *cobra.Command {
	return clientCommand(c, clientCmd[[2]string]{
		use:    use,
		short:  short,
		args:   exactArgs(2, "a room (#name) and a peer (peer ID or @nick)"),
		before: roomName,
		call: func(cl *api.Client, args []string) ([2]string, error) {
			return [2]string{args[0], args[1]}, do(cl, args[0], args[1])
		},
		print: func(_ *api.Client, v [2]string) error {
			_, _ = fmt.Fprintf(c.stdout, "%s %s in #%s\n", done, v[1], strings.TrimPrefix(v[0], "#"))
			return nil
		},
	})
}

func (c *cli) removeCmd() *cobra.Command {
	return c.memberChangeCmd("remove '#ROOM' PEER", "Remove a member from a private room (admins only); the others move to new keys it never gets",
		"removed", func(cl *api.Client, room, peer string) error { return cl.RemoveMember(c.ctx, room, peer) })
}

func (c *cli) promoteCmd() *cobra.Command {
	return c.memberChangeCmd("promote '#ROOM' PEER", "Make a member of a private room an admin (admins only)",
		"promoted", func(cl *api.Client, room, peer string) error { return cl.PromoteMember(c.ctx, room, peer) })
}

// settingsCmd shows or changes a private room's settings.
func (c *cli) settingsCmd() *cobra.Command {
	var history, invite string
	cmd := clientCommand(c, clientCmd[api.Room]{
		use:    "settings '#ROOM' [--history join|all] [--invite admins|members] [--json]",
		short:  "Show or change a private room's settings (admins): who reads earlier history, who may invite",
		args:   exactArgs(1, "a room (#name)"),
		before: roomName,
		json:   true,
		call: func(cl *api.Client, args []string) (api.Room, error) {
			return cl.SetPrivateSettings(c.ctx, args[0], history, invite)
		},
		print: func(_ *api.Client, r api.Room) error {
			if !r.Private {
				_, _ = fmt.Fprintf(c.stdout, "#%s is public: it has no member settings\n", r.Name)
				return nil
			}
			_, _ = fmt.Fprintf(c.stdout, "#%s: newcomers read history from %s; %s may invite\n", r.Name,
				map[string]string{chat.HistoryAll: "the beginning", chat.HistoryJoin: "their join"}[r.History], r.Invite)
			return nil
		},
	})
	cmd.Flags().StringVar(&history, "history", "", "who reads earlier history: join (from their join on) or all")
	cmd.Flags().StringVar(&invite, "invite", "", "who may invite: admins or members")
	return cmd
}
