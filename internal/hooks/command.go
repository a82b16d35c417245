package hooks

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/parley-chat/parley/chat"
)

// Slash commands, as Slack's: "/NAME args" typed by a user POSTs Slack's
// slash-command fields, form-encoded, to the command's URL and shows the
// answer to that user only ("ephemeral", the default) or posts it into
// the conversation ("in_channel"). The answer may come later, through the
// response_url, up to 5 times within 30 minutes of the invocation.

// SlashCommand is a registered slash command, as the invoker needs it.
type SlashCommand struct {
	Name  string // without the slash
	URL   string
	Token string // sent as "token" when set (Slack's verification token)
}

// Invocation is one use of a command.
type Invocation struct {
	Text         string // what follows "/NAME "
	UserID       string // the invoking peer
	UserName     string // its nick
	Conversation string // "room:<name>" or "dm:<peer>": channel_id
	TeamID       string // the hosting node's peer ID
	TeamDomain   string // "parley" when empty
}

// Response types of a command's answer.
const (
	Ephemeral = "ephemeral"
	InChannel = "in_channel"
)

// CommandResponse is a command's answer: a Slack message payload and
// whom it is for.
type CommandResponse struct {
	Type    string // Ephemeral or InChannel
	Payload Payload
}

// Empty reports whether the answer has nothing to show (an empty 200).
func (r CommandResponse) Empty() bool {
	return strings.TrimSpace(r.Payload.Text) == "" && len(r.Payload.Attachments) == 0 && len(r.Payload.Blocks) == 0
}

// Command answer limits, as Slack's.
const (
	CommandTimeout     = 3 * time.Second
	ResponseURLLife    = 30 * time.Minute
	ResponseURLUses    = 5
	maxCommandAnswer   = 1 << 20
	maxResponseURLOpen = 10000 // response URLs remembered at once
)

// ErrCommandFailed wraps a command URL's failure (non-2xx, no answer in
// time, unreachable).
var ErrCommandFailed = errors.New("command failed")

// SlashCommandsConfig configures SlashCommands.
type SlashCommandsConfig struct {
	// ResponseURL is the absolute URL of a response token, e.g.
	// "http://host:7715/commands/response/" + token; the listener mounts
	// Handler there. Required.
	ResponseURL func(token string) string
	// OnResponse receives each answer POSTed to a response_url, with the
	// invocation it answers; an error is the POST's answer (see
	// ResponseError). Required.
	OnResponse func(ctx context.Context, cmd SlashCommand, inv Invocation, resp CommandResponse) error
	Client     *http.Client  // nil: a client that follows no redirects
	Timeout    time.Duration // 0: CommandTimeout (3 s)
	// Now is the clock response URLs expire by; nil: time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// SlashCommands invokes slash commands and serves their response URLs.
type SlashCommands struct {
	cfg    SlashCommandsConfig
	client *http.Client
	log    *slog.Logger

	mu   sync.Mutex
	open map[string]*responseURL
}

type responseURL struct {
	cmd     SlashCommand
	inv     Invocation
	expires time.Time
	uses    int
}

// NewSlashCommands makes a SlashCommands.
func NewSlashCommands(cfg SlashCommandsConfig) (*SlashCommands, error) {
	if cfg.ResponseURL == nil || cfg.OnResponse == nil {
		return nil, errors.New("slash commands: ResponseURL and OnResponse are required")
	}
	setDefault(&cfg.Timeout, CommandTimeout)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	client := cfg.Client
	if client == nil {
		client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &SlashCommands{cfg: cfg, client: client, log: log, open: map[string]*responseURL{}}, nil
}

// ParseCommandLine splits "/NAME args" into the name and its text; ok is
// false when line is not a slash command ("/" alone, "//x", "/ x").
func ParseCommandLine(line string) (name, text string, ok bool) {
	rest, found := strings.CutPrefix(line, "/")
	if !found || rest == "" || rest[0] == '/' || rest[0] == ' ' {
		return "", "", false
	}
	name, text, _ = strings.Cut(rest, " ")
	if i := strings.IndexAny(name, "\t\n"); i >= 0 {
		name, text = name[:i], strings.TrimSpace(name[i:]+" "+text)
	}
	return name, strings.TrimSpace(text), name != ""
}

// Invoke POSTs the invocation to the command's URL and returns its
// answer; an empty 2xx is an empty answer (nothing to show). The
// response_url sent with it is open for ResponseURLLife from now.
func (c *SlashCommands) Invoke(ctx context.Context, cmd SlashCommand, inv Invocation) (CommandResponse, error) {
	token, err := randomToken()
	if err != nil {
		return CommandResponse{}, err
	}
	triggerID, err := randomToken()
	if err != nil {
		return CommandResponse{}, err
	}
	c.remember(token, cmd, inv)
	form := CommandForm(cmd, inv, c.cfg.ResponseURL(token), triggerID)

	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, cmd.URL, strings.NewReader(form.Encode()))
	if err != nil {
		return CommandResponse{}, fmt.Errorf("/%s: %w: bad URL", cmd.Name, ErrCommandFailed)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", "Parley-Commands/1")
	resp, err := c.client.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return CommandResponse{}, fmt.Errorf("/%s: %w: no answer within %s", cmd.Name, ErrCommandFailed, c.cfg.Timeout)
		}
		if inner := errors.Unwrap(err); inner != nil {
			err = inner
		}
		return CommandResponse{}, fmt.Errorf("/%s: %w: %w", cmd.Name, ErrCommandFailed, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxCommandAnswer+1))
	if err != nil {
		return CommandResponse{}, fmt.Errorf("/%s: %w: reading the answer: %w", cmd.Name, ErrCommandFailed, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return CommandResponse{}, fmt.Errorf("/%s: %w: the command answered %s", cmd.Name, ErrCommandFailed, resp.Status)
	}
	if len(body) > maxCommandAnswer {
		return CommandResponse{}, fmt.Errorf("/%s: %w: answer over %d bytes", cmd.Name, ErrCommandFailed, maxCommandAnswer)
	}
	answer, err := ParseCommandResponse(resp.Header.Get("Content-Type"), body)
	if err != nil {
		return CommandResponse{}, fmt.Errorf("/%s: %w: %w", cmd.Name, ErrCommandFailed, err)
	}
	return answer, nil
}

// CommandForm is the form POSTed for an invocation: Slack's slash-command
// fields.
func CommandForm(cmd SlashCommand, inv Invocation, responseURL, triggerID string) url.Values {
	channel := "directmessage"
	if room, ok := strings.CutPrefix(inv.Conversation, "room:"); ok {
		channel = room
	}
	domain := inv.TeamDomain
	if domain == "" {
		domain = "parley"
	}
	form := url.Values{
		"command":      {"/" + cmd.Name},
		"text":         {inv.Text},
		"user_id":      {inv.UserID},
		"user_name":    {inv.UserName},
		"channel_id":   {inv.Conversation},
		"channel_name": {channel},
		"response_url": {responseURL},
		"trigger_id":   {triggerID},
		"team_id":      {inv.TeamID},
		"team_domain":  {domain},
	}
	if cmd.Token != "" {
		form.Set("token", cmd.Token)
	}
	return form
}

// ParseCommandResponse reads a command's answer: JSON (by content type,
// or a body starting with '{') of Slack's shape {"response_type",
// "text", "attachments", "blocks"}, or plain text. The type defaults to
// ephemeral; an empty body is an empty answer.
func ParseCommandResponse(contentType string, body []byte) (CommandResponse, error) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return CommandResponse{Type: Ephemeral}, nil
	}
	mediaType, _, _ := mime.ParseMediaType(contentType)
	if mediaType != "application/json" && trimmed[0] != '{' {
		return CommandResponse{Type: Ephemeral, Payload: Payload{Text: string(trimmed)}}, nil
	}
	var answer struct {
		Payload
		ResponseType string `json:"response_type"`
	}
	if err := json.Unmarshal(trimmed, &answer); err != nil {
		return CommandResponse{}, fmt.Errorf("answer is not Slack JSON: %w", err)
	}
	typ := Ephemeral
	if answer.ResponseType == InChannel {
		typ = InChannel
	}
	return CommandResponse{Type: typ, Payload: answer.Payload}, nil
}

func randomToken() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// remember opens a response URL, forgetting expired ones (and, past
// maxResponseURLOpen, the one closest to expiry).
func (c *SlashCommands) remember(token string, cmd SlashCommand, inv Invocation) {
	now := c.cfg.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sweep(now)
	if len(c.open) >= maxResponseURLOpen {
		var oldest string
		for t, r := range c.open {
			if oldest == "" || r.expires.Before(c.open[oldest].expires) {
				oldest = t
			}
		}
		delete(c.open, oldest)
	}
	c.open[token] = &responseURL{cmd: cmd, inv: inv, expires: now.Add(ResponseURLLife)}
}

func (c *SlashCommands) sweep(now time.Time) {
	for t, r := range c.open {
		if !now.Before(r.expires) {
			delete(c.open, t)
		}
	}
}

// ServeHTTP is the response_url endpoint: a POST to .../<token> with a
// command answer (JSON as the command's own answer) hands it to
// OnResponse, at most ResponseURLUses times within ResponseURLLife of
// the invocation; an unknown, expired or used-up token is 404. Mount it
// where ResponseURL points, e.g. under /commands/response/.
func (c *SlashCommands) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method_not_allowed", http.StatusMethodNotAllowed)
		return
	}
	token := path.Base(r.URL.Path)
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxCommandAnswer))
	if err != nil {
		http.Error(w, "invalid_payload", http.StatusRequestEntityTooLarge)
		return
	}
	ct := r.Header.Get("Content-Type")
	if mt, _, _ := mime.ParseMediaType(ct); mt == "application/x-www-form-urlencoded" {
		// Slack's form of a message: payload=<json>.
		form, err := url.ParseQuery(string(body))
		if err != nil || form.Get("payload") == "" {
			http.Error(w, "invalid_payload", http.StatusBadRequest)
			return
		}
		body, ct = []byte(form.Get("payload")), "application/json"
	}
	answer, err := ParseCommandResponse(ct, body)
	if err != nil {
		http.Error(w, "invalid_payload", http.StatusBadRequest)
		return
	}
	if answer.Empty() {
		http.Error(w, "no_text", http.StatusBadRequest)
		return
	}
	now := c.cfg.Now()
	c.mu.Lock()
	open := c.open[token]
	if open != nil && !now.Before(open.expires) {
		delete(c.open, token)
		open = nil
	}
	var cmd SlashCommand
	var inv Invocation
	if open != nil {
		open.uses++
		cmd, inv = open.cmd, open.inv
		if open.uses >= ResponseURLUses {
			delete(c.open, token)
		}
	}
	c.mu.Unlock()
	if open == nil {
		http.Error(w, "expired_url", http.StatusNotFound)
		return
	}
	if err := c.cfg.OnResponse(r.Context(), cmd, inv, answer); err != nil {
		status, body := ResponseError(err)
		c.log.Info("slash command answer not shown", "command", "/"+cmd.Name, "err", err)
		http.Error(w, body, status)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, "ok")
}

// ResponseError is the status and Slack-like body a response_url POST
// is answered with when its answer could not be shown: the conversation
// is gone (404 channel_not_found), the node is stopping (503
// service_unavailable), anything else 500 internal_error.
func ResponseError(err error) (int, string) {
	switch {
	case errors.Is(err, chat.ErrNotJoined), errors.Is(err, chat.ErrNotMember), errors.Is(err, chat.ErrUnknownPeer):
		return http.StatusNotFound, "channel_not_found"
	case errors.Is(err, chat.ErrClosed), errors.Is(err, context.Canceled):
		return http.StatusServiceUnavailable, "service_unavailable"
	}
	return http.StatusInternalServerError, "internal_error"
}
