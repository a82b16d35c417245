package hooks_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/chat/chattest"
	"github.com/parley-chat/parley/internal/hooks"
)

// selfSigned writes a certificate for 127.0.0.1 and its key as PEM files.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "parley hooks test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "hooks.crt"), filepath.Join(dir, "hooks.key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// TestServerTLS: with a certificate the hook URLs are https and a POST
// over TLS posts; plain HTTP to the same port posts nothing.
func TestServerTLS(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t)
	r := newRig(t, hooks.ServerConfig{TLSCert: certFile, TLSKey: keyFile})
	u := r.hook(t, "secure")
	if !strings.HasPrefix(u, "https://127.0.0.1:") {
		t.Fatalf("URL %q, want https on the bound address", u)
	}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true, TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	t.Cleanup(client.CloseIdleConnections)
	resp, err := client.Post(u, "application/json", strings.NewReader(`{"text":"over TLS"}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "ok" {
		t.Fatalf("POST over TLS: %d %q", resp.StatusCode, body)
	}
	plain := "http://" + strings.TrimPrefix(u, "https://")
	noKeep := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	if resp, err := noKeep.Post(plain, "application/json", strings.NewReader(`{"text":"in the clear"}`)); err == nil {
		_ = resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Error("plain HTTP to the TLS listener was answered 200")
		}
	}
	chattest.WaitFor(t, 0, "the TLS message at bob", func() bool { return len(appMessages(t, r.bob)) == 1 })
	if ms := appMessages(t, r.ann); len(ms) != 1 || ms[0].Body != "over TLS" {
		t.Errorf("ann holds %d app messages, want only the one over TLS", len(ms))
	}

	if _, err := hooks.NewServer(hooks.ServerConfig{Registry: r.reg, Poster: r.ann.Svc, Listener: mustListen(t), TLSCert: certFile}); err == nil {
		t.Error("a certificate without its key: got no error")
	}
}

func mustListen(t *testing.T) net.Listener {
	t.Helper()
	l, err := netListen()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}
