package tui

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/parley-chat/parley/internal/api"
)

// inviteView is the invite panel (/invite): a link into a private room,
// in full so that it can be selected and copied, and its QR code.
type inviteView struct {
	invite api.InviteResponse
	qr     []string
}

// inviteMsg opens the invite panel.
type inviteMsg api.InviteResponse

// inviteCommand runs /invite [#room] [--uses N] [--expires 10m]: without
// a room, for the open one.
func (m *Model) inviteCommand(args []string) tea.Cmd {
	const usage = "usage: /invite [#room] [--uses N] [--expires 10m|36h|7d]"
	var req api.InviteRequest
	room := ""
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--uses" || a == "--expires":
			if i+1 >= len(args) {
				m.setStatus(usage, true)
				return nil
			}
			i++
			if a == "--expires" {
				req.Expires = args[i]
				continue
			}
			n, err := strconv.Atoi(args[i])
			if err != nil || n < 1 {
				m.setStatus("--uses "+args[i]+": want a number of 1 or more", true)
				return nil
			}
			req.Uses = n
		case strings.HasPrefix(a, "#") && room == "":
			room = strings.TrimPrefix(a, "#")
		default:
			m.setStatus(usage, true)
			return nil
		}
	}
	if r, ok := roomOf(m.cur); ok && room == "" {
		room = r
	}
	if room == "" {
		m.setStatus(usage+" (or open the room first)", true)
		return nil
	}
	if r, ok := m.rooms[room]; ok && !r.Private {
		m.setStatus("#"+room+" is public: anyone can /join #"+room+"; invites are for private rooms (/create --private #name)", true)
		return nil
	}
	return m.ask(func(ctx context.Context) (tea.Msg, error) {
		res, err := m.be.Invite(ctx, "#"+room, req)
		return inviteMsg(res), err
	})
}

// showInvite opens the invite panel.
func (m *Model) showInvite(res api.InviteResponse) {
	m.showHelp, m.safety = false, nil
	m.invite = &inviteView{invite: res, qr: qrCode(res.Link)}
	m.setStatus("invite made: c copies the link, Esc closes", false)
}

// inviteKey handles a key on the invite panel: c copies the link to the
// clipboard (OSC 52: the terminal does it, if it allows), Esc, q or Enter
// close the panel; other keys do nothing, so that selecting the link
// with the mouse cannot close it by a stray key.
func (m *Model) inviteKey(k tea.KeyPressMsg) tea.Cmd {
	switch k.String() {
	case "c":
		m.setStatus("link sent to the clipboard (OSC 52); if it is not there, select the link with the mouse", false)
		return tea.SetClipboard(m.invite.invite.Link)
	case "esc", "q", "enter":
		m.invite = nil
		m.setStatus("", false)
	}
	return nil
}

// inviteLines renders the invite panel at width w and at most h lines:
// the link cut into lines of w characters (nothing else on them, so a
// selection with the mouse takes the link alone), then what it allows
// and the keys beside its QR code.
func (m *Model) inviteLines(w, h int) []string {
	inv := m.invite.invite
	lines := []string{m.th.title.Render("Invite into #" + inv.Room + " " + m.th.lock), ""}
	for link := inv.Link; link != ""; {
		cut := truncate(link, w)
		lines = append(lines, cut)
		link = link[len(cut):]
	}
	lines = append(lines, "")
	uses := "1 use"
	if inv.Uses != 1 {
		uses = fmt.Sprintf("%d uses", inv.Uses)
	}
	until := inv.ExpiresAt.In(m.opts.Loc).Format("Mon 2 Jan 2006 15:04")
	if left := inv.ExpiresAt.Sub(m.opts.Now()); left > 0 {
		until += " (in " + roundDuration(left) + ")"
	}
	text := func(width int) []string {
		var out []string
		for _, p := range []string{
			"Works for " + uses + ", until " + until + ".",
			"Give it only to the people you invite: whoever holds it can join. They type /join and the link, or run parley join with it.",
			"c: copy the link (if the terminal allows it) · or select it with the mouse · Esc: close",
		} {
			out = append(out, wrap(p, width)...)
		}
		return out
	}
	// The terminal the code needs under the text: the panel's lines, the
	// code's, and the composer and status bar around the panel.
	needW := lipgloss.Width(m.invite.qr[0])
	needH := len(lines) + len(text(w)) + 1 + len(m.invite.qr) + m.height - h
	note := fmt.Sprintf("The QR code of the link needs a terminal of at least %d×%d.", needW, needH)
	return append(lines, besideQR(text, m.invite.qr, note, w, h-len(lines))...)
}

// roundDuration says a duration as people do: "7 days", "10 minutes".
func roundDuration(d time.Duration) string {
	plural := func(n int, unit string) string {
		if n == 1 {
			return "1 " + unit
		}
		return fmt.Sprintf("%d %ss", n, unit)
	}
	switch {
	case d >= 48*time.Hour:
		return plural(int((d+12*time.Hour)/(24*time.Hour)), "day")
	case d >= 2*time.Hour:
		return plural(int((d+30*time.Minute)/time.Hour), "hour")
	case d >= time.Minute:
		return plural(int((d+30*time.Second)/time.Minute), "minute")
	}
	return "less than a minute"
}
