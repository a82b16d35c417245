package e2e

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/api"
	"github.com/parley-chat/parley/internal/testnet"
)

// writeRandom writes n random bytes to dir/name (1 MiB at a time) and
// returns the path and the bytes' SHA-256.
func writeRandom(t testing.TB, dir, name string, n int) (string, string) {
	t.Helper()
	p := filepath.Join(dir, name)
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	buf := make([]byte, 1<<20)
	for left := n; left > 0; left -= len(buf) {
		_, _ = rand.Read(buf)
		chunk := buf[:min(left, len(buf))]
		h.Write(chunk)
		if _, err := f.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return p, hex.EncodeToString(h.Sum(nil))
}

func sha256File(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// withConfig appends TOML lines to d's config (before it starts).
func withConfig(t testing.TB, d *testnet.Daemon, lines string) {
	t.Helper()
	cfg := filepath.Join(d.Home, "config.toml")
	old, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, append(old, []byte(lines)...), 0o600); err != nil {
		t.Fatal(err)
	}
}

// filesOf returns the files of message id in d's history of with.
func filesOf(t *testing.T, d *testnet.Daemon, with, id string) []api.File {
	t.Helper()
	for _, m := range apiHistory(t, d, with) {
		if m.ID == id {
			return m.Files
		}
	}
	return nil
}

// share runs parley share and returns the message ID it prints.
func share(t *testing.T, d *testnet.Daemon, args ...string) string {
	t.Helper()
	r := d.Run(append([]string{"share"}, args...)...)
	id := strings.TrimSpace(r.Stdout)
	if r.Code != 0 || !messageID.MatchString(id) {
		t.Fatalf("%s: share %v: exit %d, stdout %q, stderr %q", d.Name, args, r.Code, r.Stdout, r.Stderr)
	}
	return id
}

// TestFilesContract drives file sharing through the built binary on
// loopback: share (and its usage errors), history's files with state and
// path, auto-download, get with --out, hostile names, a second save that
// never overwrites, a manifest over the receiver's limit, and a full disk
// at saving.
func TestFilesContract(t *testing.T) {
	names := []string{"alice", "bob", "carol"}
	ds := make([]*testnet.Daemon, len(names))
	for i, n := range names {
		ds[i] = testnet.NewDaemon(t, n)
		switch n {
		case "bob":
			withConfig(t, ds[i], "auto_join = []\nmax_file_size = \"3MiB\"\n")
		case "carol":
			withConfig(t, ds[i], "auto_join = []\nauto_download = \"0\"\n")
		default:
			withConfig(t, ds[i], "auto_join = []\n")
		}
		ds[i].Start(loopbackListen...)
	}
	alice, bob, carol := ds[0], ds[1], ds[2]
	for i, d := range ds {
		for _, o := range ds[i+1:] {
			d.MustRun("connect", o.Identity().Addrs[0])
		}
	}
	for _, d := range ds {
		d.MustRun("join", "#team")
	}
	waitUntil(t, 30*time.Second, "three members in #team everywhere", func() bool {
		for _, d := range ds {
			if roomMembers(t, d, "team") != 3 {
				return false
			}
		}
		return true
	})
	dir := t.TempDir()

	// Usage errors: exit 2.
	if r := alice.Run("share", filepath.Join(dir, "missing.bin"), "#team"); r.Code != 2 {
		t.Errorf("share of a missing file: exit %d (%q), want 2", r.Code, r.Stderr)
	}
	big, _ := writeRandom(t, dir, "big.bin", 4<<20)
	if r := bob.Run("share", big, "#team"); r.Code != 2 || !strings.Contains(r.Stderr, "max_file_size") {
		t.Errorf("share over max_file_size: exit %d (%q), want 2 naming max_file_size", r.Code, r.Stderr)
	}

	// Two files in one message, a hostile name among them.
	notes, notesSum := writeRandom(t, dir, "notes.txt", 100<<10)
	hostile, hostileSum := writeRandom(t, dir, "CON..\x1b[31mred:*?.txt", 3000)
	id := share(t, alice, notes, hostile, "#team", "--text", "two files")
	var bobFiles []api.File
	waitUntil(t, 60*time.Second, "both files complete at bob", func() bool {
		bobFiles = filesOf(t, bob, "#team", id)
		return len(bobFiles) == 2 && bobFiles[0].State == "complete" && bobFiles[1].State == "complete"
	})
	for i, want := range []string{notesSum, hostileSum} {
		f := bobFiles[i]
		if f.Path == "" || sha256File(t, f.Path) != want {
			t.Errorf("bob's file %d (%q at %q): the bytes differ", i, f.Name, f.Path)
		}
		if base := filepath.Base(f.Path); strings.ContainsAny(base, "\x1b:*?") || strings.HasPrefix(strings.ToUpper(base), "CON.") {
			t.Errorf("bob saved %q as %q: a hostile name reached the file system", f.Name, base)
		}
	}
	if bobFiles[0].MIME == "" || bobFiles[0].Size != 100<<10 || len(bobFiles[0].Hash) != 64 {
		t.Errorf("bob's notes.txt entry: %+v", bobFiles[0])
	}

	// Carol does not download on arrival: remote, no path, until get.
	var carolFiles []api.File
	waitUntil(t, 30*time.Second, "the message at carol", func() bool {
		carolFiles = filesOf(t, carol, "#team", id)
		return len(carolFiles) == 2
	})
	if carolFiles[0].State != "remote" || carolFiles[0].Path != "" {
		t.Errorf("carol (auto_download 0): %+v, want remote and no path", carolFiles[0])
	}
	out := t.TempDir()
	for round := range 2 {
		r := carol.Run("get", id, "--out", out)
		paths := strings.Split(strings.TrimSpace(r.Stdout), "\n")
		if r.Code != 0 || len(paths) != 2 {
			t.Fatalf("carol get (round %d): exit %d, stdout %q, stderr %q", round, r.Code, r.Stdout, r.Stderr)
		}
		if sha256File(t, paths[0]) != notesSum || sha256File(t, paths[1]) != hostileSum || filepath.Dir(paths[0]) != out {
			t.Errorf("carol get (round %d): %q do not hold the files", round, paths)
		}
		if want := []string{"notes.txt", "notes (1).txt"}[round]; filepath.Base(paths[0]) != want {
			t.Errorf("carol get (round %d) saved %q, want %q (never over the first)", round, filepath.Base(paths[0]), want)
		}
	}

	// A file over bob's max_file_size (3 MiB) is not fetched.
	large, _ := writeRandom(t, dir, "large.bin", 4<<20)
	lid := share(t, alice, large, "#team")
	waitUntil(t, 30*time.Second, "the large file's message at bob", func() bool { return len(filesOf(t, bob, "#team", lid)) == 1 })
	if r := bob.Run("get", lid, "--timeout", "5s"); r.Code != 1 || !strings.Contains(r.Stderr, "max_file_size") {
		t.Errorf("bob get of a file over max_file_size: exit %d, stderr %q; want 1 naming max_file_size", r.Code, r.Stderr)
	}

	// Nobody has it: exit 1 after the timeout.
	alice.Stop()
	if r := carol.Run("get", lid, "--timeout", "3s"); r.Code != 1 || !strings.Contains(r.Stderr, "no member") {
		t.Errorf("carol get with no source: exit %d, stderr %q; want 1 saying no member had it", r.Code, r.Stderr)
	}

	// A full disk when saving: a clear error, no file under the final name.
	if os.Geteuid() != 0 {
		t.Log("not root: skipping the full-disk check (it mounts a tmpfs)")
		return
	}
	small := t.TempDir()
	if err := exec.Command("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", small).Run(); err != nil {
		t.Logf("cannot mount a tmpfs (%v): skipping the full-disk check", err)
		return
	}
	t.Cleanup(func() { _ = exec.Command("umount", small).Run() })
	// A 1 MiB disk, nearly full: the 100 KiB notes.txt does not fit.
	if err := os.WriteFile(filepath.Join(small, "filler"), bytes.Repeat([]byte{1}, 1000<<10), 0o600); err != nil {
		t.Fatal(err)
	}
	r := carol.Run("get", id, "--out", small)
	entries, _ := os.ReadDir(small)
	var left []string
	for _, e := range entries {
		left = append(left, e.Name())
	}
	if r.Code != 1 || !strings.Contains(r.Stderr, "full") || slices.Contains(left, "notes.txt") {
		t.Errorf("get onto a full disk: exit %d, stderr %q, left %q; want 1, a message saying the disk is full, no notes.txt", r.Code, r.Stderr, left)
	}
}
