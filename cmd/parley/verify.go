package main

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/parley-chat/parley/crypto"
	"github.com/parley-chat/parley/internal/api"
	"github.com/parley-chat/parley/internal/qrtext"
)

func (c *cli) verifyCmd() *cobra.Command {
	var confirm bool
	cmd := clientCommand(c, clientCmd[api.Safety]{
		use:   "verify PEER [--confirm] [--json]",
		short: "Show the safety number of this node and a peer (peer ID or @nick) to compare with them; --confirm marks the peer verified",
		args:  exactArgs(1, "a peer (peer ID or @nick)"),
		json:  true,
		call: func(cl *api.Client, args []string) (api.Safety, error) {
			if confirm {
				return cl.Verify(c.ctx, args[0])
			}
			return cl.Safety(c.ctx, args[0])
		},
		print: func(cl *api.Client, s api.Safety) error {
			c.printSafety(cl, s, confirm)
			return nil
		},
	})
	cmd.Flags().BoolVar(&confirm, "confirm", false, "mark the peer verified: you compared the numbers and they match")
	return cmd
}

// printSafety shows a safety number for reading aloud, with its QR code
// on standard error when that is a terminal, and says what to do next.
func (c *cli) printSafety(cl *api.Client, s api.Safety, confirmed bool) {
	name := crypto.Short(s.PeerID)
	if peers, err := cl.Peers(c.ctx); err == nil {
		for _, p := range peers {
			if p.PeerID == s.PeerID {
				name = p.Display
			}
		}
	}
	if isTerminal(c.stderr) {
		_, _ = fmt.Fprintf(c.stderr, "%s\n\n", qrtext.Draw(api.SafetyDigits(s.SafetyNumber)))
	}
	_, _ = fmt.Fprintf(c.stdout, "Safety number with %s (%s):\n\n    %s\n\n", name, s.PeerID, s.SafetyNumber)
	switch {
	case confirmed:
		_, _ = fmt.Fprintln(c.stdout, "Marked verified: clients show the name with ✓ from now on.")
	case s.Verified:
		_, _ = fmt.Fprintln(c.stdout, "Verified.")
	default:
		_, _ = fmt.Fprintf(c.stdout, "Not verified. Compare these digits with the ones %s sees (read them aloud, or scan the code);\nif they match: parley%s verify %s --confirm\n", name, c.homeFlag(), s.PeerID)
	}
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
