package crypto

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestIdentityFileRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "identity.key")
	id, err := CreateIdentityFile(path, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o600 {
		t.Errorf("key file mode: got %o, want 600", got)
	}
	loaded, err := LoadIdentityFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := loaded.PeerID(), id.PeerID(); got != want {
		t.Errorf("loaded peer ID: got %s, want %s", got, want)
	}
	msg := []byte("hello")
	if !ed25519.Verify(id.PublicKey(), msg, loaded.Sign(msg)) {
		t.Error("loaded key does not sign for the created public key")
	}
}

func TestCreateIdentityFileRefusesOverwrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "identity.key")
	if _, err := CreateIdentityFile(path, rand.Reader); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = CreateIdentityFile(path, rand.Reader)
	if !errors.Is(err, ErrIdentityExists) {
		t.Fatalf("second create: got %v, want ErrIdentityExists", err)
	}
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Error("second create changed the key file")
	}
}

func TestLoadIdentityFileErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadIdentityFile(filepath.Join(dir, "missing")); !errors.Is(err, ErrNoIdentity) {
		t.Errorf("missing file: got %v, want ErrNoIdentity", err)
	}
	garbage := filepath.Join(dir, "garbage")
	if err := os.WriteFile(garbage, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadIdentityFile(garbage); err == nil {
		t.Error("garbage file: got nil error")
	}
}

func TestFingerprint(t *testing.T) {
	pub := ed25519.PublicKey(bytes.Repeat([]byte{7}, 32))
	fp := Fingerprint(pub)
	if len(fp) != 19 || fp[4] != '-' || fp[9] != '-' || fp[14] != '-' {
		t.Errorf("fingerprint %q: want 4 groups of 4 characters", fp)
	}
	if Fingerprint(pub) != fp {
		t.Error("fingerprint is not deterministic")
	}
	other := ed25519.PublicKey(bytes.Repeat([]byte{8}, 32))
	if Fingerprint(other) == fp {
		t.Error("different keys, same fingerprint")
	}
}
