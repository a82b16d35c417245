package hooks

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
)

// Outgoing webhooks, as Slack's: a message posted in a hook's
// conversation that starts with one of its trigger words (or any message,
// with none) is POSTed as JSON to the hook's URL, signed per Standard
// Webhooks. Deliveries are persisted before Offer returns and retried
// with backoff for a day; see docs/API.md ("Outgoing webhooks") for the
// body, the retry schedule and the delivery guarantees.

// OutgoingHook is what the dispatcher needs of an outgoing webhook; the
// registry stores it.
type OutgoingHook struct {
	Name         string
	Conversation string   // "room:<name>" or "dm:<peer>"
	URL          string   // where deliveries are POSTed
	Triggers     []string // words a message must start with; none: every message
	Secret       string   // "whsec_..." signing secret
}

// OutgoingMessage is what an outgoing webhook learns of a chat message.
type OutgoingMessage struct {
	ID           string
	Conversation string // "room:<name>" or "dm:<peer>"
	Kind         string // only "text" messages are delivered
	Author       string // peer ID
	AuthorName   string // the author's nick, if known
	App          string // set when an integration posted it: never delivered (no loops)
	Text         string
	Thread       string // the thread's root message, for a thread reply
	Time         time.Time
}

// Delivery statuses.
const (
	StatusPending   = "pending"
	StatusDelivered = "delivered"
	StatusFailed    = "failed"
)

// Delivery is the state of one delivery, as `parley webhook deliveries
// NAME --json` prints it. NextAttempt is set while pending.
type Delivery struct {
	ID          string     `json:"id"`
	Status      string     `json:"status"`
	Attempts    int        `json:"attempts"`
	LastError   string     `json:"last_error"`
	NextAttempt *time.Time `json:"next_attempt,omitempty"`
}

// OutgoingBody is the JSON body POSTed for a message: the fields of
// Slack's outgoing webhooks, then Parley's own.
type OutgoingBody struct {
	// Slack's fields. token is left out: deliveries are signed instead.
	TeamID      string `json:"team_id,omitempty"`
	ChannelID   string `json:"channel_id"`
	ChannelName string `json:"channel_name"`
	Timestamp   string `json:"timestamp"` // "1355517523.000005", seconds.microseconds
	UserID      string `json:"user_id"`
	UserName    string `json:"user_name"`
	Text        string `json:"text"`
	TriggerWord string `json:"trigger_word,omitempty"`
	// Parley's.
	Type         string `json:"type"` // "message"
	App          string `json:"app"`  // the hook's name
	MessageID    string `json:"message_id"`
	Conversation string `json:"conversation"`
	Thread       string `json:"thread,omitempty"`
	SentAt       string `json:"sent_at"` // RFC 3339, the message's time
}

// ErrClosed is returned by Offer once the dispatcher is closed.
var ErrClosed = errors.New("dispatcher closed")

// ErrQueueFull is returned by Offer when a hook already has
// DispatcherConfig.MaxPending deliveries waiting.
var ErrQueueFull = errors.New("too many deliveries pending for this webhook")

// DispatcherConfig configures a Dispatcher. Zero values take the defaults
// noted.
type DispatcherConfig struct {
	// Dir holds one JSON file per delivery (required). It is created 0700.
	Dir string
	// Lookup finds an outgoing hook by name at delivery time (required),
	// so a changed URL or secret applies to retries; a deleted hook fails
	// its pending deliveries.
	Lookup func(name string) (OutgoingHook, bool)
	// PostBack receives a 2xx answer that carries a message ({"text": ...}
	// or any Slack message payload) for the hook's conversation. Optional.
	// It is called at most once per delivery, after "delivered" is on disk.
	PostBack func(hook OutgoingHook, msg DeliveredMessage, reply Payload)
	// Client sends the POSTs; nil: a client that follows no redirects
	// (a 3xx is a failure, as the spec asks). Each attempt is bounded by
	// Timeout.
	Client  *http.Client
	Timeout time.Duration // per attempt; 0: 15 s

	Workers     int           // POSTs in flight at once; 0: 4
	MinBackoff  time.Duration // first retry delay; 0: 10 s
	MaxBackoff  time.Duration // delays double up to this; 0: 1 h
	GiveUpAfter time.Duration // a delivery not done this long after the message fails; 0: 24 h
	// Kept records: delivered and failed ones are removed once older than
	// KeepFor or beyond the newest KeepCount of their hook.
	KeepFor   time.Duration // 0: 7 days
	KeepCount int           // 0: 1,000
	// MaxPending bounds the deliveries waiting per hook; 0: 10,000.
	MaxPending int

	// OnAttempt, if set, learns the state of a delivery after each attempt
	// (for metrics: deliveries by result). It must not block.
	OnAttempt func(hook string, del Delivery)

	Logger *slog.Logger // nil: discard
}

// DeliveredMessage names the message a PostBack answers.
type DeliveredMessage struct {
	ID           string // the chat message's ID
	Conversation string
	Thread       string
}

// record is a delivery as kept on disk (one file per record) and in memory.
type record struct {
	ID          string          `json:"id"`
	Hook        string          `json:"hook"`
	MessageID   string          `json:"message_id"`
	Conv        string          `json:"conversation"`
	Thread      string          `json:"thread,omitempty"`
	Status      string          `json:"status"`
	Attempts    int             `json:"attempts"`
	LastError   string          `json:"last_error,omitempty"`
	Created     time.Time       `json:"created"`
	NextAttempt time.Time       `json:"next_attempt,omitzero"`
	Done        time.Time       `json:"done,omitzero"`
	Body        json.RawMessage `json:"body"`

	busy     bool // a worker holds it
	creating bool // Offer is writing its first file
}

// Dispatcher delivers outgoing webhooks. New constructs it (loading the
// deliveries left in Dir), Run delivers until its context ends, Close
// stops it and waits.
type Dispatcher struct {
	cfg    DispatcherConfig
	log    *slog.Logger
	client *http.Client
	files  *deliveryFiles
	// ownClient: the client is the dispatcher's, its idle connections
	// closed by Close.
	ownClient bool

	mu      sync.Mutex
	records map[string]*record
	due     dueQueue
	closed  bool

	wake    chan struct{}
	stop    chan struct{}
	stopped chan struct{} // closed when Run has returned, or at Close without Run
	running bool
	once    sync.Once
}

// NewDispatcher makes a Dispatcher over cfg.Dir, loading the deliveries a
// previous one left there: pending ones are resumed by Run.
func NewDispatcher(cfg DispatcherConfig) (*Dispatcher, error) {
	if cfg.Dir == "" {
		return nil, errors.New("outgoing webhooks: no directory")
	}
	if cfg.Lookup == nil {
		return nil, errors.New("outgoing webhooks: no hook lookup")
	}
	setDefault(&cfg.Timeout, 15*time.Second)
	setDefault(&cfg.MinBackoff, 10*time.Second)
	setDefault(&cfg.MaxBackoff, time.Hour)
	setDefault(&cfg.GiveUpAfter, 24*time.Hour)
	setDefault(&cfg.KeepFor, 7*24*time.Hour)
	setDefault(&cfg.Workers, 4)
	setDefault(&cfg.KeepCount, 1000)
	setDefault(&cfg.MaxPending, 10000)
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	client, ownClient := cfg.Client, false
	if client == nil {
		client = &http.Client{
			Transport:     http.DefaultTransport.(*http.Transport).Clone(),
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
		ownClient = true
	}
	files, err := openDeliveryFiles(cfg.Dir, log)
	if err != nil {
		return nil, err
	}
	d := &Dispatcher{
		cfg: cfg, log: log, client: client, ownClient: ownClient, files: files,
		records: map[string]*record{},
		wake:    make(chan struct{}, 1),
		stop:    make(chan struct{}),
		stopped: make(chan struct{}),
	}
	recs, err := files.loadAll()
	if err != nil {
		return nil, err
	}
	for _, r := range recs {
		d.records[r.ID] = r
		if r.Status == StatusPending {
			d.due.push(r.NextAttempt, r.ID)
		}
	}
	return d, nil
}

func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// Matches reports whether msg is delivered to hook, and the trigger word
// it starts with (empty for a hook without triggers): a text message in
// the hook's conversation, not posted by an integration, whose first word
// is one of the triggers (compared case-insensitively; the word may end
// in ':' or ',', as in "deploy: now").
func Matches(hook OutgoingHook, msg OutgoingMessage) (trigger string, ok bool) {
	if msg.Kind != "text" || msg.App != "" || msg.Conversation != hook.Conversation {
		return "", false
	}
	if len(hook.Triggers) == 0 {
		return "", true
	}
	text := strings.TrimLeftFunc(msg.Text, unicode.IsSpace)
	end := strings.IndexFunc(text, unicode.IsSpace)
	if end < 0 {
		end = len(text)
	}
	first := strings.TrimRight(text[:end], ":,")
	for _, t := range hook.Triggers {
		if t != "" && strings.EqualFold(first, t) {
			return t, true
		}
	}
	return "", false
}

// DeliveryID is the webhook-id of msg's delivery to the hook named name:
// derived from both, so a message offered twice (an event replayed after
// a restart) is delivered once.
func DeliveryID(name, messageID string) string {
	sum := sha256.Sum256([]byte(name + "\x00" + messageID))
	return "msg_" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(sum[:16]))
}

// Offer queues msg for hook if it matches (see Matches). The delivery is
// on disk when Offer returns; the POST happens later, in Run. It reports
// whether a delivery was queued (false for a message that does not match
// or was already offered).
func (d *Dispatcher) Offer(hook OutgoingHook, msg OutgoingMessage) (bool, error) {
	trigger, ok := Matches(hook, msg)
	if !ok {
		return false, nil
	}
	body, err := json.Marshal(outgoingBody(hook, msg, trigger))
	if err != nil {
		return false, fmt.Errorf("outgoing webhook %s: %w", hook.Name, err)
	}
	now := time.Now()
	r := &record{
		ID: DeliveryID(hook.Name, msg.ID), Hook: hook.Name, MessageID: msg.ID,
		Conv: msg.Conversation, Thread: msg.Thread,
		Status: StatusPending, Created: now, NextAttempt: now, Body: body,
	}
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return false, ErrClosed
	}
	if _, dup := d.records[r.ID]; dup {
		d.mu.Unlock()
		return false, nil
	}
	if d.pendingOf(hook.Name) >= d.cfg.MaxPending {
		d.mu.Unlock()
		return false, fmt.Errorf("outgoing webhook %s: %w", hook.Name, ErrQueueFull)
	}
	// Held in the map, unlisted and unscheduled, while its file is
	// written (outside the lock: an fsync takes milliseconds, and neither
	// other Offers nor the workers wait for it).
	r.creating = true
	d.records[r.ID] = r
	d.mu.Unlock()

	err = d.files.write(r)

	d.mu.Lock()
	defer d.mu.Unlock()
	if err != nil {
		delete(d.records, r.ID)
		return false, fmt.Errorf("outgoing webhook %s: %w", hook.Name, err)
	}
	r.creating = false
	d.due.push(r.NextAttempt, r.ID)
	d.poke()
	return true, nil
}

func (d *Dispatcher) pendingOf(name string) int {
	n := 0
	for _, r := range d.records {
		if r.Hook == name && r.Status == StatusPending {
			n++
		}
	}
	return n
}

func outgoingBody(hook OutgoingHook, msg OutgoingMessage, trigger string) OutgoingBody {
	channel := "directmessage" // Slack's channel_name for a DM
	if room, ok := strings.CutPrefix(msg.Conversation, "room:"); ok {
		channel = room
	}
	name := msg.AuthorName
	if name == "" {
		name = msg.Author
	}
	t := msg.Time.UTC()
	return OutgoingBody{
		ChannelID:    msg.Conversation,
		ChannelName:  channel,
		Timestamp:    fmt.Sprintf("%d.%06d", t.Unix(), t.Nanosecond()/1000),
		UserID:       msg.Author,
		UserName:     name,
		Text:         msg.Text,
		TriggerWord:  trigger,
		Type:         "message",
		App:          hook.Name,
		MessageID:    msg.ID,
		Conversation: msg.Conversation,
		Thread:       msg.Thread,
		SentAt:       t.Format(time.RFC3339Nano),
	}
}

// Deliveries lists the deliveries of the hook named name, newest first.
func (d *Dispatcher) Deliveries(name string) []Delivery {
	d.mu.Lock()
	var recs []*record
	for _, r := range d.records {
		if r.Hook == name && !r.creating {
			recs = append(recs, r)
		}
	}
	slices.SortFunc(recs, func(a, b *record) int {
		if c := b.Created.Compare(a.Created); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	out := make([]Delivery, 0, len(recs))
	for _, r := range recs {
		out = append(out, r.delivery())
	}
	d.mu.Unlock()
	return out
}

func (r *record) delivery() Delivery {
	del := Delivery{ID: r.ID, Status: r.Status, Attempts: r.Attempts, LastError: r.LastError}
	if r.Status == StatusPending {
		next := r.NextAttempt.UTC().Truncate(time.Second)
		del.NextAttempt = &next
	}
	return del
}

func (d *Dispatcher) poke() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run delivers due deliveries, at most Workers at once, until ctx ends or
// Close is called; it returns nil then. A POST cut off by the stop stays
// pending and is sent again by the next Run.
func (d *Dispatcher) Run(ctx context.Context) error {
	d.mu.Lock()
	if d.running || d.closed {
		d.mu.Unlock()
		return errors.New("outgoing webhooks: Run called twice or after Close")
	}
	d.running = true
	d.mu.Unlock()
	defer close(d.stopped)

	var wg sync.WaitGroup
	defer wg.Wait() // after cancel: POSTs in flight are cut off first
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	finished := make(chan struct{}, d.cfg.Workers)
	inFlight := 0
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	lastPrune := time.Time{}
	for {
		now := time.Now()
		if now.Sub(lastPrune) >= time.Minute {
			d.prune(now)
			lastPrune = now
		}
		var wait time.Duration = -1
		for inFlight < d.cfg.Workers {
			r, next := d.takeDue(now)
			if r == nil {
				if !next.IsZero() {
					wait = next.Sub(now)
				}
				break
			}
			inFlight++
			wg.Go(func() {
				d.attempt(ctx, r)
				finished <- struct{}{}
			})
		}
		if wait < 0 || wait > time.Minute {
			wait = time.Minute // prune now and then, even when idle
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return nil
		case <-d.stop:
			return nil
		case <-d.wake:
		case <-finished:
			inFlight--
		case <-timer.C:
		}
	}
}

// takeDue marks the first due delivery busy and returns it, or returns
// the time of the next one (zero: none).
func (d *Dispatcher) takeDue(now time.Time) (*record, time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for d.due.Len() > 0 {
		at, id := d.due.peek()
		r := d.records[id]
		if r == nil || r.Status != StatusPending || r.busy || !r.NextAttempt.Equal(at) {
			d.due.pop() // stale entry: the record moved on
			continue
		}
		if at.After(now) {
			return nil, at
		}
		d.due.pop()
		r.busy = true
		return r, time.Time{}
	}
	return nil, time.Time{}
}

// attempt POSTs one delivery and records the outcome.
func (d *Dispatcher) attempt(ctx context.Context, r *record) {
	d.mu.Lock()
	body, hookName := r.Body, r.Hook
	d.mu.Unlock()
	hook, ok := d.cfg.Lookup(hookName)
	if !ok {
		d.finish(r, outcome{err: errors.New("webhook deleted"), final: true})
		return
	}
	out := d.post(ctx, hook, r.ID, body)
	if ctx.Err() != nil && out.err != nil && !out.ok {
		// Stopped mid-POST: leave it pending for the next Run.
		d.mu.Lock()
		r.busy = false
		d.mu.Unlock()
		return
	}
	if recorded := d.finish(r, out); recorded && out.ok && d.cfg.PostBack != nil && out.reply != nil {
		d.cfg.PostBack(hook, DeliveredMessage{ID: r.MessageID, Conversation: r.Conv, Thread: r.Thread}, *out.reply)
	}
}

type outcome struct {
	ok         bool
	err        error
	final      bool          // no retry (410 Gone, deleted hook)
	retryAfter time.Duration // the receiver's Retry-After
	reply      *Payload
}

// maxReply bounds the answer read for a PostBack.
const maxReply = 1 << 20

func (d *Dispatcher) post(ctx context.Context, hook OutgoingHook, id string, body []byte) outcome {
	key, err := ParseSecret(hook.Secret)
	if err != nil {
		return outcome{err: err, final: true}
	}
	ctx, cancel := context.WithTimeout(ctx, d.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, hook.URL, bytes.NewReader(body))
	if err != nil {
		return outcome{err: fmt.Errorf("bad URL: %w", err), final: true}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Parley-Webhooks/1")
	SignHeaders(req.Header, key, id, time.Now(), body)
	resp, err := d.client.Do(req)
	if err != nil {
		if inner := errors.Unwrap(err); inner != nil {
			err = inner // the cause, without the URL (which may hold a token)
		}
		return outcome{err: err}
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, maxReply+1))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		out := outcome{err: fmt.Errorf("receiver answered %s", resp.Status)}
		if resp.StatusCode == http.StatusGone {
			out.final = true // the receiver wants no more (spec)
		}
		if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && secs > 0 {
			out.retryAfter = time.Duration(secs) * time.Second
		}
		return out
	}
	out := outcome{ok: true}
	if len(answer) <= maxReply {
		if p, ok := ParseReply(answer); ok {
			out.reply = &p
		}
	}
	return out
}

// ParseReply reads a receiver's 2xx answer: a Slack message payload
// ({"text": ...}, attachments, blocks) to post back. Anything else (empty,
// "ok", other JSON) is no reply.
func ParseReply(answer []byte) (Payload, bool) {
	answer = bytes.TrimSpace(answer)
	if len(answer) == 0 || answer[0] != '{' {
		return Payload{}, false
	}
	var p Payload
	if err := json.Unmarshal(answer, &p); err != nil {
		return Payload{}, false
	}
	if strings.TrimSpace(p.Text) == "" && len(p.Attachments) == 0 && len(p.Blocks) == 0 {
		return Payload{}, false
	}
	return p, true
}

// finish records an attempt's outcome on disk, then in memory. The
// record is busy (this worker's) throughout: nothing else changes it.
// It reports whether the outcome is on disk.
func (d *Dispatcher) finish(r *record, out outcome) bool {
	now := time.Now()
	d.mu.Lock()
	next := *r
	d.mu.Unlock()
	next.busy = false
	next.Attempts++
	switch {
	case out.ok:
		next.Status, next.LastError, next.NextAttempt, next.Done = StatusDelivered, "", time.Time{}, now
	case out.final || !now.Before(r.Created.Add(d.cfg.GiveUpAfter)):
		next.Status, next.LastError, next.NextAttempt, next.Done = StatusFailed, out.err.Error(), time.Time{}, now
	default:
		next.LastError = out.err.Error()
		delay := max(d.backoff(next.Attempts), min(out.retryAfter, d.cfg.MaxBackoff))
		at := now.Add(delay)
		if deadline := r.Created.Add(d.cfg.GiveUpAfter); at.After(deadline) {
			at = deadline // one last try at the end of the day
		}
		next.NextAttempt = at
	}
	err := d.files.write(&next)

	d.mu.Lock()
	defer d.mu.Unlock()
	if err != nil {
		// The disk refused: keep the old state and try again later (the
		// receiver dedupes on webhook-id if this attempt had succeeded).
		d.log.Warn("outgoing webhook: recording delivery", "hook", r.Hook, "id", r.ID, "err", err)
		next = *r
		next.busy = false
		next.NextAttempt = now.Add(d.cfg.MinBackoff)
	}
	*r = next
	if r.Status == StatusPending {
		d.due.push(r.NextAttempt, r.ID)
	}
	d.logOutcome(r)
	if d.cfg.OnAttempt != nil {
		d.cfg.OnAttempt(r.Hook, r.delivery())
	}
	return err == nil
}

func (d *Dispatcher) logOutcome(r *record) {
	switch r.Status {
	case StatusDelivered:
		d.log.Debug("outgoing webhook delivered", "hook", r.Hook, "id", r.ID, "attempts", r.Attempts)
	case StatusFailed:
		d.log.Warn("outgoing webhook failed", "hook", r.Hook, "id", r.ID, "attempts", r.Attempts, "err", r.LastError)
	default:
		d.log.Info("outgoing webhook will retry", "hook", r.Hook, "id", r.ID, "attempts", r.Attempts, "err", r.LastError, "next", r.NextAttempt)
	}
}

// backoff is the delay after the n-th failed attempt: MinBackoff doubling
// up to MaxBackoff, times a random factor in [0.75, 1.25).
func (d *Dispatcher) backoff(n int) time.Duration {
	delay := d.cfg.MinBackoff
	for i := 1; i < n && delay < d.cfg.MaxBackoff; i++ {
		delay *= 2
	}
	delay = min(delay, d.cfg.MaxBackoff)
	return time.Duration(float64(delay) * (0.75 + rand.Float64()/2))
}

// prune removes delivered and failed records older than KeepFor, and
// beyond the newest KeepCount of each hook.
func (d *Dispatcher) prune(now time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	byHook := map[string][]*record{}
	for _, r := range d.records {
		if r.Status == StatusPending {
			continue
		}
		if now.Sub(r.Done) > d.cfg.KeepFor {
			d.drop(r)
			continue
		}
		byHook[r.Hook] = append(byHook[r.Hook], r)
	}
	for _, recs := range byHook {
		if len(recs) <= d.cfg.KeepCount {
			continue
		}
		slices.SortFunc(recs, func(a, b *record) int { return b.Done.Compare(a.Done) })
		for _, r := range recs[d.cfg.KeepCount:] {
			d.drop(r)
		}
	}
}

func (d *Dispatcher) drop(r *record) {
	if err := d.files.remove(r.ID); err != nil {
		d.log.Warn("outgoing webhook: removing an old delivery", "id", r.ID, "err", err)
		return
	}
	delete(d.records, r.ID)
}

// Close stops Run and waits for it; POSTs in flight are cut off and stay
// pending. Offer fails after Close. Close is idempotent.
func (d *Dispatcher) Close() error {
	d.once.Do(func() {
		d.mu.Lock()
		d.closed = true
		running := d.running
		d.mu.Unlock()
		close(d.stop)
		if !running {
			close(d.stopped)
		}
	})
	<-d.stopped
	if d.ownClient {
		d.client.CloseIdleConnections()
	}
	return nil
}
