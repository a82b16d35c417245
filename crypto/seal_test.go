package crypto

import (
	"bytes"
	"crypto/rand"
	"errors"
	"testing"
)

func TestSealOpen(t *testing.T) {
	key, err := NewKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	msg, ad := []byte("the plan for tomorrow"), []byte("room 1, epoch 2")
	box, err := Seal(key, msg, ad, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(box, msg) {
		t.Fatal("the sealed box contains the plaintext")
	}
	got, err := Open(key, box, ad)
	if err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("Open: got %q, %v; want %q", got, err, msg)
	}
	again, err := Seal(key, msg, ad, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(again, box) {
		t.Error("sealing twice gave the same bytes: the nonce is not fresh")
	}
	other, _ := NewKey(rand.Reader)
	for name, tc := range map[string]struct {
		key Key
		box []byte
		ad  []byte
	}{
		"wrong key": {other, box, ad},
		"other ad":  {key, box, []byte("room 1, epoch 3")},
		"flipped":   {key, flip(box, len(box)-1), ad},
		"nonce":     {key, flip(box, 0), ad},
		"truncated": {key, box[:20], ad},
		"empty":     {key, nil, ad},
	} {
		if _, err := Open(tc.key, tc.box, tc.ad); !errors.Is(err, ErrOpen) {
			t.Errorf("%s: got %v, want ErrOpen", name, err)
		}
	}
}

func TestDeriveIsPerPurpose(t *testing.T) {
	var secret Key
	secret[0] = 7
	a, b := DeriveKey(secret, "topic"), DeriveKey(secret, "names")
	if a == b {
		t.Error("two purposes gave one key")
	}
	if DeriveKey(secret, "topic") != a {
		t.Error("one purpose gave two keys")
	}
}

func FuzzOpen(f *testing.F) {
	var key Key
	box, _ := Seal(key, []byte("seed"), nil, rand.Reader)
	f.Add(box, []byte{})
	f.Add([]byte{}, []byte("ad"))
	f.Fuzz(func(t *testing.T, box, ad []byte) {
		if out, err := Open(key, box, ad); err == nil && out == nil {
			t.Error("Open succeeded with no plaintext")
		}
	})
}

func flip(b []byte, i int) []byte {
	c := bytes.Clone(b)
	c[i] ^= 1
	return c
}
