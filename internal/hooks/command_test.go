package hooks

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

type answered struct {
	cmd  SlashCommand
	inv  Invocation
	resp CommandResponse
}

func newTestCommands(t *testing.T, client *http.Client) (*SlashCommands, chan answered) {
	t.Helper()
	got := make(chan answered, 10)
	c, err := NewSlashCommands(SlashCommandsConfig{
		ResponseURL: func(token string) string { return "http://127.0.0.1:7715/commands/response/" + token },
		OnResponse: func(_ context.Context, cmd SlashCommand, inv Invocation, resp CommandResponse) error {
			got <- answered{cmd, inv, resp}
			return nil
		},
		Client: client,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c, got
}

var testInvocation = Invocation{
	Text: "deploy prod --fast", UserID: "12D3KooWAnn", UserName: "ann",
	Conversation: "room:dev", TeamID: "12D3KooWHost",
}

func TestInvokePostsSlackFields(t *testing.T) {
	forms := make(chan url.Values, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
			t.Errorf("content type %q", ct)
		}
		if err := r.ParseForm(); err != nil {
			t.Error(err)
		}
		forms <- r.PostForm
	}))
	defer srv.Close()
	c, _ := newTestCommands(t, nil)
	resp, err := c.Invoke(t.Context(), SlashCommand{Name: "ship", URL: srv.URL, Token: "tok"}, testInvocation)
	if err != nil {
		t.Fatal(err)
	}
	if !resp.Empty() {
		t.Fatalf("an empty 200: got %+v, want an empty answer", resp)
	}
	form := <-forms
	want := map[string]string{
		"command": "/ship", "text": "deploy prod --fast", "user_id": "12D3KooWAnn", "user_name": "ann",
		"channel_id": "room:dev", "channel_name": "dev", "team_id": "12D3KooWHost", "team_domain": "parley", "token": "tok",
	}
	for k, v := range want {
		if got := form.Get(k); got != v {
			t.Errorf("%s: got %q, want %q", k, got, v)
		}
	}
	if !strings.HasPrefix(form.Get("response_url"), "http://127.0.0.1:7715/commands/response/") || len(form.Get("response_url")) < 60 {
		t.Errorf("response_url: got %q", form.Get("response_url"))
	}
	if form.Get("trigger_id") == "" {
		t.Error("no trigger_id")
	}
}

func TestInvokeAnswers(t *testing.T) {
	tests := []struct {
		name     string
		ct, body string
		status   int
		wantType string
		wantText string
		wantErr  bool
	}{
		{"plain text is ephemeral", "text/plain", "only you see this", 200, Ephemeral, "only you see this", false},
		{"JSON without a type is ephemeral", "application/json", `{"text": "psst"}`, 200, Ephemeral, "psst", false},
		{"in_channel", "application/json", `{"response_type": "in_channel", "text": "for all"}`, 200, InChannel, "for all", false},
		{"JSON without a content type", "", `{"response_type": "in_channel", "text": "hi"}`, 200, InChannel, "hi", false},
		{"unknown type is ephemeral", "application/json", `{"response_type": "shout", "text": "x"}`, 200, Ephemeral, "x", false},
		{"broken JSON", "application/json", `{"text": `, 200, "", "", true},
		{"a 500", "text/plain", "boom", 500, "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.ct != "" {
					w.Header().Set("Content-Type", tt.ct)
				}
				w.WriteHeader(tt.status)
				_, _ = io.WriteString(w, tt.body)
			}))
			defer srv.Close()
			c, _ := newTestCommands(t, nil)
			resp, err := c.Invoke(t.Context(), SlashCommand{Name: "x", URL: srv.URL}, testInvocation)
			if tt.wantErr {
				if !errors.Is(err, ErrCommandFailed) {
					t.Fatalf("got %v, want ErrCommandFailed", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if resp.Type != tt.wantType || resp.Payload.Text != tt.wantText {
				t.Fatalf("got %q %q, want %q %q", resp.Type, resp.Payload.Text, tt.wantType, tt.wantText)
			}
		})
	}
}

func TestInvokeGivesUpAfterThreeSeconds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			<-r.Context().Done() // never answers
		})
		c, _ := newTestCommands(t, &http.Client{Transport: handlerTransport{h}})
		start := time.Now()
		_, err := c.Invoke(context.Background(), SlashCommand{Name: "slow", URL: "http://command.test/"}, testInvocation)
		if !errors.Is(err, ErrCommandFailed) || !strings.Contains(err.Error(), "3s") {
			t.Fatalf("got %v, want no answer within 3s", err)
		}
		if took := time.Since(start); took != CommandTimeout {
			t.Fatalf("gave up after %s, want %s", took, CommandTimeout)
		}
	})
}

// invokeForResponseURL invokes a command whose server remembers the
// response_url, and returns its path.
func invokeForResponseURL(t *testing.T, c *SlashCommands, client *http.Client) string {
	t.Helper()
	var mu sync.Mutex
	var responseURL string
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		responseURL = r.FormValue("response_url")
		mu.Unlock()
	})
	if client != nil {
		client.Transport = handlerTransport{h}
		if _, err := c.Invoke(t.Context(), SlashCommand{Name: "later", URL: "http://command.test/"}, testInvocation); err != nil {
			t.Fatal(err)
		}
	} else {
		srv := httptest.NewServer(h)
		defer srv.Close()
		if _, err := c.Invoke(t.Context(), SlashCommand{Name: "later", URL: srv.URL}, testInvocation); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	u, err := url.Parse(responseURL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Path
}

func postResponse(c http.Handler, path, ct, body string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	req.Header.Set("Content-Type", ct)
	c.ServeHTTP(rec, req)
	return rec
}

func TestResponseURLServesFiveAnswers(t *testing.T) {
	c, got := newTestCommands(t, nil)
	path := invokeForResponseURL(t, c, nil)
	mux := http.NewServeMux()
	mux.Handle("/commands/response/", c)

	rec := postResponse(mux, path, "application/json", `{"response_type": "in_channel", "text": "built"}`)
	if rec.Code != 200 || rec.Body.String() != "ok" {
		t.Fatalf("got %d %q, want 200 ok", rec.Code, rec.Body.String())
	}
	a := <-got
	if a.cmd.Name != "later" || a.inv != testInvocation || a.resp.Type != InChannel || a.resp.Payload.Text != "built" {
		t.Fatalf("got %+v", a)
	}
	// Slack's form: payload=<json>; the type defaults to ephemeral.
	rec = postResponse(mux, path, "application/x-www-form-urlencoded", url.Values{"payload": {`{"text": "2"}`}}.Encode())
	if rec.Code != 200 {
		t.Fatalf("form: got %d", rec.Code)
	}
	if a := <-got; a.resp.Type != Ephemeral || a.resp.Payload.Text != "2" {
		t.Fatalf("got %+v, want ephemeral 2", a.resp)
	}
	// Bad answers are refused and use nothing up.
	for _, body := range []string{`{"text": `, `{"text": ""}`} {
		if rec := postResponse(mux, path, "application/json", body); rec.Code != http.StatusBadRequest {
			t.Fatalf("%s: got %d, want 400", body, rec.Code)
		}
	}
	for i := 3; i <= ResponseURLUses; i++ {
		if rec := postResponse(mux, path, "application/json", `{"text": "again"}`); rec.Code != 200 {
			t.Fatalf("use %d: got %d, want 200", i, rec.Code)
		}
		<-got
	}
	if rec := postResponse(mux, path, "application/json", `{"text": "sixth"}`); rec.Code != http.StatusNotFound {
		t.Fatalf("sixth use: got %d, want 404", rec.Code)
	}
	if rec := postResponse(mux, "/commands/response/unknown", "application/json", `{"text": "x"}`); rec.Code != http.StatusNotFound {
		t.Fatalf("unknown token: got %d, want 404", rec.Code)
	}
	select {
	case a := <-got:
		t.Fatalf("an answer was handed on after the URL closed: %+v", a)
	default:
	}
}

func TestResponseURLExpiresAfterThirtyMinutes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		client := &http.Client{}
		c, got := newTestCommands(t, client)
		path := invokeForResponseURL(t, c, client)
		time.Sleep(ResponseURLLife - time.Second)
		if rec := postResponse(c, path, "application/json", `{"text": "in time"}`); rec.Code != 200 {
			t.Fatalf("29:59 after: got %d, want 200", rec.Code)
		}
		<-got
		time.Sleep(time.Second)
		if rec := postResponse(c, path, "application/json", `{"text": "late"}`); rec.Code != http.StatusNotFound {
			t.Fatalf("30:00 after: got %d, want 404", rec.Code)
		}
	})
}

func TestParseCommandLine(t *testing.T) {
	tests := []struct {
		line, name, text string
		ok               bool
	}{
		{"/deploy prod now", "deploy", "prod now", true},
		{"/deploy", "deploy", "", true},
		{"/deploy\tprod", "deploy", "prod", true},
		{"/deploy   spaced  ", "deploy", "spaced", true},
		{"deploy", "", "", false},
		{"/", "", "", false},
		{"/ deploy", "", "", false},
		{"//not a command", "", "", false},
	}
	for _, tt := range tests {
		name, text, ok := ParseCommandLine(tt.line)
		if name != tt.name || text != tt.text || ok != tt.ok {
			t.Errorf("ParseCommandLine(%q): got %q %q %v, want %q %q %v", tt.line, name, text, ok, tt.name, tt.text, tt.ok)
		}
	}
}

func FuzzParseCommandResponse(f *testing.F) {
	f.Add("application/json", []byte(`{"response_type":"in_channel","text":"x","attachments":[{"ts":"1"}],"blocks":[{"type":"divider"}]}`))
	f.Add("text/plain", []byte("hello"))
	f.Add("application/json; charset=utf-8", []byte(`[1,2]`))
	f.Add("", []byte(" { "))
	f.Fuzz(func(t *testing.T, ct string, body []byte) {
		resp, err := ParseCommandResponse(ct, body)
		if err != nil {
			return
		}
		if resp.Type != Ephemeral && resp.Type != InChannel {
			t.Fatalf("type %q", resp.Type)
		}
	})
}
