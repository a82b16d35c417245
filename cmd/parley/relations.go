package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/parley-chat/parley/internal/api"
)

// Commands that act on one message: reply, edit, delete, react. Each
// prints the ID of the message it posted.

func (c *cli) printID(_ *api.Client, m api.Message) error {
	_, _ = fmt.Fprintln(c.stdout, m.ID)
	return nil
}

func (c *cli) replyCmd() *cobra.Command {
	var req api.ReplyRequest
	cmd := clientCommand(c, clientCmd[api.Message]{
		use:   "reply MESSAGE_ID TEXT [--thread [--also-room]]",
		short: "Reply to a message (quoting it); --thread replies in its thread instead of the room",
		args:  exactArgs(2, "a message ID and a text"),
		json:  true,
		call: func(cl *api.Client, args []string) (api.Message, error) {
			req.Text = args[1]
			return cl.Reply(c.ctx, args[0], req)
		},
		print: c.printID,
	})
	cmd.Flags().BoolVar(&req.Thread, "thread", false, "reply in the message's thread")
	cmd.Flags().BoolVar(&req.AlsoRoom, "also-room", false, "with --thread: show the reply in the room too")
	return cmd
}

func (c *cli) editCmd() *cobra.Command {
	return clientCommand(c, clientCmd[api.Message]{
		use:   "edit MESSAGE_ID TEXT",
		short: "Replace the text of one of your messages (everyone sees the new text; earlier ones stay viewable)",
		args:  exactArgs(2, "a message ID and the new text"),
		json:  true,
		call: func(cl *api.Client, args []string) (api.Message, error) {
			return cl.Edit(c.ctx, args[0], args[1])
		},
		print: c.printID,
	})
}

func (c *cli) deleteCmd() *cobra.Command {
	return clientCommand(c, clientCmd[api.Message]{
		use:   "delete MESSAGE_ID",
		short: "Delete one of your messages for everyone (in a private room, an admin may delete any)",
		args:  exactArgs(1, "a message ID"),
		json:  true,
		call: func(cl *api.Client, args []string) (api.Message, error) {
			return cl.Delete(c.ctx, args[0])
		},
		print: c.printID,
	})
}

func (c *cli) reactCmd() *cobra.Command {
	return clientCommand(c, clientCmd[api.ReactResponse]{
		use:   "react MESSAGE_ID EMOJI",
		short: "Add an emoji reaction to a message; the same emoji again takes it back",
		args:  exactArgs(2, "a message ID and an emoji"),
		json:  true,
		call: func(cl *api.Client, args []string) (api.ReactResponse, error) {
			return cl.React(c.ctx, args[0], args[1])
		},
		print: func(cl *api.Client, r api.ReactResponse) error { return c.printID(cl, r.Message) },
	})
}
