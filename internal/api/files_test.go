package api

import (
	"bytes"
	"image"
	"image/png"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parley-chat/parley/chat/chattest"
)

// TestFileContentHeaders checks how GET /api/v1/files/{hash} serves what
// was shared: PNG, JPEG, GIF and WebP inline as images (unless
// ?download=1), everything else, SVG and HTML included, as an
// application/octet-stream attachment; never sniffed, always sandboxed.
func TestFileContentHeaders(t *testing.T) {
	ts := serve(t, chattest.WithFiles(nil))
	if _, err := ts.client.Join(t.Context(), "#team"); err != nil {
		t.Fatal(err)
	}
	var pngBytes bytes.Buffer
	if err := png.Encode(&pngBytes, image.NewGray(image.Rect(0, 0, 8, 6))); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	files := []struct{ name, body string }{
		{"dot.png", pngBytes.String()},
		{"logo.svg", `<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`},
		{"page.html", `<!doctype html><script>alert(1)</script>`},
		{"fake.png", `<html><script>alert(1)</script></html>`}, // an image by name only
		{"notes.txt", "plain text\n"},
	}
	var paths []string
	for _, f := range files {
		p := filepath.Join(dir, f.name)
		if err := os.WriteFile(p, []byte(f.body), 0o600); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	m, err := ts.client.Share(t.Context(), "#team", paths, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Files) != len(files) {
		t.Fatalf("shared %d files, the message has %d", len(files), len(m.Files))
	}
	hashOf := map[string]string{}
	for _, f := range m.Files {
		hashOf[f.Name] = f.Hash
	}
	auth := "Bearer " + testToken
	for _, tc := range []struct {
		name, query     string
		wantType, wantD string // Content-Type, the Content-Disposition's type
	}{
		{"dot.png", "", "image/png", "inline"},
		{"dot.png", "?download=1", "application/octet-stream", "attachment"},
		{"logo.svg", "", "application/octet-stream", "attachment"},
		{"page.html", "", "application/octet-stream", "attachment"},
		{"fake.png", "", "application/octet-stream", "attachment"},
		{"notes.txt", "", "application/octet-stream", "attachment"},
	} {
		code, h, body := ts.tcpGet(t, "/api/v1/files/"+hashOf[tc.name]+tc.query, "", auth)
		if code != http.StatusOK {
			t.Errorf("GET %s%s: %d %q, want 200", tc.name, tc.query, code, body)
			continue
		}
		if got := h.Get("Content-Type"); got != tc.wantType {
			t.Errorf("GET %s%s: Content-Type %q, want %q", tc.name, tc.query, got, tc.wantType)
		}
		if got := h.Get("Content-Disposition"); !strings.HasPrefix(got, tc.wantD+";") || !strings.Contains(got, tc.name) {
			t.Errorf("GET %s%s: Content-Disposition %q, want %s naming the file", tc.name, tc.query, got, tc.wantD)
		}
		if got := h.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("GET %s%s: X-Content-Type-Options %q, want nosniff", tc.name, tc.query, got)
		}
		if got := h.Get("Content-Security-Policy"); !strings.Contains(got, "sandbox") || !strings.Contains(got, "default-src 'none'") {
			t.Errorf("GET %s%s: Content-Security-Policy %q, want default-src 'none' and sandbox", tc.name, tc.query, got)
		}
	}
	// The PNG's preview: a JPEG, never sniffed.
	code, h, body := ts.tcpGet(t, "/api/v1/files/"+hashOf["dot.png"]+"/thumb", "", auth)
	if code != http.StatusOK || h.Get("Content-Type") != "image/jpeg" || h.Get("X-Content-Type-Options") != "nosniff" || len(body) == 0 {
		t.Errorf("GET the PNG's thumb: %d, Content-Type %q, X-Content-Type-Options %q, %d bytes; want a nosniff JPEG", code, h.Get("Content-Type"), h.Get("X-Content-Type-Options"), len(body))
	}
}
