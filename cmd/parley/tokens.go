package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/internal/api"
)

// The token commands: scoped API tokens for scripts and bots on the TCP API.

func (c *cli) tokenCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Make, list and revoke API tokens for scripts and bots (create, list, revoke)",
		Args:  noArgs,
	}
	cmd.AddCommand(c.tokenCreateCmd(), c.tokenListCmd(), c.tokenRevokeCmd())
	return cmd
}

func (c *cli) tokenCreateCmd() *cobra.Command {
	var req api.TokenRequest
	cmd := clientCommand(c, clientCmd[api.TokenCreated]{
		use:   "create --name NAME --scope read|send [--conv CONV]... [--json]",
		short: "Make an API token (printed once: keep it; the daemon keeps only its hash)",
		args:  exactArgs(0, "no arguments"),
		before: func([]string) error {
			if req.Name == "" {
				return usageError{fmt.Errorf("token create needs --name NAME")}
			}
			if req.Scope != "read" && req.Scope != "send" {
				return usageError{fmt.Errorf("token create needs --scope read or --scope send")}
			}
			return nil
		},
		call: func(cl *api.Client, _ []string) (api.TokenCreated, error) {
			return cl.CreateToken(c.ctx, req)
		},
		print: func(_ *api.Client, t api.TokenCreated) error {
			_, _ = fmt.Fprintf(c.stdout, "%s\n", t.Token)
			_, _ = fmt.Fprintf(c.stderr, "token %s (%s, %s): shown only now; use it as 'Authorization: Bearer <token>' on the API\n", t.Name, t.Scope, convList(t.Convs))
			return nil
		},
		json: true,
	})
	f := cmd.Flags()
	f.StringVar(&req.Name, "name", "", "the token's name (letters, digits, '.', '_', '-')")
	f.StringVar(&req.Scope, "scope", "", "read (history, messages, search, events, files) or send (read, and send messages, replies, reactions, files)")
	f.StringArrayVar(&req.Convs, "conv", nil, "limit the token to this conversation: #room, peer ID or @nick (repeatable; default: all)")
	return cmd
}

func (c *cli) tokenListCmd() *cobra.Command {
	return clientCommand(c, clientCmd[[]api.TokenInfo]{
		use:   "list [--json]",
		short: "List the API tokens (never the tokens themselves)",
		args:  exactArgs(0, "no arguments"),
		call: func(cl *api.Client, _ []string) ([]api.TokenInfo, error) {
			ts, err := cl.Tokens(c.ctx)
			return nonNil(ts), err
		},
		print: func(_ *api.Client, ts []api.TokenInfo) error {
			tw := c.table("NAME\tSCOPE\tCONVERSATIONS\tCREATED\tLAST USED")
			for _, t := range ts {
				used := "never"
				if t.LastUsed != nil {
					used = t.LastUsed.Local().Format(timeLayout)
				}
				_, _ = fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", t.Name, t.Scope, convList(t.Convs), t.Created.Local().Format(timeLayout), used)
			}
			return tw.Flush()
		},
		json: true,
	})
}

func (c *cli) tokenRevokeCmd() *cobra.Command {
	return clientCommand(c, clientCmd[string]{
		use:   "revoke NAME",
		short: "Revoke an API token: refused from now on, its open event streams closed",
		args:  exactArgs(1, "one token name"),
		call: func(cl *api.Client, args []string) (string, error) {
			return args[0], cl.RevokeToken(c.ctx, args[0])
		},
		print: func(_ *api.Client, name string) error {
			_, _ = fmt.Fprintf(c.stdout, "revoked token %s\n", name)
			return nil
		},
	})
}

// convList shows a token's conversations as a person names them.
func convList(convs []string) string {
	if len(convs) == 0 {
		return "all conversations"
	}
	out := make([]string, len(convs))
	for i, cv := range convs {
		out[i] = chat.Conversation(cv).Display()
	}
	return strings.Join(out, ",")
}
