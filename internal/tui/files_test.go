package tui

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/api"
)

// File hashes of the test world (any distinct strings do).
const (
	photoHash  = "aa01"
	reportHash = "bb02"
	dataHash   = "cc03"
	brokenHash = "dd04"
)

// Message IDs of filesWorld, long as the node's are.
const (
	photoMsgID = "7f3a9c0e11aa22bb33cc44dd55ee66ff7f3a9c0e11aa22bb33cc44dd55ee66ff"
	filesMsgID = "c41d2e9a00aa11bb22cc33dd44ee55ffc41d2e9a00aa11bb22cc33dd44ee55ff"
)

// filesWorld is #lobby with bob's photo, already saved here, and carol's
// three files, none here yet.
func filesWorld() *fakeBackend {
	fb := newFakeBackend()
	photo := textMsg(photoMsgID, "room:lobby", bobID, "photos from the trip", saturday)
	photo.Files = []api.File{{Name: "holiday.jpg", Size: 2_400_000, MIME: "image/jpeg", Hash: photoHash, State: "complete", Have: 2_400_000,
		Path: "/home/me/Downloads/parley/holiday.jpg", Width: 1920, Height: 1080, Thumb: true}}
	files := textMsg(filesMsgID, "room:lobby", carolID, "the numbers", saturday.Add(2*time.Minute))
	files.Files = []api.File{
		{Name: "report.pdf", Size: 350_000, MIME: "application/pdf", Hash: reportHash, State: "remote"},
		{Name: "data.tar.gz", Size: 50 << 20, MIME: "application/gzip", Hash: dataHash, State: "remote"},
		{Name: "broken.bin", Size: 900, MIME: "application/octet-stream", Hash: brokenHash, State: "remote"},
	}
	fb.setHistory("#lobby", []api.Message{photo, files})
	return fb
}

func int64p(n int64) *int64 { return &n }

func progress(hash string, have, size int64) api.Event {
	return api.Event{Type: "file.progress", Hash: hash, Have: int64p(have), Size: int64p(size)}
}

// fileLine is the timeline line about the file named.
func fileLine(h *harness, name string) string {
	tl := h.timelineText()
	if i := slices.IndexFunc(tl, func(l string) bool { return strings.Contains(l, name) }); i >= 0 {
		return tl[i]
	}
	h.t.Fatalf("timeline: got %q, want a line about %s", tl, name)
	return ""
}

func TestFileLinesShowEachState(t *testing.T) {
	h := newHarness(t, filesWorld(), 120, 30)
	h.event(progress(dataHash, 21<<20, 50<<20))
	h.event(api.Event{Type: "file.failed", Hash: brokenHash, Reason: "no member online has the file"})
	tests := []struct{ name, want string }{
		{"holiday.jpg", "▣ holiday.jpg  2.3 MiB  1920×1080  ✓ ~/Downloads/parley/holiday.jpg"},
		{"report.pdf", "▪ report.pdf  342 KiB  /get c41d2e9a to fetch"},
		{"data.tar.gz", "▪ data.tar.gz  50 MiB  ▰▰▰▰▱▱▱▱▱▱ 42%"},
		{"broken.bin", "▪ broken.bin  900 B  ✗ failed · /get c41d2e9a to retry"},
	}
	for _, tt := range tests {
		if got := fileLine(h, tt.name); !strings.HasSuffix(got, tt.want) {
			t.Errorf("line of %s: got %q, want it to end %q", tt.name, got, tt.want)
		}
	}
	if !hasLine(h.timelineText(), "no member online has the file") {
		t.Errorf("timeline: got %q, want the failed file's reason", h.timelineText())
	}
}

func TestProgressEventsUpdateTheLine(t *testing.T) {
	h := newHarness(t, filesWorld(), 120, 30)
	for _, step := range []struct {
		e    api.Event
		want string
	}{
		{progress(dataHash, 0, 50<<20), "▱▱▱▱▱▱▱▱▱▱ 0%"},
		{progress(dataHash, 25<<20, 50<<20), "▰▰▰▰▰▱▱▱▱▱ 50%"},
		{progress(dataHash, 50<<20-1, 50<<20), "▰▰▰▰▰▰▰▰▰▱ 99%"},
		{api.Event{Type: "file.complete", Hash: dataHash, Path: "/home/me/Downloads/data.tar.gz"}, "✓ ~/Downloads/data.tar.gz"},
		{progress(dataHash, 1, 50<<20), "✓ ~/Downloads/data.tar.gz"}, // late: the file stays complete
	} {
		h.event(step.e)
		if got := fileLine(h, "data.tar.gz"); !strings.HasSuffix(got, step.want) {
			t.Errorf("after %s %v: got %q, want it to end %q", step.e.Type, step.e.Have, got, step.want)
		}
	}
	if got := fileLine(h, "report.pdf"); !strings.HasSuffix(got, "to fetch") {
		t.Errorf("another file of the message: got %q, want it still remote", got)
	}
}

func TestLongFileNamesFit(t *testing.T) {
	fb := filesWorld()
	msg := textMsg("e1", "room:lobby", bobID, "", saturday.Add(3*time.Minute))
	msg.Files = []api.File{
		{Name: strings.Repeat("very-long-name-", 10) + ".pdf", Size: 10, Hash: "ee05", State: "remote"},
		{Name: "weird\x1b[31mname\n.txt", Size: 10, Hash: "ff06", State: "complete", Path: "/srv/share/with/a/long/path/to/weird.txt"},
	}
	fb.history["#lobby"] = append(fb.history["#lobby"], msg)
	for _, size := range [][2]int{{40, 12}, {80, 24}, {120, 30}} {
		h := newHarness(t, fb, size[0], size[1])
		checkFrame(t, h.m.View().Content, size[0], size[1])
		if strings.Contains(h.m.View().Content, "\x1b[31m") {
			t.Errorf("%dx%d: a file name's escape sequence reached the terminal", size[0], size[1])
		}
	}
	h := newHarness(t, fb, 80, 24)
	if got := fileLine(h, "very-long-name-"); !strings.Contains(got, "…  10 B  /get e1 to fetch") {
		t.Errorf("long name: got %q, want it cut with … before the size and state", got)
	}
	if got := fileLine(h, "weird"); !strings.HasSuffix(got, "/srv/…/weird.txt") {
		t.Errorf("long path: got %q, want it shortened to /srv/…/weird.txt", got)
	}
}

func TestShare(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, size int) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, make([]byte, size), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	a, spaced := write("a.txt", 10), write("my notes.md", 10)
	big := write("big.iso", 5000)
	tooLarge := &api.Error{Status: http.StatusRequestEntityTooLarge, Code: api.CodeTooLarge, Message: "file too large: over 1.0 KiB"}
	tests := []struct {
		name      string
		line      string
		fail      error // of Share
		wantShare []string
		wantStat  string
		wantErr   bool
	}{
		{name: "one file", line: "/share " + a, wantShare: []string{"#lobby", a, ""}, wantStat: "shared a.txt"},
		{name: "caption", line: "/share " + a + " -- look at  this", wantShare: []string{"#lobby", a, "look at  this"}},
		{name: "several, quoted and escaped", line: "/share " + a + " '" + spaced + "' " + strings.ReplaceAll(spaced, " ", `\ `),
			wantShare: []string{"#lobby", a + "|" + spaced + "|" + spaced, ""}, wantStat: "shared a.txt, my notes.md, my notes.md"},
		{name: "home", line: "/share ~/a.txt", wantShare: []string{"#lobby", a, ""}},
		{name: "missing", line: "/share ~/nope.pdf", wantStat: "no such file: ~/nope.pdf", wantErr: true},
		{name: "directory", line: "/share " + dir, wantStat: "is a directory", wantErr: true},
		{name: "over the limit", line: "/share " + big, wantStat: "big.iso is 4.9 KiB, over the node's limit of 1.0 KiB", wantErr: true},
		{name: "refused by the node", line: "/share " + a, fail: tooLarge, wantShare: []string{"#lobby", a, ""},
			wantStat: "could not share a.txt: file too large", wantErr: true},
		{name: "no paths", line: "/share -- hi", wantStat: "usage: /share", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fb := newFakeBackend()
			fb.self.MaxFileSize = 1024
			h := newHarness(t, fb, 100, 30)
			h.m.opts.Home = dir
			if tt.fail != nil {
				fb.failNext("Share", tt.fail)
			}
			h.enter(tt.line)
			calls := fb.callsOf("Share")
			switch {
			case tt.wantShare == nil && len(calls) > 0:
				t.Errorf("Share: got %q, want no call", calls)
			case tt.wantShare != nil && (len(calls) != 1 || !slices.Equal(calls[0], tt.wantShare)):
				t.Errorf("Share: got %q, want one call %q", calls, tt.wantShare)
			}
			if !strings.Contains(h.m.status, tt.wantStat) || h.m.statusErr != tt.wantErr {
				t.Errorf("status: got %q (error %v), want %q (error %v)", h.m.status, h.m.statusErr, tt.wantStat, tt.wantErr)
			}
			if len(fb.callsOf("Send")) > 0 {
				t.Errorf("/share was sent as a message: %q", fb.callsOf("Send"))
			}
		})
	}
}

func TestGet(t *testing.T) {
	h := newHarness(t, filesWorld(), 120, 30)
	h.enter("/get")
	if got := h.fb.callsOf("Fetch"); len(got) != 1 || !slices.Equal(got[0], []string{filesMsgID, "", ""}) {
		t.Fatalf("Fetch: got %q, want one call for the newest message with remote files", got)
	}
	for _, name := range []string{"report.pdf", "data.tar.gz", "broken.bin"} {
		if got := fileLine(h, name); !strings.HasSuffix(got, "✓ ~/Downloads/"+name) {
			t.Errorf("after /get: got %q, want %s saved", got, name)
		}
	}
	if want := "saved 3 files in ~/Downloads"; !strings.Contains(h.m.status, want) {
		t.Errorf("status: got %q, want %q", h.m.status, want)
	}
	h.enter("/get")
	if got := h.m.status; !strings.Contains(got, "every file here is downloaded") || len(h.fb.callsOf("Fetch")) != 1 {
		t.Errorf("second /get: got status %q and %d fetches, want none and a word that all is here", got, len(h.fb.callsOf("Fetch")))
	}
}

func TestGetByIDPrefix(t *testing.T) {
	tests := []struct {
		arg, wantID, wantStat string
	}{
		{arg: "7f3a", wantID: photoMsgID, wantStat: "saved ~/Downloads/holiday.jpg"},
		{arg: "C41D2E9A", wantID: filesMsgID},
		{arg: "0000", wantStat: "no message with files starts with 0000"},
		{arg: "7f3a 1", wantStat: "usage: /get"},
	}
	for _, tt := range tests {
		t.Run(tt.arg, func(t *testing.T) {
			h := newHarness(t, filesWorld(), 120, 30)
			h.enter("/get " + tt.arg)
			calls := h.fb.callsOf("Fetch")
			if tt.wantID == "" && len(calls) > 0 || tt.wantID != "" && (len(calls) != 1 || calls[0][0] != tt.wantID) {
				t.Errorf("Fetch: got %q, want a call for %q", calls, tt.wantID)
			}
			if !strings.Contains(h.m.status, tt.wantStat) {
				t.Errorf("status: got %q, want %q", h.m.status, tt.wantStat)
			}
		})
	}
}

// TestGetRunsOffTheUpdateLoop checks that /get hands back a command
// (the fetch runs in it) and that progress shows while it runs.
func TestGetRunsOffTheUpdateLoop(t *testing.T) {
	h := newHarness(t, filesWorld(), 120, 30)
	h.typeText("/get")
	cmd := h.update(keyEnter)
	if len(h.fb.callsOf("Fetch")) != 0 || cmd == nil {
		t.Fatalf("Enter on /get: got %d fetches in Update and command %v, want the fetch in a command", len(h.fb.callsOf("Fetch")), cmd)
	}
	if got := h.m.status; !strings.HasPrefix(got, "fetching report.pdf, data.tar.gz, broken.bin") {
		t.Errorf("status: got %q, want fetching…", got)
	}
	h.event(progress(reportHash, 175_000, 350_000))
	if got := fileLine(h, "report.pdf"); !strings.HasSuffix(got, "50%") {
		t.Errorf("during the fetch: got %q, want 50%%", got)
	}
	h.enter("/get")
	if !strings.Contains(h.m.status, "already fetching") {
		t.Errorf("a second /get meanwhile: got status %q, want already fetching", h.m.status)
	}
	h.run(cmd)
	if got := fileLine(h, "report.pdf"); !strings.HasSuffix(got, "✓ ~/Downloads/report.pdf") {
		t.Errorf("after the fetch: got %q, want it saved", got)
	}
	if n := len(h.fb.callsOf("Fetch")); n != 1 {
		t.Errorf("Fetch: got %d calls, want 1", n)
	}
}

func TestGetFailureMarksFilesFailed(t *testing.T) {
	h := newHarness(t, filesWorld(), 120, 30)
	h.event(api.Event{Type: "file.complete", Hash: reportHash, Path: "/home/me/Downloads/report.pdf"})
	h.fb.failNext("Fetch", &api.Error{Status: http.StatusGatewayTimeout, Message: "no member online had all of data.tar.gz within 2m0s"})
	h.enter("/get")
	if !h.m.statusErr || !strings.Contains(h.m.status, "could not fetch data.tar.gz, broken.bin: no member online") {
		t.Errorf("status: got %q (error %v), want why the fetch failed", h.m.status, h.m.statusErr)
	}
	if got := fileLine(h, "report.pdf"); !strings.HasSuffix(got, "✓ ~/Downloads/report.pdf") {
		t.Errorf("a file already here: got %q, want it still complete", got)
	}
	if got := fileLine(h, "data.tar.gz"); !strings.Contains(got, "✗ failed · /get c41d2e9a to retry") {
		t.Errorf("a file not fetched: got %q, want failed", got)
	}
	if !hasLine(h.timelineText(), "within 2m0s") {
		t.Errorf("timeline: got %q, want the reason", h.timelineText())
	}
	h.enter("/get")
	if n := len(h.fb.callsOf("Fetch")); n != 2 {
		t.Errorf("/get after a failure: got %d fetches, want a retry", n)
	}
}

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	older, newer := filepath.Join(dir, "older.png"), filepath.Join(dir, "newer.txt")
	for _, p := range []string{older, newer} {
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	world := func() *fakeBackend {
		fb := filesWorld()
		ms := fb.history["#lobby"]
		ms[0].Files[0].Path = older
		ms[1].Files[1].State, ms[1].Files[1].Path = "complete", newer
		gone := textMsg("g1", "room:lobby", bobID, "", saturday.Add(-time.Hour))
		gone.Files = []api.File{{Name: "gone.txt", Hash: "ee05", State: "complete", Path: filepath.Join(dir, "gone.txt")}}
		fb.history["#lobby"] = append([]api.Message{gone}, ms...)
		return fb
	}
	tests := []struct {
		line       string
		open       func(string) error
		wantOpened []string
		wantStat   string
		wantErr    bool
	}{
		{line: "/open", wantOpened: []string{newer}, wantStat: "opened " + newer},
		{line: "/open 2", wantOpened: []string{older}},
		{line: "/open 3", wantStat: "cannot open " + filepath.Join(dir, "gone.txt"), wantErr: true},
		{line: "/open 4", wantStat: "only 3 downloaded files here", wantErr: true},
		{line: "/open x", wantStat: "usage: /open [n]", wantErr: true},
		{line: "/open", open: func(string) error { return errNoOpener }, wantStat: "the file is at " + newer},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			h := newHarness(t, world(), 120, 30)
			if tt.open != nil {
				h.m.opts.Open = tt.open
			}
			h.enter(tt.line)
			if !slices.Equal(h.opened, tt.wantOpened) {
				t.Errorf("opened: got %q, want %q", h.opened, tt.wantOpened)
			}
			if !strings.Contains(h.m.status, tt.wantStat) || h.m.statusErr != tt.wantErr {
				t.Errorf("status: got %q (error %v), want %q (error %v)", h.m.status, h.m.statusErr, tt.wantStat, tt.wantErr)
			}
		})
	}
}

func TestOpenWithoutDownloads(t *testing.T) {
	h := newHarness(t, newFakeBackend(), 80, 24)
	h.enter("/open")
	if !strings.Contains(h.m.status, "no downloaded file here") || len(h.opened) > 0 {
		t.Errorf("got status %q and opened %q, want nothing opened", h.m.status, h.opened)
	}
}

func TestPathCompletion(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []string{"alps", "docs/inner"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"alpha.txt", "beta file.pdf", ".hidden", "docs/inner/deep.txt", "it's.txt"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join(dir, "docs"), filepath.Join(dir, "linked")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		typed string
		want  []string // composer after each Tab
	}{
		{"cycle", "/share ~/al", []string{"/share ~/alpha.txt ", "/share ~/alps/", "/share ~/alpha.txt "}},
		{"home", "/share ~", []string{"/share ~/"}},
		{"one directory goes in", "/share ~/do", []string{"/share ~/docs/", "/share ~/docs/inner/", "/share ~/docs/inner/deep.txt "}},
		{"symlinked directory", "/share ~/li", []string{"/share ~/linked/"}},
		{"blanks escaped", "/share ~/be", []string{`/share ~/beta\ file.pdf `}},
		{"quotes escaped", "/share ~/it", []string{`/share ~/it\'s.txt `}},
		{"hidden only asked for", "/share ~/.h", []string{"/share ~/.hidden "}},
		{"second path", "/share ~/alpha.txt ~/be", []string{`/share ~/alpha.txt ~/beta\ file.pdf `}},
		{"absolute", "/share " + dir + "/alp", []string{"/share " + dir + "/alpha.txt ", "/share " + dir + "/alps/"}},
		{"nothing matches", "/share ~/zz", []string{"/share ~/zz"}},
		{"not in a caption", "/share ~/alpha.txt -- see ~/al", []string{"/share ~/alpha.txt -- see ~/al"}},
		{"not for other commands", "/join ~/al", []string{"/join ~/al"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, newFakeBackend(), 80, 24)
			h.m.opts.Home = dir
			h.typeText(tt.typed)
			for i, want := range tt.want {
				h.send(keyTab)
				if got := h.m.input.Value(); got != want {
					t.Fatalf("after Tab %d: got %q, want %q", i+1, got, want)
				}
			}
		})
	}
	t.Run("listing a directory", func(t *testing.T) {
		h := newHarness(t, newFakeBackend(), 80, 24)
		h.m.opts.Home = dir
		h.typeText("/share ~/")
		var got []string
		for range 7 {
			h.send(keyTab)
			got = append(got, strings.TrimPrefix(h.m.input.Value(), "/share ~/"))
		}
		want := []string{"alpha.txt ", "alps/", `beta\ file.pdf `, "docs/", `it\'s.txt `, "linked/", "alpha.txt "}
		if !slices.Equal(got, want) {
			t.Errorf("choices: got %q, want %q (no hidden files)", got, want)
		}
	})
	t.Run("completed path shares", func(t *testing.T) {
		h := newHarness(t, newFakeBackend(), 80, 24)
		h.m.opts.Home = dir
		h.typeText("/share ~/be")
		h.send(keyTab)
		h.send(keyEnter)
		if got := h.fb.callsOf("Share"); len(got) != 1 || got[0][1] != filepath.Join(dir, "beta file.pdf") {
			t.Errorf("Share: got %q, want %s", got, filepath.Join(dir, "beta file.pdf"))
		}
	})
}

func TestSplitWords(t *testing.T) {
	tests := []struct {
		line     string
		want     []string
		trailing bool
	}{
		{"/share a b", []string{"/share", "a", "b"}, false},
		{"/share  a ", []string{"/share", "a"}, true},
		{`/share a\ b 'c d' "e \"f\""`, []string{"/share", "a b", "c d", `e "f"`}, false},
		{`/share 'it\s'`, []string{"/share", `it\s`}, false},
		{`/share "open`, []string{"/share", "open"}, false},
		{`/share a\ `, []string{"/share", "a "}, false},
		{"", nil, false},
	}
	for _, tt := range tests {
		words, trailing := splitWords(tt.line)
		var got []string
		for _, w := range words {
			got = append(got, w.text)
			if !strings.HasPrefix(tt.line[w.start:], string([]rune(strings.TrimLeft(tt.line[w.start:], " "))[:1])) {
				t.Errorf("%q: word %q starts at %d", tt.line, w.text, w.start)
			}
		}
		if !slices.Equal(got, tt.want) || trailing != tt.trailing {
			t.Errorf("%q: got %q (trailing %v), want %q (trailing %v)", tt.line, got, trailing, tt.want, tt.trailing)
		}
		for _, w := range got {
			if back, _ := splitWords(escapeWord(w)); len(back) != 1 || back[0].text != w {
				t.Errorf("escapeWord(%q) reads back as %+v", w, back)
			}
		}
	}
}

func TestHumanSize(t *testing.T) {
	tests := []struct {
		n    int64
		want string
	}{
		{0, "0 B"}, {1023, "1023 B"}, {1024, "1.0 KiB"}, {1536, "1.5 KiB"}, {350_000, "342 KiB"},
		{10 << 20, "10 MiB"}, {5 << 30, "5.0 GiB"}, {3 << 40, "3.0 TiB"}, {5000 << 40, "5000 TiB"},
	}
	for _, tt := range tests {
		if got := humanSize(tt.n); got != tt.want {
			t.Errorf("humanSize(%d): got %q, want %q", tt.n, got, tt.want)
		}
	}
}

// TestDesktopOpenWithoutOpener checks that a desktop with no opener on
// the PATH says so (then /open shows the path) rather than failing.
func TestDesktopOpenWithoutOpener(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	if err := desktopOpen("/tmp/x.txt"); !errors.Is(err, errNoOpener) {
		t.Errorf("desktopOpen with an empty PATH: got %v, want errNoOpener", err)
	}
}
