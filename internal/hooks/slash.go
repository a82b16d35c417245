package hooks

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/parley-chat/parley/chat"
)

// Slash commands typed by this node's user: CommandRunner finds the
// registered command a text names, invokes it (SlashCommands) and shows
// its answer, the one it gives at once and those it POSTs later to its
// response_url, the same way: an ephemeral answer goes to this node's
// clients only (Subscribe), never to peers and never into history; an
// in_channel one is posted into the conversation as an app message of
// the command, signed by this node, so every member sees it.

// Self is who invokes commands: this node. *chat.Service implements it.
type Self interface {
	Info() chat.NodeInfo
}

// CommandRunnerConfig configures a CommandRunner. Registry, Poster and
// Self are required.
type CommandRunnerConfig struct {
	Registry *Registry
	Poster   Poster
	Self     Self
	// ResponseURL is the full response URL of a token, or "" while the
	// hooks listener is off (a command then gets response_url ""); nil:
	// always "".
	ResponseURL func(token string) string
	Client      *http.Client     // nil: SlashCommands' own
	Timeout     time.Duration    // 0: CommandTimeout (3 s)
	Now         func() time.Time // nil: time.Now
	Logger      *slog.Logger
}

// CommandResult is what running a command came to: its answer as shown.
type CommandResult struct {
	Command string // "/deploy"
	Type    string // Ephemeral or InChannel
	// Text is the answer as plain text (links kept as "label (url)"),
	// "" when the command answered nothing (it may answer later through
	// its response_url); Rich the sanitised payload, Icon its icon.
	Text string
	Rich []byte
	Icon string
	// Message is the message posted, for an in_channel answer.
	Message *chat.Message
}

// EphemeralAnswer is an answer shown to this node's user only.
type EphemeralAnswer struct {
	Time         time.Time
	Conversation chat.Conversation
	Command      string // "/deploy"
	Text         string
	Rich         []byte
	Icon         string
}

// ephemeralBuffer is how many ephemeral answers wait for a slow client;
// past that it misses them (they are shown, not kept).
const ephemeralBuffer = 64

// CommandRunner runs this node's slash commands.
type CommandRunner struct {
	cfg    CommandRunnerConfig
	engine *SlashCommands
	log    *slog.Logger

	mu   sync.Mutex
	subs map[int]chan EphemeralAnswer
	next int
}

// NewCommandRunner builds a CommandRunner.
func NewCommandRunner(cfg CommandRunnerConfig) (*CommandRunner, error) {
	if cfg.Registry == nil || cfg.Poster == nil || cfg.Self == nil {
		return nil, errors.New("slash commands: Registry, Poster and Self are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	responseURL := cfg.ResponseURL
	if responseURL == nil {
		responseURL = func(string) string { return "" }
	}
	r := &CommandRunner{cfg: cfg, log: cfg.Logger, subs: map[int]chan EphemeralAnswer{}}
	engine, err := NewSlashCommands(SlashCommandsConfig{
		ResponseURL: responseURL,
		OnResponse:  r.onResponse,
		Client:      cfg.Client,
		Timeout:     cfg.Timeout,
		Now:         cfg.Now,
		Logger:      cfg.Logger,
	})
	if err != nil {
		return nil, err
	}
	r.engine = engine
	return r, nil
}

// ResponseHandler serves the response URLs; the hooks listener mounts it
// at CommandResponsePath (ServerConfig.Commands).
func (r *CommandRunner) ResponseHandler() http.Handler { return r.engine }

// Lookup returns the registered command that line ("/NAME args") names.
func (r *CommandRunner) Lookup(line string) (Command, bool) {
	name, _, ok := ParseCommandLine(line)
	if !ok {
		return Command{}, false
	}
	return r.cfg.Registry.Command(name)
}

// Run runs line in conv when it names a registered command ("/NAME
// args"); ok is false, and nothing happens, when it does not. A command
// URL that fails (no 2xx answer within the timeout, unreachable, an
// answer that is not Slack's) is an error wrapping ErrCommandFailed; an
// in_channel answer that cannot be posted is the poster's error.
func (r *CommandRunner) Run(ctx context.Context, conv chat.Conversation, line string) (res CommandResult, ok bool, err error) {
	cmd, ok := r.Lookup(line)
	if !ok {
		return CommandResult{}, false, nil
	}
	_, text, _ := ParseCommandLine(line)
	info := r.cfg.Self.Info()
	inv := Invocation{
		Text:         text,
		UserID:       info.PeerID.String(),
		UserName:     info.Nick,
		Conversation: string(conv),
		TeamID:       info.PeerID.String(),
	}
	sc := slashCommandOf(cmd)
	answer, err := r.engine.Invoke(ctx, sc, inv)
	if err != nil {
		r.log.Info("slash command failed", "command", cmd.Name, "err", err)
		return CommandResult{Command: cmd.Name}, true, err
	}
	res, err = r.show(ctx, sc, conv, answer)
	return res, true, err
}

// slashCommandOf is a registered command as the invoker needs it.
func slashCommandOf(c Command) SlashCommand {
	return SlashCommand{Name: c.Name[1:], URL: c.URL, Token: c.Token}
}

// onResponse shows an answer POSTed to a response URL.
func (r *CommandRunner) onResponse(ctx context.Context, cmd SlashCommand, inv Invocation, resp CommandResponse) error {
	_, err := r.show(ctx, cmd, chat.Conversation(inv.Conversation), resp)
	return err
}

// show shows a command's answer: nothing for an empty one, an in_channel
// one posted into conv as the command's app message, an ephemeral one to
// this node's clients.
func (r *CommandRunner) show(ctx context.Context, cmd SlashCommand, conv chat.Conversation, resp CommandResponse) (CommandResult, error) {
	res := CommandResult{Command: "/" + cmd.Name, Type: resp.Type}
	if resp.Empty() {
		return res, nil
	}
	msg, err := Render(resp.Payload, chat.MaxRichLen)
	if errors.Is(err, ErrNoText) {
		return res, nil // nothing to show (an attachment without text)
	}
	if err != nil {
		return res, err
	}
	res.Text, res.Rich, res.Icon = msg.Text, msg.Rich, msg.Icon
	if resp.Type == InChannel {
		m, err := r.cfg.Poster.PostApp(ctx, conv, chat.AppPost{App: res.Command, Icon: msg.Icon, Text: msg.Text, Rich: msg.Rich})
		if err != nil {
			return res, err
		}
		res.Message = m
		return res, nil
	}
	now := time.Now
	if r.cfg.Now != nil {
		now = r.cfg.Now
	}
	r.publish(EphemeralAnswer{Time: now(), Conversation: conv, Command: res.Command, Text: res.Text, Rich: res.Rich, Icon: res.Icon})
	return res, nil
}

// Subscribe streams the ephemeral answers until cancel is called. A
// subscriber that falls ephemeralBuffer answers behind misses the next
// ones.
func (r *CommandRunner) Subscribe() (<-chan EphemeralAnswer, func()) {
	ch := make(chan EphemeralAnswer, ephemeralBuffer)
	r.mu.Lock()
	id := r.next
	r.next++
	r.subs[id] = ch
	r.mu.Unlock()
	return ch, func() {
		r.mu.Lock()
		delete(r.subs, id)
		r.mu.Unlock()
	}
}

func (r *CommandRunner) publish(e EphemeralAnswer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, ch := range r.subs {
		select {
		case ch <- e:
		default:
			r.log.Debug("a client missed an ephemeral answer: it is too slow", "command", e.Command)
		}
	}
}
