package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/api"
	"github.com/parley-chat/parley/internal/testnet"
)

// tcpBase is the http://127.0.0.1:PORT of d's loopback API, from the
// login link 'parley open' prints.
func tcpBase(t *testing.T, d *testnet.Daemon) string {
	t.Helper()
	link := strings.TrimSpace(d.MustRun("open", "--no-browser"))
	u, err := url.Parse(link)
	if err != nil || !strings.HasPrefix(u.Host, "127.0.0.1:") {
		t.Fatalf("parley open --no-browser printed %q, want http://127.0.0.1:PORT/login?t=...", link)
	}
	return "http://" + u.Host
}

// asToken makes a request on the TCP API with a bearer token ("" for none)
// and returns the status and the body.
func asToken(t *testing.T, token, method, url, body string) (int, string) {
	t.Helper()
	req := newRequest(t, method, url, body)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := noRedirects.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// createToken runs parley token create --json and returns the answer.
func createToken(t *testing.T, d *testnet.Daemon, args ...string) api.TokenCreated {
	t.Helper()
	var tc api.TokenCreated
	d.RunJSON(&tc, append([]string{"token", "create", "--json"}, args...)...)
	if !strings.HasPrefix(tc.Token, "pat_") || len(tc.Token) != 47 {
		t.Fatalf("token create printed token %q: want pat_ and 43 characters", tc.Token)
	}
	return tc
}

// openEvents opens the event stream with token and returns its lines;
// the channel closes when the stream ends.
func openEvents(t *testing.T, base, token string) (<-chan string, func()) {
	t.Helper()
	req := newRequest(t, "GET", base+"/api/v1/events", "")
	req.Header.Set("Authorization", "Bearer "+token)
	client := &http.Client{Transport: &http.Transport{Proxy: nil}} // no timeout: a stream
	resp, err := client.Do(req)                                    //nolint:bodyclose // a stream: the returned func closes it
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		_ = resp.Body.Close()
		t.Fatalf("events: %s", resp.Status)
	}
	lines := make(chan string, 1024)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			if l := strings.TrimSpace(sc.Text()); l != "" {
				lines <- l
			}
		}
	}()
	return lines, func() { _ = resp.Body.Close() }
}

// nextMessageEvent waits for the next message event on lines and returns
// the message's text and conversation.
func nextMessageEvent(t *testing.T, lines <-chan string, within time.Duration) (api.Message, bool) {
	t.Helper()
	deadline := time.After(within)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				return api.Message{}, false
			}
			var ev api.Event
			if err := json.Unmarshal([]byte(l), &ev); err != nil {
				t.Fatalf("event %q: %v", l, err)
			}
			if ev.Type == "message" && ev.Message != nil {
				return *ev.Message, true
			}
		case <-deadline:
			t.Fatalf("no message event within %v", within)
		}
	}
}

// TestScopedTokens drives scoped API tokens through real daemons: a read
// token and a send token limited to #team, on alice's TCP API, allowed,
// forbidden and conversation-limited requests, revocation closing an open
// event stream, and the tokens surviving a restart as hashes only.
func TestScopedTokens(t *testing.T) {
	alice, bob := testnet.NewDaemon(t, "alice"), testnet.NewDaemon(t, "bob")
	alice.Start(loopbackListen...)
	bob.Start(loopbackListen...)
	bobID := bob.Identity().PeerID
	alice.MustRun("connect", bob.Identity().Addrs[0])
	alice.MustRun("join", "#team")
	alice.MustRun("join", "#other")
	bob.MustRun("join", "#team")
	waitUntil(t, 15*time.Second, "alice and bob connected", func() bool { return connected(t, alice, bobID) })
	inTeam := sendRoom(t, alice, "team", "team kickoff")
	inOther := sendRoom(t, alice, "other", "other business")
	base := tcpBase(t, alice)

	// CLI contract: usage errors exit 2, a taken name exits 1.
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"token", "create", "--name", "x"}, 2, "--scope"},
		{[]string{"token", "create", "--scope", "read"}, 2, "--name"},
		{[]string{"token", "create", "--name", "bad name", "--scope", "read"}, 2, "name"},
		{[]string{"token", "create", "--name", "x", "--scope", "read", "--conv", "@nobody"}, 1, "unknown peer"},
		{[]string{"token", "revoke", "nobody"}, 1, "no token"},
	} {
		if r := alice.Run(tc.args...); r.Code != tc.code || !strings.Contains(r.Stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and %q", tc.args, r.Code, r.Stderr, tc.code, tc.want)
		}
	}

	reader := createToken(t, alice, "--name", "reader", "--scope", "read")
	sender := createToken(t, alice, "--name", "teambot", "--scope", "send", "--conv", "#team")
	if r := alice.Run("token", "create", "--name", "reader", "--scope", "read"); r.Code != 1 || !strings.Contains(r.Stderr, "exists") {
		t.Errorf("a second token named reader: exit %d, stderr %q; want 1 and 'exists'", r.Code, r.Stderr)
	}
	if sender.Scope != "send" || len(sender.Convs) != 1 || sender.Convs[0] != "room:team" {
		t.Errorf("teambot: got scope %q convs %v, want send [room:team]", sender.Scope, sender.Convs)
	}

	// Listed (as JSON and for people) without the tokens; on disk as hashes.
	var list []api.TokenInfo
	alice.RunJSON(&list, "token", "list", "--json")
	if len(list) != 2 || list[0].Name != "reader" || list[1].Name != "teambot" || list[0].LastUsed != nil {
		t.Errorf("token list: got %+v, want reader (never used) and teambot", list)
	}
	listed := alice.MustRun("token", "list")
	onDisk, err := os.ReadFile(filepath.Join(alice.Home, "tokens.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{reader.Token, sender.Token} {
		body := strings.TrimPrefix(secret, "pat_")
		if strings.Contains(listed, body) || strings.Contains(string(onDisk), body) {
			t.Errorf("a token shows in token list or tokens.json")
		}
	}
	if !strings.Contains(listed, "#team") || !strings.Contains(listed, "all conversations") {
		t.Errorf("token list: got %q, want teambot's #team and reader's all conversations", listed)
	}

	team, other := url.QueryEscape("#team"), url.QueryEscape("#other")
	for _, tc := range []struct {
		who, token, method, path, body string
		want                           int
	}{
		// read: the GET endpoints of conversations, every conversation.
		{"reader", reader.Token, "GET", "/api/v1/id", "", 200},
		{"reader", reader.Token, "GET", "/api/v1/history?with=" + team, "", 200},
		{"reader", reader.Token, "GET", "/api/v1/history?with=" + other, "", 200},
		{"reader", reader.Token, "GET", "/api/v1/messages/" + inOther, "", 200},
		{"reader", reader.Token, "GET", "/api/v1/messages/" + inTeam + "/thread", "", 200},
		{"reader", reader.Token, "GET", "/api/v1/rooms/team/members", "", 200},
		{"reader", reader.Token, "GET", "/api/v1/search?q=kickoff", "", 200},
		{"reader", reader.Token, "GET", "/metrics", "", 200},
		// and nothing else.
		{"reader", reader.Token, "POST", "/api/v1/messages", `{"to":"#team","text":"hi"}`, 403},
		{"reader", reader.Token, "POST", "/api/v1/messages/" + inTeam + "/react", `{"emoji":"👍"}`, 403},
		{"reader", reader.Token, "POST", "/api/v1/nick", `{"nick":"mallory"}`, 403},
		{"reader", reader.Token, "POST", "/api/v1/rooms", `{"name":"#new"}`, 403},
		{"reader", reader.Token, "DELETE", "/api/v1/rooms/team", "", 403},
		{"reader", reader.Token, "POST", "/api/v1/peers/" + bobID + "/verify", "", 403},
		{"reader", reader.Token, "GET", "/api/v1/notify", "", 403},
		{"reader", reader.Token, "GET", "/api/v1/tokens", "", 403},
		{"reader", reader.Token, "POST", "/api/v1/tokens", `{"name":"more","scope":"send"}`, 403},
		{"reader", reader.Token, "POST", "/api/v1/login-link", "", 403},
		{"reader", reader.Token, "GET", "/api/v1/nothing", "", 404},
		// send: read, and send, reply and react, in #team only.
		{"teambot", sender.Token, "POST", "/api/v1/messages", `{"to":"#team","text":"build green"}`, 201},
		{"teambot", sender.Token, "POST", "/api/v1/messages/" + inTeam + "/reply", `{"text":"on it"}`, 201},
		{"teambot", sender.Token, "POST", "/api/v1/messages/" + inTeam + "/react", `{"emoji":"🚀"}`, 201},
		{"teambot", sender.Token, "GET", "/api/v1/history?with=" + team, "", 200},
		{"teambot", sender.Token, "POST", "/api/v1/messages", `{"to":"#other","text":"leak"}`, 403},
		{"teambot", sender.Token, "POST", "/api/v1/messages", `{"to":"` + bobID + `","text":"leak"}`, 403},
		{"teambot", sender.Token, "POST", "/api/v1/messages/" + inOther + "/reply", `{"text":"leak"}`, 403},
		{"teambot", sender.Token, "GET", "/api/v1/history?with=" + other, "", 403},
		{"teambot", sender.Token, "GET", "/api/v1/messages/" + inOther, "", 403},
		{"teambot", sender.Token, "GET", "/api/v1/rooms/other/members", "", 403},
		{"teambot", sender.Token, "GET", "/api/v1/search?q=business&in=" + other, "", 403},
		{"teambot", sender.Token, "POST", "/api/v1/messages/" + inTeam + "/edit", `{"text":"changed"}`, 403},
		{"teambot", sender.Token, "DELETE", "/api/v1/messages/" + inTeam, "", 403},
		{"teambot", sender.Token, "POST", "/api/v1/read", `{"with":"#team"}`, 403},
		{"teambot", sender.Token, "POST", "/api/v1/rooms/team/invites", `{}`, 403},
		// no token, a wrong one.
		{"nobody", "", "GET", "/api/v1/id", "", 401},
		{"forged", "pat_" + strings.Repeat("A", 43), "GET", "/api/v1/id", "", 401},
	} {
		if got, body := asToken(t, tc.token, tc.method, base+tc.path, tc.body); got != tc.want {
			t.Errorf("%s: %s %s: got %d (%s), want %d", tc.who, tc.method, tc.path, got, strings.TrimSpace(body), tc.want)
		}
	}

	// Files: teambot shares into #team only, and reads only #team's files.
	for _, tc := range []struct {
		to   string
		want int
	}{{"#team", 201}, {"#other", 403}} {
		if code, body := upload(t, sender.Token, base, tc.to, "notes.txt", "shared by the bot"); code != tc.want {
			t.Errorf("teambot sharing a file into %s: got %d (%s), want %d", tc.to, code, body, tc.want)
		}
	}
	dir := t.TempDir()
	otherFile, _ := writeRandom(t, dir, "other.bin", 5000)
	otherMsg := share(t, alice, otherFile, "#other")
	hash := filesOf(t, alice, "#other", otherMsg)[0].Hash
	if code, _ := asToken(t, sender.Token, "GET", base+"/api/v1/files/"+hash, ""); code != 403 {
		t.Errorf("teambot reading #other's file: got %d, want 403", code)
	}
	if code, _ := asToken(t, reader.Token, "GET", base+"/api/v1/files/"+hash, ""); code != 200 {
		t.Errorf("reader reading #other's file: got %d, want 200", code)
	}

	// List endpoints are filtered to the token's conversations.
	var rs []api.Room
	if code, body := asToken(t, sender.Token, "GET", base+"/api/v1/rooms", ""); code != 200 || json.Unmarshal([]byte(body), &rs) != nil || len(rs) != 1 || rs[0].Name != "team" {
		t.Errorf("teambot's rooms: got %d %s, want #team alone", code, body)
	}
	var convs []api.Conversation
	if code, body := asToken(t, sender.Token, "GET", base+"/api/v1/conversations", ""); code != 200 || json.Unmarshal([]byte(body), &convs) != nil || len(convs) != 1 || convs[0].Conversation != "room:team" {
		t.Errorf("teambot's conversations: got %d %s, want room:team alone", code, body)
	}
	if code, body := asToken(t, reader.Token, "GET", base+"/api/v1/rooms", ""); code != 200 || json.Unmarshal([]byte(body), &rs) != nil || len(rs) < 3 {
		t.Errorf("reader's rooms: got %d %s, want lobby, team and other", code, body)
	}
	waitUntil(t, 15*time.Second, "the reader finding #other's message", func() bool {
		code, body := asToken(t, reader.Token, "GET", base+"/api/v1/search?q=business", "")
		return code == 200 && strings.Contains(body, inOther)
	})
	if code, body := asToken(t, sender.Token, "GET", base+"/api/v1/search?q=business", ""); code != 200 || strings.Contains(body, inOther) {
		t.Errorf("teambot searching for #other's message: got %d %s, want 200 without it", code, body)
	}
	var peers []api.Peer
	if code, body := asToken(t, sender.Token, "GET", base+"/api/v1/peers", ""); code != 200 || json.Unmarshal([]byte(body), &peers) != nil || len(peers) != 1 || peers[0].PeerID != bobID {
		t.Errorf("teambot's peers: got %d %s, want bob alone (#team's other member)", code, body)
	}

	// The event stream of a limited token carries its conversations' events
	// only; revoking the token closes it at once.
	lines, closeEvents := openEvents(t, base, sender.Token)
	defer closeEvents()
	sendRoom(t, alice, "other", "not for the bot")
	fromTeam := sendRoom(t, alice, "team", "for the bot")
	m, ok := nextMessageEvent(t, lines, 15*time.Second)
	if !ok || m.ID != fromTeam {
		t.Errorf("teambot's first message event: got %+v (%v), want #team's %s and never #other's", m, ok, fromTeam)
	}
	readerLines, closeReader := openEvents(t, base, reader.Token)
	defer closeReader()
	alice.MustRun("token", "revoke", "teambot")
	select {
	case <-waitClosed(lines):
	case <-time.After(10 * time.Second):
		t.Fatal("the revoked token's event stream is still open after 10 s")
	}
	if code, _ := asToken(t, sender.Token, "GET", base+"/api/v1/id", ""); code != 401 {
		t.Errorf("revoked teambot: got %d, want 401", code)
	}
	// The other token's stream goes on.
	fromOther := sendRoom(t, alice, "other", "still reading")
	if m, ok := nextMessageEvent(t, readerLines, 15*time.Second); !ok || m.ID != fromOther {
		t.Errorf("reader's stream after teambot's revocation: got %+v (%v), want %s", m, ok, fromOther)
	}
	alice.RunJSON(&list, "token", "list", "--json")
	if len(list) != 1 || list[0].Name != "reader" || list[0].LastUsed == nil {
		t.Errorf("token list after revoking teambot: got %+v, want reader, used", list)
	}

	// A restarted daemon knows the reader (by its hash) and not teambot.
	closeReader()
	if code, _ := alice.Stop(); code != 0 {
		t.Fatalf("alice stopped with exit %d", code)
	}
	alice.Start(loopbackListen...)
	base = tcpBase(t, alice)
	if code, _ := asToken(t, reader.Token, "GET", base+"/api/v1/history?with="+team, ""); code != 200 {
		t.Errorf("reader after a restart: got %d, want 200", code)
	}
	if code, _ := asToken(t, sender.Token, "GET", base+"/api/v1/id", ""); code != 401 {
		t.Errorf("revoked teambot after a restart: got %d, want 401", code)
	}
}

// upload shares one file (named name, holding text) into conversation to
// through the TCP API with token, and returns the status and the body.
func upload(t *testing.T, token, base, to, name, text string) (int, string) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	fw, err := mw.CreateFormFile("file", name)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = fw.Write([]byte(text))
	_ = mw.Close()
	req, err := http.NewRequest("POST", base+"/api/v1/files?to="+url.QueryEscape(to), &b)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := noRedirects.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// waitClosed returns a channel closed once lines is closed (the stream
// ended), draining what comes before.
func waitClosed(lines <-chan string) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		for range lines {
		}
		close(done)
	}()
	return done
}
