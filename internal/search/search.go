// Package search is the full-text index of message texts that a
// chat.Service answers Search from, in its own directory, <data
// dir>/search. It implements chat.SearchIndex.
//
// The index is one bleve index (scorch segments) per calendar month in
// which messages were sent (UTC), in subdirectories named like 2026-03. A
// search asks the newest month first and stops once it has its hits, so
// it costs what the recent months that hold them cost, not what the whole
// history matches; a month that grows no more is merged no more, so
// indexing cost does not grow with history either.
//
// Each partition holds, per message: the text's words (lower-cased, split
// at Unicode word boundaries, with positions for phrases), the
// conversation and the author (exact terms, for --in and --from) and the
// send time (a term with doc values, to sort newest first). It stores no
// text: the Service reads a hit's current text from the store, so the
// index stays smaller than the messages it covers. Query syntax and
// figures are in docs/SEARCH.md.
package search

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
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
	"github.com/blevesearch/bleve/v2/index/scorch/mergeplan"
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

// Files in the index directory beside the partitions.
const (
	// formatFile names the layout; a directory without it (an index of
	// an earlier version, or anything else) is moved aside.
	formatFile = "FORMAT"
	// builtFile is present once a rebuild from the store completed.
	builtFile = "BUILT"
)

// format is formatFile's content.
const format = "parley search index: one bleve index per month sent, version 1\n"

// ErrClosed is returned after Close.
var ErrClosed = errors.New("search index closed")

// Options configure Open.
type Options struct {
	// Logger reports an index that could not be opened and was reset.
	Logger *slog.Logger
}

// Index is a message index on disk: one bleve index per calendar month
// of sending (UTC), searched newest month first.
type Index struct {
	dir      string
	log      *slog.Logger
	analyzer analysis.Analyzer

	// writeMu serializes writers (Index, Delete, SetBuilt, Close): a
	// partition's pending-write state and the creation of partitions.
	writeMu sync.Mutex
	// mu guards parts and closed; searches hold it shared while they
	// read the partitions, so Close waits for them.
	mu     sync.RWMutex
	parts  []*partition // newest month first
	closed bool
}

var _ chat.SearchIndex = (*Index)(nil)

// Open opens the index in dir, creating it if it is missing. An index
// that cannot be opened (damaged, or written by another version) is
// logged, moved aside and replaced by an empty one, which reports itself
// not built so the Service rebuilds it from the store.
func Open(dir string, opts Options) (*Index, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	x := &Index{dir: dir, log: log, analyzer: newAnalyzer()}
	parts, err := openParts(dir)
	if err != nil {
		aside := fmt.Sprintf("%s.broken-%d", dir, time.Now().Unix())
		log.Warn("search index could not be opened; starting a new one and rebuilding it", "dir", dir, "moved_to", aside, "err", err)
		if rerr := os.Rename(dir, aside); rerr != nil {
			return nil, fmt.Errorf("open search index %s: %w (and could not move it aside: %w)", dir, err, rerr)
		}
		parts, err = openParts(dir)
	}
	if err != nil {
		return nil, fmt.Errorf("open search index %s: %w", dir, err)
	}
	x.parts = parts
	return x, nil
}

// openParts opens every partition in dir, creating dir (with its format
// file) when it is missing or empty. Anything in dir it does not know
// makes it fail: the caller moves the directory aside.
func openParts(dir string) ([]*partition, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) || err == nil && len(entries) == 0 {
		return nil, create(dir)
	}
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(filepath.Join(dir, formatFile))
	if err != nil {
		return nil, fmt.Errorf("not a search index of this version: %w", err)
	}
	if string(b) != format {
		return nil, fmt.Errorf("not a search index of this version: %s says %q", formatFile, b)
	}
	var parts []*partition
	fail := func(err error) ([]*partition, error) {
		for _, p := range parts {
			_ = p.idx.Close()
		}
		return nil, err
	}
	for _, e := range entries {
		name := e.Name()
		if name == formatFile || name == builtFile {
			continue
		}
		m, ok := parseMonth(name)
		if !ok || !e.IsDir() {
			return fail(fmt.Errorf("unexpected %s in the index directory", name))
		}
		idx, err := bleve.OpenUsing(filepath.Join(dir, name), scorchConfig())
		if err != nil {
			return fail(fmt.Errorf("partition %s: %w", name, err))
		}
		parts = append(parts, &partition{month: m, idx: idx})
	}
	slices.SortFunc(parts, func(a, b *partition) int { return int(b.month - a.month) })
	return parts, nil
}

// create makes an empty index directory.
func create(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if err := writeSynced(filepath.Join(dir, formatFile), []byte(format)); err != nil {
		return err
	}
	return syncDir(dir)
}

// writeSynced writes a small file and waits until it is on disk.
func writeSynced(name string, b []byte) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if serr := f.Sync(); err == nil {
		err = serr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// scorchConfig is how partitions run. A batch returns once it is
// searchable, without waiting for the disk (partition.flush does, before
// SetBuilt and Close): a crash loses at most the batches not yet written,
// never the index, as scorch writes a snapshot whole or not at all. A
// month's segments are merged four at a time instead of bleve's ten: a
// month holds a few dozen batches, which bleve's default barely merges,
// each with its own dictionaries (measured at a million messages: 14%
// larger on disk, the 90th percentile search 1.5 times slower, indexing
// no faster).
func scorchConfig() map[string]any {
	d := mergeplan.DefaultMergePlanOptions
	return map[string]any{
		"unsafe_batch": true,
		"scorchMergePlanOptions": map[string]any{ // a map: the options struct's func fields do not encode
			"MaxSegmentsPerTier":   4,
			"SegmentsPerMergeTask": 4,
			"MaxSegmentSize":       d.MaxSegmentSize,
			"MaxSegmentFileSize":   d.MaxSegmentFileSize,
			"TierGrowth":           d.TierGrowth,
			"FloorSegmentSize":     d.FloorSegmentSize,
			"ReclaimDeletesWeight": d.ReclaimDeletesWeight,
		},
	}
}

// newPartition creates the bleve index of month m.
func (x *Index) newPartition(m month) (*partition, error) {
	mp := bleve.NewIndexMapping()
	mp.DefaultMapping.Dynamic = false // documents are built by hand (document.Document)
	mp.StoreDynamic = false
	mp.IndexDynamic = false
	mp.DocValuesDynamic = false
	path := filepath.Join(x.dir, m.String())
	idx, err := bleve.NewUsing(path, mp, bleve.Config.DefaultIndexType, bleve.Config.DefaultKVStore, scorchConfig())
	if err != nil {
		return nil, fmt.Errorf("create search partition %s: %w", m, err)
	}
	if err := syncDir(x.dir); err != nil {
		_ = idx.Close()
		return nil, err
	}
	return &partition{month: m, idx: idx}, nil
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

// Index adds docs, replacing documents with the same IDs, one batch per
// month. A message's ID determines its send time (the ID is the hash of
// the envelope, which holds the time), so a replaced document is always
// in the partition its replacement goes to.
func (x *Index) Index(docs []chat.SearchDoc) error {
	x.writeMu.Lock()
	defer x.writeMu.Unlock()
	if _, err := x.writable(); err != nil {
		return err
	}
	byMonth := map[month][]chat.SearchDoc{}
	for _, d := range docs {
		m := monthOf(d.SentAt)
		byMonth[m] = append(byMonth[m], d)
	}
	for _, m := range slices.Sorted(maps.Keys(byMonth)) {
		p, err := x.partition(m)
		if err != nil {
			return err
		}
		b := p.idx.NewBatch()
		for _, d := range byMonth[m] {
			if err := b.IndexAdvanced(x.document(d)); err != nil {
				return err
			}
		}
		if err := p.batch(b); err != nil {
			return err
		}
	}
	return nil
}

// partition returns month m's partition, creating it if need be; the
// caller holds writeMu.
func (x *Index) partition(m month) (*partition, error) {
	x.mu.RLock()
	parts, closed := x.parts, x.closed
	x.mu.RUnlock()
	if closed {
		return nil, ErrClosed
	}
	i, found := slices.BinarySearchFunc(parts, m, func(p *partition, m month) int { return int(m - p.month) })
	if found {
		return parts[i], nil
	}
	p, err := x.newPartition(m)
	if err != nil {
		return nil, err
	}
	x.mu.Lock()
	x.parts = slices.Insert(slices.Clone(x.parts), i, p)
	x.mu.Unlock()
	return p, nil
}

// writable returns the partitions for a writer holding writeMu.
func (x *Index) writable() ([]*partition, error) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if x.closed {
		return nil, ErrClosed
	}
	return x.parts, nil
}

// Delete removes documents by ID: it asks every partition which of the
// IDs it holds and deletes them there.
func (x *Index) Delete(ids []chat.MessageID) error {
	x.writeMu.Lock()
	defer x.writeMu.Unlock()
	parts, err := x.writable()
	if err != nil || len(ids) == 0 {
		return err
	}
	docIDs := make([]string, len(ids))
	for i, id := range ids {
		docIDs[i] = docID(id)
	}
	for _, p := range parts {
		req := bleve.NewSearchRequestOptions(bleve.NewDocIDQuery(docIDs), len(docIDs), 0, false)
		req.Score = "none"
		res, err := p.idx.Search(req)
		if err != nil {
			return err
		}
		if len(res.Hits) == 0 {
			continue
		}
		b := p.idx.NewBatch()
		for _, h := range res.Hits {
			b.Delete(h.ID)
		}
		if err := p.batch(b); err != nil {
			return err
		}
	}
	return nil
}

// Built reports whether a rebuild from the store completed.
func (x *Index) Built() (bool, error) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if x.closed {
		return false, ErrClosed
	}
	_, err := os.Stat(filepath.Join(x.dir, builtFile))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

// SetBuilt records that the index holds every stored message, once
// everything indexed so far is on disk.
func (x *Index) SetBuilt() error {
	x.writeMu.Lock()
	defer x.writeMu.Unlock()
	parts, err := x.writable()
	if err != nil {
		return err
	}
	for _, p := range parts {
		if err := p.flush(); err != nil {
			return err
		}
	}
	if err := writeSynced(filepath.Join(x.dir, builtFile), []byte{1}); err != nil {
		return err
	}
	return syncDir(x.dir)
}

// Count is the number of documents held.
func (x *Index) Count() (uint64, error) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if x.closed {
		return 0, ErrClosed
	}
	var n uint64
	for _, p := range x.parts {
		c, err := p.idx.DocCount()
		if err != nil {
			return 0, err
		}
		n += c
	}
	return n, nil
}

// Search returns up to q.Limit hits, newest first; a hit carries the
// message's ID and send time (to the millisecond), nothing else. It asks
// the partitions newest month first and stops as soon as it has the
// hits: every message of a month is newer than any of the month before,
// so a query costs what the newest months that hold enough hits cost.
func (x *Index) Search(q chat.SearchQuery) ([]chat.SearchHit, error) {
	bq := x.query(q)
	if bq == nil {
		return nil, nil
	}
	limit := q.Limit
	if limit <= 0 {
		limit = chat.DefaultSearchLimit
	}
	x.mu.RLock()
	defer x.mu.RUnlock()
	if x.closed {
		return nil, ErrClosed
	}
	hits := make([]chat.SearchHit, 0, min(limit, 64))
	for _, p := range x.parts {
		req := bleve.NewSearchRequestOptions(bq, limit-len(hits), 0, false)
		req.SortByCustom(search.SortOrder{
			&search.SortField{Field: fieldSent, Type: search.SortFieldAsString, Desc: true},
			&search.SortDocID{Desc: true},
		})
		req.Score = "none"
		res, err := p.idx.Search(req)
		if err != nil {
			return nil, err
		}
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
		if len(hits) >= limit {
			break
		}
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

// Close waits until what was indexed is on disk and closes the index;
// it is idempotent.
func (x *Index) Close() error {
	x.writeMu.Lock()
	defer x.writeMu.Unlock()
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.closed {
		return nil
	}
	x.closed = true
	var errs []error
	for _, p := range x.parts {
		errs = append(errs, p.flush(), p.idx.Close())
	}
	x.parts = nil
	return errors.Join(errs...)
}
