package api

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
)

// browser is an HTTP client with a cookie jar that does not follow
// redirects, talking to the TCP listener.
func browser(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func do(t *testing.T, c *http.Client, method, u, origin string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, u, strings.NewReader(`{"nick":"bob"}`))
	if err != nil {
		t.Fatal(err)
	}
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestLoginLinkSession(t *testing.T) {
	ts := serve(t)
	link, err := ts.client.LoginLink(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(link)
	if err != nil || u.Host != ts.tcpAddr || u.Path != "/login" || len(u.Query().Get("t")) != 64 {
		t.Fatalf("login link %q: want http://%s/login?t=<64 hex>", link, ts.tcpAddr)
	}
	base := "http://" + ts.tcpAddr
	c := browser(t)
	if status, _ := do(t, c, http.MethodGet, base+"/api/v1/id", ""); status != http.StatusUnauthorized {
		t.Fatalf("before login: got %d, want 401", status)
	}
	if status, _ := do(t, c, http.MethodGet, link, ""); status != http.StatusSeeOther {
		t.Fatalf("login: got %d, want 303", status)
	}
	cookies := c.Jar.Cookies(u)
	if len(cookies) != 1 || cookies[0].Name != sessionCookie {
		t.Fatalf("cookies after login: %v", cookies)
	}
	if status, body := do(t, c, http.MethodGet, base+"/api/v1/id", ""); status != http.StatusOK || strings.Contains(body, testToken) {
		t.Fatalf("with the session: got %d %s", status, body)
	}
	// Changing something needs our own Origin.
	if status, _ := do(t, c, http.MethodPost, base+"/api/v1/nick", ""); status != http.StatusForbidden {
		t.Errorf("POST without Origin: got %d, want 403", status)
	}
	if status, _ := do(t, c, http.MethodPost, base+"/api/v1/nick", "http://evil.example"); status != http.StatusForbidden {
		t.Errorf("POST from a foreign Origin: got %d, want 403", status)
	}
	if status, _ := do(t, c, http.MethodGet, base+"/api/v1/id", "http://evil.example"); status != http.StatusForbidden {
		t.Errorf("GET from a foreign Origin: got %d, want 403", status)
	}
	if nick := ts.node.Svc.Nick(); nick != "alice" {
		t.Errorf("nick after refused POSTs: got %q, want alice", nick)
	}
	if status, body := do(t, c, http.MethodPost, base+"/api/v1/nick", base); status != http.StatusOK {
		t.Errorf("POST from our Origin: got %d %s, want 200", status, body)
	}
	if nick := ts.node.Svc.Nick(); nick != "bob" {
		t.Errorf("nick after the session's POST: got %q, want bob", nick)
	}
	// A session cannot mint links; the link works once.
	if status, _ := do(t, c, http.MethodPost, base+"/api/v1/login-link", base); status != http.StatusForbidden {
		t.Errorf("login-link from a session: got %d, want 403", status)
	}
	other := browser(t)
	if status, _ := do(t, other, http.MethodGet, link, ""); status != http.StatusForbidden {
		t.Errorf("second use of the link: got %d, want 403", status)
	}
	if status, _ := do(t, other, http.MethodGet, base+"/api/v1/id", ""); status != http.StatusUnauthorized {
		t.Errorf("after a refused login: got %d, want 401", status)
	}
}
