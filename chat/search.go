package chat

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// ErrSearchOff is returned by Search on a Service built without a
// SearchIndex.
var ErrSearchOff = errors.New("search is off on this node")

// SearchIndex is a full-text index of message texts. Package
// internal/search implements it; the Service keeps it current as messages
// arrive, are edited or deleted, and rebuilds it from the store when it
// is empty. Methods are safe for concurrent use.
type SearchIndex interface {
	// Index adds docs, replacing any document with the same ID.
	Index(docs []SearchDoc) error
	// Delete removes the documents with these IDs; unknown IDs are no
	// error.
	Delete(ids []MessageID) error
	// Search returns up to q.Limit hits, newest first (SentAt, then ID).
	// A hit needs only its ID: the Service fills the other fields from
	// the store.
	Search(q SearchQuery) ([]SearchHit, error)
	// Built reports whether the index holds every stored message: false
	// for a new index, one reset after damage, or one whose rebuild was
	// cut short. The Service then rebuilds it from the store and calls
	// SetBuilt.
	Built() (bool, error)
	SetBuilt() error
	// Close releases the index; the Service never calls it (its owner
	// does, after the Service has stopped).
	Close() error
}

// SearchDoc is one message as the index sees it.
type SearchDoc struct {
	ID           MessageID
	Conversation Conversation
	From         PeerID
	Text         string
	SentAt       time.Time
}

// SearchQuery asks a SearchIndex for messages. Text holds words (all must
// match), "quoted phrases" and prefixes (a word ending in '*'); see
// docs/SEARCH.md.
type SearchQuery struct {
	Text  string
	In    Conversation // empty: every conversation
	From  PeerID       // empty: every author
	Limit int          // DefaultSearchLimit if 0; at most MaxSearchLimit
}

// SearchHit is one message found.
type SearchHit struct {
	ID           MessageID
	Conversation Conversation
	From         PeerID
	Text         string // the message's current text
	SentAt       time.Time
}

// Search limits.
const (
	DefaultSearchLimit = 50
	MaxSearchLimit     = 1000
	// maxSearchText caps the query text.
	maxSearchText = 1024
	// searchWait is how long Search waits for messages stored before the
	// call to reach the index, so what history shows is found.
	searchWait = 2 * time.Second
	// rebuildPage is how many messages a rebuild reads and indexes at once.
	rebuildPage = 2000
)

// Search finds messages in every conversation (or q.In, by q.From),
// newest first. The text of a hit is the message's current text; a
// message no longer held is never returned.
func (s *Service) Search(q SearchQuery) ([]SearchHit, error) {
	idx := s.cfg.Search
	if idx == nil {
		return nil, ErrSearchOff
	}
	q.Text = strings.TrimSpace(q.Text)
	switch {
	case q.Text == "":
		return nil, fmt.Errorf("%w: empty search", ErrInvalid)
	case len(q.Text) > maxSearchText:
		return nil, fmt.Errorf("%w: a search is at most %d bytes", ErrInvalid, maxSearchText)
	case q.Limit < 0 || q.Limit > MaxSearchLimit:
		return nil, fmt.Errorf("%w: limit %d is not between 1 and %d", ErrInvalid, q.Limit, MaxSearchLimit)
	case q.Limit == 0:
		q.Limit = DefaultSearchLimit
	}
	s.indexer.waitIndexed(searchWait)
	hits, err := idx.Search(q)
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	out := make([]SearchHit, 0, len(hits))
	pos := make(map[MessageID]Cursor, len(hits))
	var gone []MessageID
	for _, h := range hits {
		m, err := s.cfg.Store.Message(h.ID)
		if errors.Is(err, ErrNotFound) {
			gone = append(gone, h.ID) // deleted or pruned: drop it from the index too
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("search: %w", err)
		}
		if err := s.decorate([]*Message{m}); err != nil { // the current (edited) text
			return nil, fmt.Errorf("search: %w", err)
		}
		text, ok := searchText(m)
		if !ok {
			gone = append(gone, h.ID)
			continue
		}
		out = append(out, SearchHit{ID: m.ID, Conversation: m.Conversation, From: m.Author, Text: text, SentAt: m.SentAt()})
		pos[m.ID] = CursorOf(m)
	}
	// The index orders by the millisecond; messages of one millisecond
	// take their order from the clock's logical counter, as history does.
	slices.SortStableFunc(out, func(a, b SearchHit) int { return compareCursor(pos[b.ID], pos[a.ID]) })
	if len(gone) > 0 {
		s.unindex(gone)
	}
	return out, nil
}

// searchText is the text of m that search indexes and shows: the body of a
// text message (a file's caption included), as decorate leaves it (the
// latest edit's); ok is false for anything not searchable (a deleted
// message among them).
func searchText(m *Message) (string, bool) {
	if m.Kind != KindText || m.Deleted || m.Body == "" {
		return "", false
	}
	return m.Body, true
}

// searchDocs converts the searchable messages of ms.
func searchDocs(ms []*Message) []SearchDoc {
	docs := make([]SearchDoc, 0, len(ms))
	for _, m := range ms {
		text, ok := searchText(m)
		if !ok {
			continue
		}
		docs = append(docs, SearchDoc{ID: m.ID, Conversation: m.Conversation, From: m.Author, Text: text, SentAt: m.HLC.Time()})
	}
	return docs
}

// indexMessages queues ms for the search index (the text messages among them; an
// edited message is passed again with its new text and replaces the old).
// It never blocks on the index and never fails delivery.
func (s *Service) indexMessages(ms []*Message) {
	if s.cfg.Search == nil {
		return
	}
	if docs := searchDocs(ms); len(docs) > 0 {
		s.indexer.push(searchOp{docs: docs})
	}
}

// unindex queues the removal of messages from the search index (deleted
// for everyone, or pruned).
func (s *Service) unindex(ids []MessageID) {
	if s.cfg.Search == nil || len(ids) == 0 {
		return
	}
	s.indexer.push(searchOp{del: ids})
}

// searchOp is one queued change to the index: documents to add or
// replace, or IDs to delete.
type searchOp struct {
	docs []SearchDoc
	del  []MessageID
}

// searchIndexer applies queued changes to the index in order, in one
// goroutine, batching whatever accumulated while it was busy.
type searchIndexer struct {
	mu        sync.Mutex
	ops       []searchOp
	queued    uint64        // ops pushed so far
	done      uint64        // ops applied (or failed) so far
	wake      chan struct{} // poked on push
	progress  chan struct{} // closed and replaced whenever done grows
	ready     chan struct{} // closed once the index is built (rebuilt from the store if it had to be)
	readyOnce sync.Once
}

func newSearchIndexer() *searchIndexer {
	return &searchIndexer{wake: make(chan struct{}, 1), progress: make(chan struct{}), ready: make(chan struct{})}
}

func (x *searchIndexer) setReady() { x.readyOnce.Do(func() { close(x.ready) }) }

func (x *searchIndexer) push(op searchOp) {
	x.mu.Lock()
	x.ops = append(x.ops, op)
	x.queued++
	x.mu.Unlock()
	poke(x.wake)
}

// take returns every queued op and the count applied once they are.
func (x *searchIndexer) take() ([]searchOp, uint64) {
	x.mu.Lock()
	defer x.mu.Unlock()
	ops := x.ops
	x.ops = nil
	return ops, x.done + uint64(len(ops))
}

func (x *searchIndexer) finish(done uint64) {
	x.mu.Lock()
	x.done = done
	close(x.progress)
	x.progress = make(chan struct{})
	x.mu.Unlock()
}

// waitIndexed waits up to d for the index to be built and for the ops
// queued before the call to be applied: a rebuild of a small history
// goes unnoticed, a long one answers from what it has indexed so far.
func (x *searchIndexer) waitIndexed(d time.Duration) {
	x.mu.Lock()
	target := x.queued
	x.mu.Unlock()
	timeout := time.NewTimer(d)
	defer timeout.Stop()
	select {
	case <-x.ready:
	case <-timeout.C:
		return
	}
	for {
		x.mu.Lock()
		if x.done >= target {
			x.mu.Unlock()
			return
		}
		progress := x.progress
		x.mu.Unlock()
		select {
		case <-progress:
		case <-timeout.C:
			return
		}
	}
}

// runIndexer keeps the index current until the service stops: it first
// rebuilds an empty index from the store, then applies queued changes. On
// stop it applies what is still queued.
func (s *Service) runIndexer() {
	x := s.indexer
	if err := s.rebuildIndex(); err != nil && !s.life.Stopping() {
		s.log.Warn("could not rebuild the search index", "err", err)
	}
	x.setReady()
	for {
		s.applyIndexOps()
		select {
		case <-x.wake:
		case <-s.ctx().Done():
			s.applyIndexOps()
			return
		}
	}
}

func (s *Service) applyIndexOps() {
	x := s.indexer
	ops, done := x.take()
	if len(ops) == 0 {
		return
	}
	idx := s.cfg.Search
	// Consecutive additions go in one batch; a delete ends a batch, so the
	// order of an add and a later delete of the same message holds.
	var docs []SearchDoc
	flush := func() {
		if len(docs) == 0 {
			return
		}
		if err := idx.Index(docs); err != nil {
			s.log.Warn("could not index messages", "count", len(docs), "err", err)
		}
		docs = nil
	}
	for _, op := range ops {
		if len(op.del) > 0 {
			flush()
			if err := idx.Delete(op.del); err != nil {
				s.log.Warn("could not remove messages from the search index", "count", len(op.del), "err", err)
			}
			continue
		}
		docs = append(docs, op.docs...)
	}
	flush()
	x.finish(done)
}

// rebuildIndex indexes every held conversation's history unless the index
// says it is built (it is not when new, reset after damage, or when a
// rebuild was cut short).
func (s *Service) rebuildIndex() error {
	built, err := s.cfg.Search.Built()
	if err != nil || built {
		return err
	}
	convs, err := s.storedConversations()
	if err != nil {
		return err
	}
	start, total := time.Now(), 0
	for _, conv := range convs {
		before := Cursor{}
		for !s.life.Stopping() {
			page, err := s.cfg.Store.Messages(conv, before, rebuildPage)
			if err != nil {
				return err
			}
			if len(page) == 0 {
				break
			}
			if err := s.decorate(page); err != nil { // index the current (edited) texts
				return err
			}
			if docs := searchDocs(page); len(docs) > 0 {
				if err := s.cfg.Search.Index(docs); err != nil {
					return err
				}
				total += len(docs)
			}
			if len(page) < rebuildPage {
				break
			}
			before = CursorOf(page[0])
		}
	}
	if s.life.Stopping() {
		return nil // cut short: the next start rebuilds again
	}
	if err := s.cfg.Search.SetBuilt(); err != nil {
		return err
	}
	if total > 0 {
		s.log.Info("rebuilt the search index", "messages", total, "took", time.Since(start).Round(time.Millisecond))
	}
	return nil
}

// startSearch starts keeping the index current, when there is one.
func (s *Service) startSearch() {
	if s.cfg.Search != nil {
		s.life.Go(s.runIndexer)
	}
}

// storedConversations lists every conversation the store may hold
// history of: the rooms, and a direct conversation per known peer.
func (s *Service) storedConversations() ([]Conversation, error) {
	rooms, err := s.cfg.Store.Rooms()
	if err != nil {
		return nil, err
	}
	peers, err := s.cfg.Store.Peers()
	if err != nil {
		return nil, err
	}
	convs := make([]Conversation, 0, len(rooms)+len(peers))
	for _, r := range rooms {
		convs = append(convs, RoomConversation(r.Name))
	}
	for _, p := range peers {
		convs = append(convs, DMConversation(p.ID))
	}
	return convs, nil
}
