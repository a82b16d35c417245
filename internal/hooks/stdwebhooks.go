package hooks

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Standard Webhooks (https://www.standardwebhooks.com, spec version 1.0.0),
// symmetric scheme: a POST carries
//
//	webhook-id:        an ID that stays the same across retries (receivers dedupe on it)
//	webhook-timestamp: the attempt's time, integer Unix seconds
//	webhook-signature: "v1," + base64(HMAC-SHA256(key, id + "." + timestamp + "." + body)),
//	                   several space-separated during a secret rotation
//
// where key is the secret after its "whsec_" prefix, base64-decoded.

// Header names of the Standard Webhooks specification.
const (
	HeaderWebhookID        = "webhook-id"
	HeaderWebhookTimestamp = "webhook-timestamp"
	HeaderWebhookSignature = "webhook-signature"
)

// SecretPrefix marks a Standard Webhooks symmetric secret.
const SecretPrefix = "whsec_"

// DefaultTolerance is how far a webhook-timestamp may be from the
// verifier's clock, either way: five minutes, as the official libraries.
const DefaultTolerance = 5 * time.Minute

// secretBytes is the size of a generated key: the spec asks for 24 to 64.
const secretBytes = 32

// Errors of Verify and ParseSecret.
var (
	ErrBadSecret           = errors.New("not a Standard Webhooks secret (want whsec_ followed by base64)")
	ErrMissingHeaders      = errors.New("missing webhook-id, webhook-timestamp or webhook-signature header")
	ErrBadTimestamp        = errors.New("webhook-timestamp is not integer Unix seconds")
	ErrTimestampTolerance  = errors.New("webhook-timestamp is outside the tolerance of this clock")
	ErrNoMatchingSignature = errors.New("no webhook-signature matches")
)

// NewSecret makes a random secret in the spec's form: "whsec_" and the
// base64 of 32 random bytes.
func NewSecret() (string, error) {
	key := make([]byte, secretBytes)
	if _, err := rand.Read(key); err != nil {
		return "", fmt.Errorf("secret: %w", err)
	}
	return SecretPrefix + base64.StdEncoding.EncodeToString(key), nil
}

// ParseSecret returns the HMAC key of a secret: the base64 after the
// "whsec_" prefix (the prefix may be left out, as the official libraries
// allow).
func ParseSecret(secret string) ([]byte, error) {
	s := strings.TrimPrefix(secret, SecretPrefix)
	key, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(key) == 0 {
		return nil, ErrBadSecret
	}
	return key, nil
}

// Sign is the "v1,<base64>" signature of body sent with id at ts.
func Sign(key []byte, id string, ts time.Time, body []byte) string {
	return "v1," + base64.StdEncoding.EncodeToString(mac(key, id, strconv.FormatInt(ts.Unix(), 10), body))
}

func mac(key []byte, id, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id))
	m.Write([]byte{'.'})
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// SignHeaders sets the three Standard Webhooks headers of a POST of body.
func SignHeaders(h http.Header, key []byte, id string, ts time.Time, body []byte) {
	h.Set(HeaderWebhookID, id)
	h.Set(HeaderWebhookTimestamp, strconv.FormatInt(ts.Unix(), 10))
	h.Set(HeaderWebhookSignature, Sign(key, id, ts, body))
}

// Verify checks a received webhook: the headers are present, the
// timestamp is within tolerance of now (either way; zero tolerance means
// DefaultTolerance) and one of the v1 signatures is body's under key,
// compared in constant time. Signatures of other schemes (v1a) are
// skipped.
func Verify(key []byte, h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	id := h.Get(HeaderWebhookID)
	tsText := h.Get(HeaderWebhookTimestamp)
	sigs := h.Get(HeaderWebhookSignature)
	if id == "" || tsText == "" || sigs == "" {
		return ErrMissingHeaders
	}
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return ErrBadTimestamp
	}
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	tol := int64(tolerance / time.Second)
	if n := now.Unix(); ts < n-tol || ts > n+tol {
		return ErrTimestampTolerance
	}
	want := mac(key, id, tsText, body)
	for sig := range strings.FieldsSeq(sigs) {
		version, value, ok := strings.Cut(sig, ",")
		if !ok || version != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(value)
		if err != nil {
			continue
		}
		if hmac.Equal(got, want) {
			return nil
		}
	}
	return ErrNoMatchingSignature
}
