package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/internal/notify"
)

// MaxRequestBody caps request bodies.
const MaxRequestBody = 1 << 20

// ErrBadRequest marks errors caused by the request's arguments.
var ErrBadRequest = errors.New("bad request")

func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	r.Body = http.MaxBytesReader(w, r.Body, MaxRequestBody)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, CodeTooLarge, fmt.Sprintf("request body over %d bytes", MaxRequestBody))
			return false
		}
		writeError(w, http.StatusBadRequest, CodeBadRequest, "bad JSON request body: "+err.Error())
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, ErrorBody{Error: msg, Code: code})
}

// writeErr maps an error to a status and code: the one place where
// sentinel errors become HTTP.
func writeErr(w http.ResponseWriter, err error) {
	if hookError(w, err) {
		return
	}
	switch {
	case errors.Is(err, chat.ErrTooLarge):
		writeError(w, http.StatusRequestEntityTooLarge, CodeTooLarge, err.Error())
	case errors.Is(err, ErrBadRequest):
		writeError(w, http.StatusBadRequest, CodeBadRequest, strings.TrimPrefix(err.Error(), ErrBadRequest.Error()+": "))
	case errors.Is(err, chat.ErrInvalid):
		writeError(w, http.StatusBadRequest, CodeBadRequest, strings.TrimPrefix(err.Error(), chat.ErrInvalid.Error()+": "))
	case errors.Is(err, chat.ErrEmptyMessage), errors.Is(err, chat.ErrSelf), errors.Is(err, chat.ErrBadEnvelope),
		errors.Is(err, chat.ErrBadNick), errors.Is(err, chat.ErrBadRoom), errors.Is(err, chat.ErrBadAddr),
		errors.Is(err, notify.ErrBadLevel), errors.Is(err, notify.ErrBadDND):
		writeError(w, http.StatusBadRequest, CodeBadRequest, err.Error())
	case errors.Is(err, chat.ErrUnknownPeer), errors.Is(err, chat.ErrNotFound), errors.Is(err, chat.ErrNotJoined):
		writeError(w, http.StatusNotFound, CodeNotFound, err.Error())
	case errors.Is(err, chat.ErrNotAllowed), errors.Is(err, chat.ErrNotMember):
		writeError(w, http.StatusForbidden, CodeForbidden, err.Error())
	case errors.Is(err, chat.ErrInviteUsedUp), errors.Is(err, chat.ErrInviteExpired), errors.Is(err, chat.ErrInviteRevoked):
		writeError(w, http.StatusGone, CodeGone, err.Error())
	case errors.Is(err, chat.ErrInviteForged):
		writeError(w, http.StatusForbidden, CodeForbidden, err.Error())
	case errors.Is(err, chat.ErrInviteUnknown):
		writeError(w, http.StatusNotFound, CodeNotFound, err.Error())
	case errors.Is(err, chat.ErrAmbiguousPeer):
		writeError(w, http.StatusConflict, CodeConflict, err.Error())
	case errors.Is(err, context.DeadlineExceeded):
		writeError(w, http.StatusGatewayTimeout, CodeTimeout, err.Error())
	case errors.Is(err, chat.ErrSearchOff):
		writeError(w, http.StatusServiceUnavailable, CodeUnavailable, err.Error())
	case errors.Is(err, chat.ErrClosed):
		writeError(w, http.StatusServiceUnavailable, CodeUnavailable, "the node is shutting down")
	default:
		writeError(w, http.StatusInternalServerError, CodeInternal, err.Error())
	}
}
