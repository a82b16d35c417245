package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Error is an error answer from the daemon.
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Message }

// ErrNoDaemon is returned when no daemon answers on the socket.
var ErrNoDaemon = errors.New("daemon not running")

// Client talks to a daemon over its unix socket.
type Client struct {
	socket string
	http   *http.Client
}

// NewClient returns a client for the daemon listening on socket.
func NewClient(socket string) *Client {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		},
		DisableCompression: true,
	}
	return &Client{socket: socket, http: &http.Client{Transport: tr}}
}

func (c *Client) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://parley"+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return c.dialError(err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode >= 300 {
		return readError(resp)
	}
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("bad answer from the daemon: %w", err)
	}
	return nil
}

func (c *Client) dialError(err error) error {
	if errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ENOENT) {
		return fmt.Errorf("%w (no answer on %s)", ErrNoDaemon, c.socket)
	}
	return fmt.Errorf("talk to the daemon: %w", err)
}

func readError(resp *http.Response) error {
	var eb ErrorBody
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if json.Unmarshal(b, &eb) != nil || eb.Error == "" {
		eb.Error = fmt.Sprintf("daemon answered %s", resp.Status)
	}
	return &Error{Status: resp.StatusCode, Code: eb.Code, Message: eb.Error}
}

// Identity calls GET /api/v1/id.
func (c *Client) Identity(ctx context.Context) (Identity, error) {
	var out Identity
	return out, c.do(ctx, http.MethodGet, "/api/v1/id", nil, &out)
}

// Peers calls GET /api/v1/peers.
func (c *Client) Peers(ctx context.Context) ([]Peer, error) {
	var out []Peer
	return out, c.do(ctx, http.MethodGet, "/api/v1/peers", nil, &out)
}

// Safety calls GET /api/v1/peers/{peer}/safety: the safety number of
// this node and peer (a peer ID or @nick), and whether it is verified.
func (c *Client) Safety(ctx context.Context, peer string) (Safety, error) {
	var out Safety
	return out, c.do(ctx, http.MethodGet, "/api/v1/peers/"+url.PathEscape(peer)+"/safety", nil, &out)
}

// Verify calls POST /api/v1/peers/{peer}/verify: it marks the peer
// verified and answers as Safety.
func (c *Client) Verify(ctx context.Context, peer string) (Safety, error) {
	var out Safety
	return out, c.do(ctx, http.MethodPost, "/api/v1/peers/"+url.PathEscape(peer)+"/verify", nil, &out)
}

// Connect calls POST /api/v1/connect.
func (c *Client) Connect(ctx context.Context, addr string) (string, error) {
	var out ConnectResponse
	return out.PeerID, c.do(ctx, http.MethodPost, "/api/v1/connect", ConnectRequest{Addr: addr}, &out)
}

// Send calls POST /api/v1/messages: text is sent as it is, a slash
// command's name included (Submit runs a registered command).
func (c *Client) Send(ctx context.Context, to, text string) (Message, error) {
	var out Message
	return out, c.do(ctx, http.MethodPost, "/api/v1/messages", SendRequest{To: to, Text: text, Command: new(false)}, &out)
}

// Submit calls POST /api/v1/messages as a composer does: a text "/NAME
// args" naming a registered slash command runs it (the result's Command),
// any other text is sent (its Message).
func (c *Client) Submit(ctx context.Context, to, text string) (SendResult, error) {
	var raw json.RawMessage
	if err := c.do(ctx, http.MethodPost, "/api/v1/messages", SendRequest{To: to, Text: text}, &raw); err != nil {
		return SendResult{}, err
	}
	var probe struct {
		Command *string `json:"command"`
	}
	if err := json.Unmarshal(raw, &probe); err != nil {
		return SendResult{}, fmt.Errorf("bad answer from the daemon: %w", err)
	}
	if probe.Command != nil {
		var a CommandAnswer
		if err := json.Unmarshal(raw, &a); err != nil {
			return SendResult{}, fmt.Errorf("bad answer from the daemon: %w", err)
		}
		return SendResult{Command: &a}, nil
	}
	var m Message
	if err := json.Unmarshal(raw, &m); err != nil {
		return SendResult{}, fmt.Errorf("bad answer from the daemon: %w", err)
	}
	return SendResult{Message: &m}, nil
}

// RunCommand calls POST /api/v1/messages with a text that must be a
// registered slash command ("/NAME args"): an *Error with status 404
// when NAME is not one, 502 when the command's URL failed.
func (c *Client) RunCommand(ctx context.Context, to, text string) (CommandAnswer, error) {
	var out CommandAnswer
	return out, c.do(ctx, http.MethodPost, "/api/v1/messages", SendRequest{To: to, Text: text, Command: new(true)}, &out)
}

// Reply calls POST /api/v1/messages/{id}/reply; unless req says
// otherwise, the text is sent as it is (a slash command's name included).
func (c *Client) Reply(ctx context.Context, id string, req ReplyRequest) (Message, error) {
	if req.Command == nil {
		req.Command = new(false)
	}
	var out Message
	return out, c.do(ctx, http.MethodPost, "/api/v1/messages/"+url.PathEscape(id)+"/reply", req, &out)
}

// Edit calls POST /api/v1/messages/{id}/edit.
func (c *Client) Edit(ctx context.Context, id, text string) (Message, error) {
	var out Message
	return out, c.do(ctx, http.MethodPost, "/api/v1/messages/"+url.PathEscape(id)+"/edit", EditRequest{Text: text}, &out)
}

// Delete calls DELETE /api/v1/messages/{id}.
func (c *Client) Delete(ctx context.Context, id string) (Message, error) {
	var out Message
	return out, c.do(ctx, http.MethodDelete, "/api/v1/messages/"+url.PathEscape(id), nil, &out)
}

// React calls POST /api/v1/messages/{id}/react.
func (c *Client) React(ctx context.Context, id, emoji string) (ReactResponse, error) {
	var out ReactResponse
	return out, c.do(ctx, http.MethodPost, "/api/v1/messages/"+url.PathEscape(id)+"/react", ReactRequest{Emoji: emoji}, &out)
}

// Thread calls GET /api/v1/messages/{id}/thread: the root, then replies.
func (c *Client) Thread(ctx context.Context, root string) ([]Message, error) {
	var out []Message
	return out, c.do(ctx, http.MethodGet, "/api/v1/messages/"+url.PathEscape(root)+"/thread", nil, &out)
}

// ThreadPage calls GET /api/v1/messages/{id}/thread with limit (0:
// DefaultHistoryLimit) and before (a reply's ID, or ""): the root, then
// the newest limit replies before before, oldest first.
func (c *Client) ThreadPage(ctx context.Context, root string, limit int, before string) ([]Message, error) {
	if limit <= 0 {
		limit = DefaultHistoryLimit
	}
	q := url.Values{"limit": {strconv.Itoa(limit)}}
	if before != "" {
		q.Set("before", before)
	}
	var out []Message
	return out, c.do(ctx, http.MethodGet, "/api/v1/messages/"+url.PathEscape(root)+"/thread?"+q.Encode(), nil, &out)
}

// History calls GET /api/v1/history (text messages only).
func (c *Client) History(ctx context.Context, with string, limit int, before string) ([]Message, error) {
	return c.HistoryAll(ctx, with, limit, before, false)
}

// HistoryAll calls GET /api/v1/history; all includes join and leave lines.
func (c *Client) HistoryAll(ctx context.Context, with string, limit int, before string, all bool) ([]Message, error) {
	q := url.Values{"with": {with}}
	if all {
		q.Set("all", "true")
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	if before != "" {
		q.Set("before", before)
	}
	var out []Message
	return out, c.do(ctx, http.MethodGet, "/api/v1/history?"+q.Encode(), nil, &out)
}

// Search calls GET /api/v1/search: messages matching text (in a
// conversation and by an author when set; limit 0: the default), newest
// first.
func (c *Client) Search(ctx context.Context, text, in, from string, limit int) ([]SearchHit, error) {
	q := url.Values{"q": {text}}
	if in != "" {
		q.Set("in", in)
	}
	if from != "" {
		q.Set("from", from)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var out []SearchHit
	return out, c.do(ctx, http.MethodGet, "/api/v1/search?"+q.Encode(), nil, &out)
}

// Events follows GET /api/v1/events, calling fn for each event until ctx
// ends, fn returns an error, or the daemon closes the stream.
func (c *Client) Events(ctx context.Context, fn func(Event) error) error {
	return c.Follow(ctx, nil, fn)
}

// Follow is Events; opened (if set) is called once the stream is open, so
// a client can reload what it shows knowing no later event is missed.
func (c *Client) Follow(ctx context.Context, opened func(), fn func(Event) error) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://parley/api/v1/events", nil)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return c.dialError(err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return readError(resp)
	}
	if opened != nil {
		opened()
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var e Event
		if err := json.Unmarshal(line, &e); err != nil {
			return fmt.Errorf("bad event from the daemon: %w", err)
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	if ctx.Err() != nil {
		return nil
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("event stream: %w", err)
	}
	return errors.New("the daemon closed the event stream")
}

// Rooms calls GET /api/v1/rooms.
func (c *Client) Rooms(ctx context.Context) ([]Room, error) {
	var out []Room
	return out, c.do(ctx, http.MethodGet, "/api/v1/rooms", nil, &out)
}

// Join calls POST /api/v1/rooms.
func (c *Client) Join(ctx context.Context, room string) (JoinResponse, error) {
	var out JoinResponse
	return out, c.do(ctx, http.MethodPost, "/api/v1/rooms", JoinRequest{Name: room}, &out)
}

// CreatePrivate calls POST /api/v1/rooms with private set.
func (c *Client) CreatePrivate(ctx context.Context, room string) (JoinResponse, error) {
	var out JoinResponse
	return out, c.do(ctx, http.MethodPost, "/api/v1/rooms", JoinRequest{Name: room, Private: true}, &out)
}

// Invite calls POST /api/v1/rooms/{name}/invites.
func (c *Client) Invite(ctx context.Context, room string, req InviteRequest) (InviteResponse, error) {
	var out InviteResponse
	return out, c.do(ctx, http.MethodPost, roomPath(room)+"/invites", req, &out)
}

// RevokeInvite calls POST /api/v1/invites/revoke.
func (c *Client) RevokeInvite(ctx context.Context, ref string) (JoinResponse, error) {
	var out JoinResponse
	return out, c.do(ctx, http.MethodPost, "/api/v1/invites/revoke", InviteRef{Invite: ref}, &out)
}

// AcceptInvite calls POST /api/v1/invites/accept.
func (c *Client) AcceptInvite(ctx context.Context, link string) (JoinResponse, error) {
	var out JoinResponse
	return out, c.do(ctx, http.MethodPost, "/api/v1/invites/accept", InviteRef{Link: link}, &out)
}

// RemoveMember calls DELETE /api/v1/rooms/{name}/members/{peer}.
func (c *Client) RemoveMember(ctx context.Context, room, peer string) error {
	return c.do(ctx, http.MethodDelete, roomPath(room)+"/members/"+url.PathEscape(peer), nil, nil)
}

// PromoteMember calls POST /api/v1/rooms/{name}/members/{peer}/promote.
func (c *Client) PromoteMember(ctx context.Context, room, peer string) error {
	return c.do(ctx, http.MethodPost, roomPath(room)+"/members/"+url.PathEscape(peer)+"/promote", nil, nil)
}

// SetPrivateSettings calls PATCH /api/v1/rooms/{name} with history and
// invite (empty: unchanged).
func (c *Client) SetPrivateSettings(ctx context.Context, room, history, invite string) (Room, error) {
	var out Room
	return out, c.do(ctx, http.MethodPatch, roomPath(room), RoomSettings{History: history, Invite: invite}, &out)
}

func roomPath(room string) string {
	return "/api/v1/rooms/" + url.PathEscape(strings.TrimPrefix(room, "#"))
}

// Leave calls DELETE /api/v1/rooms/{name}.
func (c *Client) Leave(ctx context.Context, room string) (JoinResponse, error) {
	var out JoinResponse
	return out, c.do(ctx, http.MethodDelete, "/api/v1/rooms/"+url.PathEscape(strings.TrimPrefix(room, "#")), nil, &out)
}

// SetRoomRetention calls PATCH /api/v1/rooms/{name}: how long this node
// keeps the room's history ("90d", "2w", "36h", or "forever": the node's
// default). It returns the room as it is after the change.
func (c *Client) SetRoomRetention(ctx context.Context, room, retention string) (Room, error) {
	var out Room
	return out, c.do(ctx, http.MethodPatch, "/api/v1/rooms/"+url.PathEscape(strings.TrimPrefix(room, "#")), RoomSettings{Retention: &retention}, &out)
}

// Members calls GET /api/v1/rooms/{name}/members.
func (c *Client) Members(ctx context.Context, room string) ([]Member, error) {
	var out []Member
	return out, c.do(ctx, http.MethodGet, "/api/v1/rooms/"+url.PathEscape(strings.TrimPrefix(room, "#"))+"/members", nil, &out)
}

// MarkRead calls POST /api/v1/read.
func (c *Client) MarkRead(ctx context.Context, with, id string) error {
	return c.do(ctx, http.MethodPost, "/api/v1/read", ReadRequest{With: with, ID: id}, nil)
}

// Typing calls POST /api/v1/typing.
func (c *Client) Typing(ctx context.Context, room string) error {
	return c.do(ctx, http.MethodPost, "/api/v1/typing", TypingRequest{With: room}, nil)
}

// Conversations calls GET /api/v1/conversations.
func (c *Client) Conversations(ctx context.Context) ([]Conversation, error) {
	var out []Conversation
	return out, c.do(ctx, http.MethodGet, "/api/v1/conversations", nil, &out)
}

// SetNick calls POST /api/v1/nick.
func (c *Client) SetNick(ctx context.Context, nick string) error {
	return c.do(ctx, http.MethodPost, "/api/v1/nick", NickRequest{Nick: nick}, nil)
}

// LoginLink calls POST /api/v1/login-link: a one-time URL that logs a
// browser in to the web client.
func (c *Client) LoginLink(ctx context.Context) (string, error) {
	var out LoginLink
	return out.URL, c.do(ctx, http.MethodPost, "/api/v1/login-link", nil, &out)
}

// Share calls POST /api/v1/files: it streams the files at paths (each
// under its base name) into one message to `to` with caption text.
func (c *Client) Share(ctx context.Context, to string, paths []string, text string) (Message, error) {
	var out Message
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		err := func() error {
			for _, p := range paths {
				f, err := os.Open(p)
				if err != nil {
					return err
				}
				w, err := mw.CreatePart(filePartHeader(filepath.Base(p)))
				if err == nil {
					_, err = io.Copy(w, f)
				}
				_ = f.Close()
				if err != nil {
					return err
				}
			}
			return mw.Close()
		}()
		_ = pw.CloseWithError(err)
	}()
	q := url.Values{"to": {to}}
	if text != "" {
		q.Set("text", text)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://parley/api/v1/files?"+q.Encode(), pr)
	if err != nil {
		return out, err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := c.http.Do(req)
	if err != nil {
		_ = pr.CloseWithError(err)
		return out, c.dialError(err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode >= 300 {
		return out, readError(resp)
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return out, fmt.Errorf("bad answer from the daemon: %w", err)
	}
	return out, nil
}

// Fetch calls POST /api/v1/messages/{id}/fetch: every file of the message,
// saved into out (the daemon's download directory if empty).
func (c *Client) Fetch(ctx context.Context, id, out, timeout string) (FetchResponse, error) {
	var resp FetchResponse
	return resp, c.do(ctx, http.MethodPost, "/api/v1/messages/"+url.PathEscape(id)+"/fetch", FetchRequest{Out: out, Timeout: timeout}, &resp)
}

// Message calls GET /api/v1/messages/{id}.
func (c *Client) Message(ctx context.Context, id string) (Message, error) {
	var out Message
	return out, c.do(ctx, http.MethodGet, "/api/v1/messages/"+url.PathEscape(id), nil, &out)
}

// filePartHeader is the header of a multipart part carrying a file named
// name. The name goes in RFC 2231 form (filename*=UTF-8”...), every byte
// outside [A-Za-z0-9._-] percent-encoded, so any name a file system
// allows (quotes, control characters, non-ASCII) arrives as it is.
func filePartHeader(name string) textproto.MIMEHeader {
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="file"; filename*=UTF-8''`+b.String())
	h.Set("Content-Type", "application/octet-stream")
	return h
}

// CreateWebhook calls POST /api/v1/webhooks.
func (c *Client) CreateWebhook(ctx context.Context, req WebhookRequest) (Webhook, error) {
	var out Webhook
	return out, c.do(ctx, http.MethodPost, "/api/v1/webhooks", req, &out)
}

// Webhooks calls GET /api/v1/webhooks.
func (c *Client) Webhooks(ctx context.Context) ([]Webhook, error) {
	var out []Webhook
	return out, c.do(ctx, http.MethodGet, "/api/v1/webhooks", nil, &out)
}

// DeleteWebhook calls DELETE /api/v1/webhooks/{name}.
func (c *Client) DeleteWebhook(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, "/api/v1/webhooks/"+url.PathEscape(name), nil, nil)
}

// CreateCommand calls POST /api/v1/commands.
func (c *Client) CreateCommand(ctx context.Context, req CommandRequest) (Command, error) {
	var out Command
	return out, c.do(ctx, http.MethodPost, "/api/v1/commands", req, &out)
}

// Commands calls GET /api/v1/commands.
func (c *Client) Commands(ctx context.Context) ([]Command, error) {
	var out []Command
	return out, c.do(ctx, http.MethodGet, "/api/v1/commands", nil, &out)
}

// DeleteCommand calls DELETE /api/v1/commands/{name} (name with or
// without its slash).
func (c *Client) DeleteCommand(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, "/api/v1/commands/"+url.PathEscape(strings.TrimPrefix(name, "/")), nil, nil)
}

// CreateToken calls POST /api/v1/tokens.
func (c *Client) CreateToken(ctx context.Context, req TokenRequest) (TokenCreated, error) {
	var out TokenCreated
	err := c.do(ctx, http.MethodPost, "/api/v1/tokens", req, &out)
	return out, err
}

// Tokens calls GET /api/v1/tokens.
func (c *Client) Tokens(ctx context.Context) ([]TokenInfo, error) {
	var out []TokenInfo
	err := c.do(ctx, http.MethodGet, "/api/v1/tokens", nil, &out)
	return out, err
}

// RevokeToken calls DELETE /api/v1/tokens/{name}.
func (c *Client) RevokeToken(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, "/api/v1/tokens/"+url.PathEscape(name), nil, nil)
}

// Metrics calls GET /metrics and returns the Prometheus text.
func (c *Client) Metrics(ctx context.Context) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://parley/metrics", nil)
	if err != nil {
		return "", err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return "", c.dialError(err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode >= 300 {
		return "", readError(resp)
	}
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}
