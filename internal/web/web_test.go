package web

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// get fetches path from the web client's handler.
func get(t *testing.T, path string) (int, http.Header) {
	t.Helper()
	rec := httptest.NewRecorder()
	Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec.Code, rec.Header()
}

// cspDirectives splits a Content-Security-Policy into its directives'
// sources, by directive name.
func cspDirectives(policy string) map[string][]string {
	out := map[string][]string{}
	for d := range strings.SplitSeq(policy, ";") {
		f := strings.Fields(d)
		if len(f) > 0 {
			out[f[0]] = f[1:]
		}
	}
	return out
}

// TestWebCSP checks that every asset is served under the policy the
// client is written for: scripts and styles from the daemon only (no
// inline ones), images from the daemon (the invite link's and the safety
// number's QR codes) and data: URLs, nothing framed.
func TestWebCSP(t *testing.T) {
	for _, path := range []string{"/", "/app.js", "/rich.js", "/integrations.js", "/app.css", "/lock.svg"} {
		t.Run(path, func(t *testing.T) {
			status, header := get(t, path)
			if status != http.StatusOK {
				t.Fatalf("status: got %d, want 200", status)
			}
			policy := header.Get("Content-Security-Policy")
			csp := cspDirectives(policy)
			for name, want := range map[string][]string{
				"default-src":     {"'self'"},
				"script-src":      {"'self'"},
				"style-src":       {"'self'"},
				"img-src":         {"'self'", "data:"},
				"connect-src":     {"'self'"},
				"frame-ancestors": {"'none'"},
			} {
				if got := csp[name]; !slices.Equal(got, want) {
					t.Errorf("%s: got %q, want %q (policy %q)", name, got, want, policy)
				}
			}
			if got := header.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options: got %q, want nosniff", got)
			}
		})
	}
}

// TestWebNoInlineCode checks the page against what its policy refuses
// (inline scripts, style attributes, event handler attributes) and the
// script against putting data into the page as HTML.
func TestWebNoInlineCode(t *testing.T) {
	page := asset(t, "index.html")
	for _, tc := range []struct {
		name string
		re   *regexp.Regexp
	}{
		{"an inline script", regexp.MustCompile(`(?is)<script\b[^>]*>\s*[^<\s]`)},
		{"a style element", regexp.MustCompile(`(?i)<style\b`)},
		{"a style attribute", regexp.MustCompile(`(?i)<[a-z][^>]*\sstyle\s*=`)},
		{"an event handler attribute", regexp.MustCompile(`(?i)<[a-z][^>]*\son[a-z]+\s*=`)},
		{"a javascript: URL", regexp.MustCompile(`(?i)javascript:`)},
	} {
		if m := tc.re.FindString(page); m != "" {
			t.Errorf("index.html has %s: %q", tc.name, m)
		}
	}

	for _, tag := range regexp.MustCompile(`(?i)<script\b[^>]*>`).FindAllString(page, -1) {
		if !regexp.MustCompile(`(?i)\ssrc\s*=`).MatchString(tag) {
			t.Errorf("index.html has a script without src: %q", tag)
		}
	}

	for _, name := range scripts {
		script := asset(t, name)
		if name == "rich.js" {
			// An attachment's checked #RGB or #RRGGBB, its one style set
			// by script (through CSSOM, which the policy allows).
			if n := strings.Count(script, ".style."); n != 1 || !strings.Contains(script, "card.style.borderLeftColor = color;") {
				t.Errorf("rich.js sets style %d times: want only the attachment's checked color", n)
			}
			script = strings.Replace(script, "card.style.borderLeftColor = color;", "", 1)
		}
		for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function", "setAttribute('style'", ".style.", "DOMParser", "createContextualFragment", "srcdoc"} {
			if strings.Contains(script, bad) {
				t.Errorf("%s uses %s: put text with textContent, style with the style sheet", name, bad)
			}
		}
		if !strings.Contains(page, `<script src="`+name+`" defer></script>`) {
			t.Errorf("index.html does not load %s", name)
		}
	}
}

// scripts are the web client's scripts, in the order the page loads them.
var scripts = []string{"rich.js", "integrations.js", "app.js"}

// TestWebElementIDs checks that every element a script looks up by ID is
// in the page: a renamed element would otherwise break the client only
// when that code runs.
func TestWebElementIDs(t *testing.T) {
	page := asset(t, "index.html")
	var script strings.Builder
	for _, name := range scripts {
		script.WriteString(asset(t, name))
	}
	ids := map[string]bool{}
	for _, m := range regexp.MustCompile(`\sid="([^"]+)"`).FindAllStringSubmatch(page, -1) {
		if ids[m[1]] {
			t.Errorf("index.html: id %q twice", m[1])
		}
		ids[m[1]] = true
	}
	looked := regexp.MustCompile(`\$\('([^']+)'\)`).FindAllStringSubmatch(script.String(), -1)
	if len(looked) == 0 {
		t.Fatal("the scripts look up no element by ID: has their $ helper changed?")
	}
	for _, m := range looked {
		if !ids[m[1]] {
			t.Errorf("a script looks up #%s, which index.html does not have", m[1])
		}
	}
	// The private rooms' controls the e2e tests drive.
	for _, id := range []string{"create-private", "link-input", "link-error", "invite-button", "invite-link", "invite-copy", "invite-qr", "invite-revoke", "settings-history", "settings-invite", "members-list", "conv-lock", "removed-note", "confirm-dialog",
		// Threads, quoting and search (TestWebRelations).
		"thread-pane", "thread-list", "thread-messages", "thread-input", "thread-title", "reply-bar", "reply-text", "search-input", "search-results", "search-list",
		// The Integrations panel (TestWebApps).
		"integrations-button", "integrations-dialog", "tab-webhooks", "tab-tokens", "webhook-conv", "webhook-name", "webhook-kind", "webhook-created-url", "webhooks-list", "webhook-error",
		"token-name", "token-scope", "token-convs", "token-created-value", "tokens-list", "token-error", "deliveries-body", "command-name", "commands-list"} {
		if !ids[id] {
			t.Errorf("index.html has no #%s", id)
		}
	}
}

func asset(t *testing.T, name string) string {
	t.Helper()
	b, err := fs.ReadFile(static, "static/"+name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
