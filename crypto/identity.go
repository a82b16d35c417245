package crypto

import (
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base32"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
)

const pemType = "PRIVATE KEY"

// Identity is a node's long-term Ed25519 key pair.
type Identity struct {
	priv ed25519.PrivateKey
}

// NewIdentity generates a fresh identity from rand (crypto/rand.Reader in production).
func NewIdentity(rand io.Reader) (*Identity, error) {
	_, priv, err := ed25519.GenerateKey(rand)
	if err != nil {
		return nil, fmt.Errorf("generate identity key: %w", err)
	}
	return &Identity{priv: priv}, nil
}

// IdentityFromKey wraps an existing Ed25519 private key.
func IdentityFromKey(priv ed25519.PrivateKey) *Identity {
	return &Identity{priv: priv}
}

// CreateIdentityFile generates an identity and writes it to path with mode
// 0600. It never overwrites: an existing file yields ErrIdentityExists.
func CreateIdentityFile(path string, rand io.Reader) (*Identity, error) {
	id, err := NewIdentity(rand)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(id.priv)
	if err != nil {
		return nil, fmt.Errorf("encode identity key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("%w at %s", ErrIdentityExists, path)
	}
	if err != nil {
		return nil, fmt.Errorf("create identity file: %w", err)
	}
	werr := pem.Encode(f, &pem.Block{Type: pemType, Bytes: der})
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		_ = os.Remove(path)
		return nil, fmt.Errorf("write identity file: %w", werr)
	}
	return id, nil
}

// LoadIdentityFile reads an identity written by CreateIdentityFile.
func LoadIdentityFile(path string) (*Identity, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w at %s", ErrNoIdentity, path)
	}
	if err != nil {
		return nil, fmt.Errorf("read identity file: %w", err)
	}
	block, _ := pem.Decode(b)
	if block == nil || block.Type != pemType {
		return nil, fmt.Errorf("identity file %s: not a PEM %q block", path, pemType)
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("identity file %s: %w", path, err)
	}
	priv, ok := key.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("identity file %s: not an Ed25519 key", path)
	}
	return &Identity{priv: priv}, nil
}

// PrivateKey returns the Ed25519 private key. Never log it.
func (id *Identity) PrivateKey() ed25519.PrivateKey { return id.priv }

// PublicKey returns the Ed25519 public key.
func (id *Identity) PublicKey() ed25519.PublicKey {
	return id.priv.Public().(ed25519.PublicKey)
}

// PeerID returns the node's peer ID.
func (id *Identity) PeerID() PeerID { return PeerIDFromPublicKey(id.PublicKey()) }

// Sign signs msg with the identity key.
func (id *Identity) Sign(msg []byte) []byte { return ed25519.Sign(id.priv, msg) }

// Fingerprint returns a short, human-comparable digest of a public key:
// the first 80 bits of SHA-256 in upper-case base32, grouped by four
// ("ABCD-EFGH-IJKL-MNOP").
func Fingerprint(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	s := base32.StdEncoding.EncodeToString(sum[:10])
	var b strings.Builder
	for i := 0; i < len(s); i += 4 {
		if i > 0 {
			b.WriteByte('-')
		}
		b.WriteString(s[i:min(i+4, len(s))])
	}
	return b.String()
}
