// Package deptest checks the import direction of the module: chat, store
// and crypto never pull in libp2p, crypto stays a leaf, and chat knows no
// Badger.
package deptest

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/parley-chat/parley"

func deps(t *testing.T, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", module+"/"+pkg).Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v", pkg, err)
	}
	return strings.Fields(string(out))
}

func TestImportDirection(t *testing.T) {
	for _, tc := range []struct {
		pkg       string
		forbidden []string
	}{
		{"chat", []string{"github.com/libp2p/", "github.com/multiformats/", "github.com/dgraph-io/badger", module + "/store", module + "/node"}},
		{"store", []string{"github.com/libp2p/", "github.com/multiformats/", module + "/node"}},
		{"crypto", []string{"github.com/libp2p/", "github.com/multiformats/", "github.com/dgraph-io/", "google.golang.org/protobuf", module + "/chat"}},
	} {
		for _, d := range deps(t, tc.pkg) {
			for _, f := range tc.forbidden {
				if strings.HasPrefix(d, f) {
					t.Errorf("%s depends on %s (nothing under %s is allowed)", tc.pkg, d, f)
				}
			}
		}
	}
}

func TestCryptoIsLeaf(t *testing.T) {
	for _, d := range deps(t, "crypto") {
		first := strings.SplitN(d, "/", 2)[0]
		if strings.Contains(first, ".") && !strings.HasPrefix(d, "golang.org/x/crypto") && !strings.HasPrefix(d, module+"/crypto") &&
			!strings.HasPrefix(d, "golang.org/x/sys") {
			t.Errorf("crypto depends on %s: it may use only the standard library and x/crypto", d)
		}
	}
}
