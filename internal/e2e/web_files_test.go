package e2e

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/parley-chat/parley/internal/api"
	"github.com/parley-chat/parley/internal/testnet"
)

// loginBrowser opens d's one-time login link in the tab and waits for the
// client to list #team; it returns the client's base URL.
func loginBrowser(t *testing.T, ctx context.Context, d *testnet.Daemon) string {
	t.Helper()
	link := strings.TrimSpace(d.MustRun("open", "--no-browser"))
	base, _, ok := strings.Cut(link, "/login?")
	if !ok {
		t.Fatalf("%s: parley open --no-browser printed %q", d.Name, link)
	}
	do(t, ctx, 20*time.Second, d.Name+": open the login link", chromedp.Navigate(link))
	do(t, ctx, 15*time.Second, d.Name+": the sidebar lists #team", chromedp.WaitVisible(chromedp.CSS(`#rooms-list [data-conv="room:team"]`)))
	clickJS(t, ctx, 10*time.Second, d.Name+": open #team", `#rooms-list [data-conv="room:team"]`)
	waitJS(t, ctx, 10*time.Second, d.Name+": #team open", `document.getElementById('conv-title').textContent === '#team' && !document.getElementById('attach-button').disabled`)
	return base
}

// writePNG writes a w×h PNG (a gradient) to path.
func writePNG(t *testing.T, path string, w, h int) {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{R: uint8(x * 255 / w), G: uint8(y * 255 / h), B: 160, A: 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

// fileGET fetches a shared file from d's loopback API with its token and
// returns the status and the headers.
func fileGET(t *testing.T, d *testnet.Daemon, base, hash, query string) (int, http.Header) {
	t.Helper()
	token, err := os.ReadFile(filepath.Join(d.Home, "api.token"))
	if err != nil {
		t.Fatal(err)
	}
	req := newRequest(t, "GET", base+"/api/v1/files/"+hash+query, "")
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	resp, err := noRedirects.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", req.URL, err)
	}
	_ = resp.Body.Close()
	return resp.StatusCode, resp.Header
}

// TestWebFiles drives file sharing in two browsers against two daemons in
// #team: alice sends a PNG and a text file with the file button; bob (no
// auto-download) sees the image's preview, gets the files with the Get
// button, opens the image in the viewer and has a download link for the
// text. Files sent by the API (SVG, HTML) are never shown as images, and
// are served as attachments; a dropped file and a pasted image are sent
// too; a file over max_file_size is refused with a notice.
func TestWebFiles(t *testing.T) {
	needChromium(t)
	alice := testnet.NewDaemon(t, "alice")
	bob := testnet.NewDaemon(t, "bob")
	withConfig(t, alice, "max_file_size = \"1MiB\"\n")
	withConfig(t, bob, "auto_download = \"0\"\n")
	alice.Start(loopbackListen...)
	bob.Start(loopbackListen...)
	alice.MustRun("connect", bob.Identity().Addrs[0])
	alice.MustRun("join", "#team")
	bob.MustRun("join", "#team")
	waitUntil(t, 20*time.Second, "both in #team", func() bool {
		return roomMembers(t, alice, "team") == 2 && roomMembers(t, bob, "team") == 2
	})

	actx, alog := newBrowser(t)
	bctx, blog := newBrowser(t)
	aliceBase := loginBrowser(t, actx, alice)
	bobBase := loginBrowser(t, bctx, bob)

	// alice: a caption, then the file button with a PNG and a text file.
	dir := t.TempDir()
	pngPath := filepath.Join(dir, "dot.png")
	writePNG(t, pngPath, 64, 48)
	txtPath := filepath.Join(dir, "notes.txt")
	const notes = "notes from a file <b>not bold</b>\n"
	if err := os.WriteFile(txtPath, []byte(notes), 0o600); err != nil {
		t.Fatal(err)
	}
	do(t, actx, 10*time.Second, "type a caption and choose two files",
		chromedp.SendKeys(chromedp.ID("composer-input"), "two files"),
		chromedp.SetUploadFiles(chromedp.ID("file-input"), []string{pngPath, txtPath}),
	)
	waitJS(t, actx, 20*time.Second, "alice's message with both files complete", `(() => {
		const m = [...document.querySelectorAll('.message.mine')].find(m => m.querySelector('.text').textContent === 'two files');
		return !!m && m.querySelectorAll('.file[data-state="complete"] a.file-download').length === 2;
	})()`)
	if v := eval[string](t, actx, `document.getElementById('composer-input').value`); v != "" {
		t.Errorf("composer after sharing: %q, want empty (the text went as the caption)", v)
	}
	id := eval[string](t, actx, `[...document.querySelectorAll('.message.mine')].find(m => m.querySelector('.text').textContent === 'two files').dataset.id`)
	files := filesOf(t, alice, "#team", id)
	if len(files) != 2 || files[0].Name != "dot.png" || files[0].MIME != "image/png" || !files[0].Thumb || files[1].Name != "notes.txt" {
		t.Fatalf("alice's message %s has files %+v, want dot.png (image/png, a preview) and notes.txt", id, files)
	}
	pngHash, txtHash := files[0].Hash, files[1].Hash
	msgSel := fmt.Sprintf(`.message[data-id=%q]`, id)
	imgCard := fmt.Sprintf(`%s .file[data-hash=%q]`, msgSel, pngHash)
	txtCard := fmt.Sprintf(`%s .file[data-hash=%q]`, msgSel, txtHash)

	// bob: the preview before the file is here; no link yet.
	waitJS(t, bctx, 20*time.Second, "the image's preview loaded at bob", fmt.Sprintf(`(() => {
		const i = document.querySelector(%q);
		return !!i && i.complete && i.naturalWidth > 0 && i.getAttribute('src') === '/api/v1/files/%s/thumb';
	})()`, imgCard+" img.preview", pngHash))
	if wh := eval[string](t, bctx, fmt.Sprintf(`(i => i.getAttribute('width') + 'x' + i.getAttribute('height'))(document.querySelector(%q))`, imgCard+" img.preview")); wh != "64x48" {
		t.Errorf("preview size attributes %s, want 64x48 (the manifest's)", wh)
	}
	if n := eval[int](t, bctx, fmt.Sprintf(`document.querySelectorAll(%q).length`, txtCard+" a, "+txtCard+" img")); n != 0 {
		t.Errorf("notes.txt at bob before Get: %d links or images, want none", n)
	}
	if st := eval[string](t, bctx, fmt.Sprintf(`document.querySelector(%q).dataset.state`, txtCard)); st != "remote" {
		t.Errorf("notes.txt at bob (auto_download 0): state %q, want remote", st)
	}
	clickJS(t, bctx, 10*time.Second, "bob: Get", txtCard+" button.file-get")
	waitJS(t, bctx, 30*time.Second, "both files complete at bob, notes.txt with its download link", fmt.Sprintf(`(() => {
		const a = document.querySelector(%q);
		return !!a && a.getAttribute('href') === '/api/v1/files/%s?download=1' && a.getAttribute('download') === 'notes.txt' &&
			document.querySelector(%q).dataset.state === 'complete';
	})()`, txtCard+" a.file-download", txtHash, imgCard))
	got := eval[string](t, bctx, fmt.Sprintf(`fetch(document.querySelector(%q).href).then(async r => r.headers.get('content-disposition') + '|' + await r.text())`, txtCard+" a.file-download"))
	if disp, body, _ := strings.Cut(got, "|"); !strings.HasPrefix(disp, "attachment") || body != notes {
		t.Errorf("bob's download link: Content-Disposition %q, body %q; want an attachment holding %q", disp, body, notes)
	}

	// The viewer: the whole image, Esc closes it.
	clickJS(t, bctx, 10*time.Second, "bob: open the image", imgCard+" button.preview-button")
	waitJS(t, bctx, 15*time.Second, "the viewer shows the whole image", fmt.Sprintf(`(() => {
		const i = document.getElementById('viewer-img');
		return document.getElementById('viewer').open && i.getAttribute('src') === '/api/v1/files/%s' && i.complete && i.naturalWidth === 64 && i.naturalHeight === 48 &&
			!document.getElementById('viewer-download').hidden;
	})()`, pngHash))
	screenshot(t, bctx, "parley-web-viewer.png")
	do(t, bctx, 10*time.Second, "press Esc", chromedp.KeyEvent(kb.Escape))
	waitJS(t, bctx, 10*time.Second, "the viewer closed", `!document.getElementById('viewer').open`)

	// SVG and HTML shared through the API: links only, in both browsers,
	// and served as attachments that are never sniffed.
	svgPath := filepath.Join(dir, "logo.svg")
	htmlPath := filepath.Join(dir, "page.html")
	for p, body := range map[string]string{
		svgPath:  `<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script><rect width="10" height="10"/></svg>`,
		htmlPath: `<!doctype html><html><body><script>alert(1)</script>hi</body></html>`,
	} {
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
	shared, err := alice.Client().Share(sctx, "#team", []string{svgPath, htmlPath}, "")
	scancel()
	if err != nil || len(shared.Files) != 2 {
		t.Fatalf("share the SVG and the HTML: %+v, %v", shared, err)
	}
	for _, f := range shared.Files {
		code, h := fileGET(t, alice, aliceBase, f.Hash, "")
		if code != http.StatusOK || h.Get("Content-Type") != "application/octet-stream" || !strings.HasPrefix(h.Get("Content-Disposition"), "attachment") ||
			h.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(h.Get("Content-Security-Policy"), "sandbox") {
			t.Errorf("GET /api/v1/files/{hash} of %s (%s): %d, Content-Type %q, Content-Disposition %q, X-Content-Type-Options %q, CSP %q; want an octet-stream attachment, nosniff, sandboxed",
				f.Name, f.MIME, code, h.Get("Content-Type"), h.Get("Content-Disposition"), h.Get("X-Content-Type-Options"), h.Get("Content-Security-Policy"))
		}
	}
	for _, tc := range []struct {
		query, typ, disposition string
	}{{"", "image/png", "inline"}, {"?download=1", "application/octet-stream", "attachment"}} {
		code, h := fileGET(t, bob, bobBase, pngHash, tc.query)
		if code != http.StatusOK || h.Get("Content-Type") != tc.typ || !strings.HasPrefix(h.Get("Content-Disposition"), tc.disposition) || h.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET the PNG%s at bob: %d, Content-Type %q, Content-Disposition %q, X-Content-Type-Options %q; want %s, %s, nosniff",
				tc.query, code, h.Get("Content-Type"), h.Get("Content-Disposition"), h.Get("X-Content-Type-Options"), tc.typ, tc.disposition)
		}
	}
	for _, b := range []struct {
		ctx   context.Context
		name  string
		ready string // the cards' state once shown
	}{{actx, "alice", "complete"}, {bctx, "bob", "remote"}} {
		sel := fmt.Sprintf(`.message[data-id=%q] .file`, shared.ID)
		waitJS(t, b.ctx, 20*time.Second, b.name+": the SVG and the HTML as cards", fmt.Sprintf(
			`(() => { const cs = document.querySelectorAll(%q); return cs.length === 2 && [...cs].every(c => c.dataset.state === %q); })()`, sel, b.ready))
		if n := eval[int](t, b.ctx, fmt.Sprintf(`document.querySelectorAll(%q).length`, sel+" img")); n != 0 {
			t.Errorf("%s: %d images for the SVG and the HTML, want none", b.name, n)
		}
	}
	waitJS(t, actx, 5*time.Second, "alice: download links for the SVG and the HTML", fmt.Sprintf(
		`[...document.querySelectorAll(%q)].every(a => a.getAttribute('href').endsWith('?download=1')) && document.querySelectorAll(%q).length === 2`,
		fmt.Sprintf(`.message[data-id=%q] a.file-download`, shared.ID), fmt.Sprintf(`.message[data-id=%q] a.file-download`, shared.ID)))

	// A dropped file: the hint shows while it is over the conversation.
	eval[bool](t, actx, `(() => {
		const dt = new DataTransfer();
		dt.items.add(new File(['dropped bytes'], 'dropped.txt', { type: 'text/plain' }));
		const main = document.getElementById('main');
		main.dispatchEvent(new DragEvent('dragenter', { dataTransfer: dt, bubbles: true, cancelable: true }));
		window.parleyHint = !document.getElementById('drop-hint').hidden && document.getElementById('drop-hint-text').textContent;
		main.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
		return true;
	})()`)
	if hint := eval[string](t, actx, `String(window.parleyHint)`); hint != "Drop files to share them in #team" {
		t.Errorf("the drop hint while dragging: %q, want it shown naming #team", hint)
	}
	// A pasted image.
	eval[bool](t, actx, `new Promise(resolve => {
		const c = document.createElement('canvas');
		c.width = 30; c.height = 20;
		const g = c.getContext('2d');
		g.fillStyle = '#3f6ee8'; g.fillRect(0, 0, 30, 20);
		c.toBlob(blob => {
			const dt = new DataTransfer();
			dt.items.add(new File([blob], 'image.png', { type: 'image/png' }));
			document.getElementById('composer-input').dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }));
			resolve(true);
		}, 'image/png');
	})`)
	waitUntil(t, 20*time.Second, "the dropped file and the pasted image in bob's #team", func() bool {
		var dropped, pasted bool
		for _, m := range apiHistory(t, bob, "#team") {
			for _, f := range m.Files {
				dropped = dropped || f.Name == "dropped.txt" && f.Size == int64(len("dropped bytes"))
				pasted = pasted || strings.HasPrefix(f.Name, "pasted ") && strings.HasSuffix(f.Name, ".png") && f.MIME == "image/png" && f.Width == 30 && f.Height == 20
			}
		}
		return dropped && pasted
	})
	waitJS(t, actx, 10*time.Second, "no upload left above the composer", `document.querySelectorAll('#uploads li').length === 0`)
	screenshot(t, actx, "parley-web-files.png")

	// Everything came from the daemons, and nothing failed in the pages.
	for _, b := range []struct {
		name, base string
		log        *browserLog
	}{{"alice", aliceBase, alog}, {"bob", bobBase, blog}} {
		requests, errs := b.log.snapshot()
		for _, r := range requests {
			if !strings.HasPrefix(r, b.base+"/") && !strings.HasPrefix(r, "data:") && !strings.HasPrefix(r, "blob:") {
				t.Errorf("%s's browser requested %s: want only %s", b.name, r, b.base)
			}
		}
		if len(errs) > 0 {
			t.Errorf("errors in %s's page:\n%s", b.name, strings.Join(errs, "\n"))
		}
	}

	// A file over alice's max_file_size (1 MiB): refused, with a notice;
	// the caption goes back into the composer.
	eval[bool](t, actx, `(() => {
		document.getElementById('composer-input').value = 'too big';
		const dt = new DataTransfer();
		dt.items.add(new File([new Uint8Array(2 << 20)], 'big.bin'));
		document.getElementById('main').dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
		return true;
	})()`)
	waitJS(t, actx, 20*time.Second, "a notice that big.bin is too large", `(() => {
		const n = document.getElementById('notice');
		return !n.hidden && n.textContent.startsWith('Could not share big.bin: too large') && document.getElementById('composer-input').value === 'too big' &&
			document.querySelectorAll('#uploads li').length === 0;
	})()`)
	if slices.ContainsFunc(apiHistory(t, alice, "#team"), func(m api.Message) bool { return m.Text == "too big" }) {
		t.Error("a refused upload left a message")
	}
}
