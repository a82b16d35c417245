// Package deptest is the module's one dependency test: it checks the
// import direction that DESIGN.md sets (chat, store and crypto never pull
// in libp2p, crypto stays a leaf, chat knows no Badger, the test kit and
// the local API stay off the network stack, lifecycle is plain Go).
// depguard (.golangci.yml) checks direct imports as code is written; this
// test checks the transitive ones with go list.
package deptest

import (
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/parley-chat/parley"

var (
	libp2p = []string{"github.com/libp2p", "github.com/multiformats"}
	badger = "github.com/dgraph-io/badger"
	// prometheus stays in internal/metrics: the parts keep plain counters.
	prometheus = "github.com/prometheus"
)

// rules says what each package must not depend on, even transitively.
var rules = []struct {
	pkg       string
	forbidden []string
}{
	{"chat", slices.Concat(libp2p, []string{badger, prometheus, "github.com/blevesearch", module + "/store", module + "/node", module + "/internal/search"})},
	{"store", slices.Concat(libp2p, []string{prometheus, module + "/node"})},
	{"internal/metrics", slices.Concat(libp2p, []string{badger, module + "/store", module + "/node"})},
	{"chat/chattest", slices.Concat(libp2p, []string{module + "/node"})}, // store is fine
	{"internal/api", slices.Concat(libp2p, []string{badger, module + "/store", module + "/node"})},
	{"internal/doctor", slices.Concat(libp2p, []string{badger, module + "/store", module + "/node"})},  // probes with the standard library; multiaddrs are taken apart by node
	{"internal/service", slices.Concat(libp2p, []string{badger, module + "/store", module + "/node"})}, // files and systemctl only
}

// leaves may depend on the standard library and on what allowed names
// alone.
var leaves = []struct {
	pkg     string
	allowed []string
}{
	{"crypto", []string{"golang.org/x/crypto", "golang.org/x/sys", module + "/crypto"}},
	{"internal/lifecycle", []string{module + "/internal/lifecycle"}},
}

func TestImportDirection(t *testing.T) {
	var targets []string
	for _, r := range rules {
		targets = append(targets, r.pkg)
	}
	for _, l := range leaves {
		targets = append(targets, l.pkg)
	}
	pkgs := list(t, targets...)

	for _, r := range rules {
		from := module + "/" + r.pkg
		for _, f := range r.forbidden {
			// The first dependency under f is enough to say where it
			// comes from.
			if i := slices.IndexFunc(pkgs[from].Deps, func(d string) bool { return under(d, f) }); i >= 0 {
				d := pkgs[from].Deps[i]
				t.Errorf("%s depends on %s (nothing under %s is allowed): %s", r.pkg, d, f, chain(pkgs, from, d))
			}
		}
	}
	for _, l := range leaves {
		from := module + "/" + l.pkg
		for _, d := range pkgs[from].Deps {
			if pkgs[d].Standard || slices.ContainsFunc(l.allowed, func(a string) bool { return under(d, a) }) {
				continue
			}
			t.Errorf("%s depends on %s; it may use only the standard library and %v: %s", l.pkg, d, l.allowed, chain(pkgs, from, d))
		}
	}
}

// pkg is one package as go list -deps reports it.
type pkg struct {
	ImportPath string
	Standard   bool
	Imports    []string
	Deps       []string
}

// list returns targets and everything they depend on, by import path.
func list(t *testing.T, targets ...string) map[string]*pkg {
	t.Helper()
	args := []string{"list", "-deps", "-json=ImportPath,Standard,Imports,Deps"}
	for _, p := range targets {
		args = append(args, module+"/"+p)
	}
	out, err := exec.CommandContext(t.Context(), "go", args...).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("go list: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("go list: %v", err)
	}
	pkgs := map[string]*pkg{}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("decode go list output: %v", err)
		}
		pkgs[p.ImportPath] = &p
	}
	for _, p := range targets {
		if pkgs[module+"/"+p] == nil {
			t.Fatalf("go list did not report %s", p)
		}
	}
	for _, p := range pkgs {
		for _, d := range p.Deps {
			if pkgs[d] == nil {
				t.Fatalf("go list reported %s as a dependency of %s, but not the package itself", d, p.ImportPath)
			}
		}
	}
	return pkgs
}

// under reports whether import path p is root or inside it.
func under(p, root string) bool {
	return p == root || strings.HasPrefix(p, root+"/")
}

// chain returns a shortest import chain from one package to another, for
// the error message: "chat/chattest -> store -> github.com/...".
func chain(pkgs map[string]*pkg, from, to string) string {
	prev := map[string]string{from: ""}
	for queue := []string{from}; len(queue) > 0; queue = queue[1:] {
		p := queue[0]
		if p == to {
			var path []string
			for ; p != ""; p = prev[p] {
				path = append(path, strings.TrimPrefix(p, module+"/"))
			}
			slices.Reverse(path)
			return strings.Join(path, " -> ")
		}
		for _, q := range pkgs[p].Imports {
			if _, seen := prev[q]; !seen && pkgs[q] != nil {
				prev[q] = p
				queue = append(queue, q)
			}
		}
	}
	return to
}
