package tui

import (
	"strings"

	"charm.land/lipgloss/v2"

	"github.com/parley-chat/parley/internal/qrtext"
)

// minBesideQR is the narrowest text column shown beside a QR code.
const minBesideQR = 23

// qrCode draws text as a QR code, one string a line.
func qrCode(text string) []string { return strings.Split(qrtext.Draw(text), "\n") }

// besideQR lays out a text and a QR code in w cells and at most h lines:
// the code on the left and the text (wrapped by text for the width it
// gets) beside it when both fit, else the text and the code under it.
// A code that does not fit gives way to note, if any, under the text.
func besideQR(text func(width int) []string, qr []string, note string, w, h int) []string {
	qrWidth := lipgloss.Width(qr[0])
	if qrWidth+2+minBesideQR <= w {
		t := text(w - qrWidth - 2)
		if max(len(t), len(qr)) <= h {
			lines := make([]string, 0, max(len(t), len(qr)))
			for i := range max(len(t), len(qr)) {
				left := strings.Repeat(" ", qrWidth)
				if i < len(qr) {
					left = qr[i]
				}
				right := ""
				if i < len(t) {
					right = t[i]
				}
				lines = append(lines, left+"  "+right)
			}
			return lines
		}
	}
	// Too narrow (or too short) for both side by side.
	lines := text(w)
	switch {
	case qrWidth <= w && len(lines)+1+len(qr) <= h:
		lines = append(append(lines, ""), qr...)
	case note != "":
		lines = append(append(lines, ""), wrap(note, w)...)
	}
	return lines
}
