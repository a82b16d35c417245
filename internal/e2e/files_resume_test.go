package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/testnet"
)

// TestLANFileResumeAfterKill: a downloader killed with SIGKILL in the
// middle of a file (the sharer's link shaped to 100 Mbit/s so there is a
// middle) keeps the chunks it had, resumes at its next start without
// being asked, and completes with the original's bytes.
func TestLANFileResumeAfterKill(t *testing.T) {
	lan := testnet.NewLAN(t, 2)
	ann := testnet.NewDaemon(t, "ann", lan.Exec(1)...)
	ben := testnet.NewDaemon(t, "ben", lan.Exec(2)...)
	for _, d := range []*testnet.Daemon{ann, ben} {
		withConfig(t, d, "auto_join = []\nauto_download = \"0\"\n")
		d.Start()
	}
	annID := ann.Identity().PeerID
	waitUntil(t, 30*time.Second, "ben connected to ann by mDNS", func() bool { return connected(t, ben, annID) })
	for _, d := range []*testnet.Daemon{ann, ben} {
		d.MustRun("join", "#builds")
	}
	waitUntil(t, 30*time.Second, "two members in #builds", func() bool { return roomMembers(t, ann, "builds") == 2 && roomMembers(t, ben, "builds") == 2 })
	lan.Shape(1, "100mbit")
	path, sum := writeRandom(t, t.TempDir(), "image.iso", 48<<20)
	id := share(t, ann, path, "#builds")
	waitUntil(t, 30*time.Second, "the message at ben", func() bool { return len(filesOf(t, ben, "#builds", id)) == 1 })

	done := make(chan struct{})
	go func() {
		defer close(done)
		ben.Run("get", id, "--timeout", "3m") // ends when ben is killed
	}()
	var had int64
	waitUntil(t, 60*time.Second, "ben holding part of the file", func() bool {
		f := filesOf(t, ben, "#builds", id)
		if len(f) == 1 && f[0].Have > 8<<20 {
			had = f[0].Have
			return true
		}
		return false
	})
	ben.Kill()
	<-done
	if had >= 48<<20 {
		t.Fatalf("ben had the whole file (%d bytes) before the kill; the link shaping did not hold", had)
	}
	ben.Start("--log-level", "debug")
	f := filesOf(t, ben, "#builds", id)
	if len(f) != 1 || f[0].Have < had {
		t.Fatalf("after the restart ben holds %+v, less than the %d bytes it had before the kill", f, had)
	}
	var saved string
	defer func() {
		if t.Failed() {
			t.Log(ben.Log())
		}
	}()
	waitUntil(t, 40*time.Second, "ben completing the file on its own after the restart", func() bool {
		f := filesOf(t, ben, "#builds", id)
		if len(f) == 1 && f[0].State == "complete" {
			saved = f[0].Path
			return true
		}
		return false
	})
	if got := sha256File(t, saved); got != sum {
		t.Errorf("ben's copy at %s: sha256 %s, want %s", saved, got, sum)
	}
	if !strings.Contains(saved, ben.Home) {
		t.Errorf("ben saved into %s, want its download directory under %s", saved, ben.Home)
	}
}
