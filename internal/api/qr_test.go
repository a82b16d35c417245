package api

import (
	"bytes"
	"image/png"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/skip2/go-qrcode"
)

func TestQR(t *testing.T) {
	ts := serve(t)
	link := "parley://invite/" + strings.Repeat("A", 120)

	status, header, body := ts.unixDo(t, http.MethodGet, "/api/v1/qr?text="+url.QueryEscape(link), nil, nil)
	if status != http.StatusOK || header.Get("Content-Type") != "image/png" {
		t.Fatalf("GET qr of an invite link: got %d %q (%s), want 200 image/png", status, header.Get("Content-Type"), body)
	}
	img, err := png.Decode(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("qr: %v", err)
	}
	if b := img.Bounds(); b.Dx() != qrPixels || b.Dy() != qrPixels {
		t.Errorf("qr: got %v, want %dx%d", b, qrPixels, qrPixels)
	}
	want, err := qrcode.Encode(link, qrcode.Medium, qrPixels)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(body, want) {
		t.Error("qr: the image is not the link's QR code")
	}

	for _, tc := range []struct {
		name, query string
	}{
		{"no text", ""},
		{"empty text", "?text="},
		{"not an invite", "?text=" + url.QueryEscape("https://example.com/")},
		{"prefix later", "?text=" + url.QueryEscape("x parley://invite/abc")},
		{"prefix in another case", "?text=" + url.QueryEscape("PARLEY://invite/abc")},
		{"over 2 KiB", "?text=" + url.QueryEscape("parley://invite/"+strings.Repeat("A", maxQRText))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, header, body := ts.unixDo(t, http.MethodGet, "/api/v1/qr"+tc.query, nil, nil)
			if status != http.StatusBadRequest {
				t.Fatalf("status: got %d (%s), want 400", status, body)
			}
			if eb := errorBody(t, header, body); eb.Code != CodeBadRequest {
				t.Errorf("code: got %q, want %q", eb.Code, CodeBadRequest)
			}
		})
	}

	// Exactly 2 KiB is drawn (QR codes hold about 2.3 KB at this level).
	edge := "parley://invite/" + strings.Repeat("A", maxQRText-len("parley://invite/"))
	if status, _, body := ts.unixDo(t, http.MethodGet, "/api/v1/qr?text="+url.QueryEscape(edge), nil, nil); status != http.StatusOK {
		t.Errorf("GET qr of %d bytes: got %d (%s), want 200", len(edge), status, body)
	}
}
