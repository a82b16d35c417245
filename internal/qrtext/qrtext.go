// Package qrtext draws QR codes as text, for terminals: the command line
// and the terminal client show a safety number's QR code with it.
package qrtext

import (
	"strings"

	"github.com/mdp/qrterminal/v3"
)

// Draw returns a QR code of text drawn with half blocks, two modules a
// character high, inside a quiet zone of two modules: light modules are
// the terminal's foreground colour (a light foreground on a dark
// background reads as a QR code). Lines end in "\n" except the last.
func Draw(text string) string {
	var b strings.Builder
	qrterminal.GenerateWithConfig(text, qrterminal.Config{
		Level:      qrterminal.L,
		Writer:     &b,
		HalfBlocks: true,
		QuietZone:  2,
	})
	return strings.TrimRight(b.String(), "\n")
}
