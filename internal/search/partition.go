package search

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/blevesearch/bleve/v2"
)

// month names a partition: the calendar month (UTC) its messages were
// sent in, as year*12 + month-1.
type month int

// monthOf is the partition of a message sent at t; a time before 1970
// counts as January 1970, as sentTerm does.
func monthOf(t time.Time) month {
	t = time.UnixMilli(max(t.UnixMilli(), 0)).UTC()
	return month(t.Year()*12 + int(t.Month()) - 1)
}

// String is the partition's directory name, e.g. "2026-03".
func (m month) String() string { return fmt.Sprintf("%04d-%02d", int(m)/12, int(m)%12+1) }

// parseMonth reads a partition's directory name; ok is false for any
// other name.
func parseMonth(s string) (month, bool) {
	y, mm, found := strings.Cut(s, "-")
	if !found || len(y) < 4 || len(mm) != 2 {
		return 0, false
	}
	year, err1 := strconv.Atoi(y)
	mon, err2 := strconv.Atoi(mm)
	if err1 != nil || err2 != nil || year < 0 || mon < 1 || mon > 12 {
		return 0, false
	}
	m := month(year*12 + mon - 1)
	return m, m.String() == s
}

// errFlushTimeout is returned when a partition's writes did not reach the
// disk in time (scorch retries a failed write, so it may never).
var errFlushTimeout = errors.New("search index: timed out waiting for writes to reach the disk")

// flushTimeout bounds how long flush waits for the disk.
const flushTimeout = 30 * time.Second

// partition is the bleve index of one month's messages. Its batches
// return once they are searchable; scorch writes them to disk right
// after, and flush waits for that.
type partition struct {
	month month
	idx   bleve.Index
	// persisted receives the outcome of writing the last batch to disk;
	// nil when nothing is pending. Scorch persists in order, so the
	// last batch on disk means every earlier one is too.
	persisted chan error
}

// batch applies b and notes it as pending until it is on disk.
func (p *partition) batch(b *bleve.Batch) error {
	done := make(chan error, 1)
	b.SetPersistedCallback(func(err error) {
		select {
		case done <- err:
		default: // scorch calls again after retrying a failed write; the first outcome is kept
		}
	})
	if err := p.idx.Batch(b); err != nil {
		return err
	}
	p.persisted = done
	return nil
}

// flush waits until every batch applied is on disk.
func (p *partition) flush() error {
	if p.persisted == nil {
		return nil
	}
	t := time.NewTimer(flushTimeout)
	defer t.Stop()
	select {
	case err := <-p.persisted:
		p.persisted = nil
		if err != nil {
			return fmt.Errorf("search index %s: %w", p.month, err)
		}
		return nil
	case <-t.C:
		return fmt.Errorf("%w (partition %s)", errFlushTimeout, p.month)
	}
}
