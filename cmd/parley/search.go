package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/internal/api"
)

func (c *cli) searchCmd() *cobra.Command {
	var in, from string
	var limit int
	cmd := clientCommand(c, clientCmd[[]api.SearchHit]{
		use:   "search QUERY [--in CONV] [--from PEER] [--limit N] [--json]",
		short: `Search every conversation, newest first: words (all must match), prefix* and "quoted phrases"`,
		args: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageError{fmt.Errorf("search needs a query: words, prefix* or '\"a phrase\"'")}
			}
			return nil
		},
		before: func([]string) error {
			if limit < 1 || limit > api.MaxSearchLimit {
				return usageError{fmt.Errorf("--limit %d: want 1 to %d", limit, api.MaxSearchLimit)}
			}
			return nil
		},
		json: true,
		call: func(cl *api.Client, args []string) ([]api.SearchHit, error) {
			hits, err := cl.Search(c.ctx, strings.Join(args, " "), in, from, limit)
			return nonNil(hits), err
		},
		print: func(cl *api.Client, hits []api.SearchHit) error {
			names := c.peerNames(cl)
			for _, h := range hits {
				c.printHit(h, names)
			}
			return nil
		},
	})
	cmd.Flags().StringVar(&in, "in", "", "only this conversation (#room, peer ID or @nick)")
	cmd.Flags().StringVar(&from, "from", "", "only messages by this peer (peer ID or @nick)")
	cmd.Flags().IntVar(&limit, "limit", api.DefaultSearchLimit, "how many of the newest matches to show")
	return cmd
}

// peerNames maps peer IDs to how they are shown, this node's own as
// "nick (you)"; best effort.
func (c *cli) peerNames(cl *api.Client) map[string]string {
	names := map[string]string{}
	if peers, err := cl.Peers(c.ctx); err == nil {
		for _, p := range peers {
			names[p.PeerID] = p.Display
		}
	}
	if me := c.me(cl); me.peerID != "" {
		names[me.peerID] = me.name
	}
	return names
}

// printHit writes one search hit: conversation, time, author, text.
func (c *cli) printHit(h api.SearchHit, names map[string]string) {
	name := func(peer string) string {
		if n := names[peer]; n != "" {
			return n
		}
		return shortID(peer)
	}
	conv := chat.Conversation(h.Conversation)
	where := conv.Display()
	if p, ok := conv.Peer(); ok {
		where = "@" + name(p.String())
	}
	at := h.SentAt
	if t, err := time.Parse(time.RFC3339Nano, h.SentAt); err == nil {
		at = t.Local().Format(timeLayout)
	}
	text := strings.ReplaceAll(h.Text, "\n", " ")
	_, _ = fmt.Fprintf(c.stdout, "%s  %s  <%s> %s\n", where, at, name(h.From), text)
}
