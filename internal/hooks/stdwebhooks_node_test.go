package hooks

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// These tests hold our signing against the official Standard Webhooks
// library (npm "standardwebhooks", pinned in testdata/stdwebhooks-js).

const jsDir = "testdata/stdwebhooks-js"

// officialLibrary returns the node binary, or skips when node or the
// package is not installed (CI installs both: see .ci/run).
func officialLibrary(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed: install nodejs and npm, then run npm ci --prefix internal/hooks/" + jsDir)
	}
	if _, err := os.Stat(filepath.Join(jsDir, "node_modules", "standardwebhooks")); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("the standardwebhooks package is not installed in CI (.ci/run runs npm ci): %v", err)
		}
		t.Skip("the standardwebhooks npm package is not installed: run npm ci --prefix internal/hooks/" + jsDir)
	}
	return node
}

// TestOfficialLibraryVerifiesOurDeliveries runs the dispatcher against a
// receiver built on the official library, which answers with a reply
// that is posted back; a delivery signed with another secret is refused.
func TestOfficialLibraryVerifiesOurDeliveries(t *testing.T) {
	node := officialLibrary(t)
	hook := testHook(t, "")
	cmd := exec.CommandContext(t.Context(), node, "receiver.js", hook.Secret)
	cmd.Dir = jsDir
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = stdin.Close() // the receiver exits when its stdin closes
		if err := cmd.Wait(); err != nil && t.Context().Err() == nil {
			t.Errorf("receiver: %v", err)
		}
	})
	lines := make(chan map[string]any, 10)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var m map[string]any
			if err := json.Unmarshal(sc.Bytes(), &m); err == nil {
				lines <- m
			}
		}
		close(lines)
	}()
	next := func() map[string]any {
		t.Helper()
		select {
		case m, ok := <-lines:
			if !ok {
				t.Fatal("the receiver exited")
			}
			return m
		case <-time.After(wait):
			t.Fatal("the receiver said nothing")
		}
		return nil
	}
	port := next()["port"].(float64)
	hook.URL = "http://127.0.0.1:" + strconv.Itoa(int(port)) + "/"
	wrong := hook
	wrong.Name = "wrong"
	wrong.Secret, _ = NewSecret()

	replies := make(chan Payload, 1)
	a := newAttempts()
	d := startDispatcher(t, DispatcherConfig{
		Dir: t.TempDir(), Lookup: newHookTable(hook, wrong).lookup, OnAttempt: a.observe,
		PostBack: func(_ OutgoingHook, _ DeliveredMessage, p Payload) { replies <- p },
	})
	if _, err := d.Offer(hook, textMessage("m1", "héllo \"world\" ✓")); err != nil {
		t.Fatal(err)
	}
	id := DeliveryID("ci", "m1")
	if m := next(); m["ok"] != true || m["id"] != id || m["text"] != "héllo \"world\" ✓" {
		t.Fatalf("the official library says %v, want ok for %s", m, id)
	}
	select {
	case p := <-replies:
		if p.Text != "verified "+id {
			t.Fatalf("reply: got %q", p.Text)
		}
	case <-time.After(wait):
		t.Fatal("no reply posted back")
	}
	waitStatus(t, a, d, "ci", id, StatusDelivered)

	wrongMsg := textMessage("m2", "x")
	if _, err := d.Offer(wrong, wrongMsg); err != nil {
		t.Fatal(err)
	}
	if m := next(); m["ok"] != false || !strings.Contains(m["error"].(string), "No matching signature") {
		t.Fatalf("a wrong secret: the official library says %v, want no matching signature", m)
	}
	a.until(t, "the refused delivery's attempt", func() bool {
		dels := d.Deliveries("wrong")
		return len(dels) == 1 && strings.Contains(dels[0].LastError, "401")
	})
}

// TestVerifyAcceptsTheOfficialLibrarysSignatures has the official
// library sign, and Verify check.
func TestVerifyAcceptsTheOfficialLibrarysSignatures(t *testing.T) {
	node := officialLibrary(t)
	secret, err := NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	key, _ := ParseSecret(secret)
	now := time.Now()
	for _, body := range []string{`{"type":"x","data":{"n":1}}`, "", "ünïcode ✓ \n line"} {
		cmd := exec.CommandContext(t.Context(), node, "sign.js", secret, "msg_abc123", strconv.FormatInt(now.Unix(), 10))
		cmd.Dir = jsDir
		cmd.Stdin = strings.NewReader(body)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		sig, err := cmd.Output()
		if err != nil {
			t.Fatalf("sign.js: %v: %s", err, stderr.String())
		}
		if want := Sign(key, "msg_abc123", now, []byte(body)); string(sig) != want {
			t.Fatalf("body %q: the official library signs %s, we sign %s", body, sig, want)
		}
		h := map[string][]string{
			"Webhook-Id":        {"msg_abc123"},
			"Webhook-Timestamp": {strconv.FormatInt(now.Unix(), 10)},
			"Webhook-Signature": {string(sig)},
		}
		if err := Verify(key, h, []byte(body), now, 0); err != nil {
			t.Fatalf("body %q: Verify refused the official library's signature: %v", body, err)
		}
		if err := Verify(key, h, []byte(body+"x"), now, 0); err == nil {
			t.Fatalf("body %q: Verify accepted a changed body", body)
		}
	}
}
