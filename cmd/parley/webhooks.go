package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/parley-chat/parley/internal/api"
)

// webhookCmd is "parley webhook create|list|delete".
func (c *cli) webhookCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "webhook create|list|delete|deliveries",
		Short: "Manage webhooks: URLs your tools POST to (Slack's format, GitHub, GitLab, Jira), and outgoing hooks",
		Args:  exactArgs(0, "a subcommand: create, list, delete or deliveries"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return usageError{fmt.Errorf("webhook needs a subcommand: create, list, delete or deliveries (see parley webhook --help)")}
		},
	}
	cmd.AddCommand(c.webhookCreateCmd(), c.webhookListCmd(), c.webhookDeleteCmd(), c.webhookDeliveriesCmd())
	return cmd
}

func (c *cli) webhookCreateCmd() *cobra.Command {
	var (
		req                  api.WebhookRequest
		github, gitlab, jira bool
	)
	cmd := clientCommand(c, clientCmd[api.Webhook]{
		use:   "create CONV --name NAME [--github|--gitlab|--jira] [--secret S] [--outgoing URL] [--trigger WORD]... [--json]",
		short: "Create a webhook posting into CONV (#room, peer ID or @nick) and print the URL to POST to",
		args:  exactArgs(1, "a conversation: #room, peer ID or @nick"),
		json:  true,
		before: func(args []string) error {
			kinds := 0
			for _, k := range []struct {
				on   bool
				name string
			}{{github, "github"}, {gitlab, "gitlab"}, {jira, "jira"}, {req.URL != "", "outgoing"}} {
				if k.on {
					kinds++
					req.Kind = k.name
				}
			}
			switch {
			case kinds > 1:
				return usageError{fmt.Errorf("pick one of --github, --gitlab, --jira and --outgoing")}
			case strings.TrimSpace(req.Name) == "":
				return usageError{fmt.Errorf("a webhook needs --name NAME (the name its messages show)")}
			case req.Secret != "" && kinds == 0:
				return usageError{fmt.Errorf("--secret goes with --github, --gitlab or --jira")}
			case req.Secret != "" && req.URL != "":
				return usageError{fmt.Errorf("an outgoing webhook's secret is made for it: leave out --secret")}
			case len(req.Triggers) > 0 && req.URL == "":
				return usageError{fmt.Errorf("--trigger goes with --outgoing URL")}
			}
			req.Conversation = args[0]
			return nil
		},
		call: func(cl *api.Client, _ []string) (api.Webhook, error) {
			return cl.CreateWebhook(c.ctx, req)
		},
		print: func(_ *api.Client, h api.Webhook) error {
			c.printWebhook(h, true)
			return nil
		},
	})
	f := cmd.Flags()
	f.StringVar(&req.Name, "name", "", "the webhook's name, shown on its messages (unique on this node)")
	f.BoolVar(&github, "github", false, "receive GitHub's webhooks (verifies X-Hub-Signature-256 with --secret)")
	f.BoolVar(&gitlab, "gitlab", false, "receive GitLab's webhooks (checks X-Gitlab-Token against --secret)")
	f.BoolVar(&jira, "jira", false, "receive Jira's webhooks (verifies its signature with --secret)")
	f.StringVar(&req.Secret, "secret", "", "the secret the tool signs with (default: one is made and printed)")
	f.StringVar(&req.URL, "outgoing", "", "POST the conversation's messages to URL (signed per Standard Webhooks)")
	f.StringArrayVar(&req.Triggers, "trigger", nil, "with --outgoing: only messages starting with WORD (repeatable)")
	return cmd
}

// printWebhook prints a webhook for a person; secrets only when created.
func (c *cli) printWebhook(h api.Webhook, created bool) {
	switch {
	case h.URL != "":
		_, _ = fmt.Fprintf(c.stdout, "%s (%s) into %s\nurl: %s\n", h.Name, h.Kind, h.Conversation, h.URL)
	default:
		_, _ = fmt.Fprintf(c.stdout, "%s (%s) into %s\nurl: none while the hooks listener is off (start the daemon with --hooks-listen ADDR or set hooks_listen)\n", h.Name, h.Kind, h.Conversation)
	}
	if created && h.Secret != "" {
		_, _ = fmt.Fprintf(c.stdout, "secret: %s\n", h.Secret)
	}
}

func (c *cli) webhookListCmd() *cobra.Command {
	return clientCommand(c, clientCmd[[]api.Webhook]{
		use:   "list [--json]",
		short: "List this node's webhooks",
		args:  exactArgs(0, "no arguments"),
		json:  true,
		call: func(cl *api.Client, _ []string) ([]api.Webhook, error) {
			hs, err := cl.Webhooks(c.ctx)
			return nonNil(hs), err
		},
		print: func(_ *api.Client, hs []api.Webhook) error {
			if len(hs) == 0 {
				_, _ = fmt.Fprintln(c.stdout, "no webhooks yet (parley webhook create '#room' --name NAME)")
				return nil
			}
			tw := c.table("NAME\tKIND\tCONVERSATION\tURL")
			for _, h := range hs {
				_, _ = fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", h.Name, h.Kind, h.Conversation, orDash(h.URL))
			}
			return tw.Flush()
		},
	})
}

func (c *cli) webhookDeleteCmd() *cobra.Command {
	return clientCommand(c, clientCmd[string]{
		use:   "delete NAME",
		short: "Delete a webhook: its URL answers no_service from now on",
		args:  exactArgs(1, "the webhook's name"),
		call: func(cl *api.Client, args []string) (string, error) {
			return args[0], cl.DeleteWebhook(c.ctx, args[0])
		},
		print: func(_ *api.Client, name string) error {
			_, _ = fmt.Fprintf(c.stdout, "deleted webhook %s\n", name)
			return nil
		},
	})
}

// commandCmd is "parley command create|list|delete".
func (c *cli) commandCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "command create|list|delete",
		Short: "Manage slash commands: /NAME typed in a conversation POSTs to a URL",
		Args:  exactArgs(0, "a subcommand: create, list or delete"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return usageError{fmt.Errorf("command needs a subcommand: create, list or delete (see parley command --help)")}
		},
	}
	var req api.CommandRequest
	create := clientCommand(c, clientCmd[api.Command]{
		use:   "create /NAME --url URL [--token T] [--json]",
		short: "Create a slash command that POSTs Slack's slash-command fields to URL",
		args:  exactArgs(1, "the command: /NAME"),
		json:  true,
		before: func(args []string) error {
			if !strings.HasPrefix(args[0], "/") {
				return usageError{fmt.Errorf("command %q: write it with its slash, as /NAME", args[0])}
			}
			if req.URL == "" {
				return usageError{fmt.Errorf("a command needs --url URL")}
			}
			req.Name = args[0]
			return nil
		},
		call: func(cl *api.Client, _ []string) (api.Command, error) {
			return cl.CreateCommand(c.ctx, req)
		},
		print: func(_ *api.Client, cmd api.Command) error {
			_, _ = fmt.Fprintf(c.stdout, "%s posts to %s\ntoken: %s\n", cmd.Name, cmd.URL, cmd.Token)
			return nil
		},
	})
	create.Flags().StringVar(&req.URL, "url", "", "where the command's fields are POSTed")
	create.Flags().StringVar(&req.Token, "token", "", "the verification token sent with each POST (default: one is made)")
	list := clientCommand(c, clientCmd[[]api.Command]{
		use:   "list [--json]",
		short: "List this node's slash commands",
		args:  exactArgs(0, "no arguments"),
		json:  true,
		call: func(cl *api.Client, _ []string) ([]api.Command, error) {
			cs, err := cl.Commands(c.ctx)
			return nonNil(cs), err
		},
		print: func(_ *api.Client, cs []api.Command) error {
			if len(cs) == 0 {
				_, _ = fmt.Fprintln(c.stdout, "no slash commands yet (parley command create /NAME --url URL)")
				return nil
			}
			tw := c.table("COMMAND\tURL")
			for _, cmd := range cs {
				_, _ = fmt.Fprintf(tw, "%s\t%s\n", cmd.Name, cmd.URL)
			}
			return tw.Flush()
		},
	})
	del := clientCommand(c, clientCmd[string]{
		use:   "delete /NAME",
		short: "Delete a slash command",
		args:  exactArgs(1, "the command: /NAME"),
		call: func(cl *api.Client, args []string) (string, error) {
			return args[0], cl.DeleteCommand(c.ctx, args[0])
		},
		print: func(_ *api.Client, name string) error {
			_, _ = fmt.Fprintf(c.stdout, "deleted command %s\n", name)
			return nil
		},
	})
	cmd.AddCommand(create, list, del)
	return cmd
}
