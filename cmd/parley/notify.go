package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/parley-chat/parley/internal/api"
	"github.com/parley-chat/parley/internal/notify"
)

// notifyCmd shows the notification levels, or sets one conversation's.
func (c *cli) notifyCmd() *cobra.Command {
	return clientCommand(c, clientCmd[any]{
		use:   "notify [CONV all|mentions|none|default] [--json]",
		short: "Show notification settings, or set which messages of a conversation (#room, peer ID or @nick) notify",
		args:  rangeArgs(0, 2, "nothing, or a conversation and a level"),
		json:  true,
		before: func(args []string) error {
			if len(args) == 1 {
				return usageError{fmt.Errorf("notify takes a conversation and a level: all, mentions, none or default (usage: parley notify '#room' mentions)")}
			}
			if len(args) == 2 {
				if _, err := notify.ParseLevel(args[1]); err != nil {
					return usageError{err}
				}
			}
			return nil
		},
		call: func(cl *api.Client, args []string) (any, error) {
			if len(args) == 2 {
				return cl.SetNotify(c.ctx, args[0], strings.ToLower(args[1]))
			}
			return cl.NotifySettings(c.ctx)
		},
		print: func(_ *api.Client, v any) error {
			switch v := v.(type) {
			case api.NotifyLevel:
				def := ""
				if v.Default {
					def = " (the default)"
				}
				_, _ = fmt.Fprintf(c.stdout, "%s: %s%s\n", v.Name, v.Level, def)
			case api.NotifySettings:
				c.printNotifySettings(v)
			}
			return nil
		},
	})
}

func (c *cli) printNotifySettings(s api.NotifySettings) {
	desktop := "desktop notifications: on (D-Bus session bus)"
	if !s.Desktop {
		desktop = "desktop notifications: off (no D-Bus session bus; clients still notify)"
	}
	_, _ = fmt.Fprintln(c.stdout, desktop)
	_, _ = fmt.Fprintf(c.stdout, "do not disturb: %s\n", dndText(s.DND))
	_, _ = fmt.Fprintf(c.stdout, "defaults: direct messages %s, rooms %s\n", s.Defaults.Direct, s.Defaults.Room)
	if len(s.Keywords) > 0 {
		_, _ = fmt.Fprintf(c.stdout, "keywords: %s\n", strings.Join(s.Keywords, ", "))
	}
	if len(s.Conversations) == 0 {
		return
	}
	tw := c.table("CONVERSATION\tLEVEL")
	for _, l := range s.Conversations {
		_, _ = fmt.Fprintf(tw, "%s\t%s\n", l.Name, l.Level)
	}
	_ = tw.Flush()
}

func dndText(d api.DND) string {
	switch {
	case d.Mode == string(notify.DNDUntil) && d.Until != nil && d.Active:
		return "on until " + d.Until.Local().Format("15:04 (Mon 2 Jan)")
	case d.Mode == string(notify.DNDUntil):
		return "off (ended)"
	}
	return d.Mode
}

// dndCmd shows or sets do-not-disturb.
func (c *cli) dndCmd() *cobra.Command {
	return clientCommand(c, clientCmd[api.DND]{
		use:   "dnd [on|off|until HH:MM] [--json]",
		short: "Show or set do-not-disturb: on, off, or until a local time (the next HH:MM to come)",
		args:  rangeArgs(0, 2, "on, off, or until HH:MM"),
		json:  true,
		before: func(args []string) error {
			if len(args) == 0 {
				return nil
			}
			switch mode := strings.ToLower(args[0]); {
			case (mode == "on" || mode == "off") && len(args) == 1:
				return nil
			case mode == "until" && len(args) == 2:
				if err := notify.ValidClock(args[1]); err != nil {
					return usageError{err}
				}
				return nil
			}
			return usageError{fmt.Errorf("dnd takes on, off, or until HH:MM (usage: parley dnd until 08:30)")}
		},
		call: func(cl *api.Client, args []string) (api.DND, error) {
			if len(args) == 0 {
				s, err := cl.NotifySettings(c.ctx)
				return s.DND, err
			}
			until := ""
			if len(args) == 2 {
				until = args[1]
			}
			return cl.SetDND(c.ctx, strings.ToLower(args[0]), until)
		},
		print: func(_ *api.Client, d api.DND) error {
			_, _ = fmt.Fprintf(c.stdout, "do not disturb: %s\n", dndText(d))
			return nil
		},
	})
}
