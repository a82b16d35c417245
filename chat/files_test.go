package chat_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/crypto"
)

func TestSafeFileName(t *testing.T) {
	long := strings.Repeat("a", 300)
	longRunes := strings.Repeat("é", 150) // 300 bytes, 2 per rune
	for _, tc := range []struct{ name, in, want string }{
		{"plain", "report.pdf", "report.pdf"},
		{"unicode kept", "Übersicht 2025 — 日本.xlsx", "Übersicht 2025 — 日本.xlsx"},
		{"inner spaces kept", "my  report.pdf", "my  report.pdf"},
		{"empty", "", "file"},
		{"only dots", "...", "file"},
		{"dot", ".", "file"},
		{"dot dot", "..", "file"},
		{"parent path", "../../etc/passwd", "_.._etc_passwd"},
		{"absolute path", "/etc/passwd", "_etc_passwd"},
		{"windows path", `C:\Windows\system32\cmd.exe`, "C__Windows_system32_cmd.exe"},
		{"unc path", `\\server\share\x`, "__server_share_x"},
		{"hidden", ".bashrc", "bashrc"},
		{"hidden with dots and spaces", " . .ssh", "ssh"},
		{"trailing dots and spaces", "report.pdf. . ", "report.pdf"},
		{"NUL", "a\x00b.txt", "a_b.txt"},
		{"newline", "a\nb\r.txt", "a_b_.txt"},
		{"tab", "a\tb", "a_b"},
		{"delete", "a\x7fb", "a_b"},
		{"C1 control", "a\u0085b", "a_b"},
		{"escape sequence", "\x1b[31mred", "_[31mred"},
		{"bidi override", "invoice\u202efdp.exe", "invoice_fdp.exe"},
		{"zero width", "a\u200bb", "a_b"},
		{"line separator", "a\u2028b", "a_b"},
		{"invalid utf-8", "a\xffb.txt", "a_b.txt"},
		{"windows forbidden", `a<b>c:d"e|f?g*h`, "a_b_c_d_e_f_g_h"},
		{"CON", "CON", "_CON"},
		{"con lower with extension", "con.txt", "_con.txt"},
		{"NUL with two extensions", "nul.tar.gz", "_nul.tar.gz"},
		{"COM1", "COM1.log", "_COM1.log"},
		{"com9", "com9", "_com9"},
		{"LPT5", "Lpt5.doc", "_Lpt5.doc"},
		{"COM superscript", "COM¹", "_COM¹"},
		{"AUX trailing space", "AUX .txt", "_AUX .txt"},
		{"PRN trailing dots", "PRN...", "_PRN"},
		{"not reserved", "CONSOLE.txt", "CONSOLE.txt"},
		{"not reserved COM0", "COM0", "COM0"},
		{"not reserved COM10", "COM10", "COM10"},
		{"long", long + ".pdf", strings.Repeat("a", 196) + ".pdf"},
		{"long without extension", long, strings.Repeat("a", 200)},
		{"long runes", longRunes + ".txt", strings.Repeat("é", 98) + ".txt"},
		{"long extension is not kept apart", "x." + long, "x." + strings.Repeat("a", 198)},
		{"long ending in dots after the cut", strings.Repeat("a", 195) + "....." + long, strings.Repeat("a", 195)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := chat.SafeFileName(tc.in)
			if got != tc.want {
				t.Errorf("SafeFileName(%q): got %q, want %q", tc.in, got, tc.want)
			}
			checkSafeName(t, tc.in, got)
		})
	}
}

// checkSafeName asserts what SafeFileName promises of every result.
func checkSafeName(t *testing.T, in, got string) {
	t.Helper()
	if got == "" || len(got) > 200 {
		t.Fatalf("SafeFileName(%q) = %q: %d bytes, want 1 to 200", in, got, len(got))
	}
	if !utf8.ValidString(got) {
		t.Fatalf("SafeFileName(%q) = %q: invalid UTF-8", in, got)
	}
	if strings.ContainsAny(got, `/\`) || filepath.Base(got) != got || got == "." || got == ".." {
		t.Fatalf("SafeFileName(%q) = %q: not one path element", in, got)
	}
	for _, r := range got {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			t.Fatalf("SafeFileName(%q) = %q: control or format character %U", in, got, r)
		}
	}
	if strings.HasPrefix(got, ".") || strings.HasSuffix(got, ".") || strings.HasSuffix(got, " ") {
		t.Fatalf("SafeFileName(%q) = %q: a leading dot or a trailing dot or space", in, got)
	}
	if again := chat.SafeFileName(got); again != got {
		t.Fatalf("SafeFileName(%q) = %q, but SafeFileName of that is %q", in, got, again)
	}
}

func FuzzSafeFileName(f *testing.F) {
	for _, s := range []string{"", "report.pdf", "../../x", "CON", ".bashrc", "a\x00b", "\u202e", strings.Repeat("é", 200) + ".txt", "x." + strings.Repeat("y", 40), " . "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		got := chat.SafeFileName(name)
		checkSafeName(t, name, got)
		for _, n := range []int{1, 12, 9999} {
			numbered := chat.NumberedFileName(got, n)
			if len(numbered) > 220 || strings.ContainsAny(numbered, `/\`) || !utf8.ValidString(numbered) {
				t.Fatalf("NumberedFileName(%q, %d) = %q", got, n, numbered)
			}
		}
	})
}

func TestNumberedFileName(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"report.pdf", 0, "report.pdf"},
		{"report.pdf", 1, "report (1).pdf"},
		{"report.pdf", 12, "report (12).pdf"},
		{"archive.tar.gz", 1, "archive.tar (1).gz"},
		{"README", 2, "README (2)"},
		{strings.Repeat("a", 196) + ".pdf", 3, strings.Repeat("a", 192) + " (3).pdf"},
	} {
		if got := chat.NumberedFileName(tc.in, tc.n); got != tc.want {
			t.Errorf("NumberedFileName(%q, %d): got %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}

func TestFileManifestValidate(t *testing.T) {
	good := chat.FileManifest{Name: "a.png", Size: 3 << 20, MIME: "image/png", Hash: crypto.ChunkHash([]byte("x")), ChunkSize: crypto.FileChunkSize, Width: 10, Height: 20, Thumb: []byte{1}}
	if err := good.Validate(4 << 30); err != nil {
		t.Fatalf("a good manifest: %v", err)
	}
	if n := good.NumChunks(); n != 3 {
		t.Errorf("NumChunks: got %d, want 3", n)
	}
	empty := good
	empty.Size = 0
	if err := empty.Validate(4 << 30); err != nil {
		t.Errorf("a zero-byte file: %v", err)
	}
	if err := good.Validate(1 << 20); !errors.Is(err, chat.ErrFileTooLarge) || !errors.Is(err, chat.ErrTooLarge) {
		t.Errorf("over the limit: got %v, want ErrFileTooLarge wrapping ErrTooLarge", err)
	}
	for name, change := range map[string]func(m *chat.FileManifest){
		"no name":         func(m *chat.FileManifest) { m.Name = "" },
		"a long name":     func(m *chat.FileManifest) { m.Name = strings.Repeat("n", chat.MaxFileNameLen+1) },
		"negative size":   func(m *chat.FileManifest) { m.Size = -1 },
		"zero chunk size": func(m *chat.FileManifest) { m.ChunkSize = 0 },
		"huge chunk size": func(m *chat.FileManifest) { m.ChunkSize = chat.MaxFileChunkSize + 1 },
		"too many chunks": func(m *chat.FileManifest) { m.ChunkSize = 1; m.Size = chat.MaxFileChunks + 1 },
		"no hash":         func(m *chat.FileManifest) { m.Hash = chat.FileHash{} },
		"long MIME":       func(m *chat.FileManifest) { m.MIME = strings.Repeat("m", 256) },
		"negative width":  func(m *chat.FileManifest) { m.Width = -1 },
		"large thumbnail": func(m *chat.FileManifest) { m.Thumb = make([]byte, chat.MaxFileThumbLen+1) },
	} {
		m := good
		change(&m)
		if err := m.Validate(4 << 30); !errors.Is(err, chat.ErrInvalid) {
			t.Errorf("%s: got %v, want ErrInvalid", name, err)
		}
	}
}

func TestFileRecordBits(t *testing.T) {
	r := chat.FileRecord{Manifest: chat.FileManifest{Size: 10, ChunkSize: 1}}
	r.Have = chat.HaveBits(r.Manifest.NumChunks())
	if len(r.Have) != 2 {
		t.Fatalf("HaveBits(10): got %d bytes, want 2", len(r.Have))
	}
	r.Have[0], r.Have[1] = 0b0000_0101, 0b10
	for i, want := range []bool{true, false, true, false, false, false, false, false, false, true} {
		if r.Has(i) != want {
			t.Errorf("Has(%d): got %v, want %v", i, !want, want)
		}
	}
	if r.Has(-1) || r.Has(16) {
		t.Error("Has out of range reported true")
	}
	if n := chat.CountHave(r.Have); n != 3 {
		t.Errorf("CountHave: got %d, want 3", n)
	}
	if r.ChunksKnown() {
		t.Error("ChunksKnown with no list")
	}
	zero := chat.FileRecord{Manifest: chat.FileManifest{Size: 0, ChunkSize: 1 << 20}}
	if !zero.ChunksKnown() || !zero.Complete() {
		t.Error("a zero-byte file: its (empty) chunk list is known and it is complete")
	}
}
