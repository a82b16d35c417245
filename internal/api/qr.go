package api

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/skip2/go-qrcode"

	"github.com/parley-chat/parley/chat"
)

// qrPixels is the side of the QR code images the API draws.
const qrPixels = 256

// maxQRText caps what GET /qr draws: an invite link is far shorter.
const maxQRText = 2 << 10

// writeQR answers with text drawn as a QR code, a qrPixels-square PNG.
func writeQR(w http.ResponseWriter, text string) {
	png, err := qrcode.Encode(text, qrcode.Medium, qrPixels)
	if err != nil {
		writeErr(w, err)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(png)
}

// handleQR draws an invite link as a QR code, for the web client's invite
// dialog. It draws nothing else: the endpoint is no general QR service.
func (s *Server) handleQR(w http.ResponseWriter, r *http.Request) {
	text := r.URL.Query().Get("text")
	switch {
	case len(text) > maxQRText:
		writeError(w, http.StatusBadRequest, CodeBadRequest, fmt.Sprintf("text over %d bytes", maxQRText))
	case !strings.HasPrefix(text, chat.InviteLinkPrefix):
		writeError(w, http.StatusBadRequest, CodeBadRequest, "text: want an invite link ("+chat.InviteLinkPrefix+"…)")
	default:
		writeQR(w, text)
	}
}
