package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/parley-chat/parley/internal/api"
	"github.com/parley-chat/parley/internal/hooks"
)

// webhookDeliveriesCmd is "parley webhook deliveries NAME [--json]".
func (c *cli) webhookDeliveriesCmd() *cobra.Command {
	return clientCommand(c, clientCmd[[]hooks.Delivery]{
		use:   "deliveries NAME [--json]",
		short: "List an outgoing webhook's deliveries, newest first: pending, delivered or failed",
		args:  exactArgs(1, "the outgoing webhook's name"),
		json:  true,
		call: func(cl *api.Client, args []string) ([]hooks.Delivery, error) {
			ds, err := cl.Deliveries(c.ctx, args[0])
			return nonNil(ds), err
		},
		print: func(_ *api.Client, ds []hooks.Delivery) error {
			if len(ds) == 0 {
				_, _ = fmt.Fprintln(c.stdout, "no deliveries yet")
				return nil
			}
			tw := c.table("ID\tSTATUS\tATTEMPTS\tNEXT ATTEMPT\tLAST ERROR")
			for _, d := range ds {
				next := "-"
				if d.NextAttempt != nil {
					next = d.NextAttempt.Local().Format(time.DateTime)
				}
				_, _ = fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", d.ID, d.Status, d.Attempts, next, orDash(d.LastError))
			}
			return tw.Flush()
		},
	})
}
