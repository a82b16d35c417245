// Package search is the full-text index of message texts that a
// chat.Service answers Search from: a bleve index (scorch segments) in
// its own directory, <data dir>/search. It implements chat.SearchIndex.
//
// The index holds, per message: the text's words (lower-cased, split at
// Unicode word boundaries, with positions for phrases), the conversation
// and the author (exact terms, for --in and --from) and the send time (a
// number with doc values, to sort newest first). It stores no text: the
// Service reads a hit's current text from the store, so the index stays
// smaller than the messages it covers. Query syntax and figures are in
// docs/SEARCH.md.
package search

import (
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/analysis/token/lowercase"
	"github.com/blevesearch/bleve/v2/analysis/tokenizer/unicode"
	"github.com/blevesearch/bleve/v2/document"
	"github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"
	index "github.com/blevesearch/bleve_index_api"

	"github.com/parley-chat/parley/chat"
)

// Field names in the index.
const (
	fieldText = "text"
	fieldConv = "conv"
	fieldFrom = "from"
	fieldSent = "sent"
)

// builtKey is the internal key whose presence says a rebuild completed.
var builtKey = []byte("parley.built")

// ErrClosed is returned after Close.
var ErrClosed = errors.New("search index closed")

// Options configure Open.
type Options struct {
	// Logger reports an index that could not be opened and was reset.
	Logger *slog.Logger
}

// Index is a message index on disk.
type Index struct {
	dir      string
	log      *slog.Logger
	analyzer analysis.Analyzer

	mu  sync.RWMutex // guards idx against Close
	idx bleve.Index
}

var _ chat.SearchIndex = (*Index)(nil)

// Open opens the index in dir, creating it if it is missing. An index
// that cannot be opened (damaged, or written by an incompatible version)
// is logged, moved aside and replaced by an empty one, which reports
// itself not built so the Service rebuilds it from the store.
func Open(dir string, opts Options) (*Index, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	x := &Index{dir: dir, log: log, analyzer: newAnalyzer()}
	idx, err := bleve.Open(dir)
	switch {
	case err == nil:
	case errors.Is(err, bleve.ErrorIndexPathDoesNotExist) || errors.Is(err, bleve.ErrorIndexMetaMissing) && isEmptyDir(dir):
		idx, err = create(dir)
	default:
		aside := fmt.Sprintf("%s.broken-%d", dir, time.Now().Unix())
		log.Warn("search index could not be opened; starting a new one and rebuilding it", "dir", dir, "moved_to", aside, "err", err)
		if rerr := os.Rename(dir, aside); rerr != nil {
			return nil, fmt.Errorf("open search index %s: %w (and could not move it aside: %w)", dir, err, rerr)
		}
		idx, err = create(dir)
	}
	if err != nil {
		return nil, fmt.Errorf("open search index %s: %w", dir, err)
	}
	x.idx = idx
	return x, nil
}

func isEmptyDir(dir string) bool {
	entries, err := os.ReadDir(dir)
	return err == nil && len(entries) == 0
}

func create(dir string) (bleve.Index, error) {
	if err := os.MkdirAll(filepath.Dir(dir), 0o700); err != nil {
		return nil, err
	}
	if isEmptyDir(dir) {
		if err := os.Remove(dir); err != nil {
			return nil, err
		}
	}
	m := bleve.NewIndexMapping()
	m.DefaultMapping.Dynamic = false // documents are built by hand (document.Document)
	m.StoreDynamic = false
	m.IndexDynamic = false
	m.DocValuesDynamic = false
	return bleve.New(dir, m)
}

// newAnalyzer splits text at Unicode word boundaries and lower-cases it;
// no stemming and no stop words, so what was typed is what is found.
func newAnalyzer() analysis.Analyzer {
	return &analysis.DefaultAnalyzer{
		Tokenizer:    unicode.NewUnicodeTokenizer(),
		TokenFilters: []analysis.TokenFilter{lowercase.NewLowerCaseFilter()},
	}
}

// docID is the index's ID of a message: its ID in unpadded URL base64.
func docID(id chat.MessageID) string { return base64.RawURLEncoding.EncodeToString(id[:]) }

func parseDocID(s string) (chat.MessageID, error) {
	var id chat.MessageID
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) != len(id) {
		return id, fmt.Errorf("bad document ID %q in the search index", s)
	}
	copy(id[:], b)
	return id, nil
}

func (x *Index) document(d chat.SearchDoc) *document.Document {
	doc := document.NewDocument(docID(d.ID))
	doc.AddField(document.NewTextFieldCustom(fieldText, nil, []byte(d.Text), index.IndexField|index.IncludeTermVectors, x.analyzer))
	doc.AddField(document.NewTextFieldWithIndexingOptions(fieldConv, nil, []byte(d.Conversation), index.IndexField))
	doc.AddField(document.NewTextFieldWithIndexingOptions(fieldFrom, nil, []byte(d.From.String()), index.IndexField))
	doc.AddField(document.NewTextFieldWithIndexingOptions(fieldSent, nil, sentTerm(d.SentAt), index.IndexField|index.DocValues))
	return doc
}

// sentTerm is the send time as the index keeps it: milliseconds since
// 1970 in 12 hex digits, so the terms sort as the times do (one term per
// message; a bleve number would cost sixteen).
func sentTerm(t time.Time) []byte {
	return fmt.Appendf(nil, "%012x", max(t.UnixMilli(), 0))
}

func parseSentTerm(s string) time.Time {
	ms, err := strconv.ParseInt(s, 16, 64)
	if err != nil {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// Index adds docs, replacing documents with the same IDs, in one batch.
func (x *Index) Index(docs []chat.SearchDoc) error {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if x.idx == nil {
		return ErrClosed
	}
	b := x.idx.NewBatch()
	for _, d := range docs {
		if err := b.IndexAdvanced(x.document(d)); err != nil {
			return err
		}
	}
	return x.idx.Batch(b)
}

// Delete removes documents by ID.
func (x *Index) Delete(ids []chat.MessageID) error {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if x.idx == nil {
		return ErrClosed
	}
	b := x.idx.NewBatch()
	for _, id := range ids {
		b.Delete(docID(id))
	}
	return x.idx.Batch(b)
}

// Built reports whether a rebuild from the store completed.
func (x *Index) Built() (bool, error) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if x.idx == nil {
		return false, ErrClosed
	}
	v, err := x.idx.GetInternal(builtKey)
	return len(v) > 0, err
}

// SetBuilt records that the index holds every stored message.
func (x *Index) SetBuilt() error {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if x.idx == nil {
		return ErrClosed
	}
	return x.idx.SetInternal(builtKey, []byte{1})
}

// Count is the number of documents held.
func (x *Index) Count() (uint64, error) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if x.idx == nil {
		return 0, ErrClosed
	}
	return x.idx.DocCount()
}

// Search returns up to q.Limit hits, newest first; a hit carries the
// message's ID and send time (to the millisecond), nothing else.
func (x *Index) Search(q chat.SearchQuery) ([]chat.SearchHit, error) {
	bq := x.query(q)
	if bq == nil {
		return nil, nil
	}
	limit := q.Limit
	if limit <= 0 {
		limit = chat.DefaultSearchLimit
	}
	req := bleve.NewSearchRequestOptions(bq, limit, 0, false)
	req.SortByCustom(search.SortOrder{
		&search.SortField{Field: fieldSent, Type: search.SortFieldAsString, Desc: true},
		&search.SortDocID{Desc: true},
	})
	req.Score = "none"
	x.mu.RLock()
	defer x.mu.RUnlock()
	if x.idx == nil {
		return nil, ErrClosed
	}
	res, err := x.idx.Search(req)
	if err != nil {
		return nil, err
	}
	hits := make([]chat.SearchHit, 0, len(res.Hits))
	for _, h := range res.Hits {
		id, err := parseDocID(h.ID)
		if err != nil {
			return nil, err
		}
		hit := chat.SearchHit{ID: id}
		if len(h.Sort) > 0 {
			hit.SentAt = parseSentTerm(h.Sort[0])
		}
		hits = append(hits, hit)
	}
	return hits, nil
}

// query builds the bleve query of q; nil when q's text has no words.
func (x *Index) query(q chat.SearchQuery) query.Query {
	var parts []query.Query
	for _, c := range parseQuery(q.Text) {
		terms := x.terms(c.text)
		if len(terms) == 0 {
			continue
		}
		switch c.kind {
		case clausePrefix:
			last := terms[len(terms)-1]
			if len(terms) > 1 {
				parts = append(parts, phrase(terms[:len(terms)-1]))
			}
			pq := bleve.NewPrefixQuery(last)
			pq.SetField(fieldText)
			parts = append(parts, pq)
		default: // a word the analyzer splits (don't, e-mail) is a phrase too
			parts = append(parts, phrase(terms))
		}
	}
	if len(parts) == 0 {
		return nil
	}
	if q.In != "" {
		parts = append(parts, term(fieldConv, string(q.In)))
	}
	if q.From != "" {
		parts = append(parts, term(fieldFrom, q.From.String()))
	}
	return bleve.NewConjunctionQuery(parts...)
}

func phrase(terms []string) query.Query {
	if len(terms) == 1 {
		return term(fieldText, terms[0])
	}
	return bleve.NewPhraseQuery(slices.Clone(terms), fieldText)
}

func term(field, value string) query.Query {
	tq := bleve.NewTermQuery(value)
	tq.SetField(field)
	return tq
}

// terms analyzes s as the index analyzed message texts.
func (x *Index) terms(s string) []string {
	var out []string
	for _, tok := range x.analyzer.Analyze([]byte(s)) {
		out = append(out, string(tok.Term))
	}
	return out
}

// Close closes the index; it is idempotent.
func (x *Index) Close() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.idx == nil {
		return nil
	}
	err := x.idx.Close()
	x.idx = nil
	return err
}
