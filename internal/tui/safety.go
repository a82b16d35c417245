package tui

import (
	"context"
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/parley-chat/parley/internal/api"
)

// safetyView is the safety-number screen (/verify): the number of this
// node and one peer, for reading aloud, and its QR code.
type safetyView struct {
	safety api.Safety
	qr     []string
}

// safetyMsg opens the safety-number screen; verifiedMsg says the peer on
// it was marked verified.
type (
	safetyMsg   api.Safety
	verifiedMsg api.Safety
)

// verifyCommand runs /verify [@nick|peer-id]: without an argument, for
// the peer of the open direct conversation.
func (m *Model) verifyCommand(args []string) tea.Cmd {
	ref := ""
	switch {
	case len(args) == 1:
		ref = args[0]
	case len(args) == 0 && strings.HasPrefix(m.cur, "dm:"):
		ref = strings.TrimPrefix(m.cur, "dm:")
	}
	if ref == "" {
		m.setStatus("usage: /verify @nick|peer-id (or open a direct conversation first)", true)
		return nil
	}
	return m.ask(func(ctx context.Context) (tea.Msg, error) {
		s, err := m.be.Safety(ctx, ref)
		return safetyMsg(s), err
	})
}

// showSafety opens the safety-number screen.
func (m *Model) showSafety(s api.Safety) {
	m.showHelp = false
	m.safety = &safetyView{safety: s, qr: qrCode(api.SafetyDigits(s.SafetyNumber))}
}

// safetyKey handles a key on the safety-number screen: y marks the peer
// verified, anything else closes the screen.
func (m *Model) safetyKey(k tea.KeyPressMsg) tea.Cmd {
	v := m.safety
	if k.String() == "y" && !v.safety.Verified {
		peer := v.safety.PeerID
		return m.ask(func(ctx context.Context) (tea.Msg, error) {
			s, err := m.be.Verify(ctx, peer)
			return verifiedMsg(s), err
		})
	}
	m.safety = nil
	return nil
}

// gotVerified shows that the peer was verified and reloads the peers, so
// the ✓ shows everywhere at once (a peer event follows too).
func (m *Model) gotVerified(s api.Safety) tea.Cmd {
	if m.safety != nil && m.safety.safety.PeerID == s.PeerID {
		m.safety.safety = s
	}
	m.setStatus("marked "+m.nick(s.PeerID)+" verified", false)
	return tea.Batch(m.refreshPeers(), m.refreshConvs())
}

// safetyLines renders the safety-number screen at width w and at most h
// lines: the number in three rows of four groups, the QR code beside it
// when it fits (else under it), and what to do.
func (m *Model) safetyLines(w, h int) []string {
	s := m.safety.safety
	name := m.nick(s.PeerID)
	groups := strings.Fields(s.SafetyNumber)
	var number []string
	for i := 0; i < len(groups); i += 4 {
		number = append(number, strings.Join(groups[i:min(i+4, len(groups))], " "))
	}
	text := func(width int) []string {
		out := append(append([]string{}, number...), "")
		if s.Verified {
			return append(out, wrap(name+" is verified. Press any key to close.", width)...)
		}
		return append(out, wrap("Compare these digits with the ones "+name+" sees: read them aloud, or scan the code. If they match, press y to mark "+name+" verified; any other key closes.", width)...)
	}
	lines := []string{m.th.title.Render("Safety number with " + name), ""}
	return append(lines, besideQR(text, m.safety.qr, "", w, h-len(lines))...)
}
