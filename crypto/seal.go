package crypto

import (
	"crypto/hkdf"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"

	"golang.org/x/crypto/chacha20poly1305"
)

// KeySize is the size of every symmetric key: room secrets, sender keys,
// file keys.
const KeySize = 32

// Key is a symmetric key.
type Key [KeySize]byte

// NewKey returns a fresh random key from rand (crypto/rand.Reader in
// production).
func NewKey(rand io.Reader) (Key, error) {
	var k Key
	if _, err := io.ReadFull(rand, k[:]); err != nil {
		return k, fmt.Errorf("generate key: %w", err)
	}
	return k, nil
}

// Derive returns n bytes derived from secret for one purpose (HKDF-SHA256
// with info = purpose): different purposes give independent keys.
func Derive(secret Key, purpose string, n int) []byte {
	b, err := hkdf.Key(sha256.New, secret[:], nil, purpose, n)
	if err != nil {
		panic(err) // only for n beyond HKDF's limit, never asked for here
	}
	return b
}

// DeriveKey is Derive for a Key.
func DeriveKey(secret Key, purpose string) Key {
	var k Key
	copy(k[:], Derive(secret, purpose, KeySize))
	return k
}

// ErrOpen is returned for a sealed box that does not open: a wrong key, a
// changed byte, or other associated data.
var ErrOpen = errors.New("cannot decrypt: wrong key or damaged data")

// Seal encrypts and authenticates plaintext with key and binds it to ad
// (authenticated, not encrypted): XChaCha20-Poly1305 with a random
// 24-byte nonce, which the result starts with.
func Seal(key Key, plaintext, ad []byte, rand io.Reader) ([]byte, error) {
	aead, err := chacha20poly1305.NewX(key[:])
	if err != nil {
		return nil, err
	}
	out := make([]byte, chacha20poly1305.NonceSizeX, chacha20poly1305.NonceSizeX+len(plaintext)+aead.Overhead())
	if _, err := io.ReadFull(rand, out); err != nil {
		return nil, fmt.Errorf("nonce: %w", err)
	}
	return aead.Seal(out, out, plaintext, ad), nil
}

// Open decrypts what Seal made with the same key and ad.
func Open(key Key, sealed, ad []byte) ([]byte, error) {
	aead, err := chacha20poly1305.NewX(key[:])
	if err != nil {
		return nil, err
	}
	if len(sealed) < chacha20poly1305.NonceSizeX+aead.Overhead() {
		return nil, ErrOpen
	}
	nonce, box := sealed[:chacha20poly1305.NonceSizeX], sealed[chacha20poly1305.NonceSizeX:]
	out, err := aead.Open(nil, nonce, box, ad)
	if err != nil {
		return nil, ErrOpen
	}
	return out, nil
}
