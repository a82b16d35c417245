package hooks

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/parley-chat/parley/chat"
)

// ChatSource is what the outgoing webhooks follow: the chat service.
type ChatSource interface {
	Self() chat.PeerID
	Nick() string
	Peer(id chat.PeerID) (chat.Peer, bool)
	Subscribe() (<-chan chat.Event, func())
}

var _ ChatSource = (*chat.Service)(nil)

// OutgoingConfig configures Outgoing.
type OutgoingConfig struct {
	Registry *Registry
	Source   ChatSource
	Poster   Poster // posts the receivers' replies as the hook's app messages
	Dir      string // the deliveries (see DispatcherConfig.Dir)
	// OnAttempt, if set, learns each attempt's outcome (metrics).
	OnAttempt func(hook string, del Delivery)
	Logger    *slog.Logger
}

// Outgoing is the daemon's outgoing webhooks: it follows the messages the
// chat service stores, offers each to the outgoing hooks of its
// conversation, and posts the receivers' replies back.
type Outgoing struct {
	cfg  OutgoingConfig
	log  *slog.Logger
	d    *Dispatcher
	stop chan struct{} // closed by Close
	once sync.Once
}

// NewOutgoing makes the daemon's outgoing webhooks over cfg.Dir.
func NewOutgoing(cfg OutgoingConfig) (*Outgoing, error) {
	if cfg.Registry == nil || cfg.Source == nil || cfg.Poster == nil {
		return nil, errors.New("outgoing webhooks: Registry, Source and Poster are required")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	o := &Outgoing{cfg: cfg, log: log, stop: make(chan struct{})}
	d, err := NewDispatcher(DispatcherConfig{
		Dir:       cfg.Dir,
		Lookup:    o.lookup,
		PostBack:  o.postBack,
		OnAttempt: cfg.OnAttempt,
		Logger:    log,
	})
	if err != nil {
		return nil, err
	}
	o.d = d
	return o, nil
}

func outgoingOf(h Hook) OutgoingHook {
	return OutgoingHook{Name: h.Name, Conversation: h.Conversation, URL: h.URL, Triggers: h.Triggers, Secret: h.Secret}
}

func (o *Outgoing) lookup(name string) (OutgoingHook, bool) {
	h, ok := o.cfg.Registry.Hook(name)
	if !ok || h.Kind != KindOutgoing {
		return OutgoingHook{}, false
	}
	return outgoingOf(h), true
}

// postBack posts a receiver's reply into the conversation as the hook's
// app message.
func (o *Outgoing) postBack(hook OutgoingHook, _ DeliveredMessage, reply Payload) {
	msg, err := Render(reply, chat.MaxRichLen)
	if err != nil {
		o.log.Info("outgoing webhook: a reply with nothing to show", "hook", hook.Name, "err", err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	post := chat.AppPost{App: hook.Name, Icon: msg.Icon, Text: msg.Text, Rich: msg.Rich}
	if _, err := o.cfg.Poster.PostApp(ctx, chat.Conversation(hook.Conversation), post); err != nil {
		o.log.Warn("outgoing webhook: posting the reply", "hook", hook.Name, "err", err)
	}
}

// Deliveries lists a hook's deliveries, newest first; ErrNotFound when
// there is no outgoing hook of that name.
func (o *Outgoing) Deliveries(name string) ([]Delivery, error) {
	if _, ok := o.lookup(name); !ok {
		return nil, fmt.Errorf("outgoing webhook %q: %w", name, ErrNotFound)
	}
	return o.d.Deliveries(name), nil
}

// Run delivers and follows the chat's messages until ctx ends. A message
// stored before its hook was made (history arriving by sync) is not sent.
func (o *Outgoing) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- o.d.Run(ctx) }()
	o.follow(ctx)
	cancel()
	return <-done
}

func (o *Outgoing) follow(ctx context.Context) {
	for {
		events, stop := o.cfg.Source.Subscribe()
		lost := o.drain(ctx, events)
		stop()
		if !lost {
			return
		}
		// Dropped for lagging behind (4096 events): the messages in
		// between are not delivered. Follow again.
		o.log.Warn("outgoing webhooks fell behind the event stream; some messages were not delivered")
	}
}

// drain offers each message event; it reports whether the stream was
// cut (the subscriber dropped) rather than ctx ending.
func (o *Outgoing) drain(ctx context.Context, events <-chan chat.Event) bool {
	for {
		select {
		case <-ctx.Done():
			return false
		case <-o.stop:
			return false
		case e, ok := <-events:
			if !ok {
				return ctx.Err() == nil && !o.closed()
			}
			if e.Type == chat.EventMessage && e.Message != nil {
				o.offer(e.Message)
			}
		}
	}
}

func (o *Outgoing) offer(m *chat.Message) {
	if m.Kind != chat.KindText || m.App != "" {
		return
	}
	var msg *OutgoingMessage
	for _, h := range o.cfg.Registry.Hooks() {
		if h.Kind != KindOutgoing || h.Conversation != string(m.Conversation) {
			continue
		}
		sent := m.HLC.Time()
		if sent.Before(h.Created.Truncate(time.Millisecond)) {
			continue
		}
		if msg == nil {
			msg = o.messageOf(m, sent)
		}
		if _, err := o.d.Offer(outgoingOf(h), *msg); err != nil {
			o.log.Warn("outgoing webhook: not queued", "hook", h.Name, "err", err)
		}
	}
}

func (o *Outgoing) messageOf(m *chat.Message, sent time.Time) *OutgoingMessage {
	name := ""
	if m.Author == o.cfg.Source.Self() {
		name = o.cfg.Source.Nick()
	} else if p, ok := o.cfg.Source.Peer(m.Author); ok {
		name = p.Nick
	}
	return &OutgoingMessage{
		ID:           m.ID.String(),
		Conversation: string(m.Conversation),
		Kind:         m.Kind.String(),
		Author:       m.Author.String(),
		AuthorName:   name,
		App:          m.App,
		Text:         m.Body,
		Thread:       threadOf(m),
		Time:         sent,
	}
}

func threadOf(m *chat.Message) string {
	if m.Thread.IsZero() {
		return ""
	}
	return m.Thread.String()
}

// Close stops the deliveries (see Dispatcher.Close).
func (o *Outgoing) Close() error {
	o.once.Do(func() { close(o.stop) })
	return o.d.Close()
}

func (o *Outgoing) closed() bool {
	select {
	case <-o.stop:
		return true
	default:
		return false
	}
}
