package qrtext

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// TestDraw checks the shape of a safety number's code: every line as
// wide as the others, made of the four half-block characters only, small
// enough for an 80x24 terminal, and different for different digits.
func TestDraw(t *testing.T) {
	digits := strings.Repeat("0123456789", 6)
	got := Draw(digits)
	lines := strings.Split(got, "\n")
	if len(lines) < 10 || len(lines) > 18 {
		t.Errorf("lines: got %d, want 10 to 18 (a small code, two modules a line)", len(lines))
	}
	width := utf8.RuneCountInString(lines[0])
	if width < 20 || width > 40 {
		t.Errorf("width: got %d, want 20 to 40", width)
	}
	for i, l := range lines {
		if n := utf8.RuneCountInString(l); n != width {
			t.Errorf("line %d: %d characters, want %d", i, n, width)
		}
		if s := strings.Trim(l, " █▀▄"); s != "" {
			t.Errorf("line %d: got %q, want half blocks only", i, l)
		}
	}
	if other := Draw(strings.Repeat("9876543210", 6)); other == got {
		t.Errorf("two numbers, one code")
	}
	if again := Draw(digits); again != got {
		t.Errorf("the same number drawn twice differs")
	}
}
