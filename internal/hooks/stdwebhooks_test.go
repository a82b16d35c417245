package hooks

import (
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

// The official libraries' own test vector.
const (
	vectorSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vectorID     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vectorTS     = 1614265330
	vectorBody   = `{"test": 2432232314}`
	vectorSig    = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func vectorKey(t *testing.T) []byte {
	t.Helper()
	key, err := ParseSecret(vectorSecret)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func TestSignMatchesTheReferenceVector(t *testing.T) {
	got := Sign(vectorKey(t), vectorID, time.Unix(vectorTS, 0), []byte(vectorBody))
	if got != vectorSig {
		t.Fatalf("got %s, want %s", got, vectorSig)
	}
}

func signedHeader(key []byte, id string, ts time.Time, body string) http.Header {
	h := http.Header{}
	SignHeaders(h, key, id, ts, []byte(body))
	return h
}

func TestVerify(t *testing.T) {
	key := vectorKey(t)
	other, _ := ParseSecret("whsec_" + base64.StdEncoding.EncodeToString([]byte("another key of twenty-four+")))
	ts := time.Unix(vectorTS, 0)
	good := signedHeader(key, vectorID, ts, vectorBody)
	tests := []struct {
		name string
		h    func() http.Header
		body string
		now  time.Time
		want error
	}{
		{"valid", func() http.Header { return good.Clone() }, vectorBody, ts, nil},
		{"valid at the tolerance's edge", func() http.Header { return good.Clone() }, vectorBody, ts.Add(DefaultTolerance), nil},
		{"rotation: one of several matches", func() http.Header {
			h := good.Clone()
			h.Set(HeaderWebhookSignature, "v1a,AAAA v1,"+base64.StdEncoding.EncodeToString([]byte("nope"))+" "+good.Get(HeaderWebhookSignature))
			return h
		}, vectorBody, ts, nil},
		{"tampered body", func() http.Header { return good.Clone() }, vectorBody + " ", ts, ErrNoMatchingSignature},
		{"other key", func() http.Header { return signedHeader(other, vectorID, ts, vectorBody) }, vectorBody, ts, ErrNoMatchingSignature},
		{"other id", func() http.Header {
			h := good.Clone()
			h.Set(HeaderWebhookID, "msg_other")
			return h
		}, vectorBody, ts, ErrNoMatchingSignature},
		{"too old", func() http.Header { return good.Clone() }, vectorBody, ts.Add(DefaultTolerance + time.Second), ErrTimestampTolerance},
		{"too new", func() http.Header { return good.Clone() }, vectorBody, ts.Add(-DefaultTolerance - time.Second), ErrTimestampTolerance},
		{"timestamp not a number", func() http.Header {
			h := good.Clone()
			h.Set(HeaderWebhookTimestamp, "1614265330.5")
			return h
		}, vectorBody, ts, ErrBadTimestamp},
		{"no signature header", func() http.Header {
			h := good.Clone()
			h.Del(HeaderWebhookSignature)
			return h
		}, vectorBody, ts, ErrMissingHeaders},
		{"only a v1a signature", func() http.Header {
			h := good.Clone()
			h.Set(HeaderWebhookSignature, strings.Replace(good.Get(HeaderWebhookSignature), "v1,", "v1a,", 1))
			return h
		}, vectorBody, ts, ErrNoMatchingSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Verify(key, tt.h(), []byte(tt.body), tt.now, 0)
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestNewSecret(t *testing.T) {
	a, err := NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewSecret()
	if a == b {
		t.Fatal("two secrets are the same")
	}
	if !strings.HasPrefix(a, SecretPrefix) {
		t.Fatalf("got %q, want the %s prefix", a, SecretPrefix)
	}
	key, err := ParseSecret(a)
	if err != nil {
		t.Fatal(err)
	}
	if len(key) < 24 || len(key) > 64 {
		t.Fatalf("got a %d-byte key, want 24 to 64 (spec)", len(key))
	}
}

func TestParseSecretRejects(t *testing.T) {
	for _, s := range []string{"", "whsec_", "whsec_not base64!", "whsec_@@@@"} {
		if _, err := ParseSecret(s); !errors.Is(err, ErrBadSecret) {
			t.Errorf("ParseSecret(%q): got %v, want ErrBadSecret", s, err)
		}
	}
}

// FuzzVerify: any headers and body give an answer, never a panic, and a
// body signed with the key verifies.
func FuzzVerify(f *testing.F) {
	f.Add(vectorID, "1614265330", vectorSig, vectorBody)
	f.Add("msg_x", "-1", "v1,", "")
	f.Add("msg_x", "99999999999999999999", "v1a,AA== v1,@@", "{}")
	f.Add("", "", "", "")
	key, _ := ParseSecret(vectorSecret)
	f.Fuzz(func(t *testing.T, id, ts, sig, body string) {
		h := http.Header{}
		h.Set(HeaderWebhookID, id)
		h.Set(HeaderWebhookTimestamp, ts)
		h.Set(HeaderWebhookSignature, sig)
		_ = Verify(key, h, []byte(body), time.Unix(vectorTS, 0), 0)
		if id == "" || strings.ContainsAny(id, "\r\n") {
			return
		}
		at := time.Unix(vectorTS, 0)
		h = signedHeader(key, id, at, body)
		if err := Verify(key, h, []byte(body), at, 0); err != nil {
			t.Fatalf("own signature rejected: %v", err)
		}
	})
}
