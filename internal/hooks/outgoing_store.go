package hooks

import (
	"container/heap"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// deliveryFiles keeps one small JSON file per delivery, <id>.json, 0600,
// in a 0700 directory. Every write goes to a temporary file that is
// synced, renamed over the record and followed by a sync of the
// directory, so a crash leaves either the old record or the new one,
// never a torn one.
type deliveryFiles struct {
	dir string
	log *slog.Logger
}

const (
	recordExt = ".json"
	tmpExt    = ".tmp"
	badExt    = ".corrupt"
)

func openDeliveryFiles(dir string, log *slog.Logger) (*deliveryFiles, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("outgoing webhooks: %w", err)
	}
	return &deliveryFiles{dir: dir, log: log}, nil
}

func (f *deliveryFiles) path(id string) string { return filepath.Join(f.dir, id+recordExt) }

func (f *deliveryFiles) write(r *record) error {
	data, err := json.Marshal(r)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(f.dir, r.ID+".*"+tmpExt)
	if err != nil {
		return err
	}
	name := tmp.Name()
	if err := tmp.Chmod(0o600); err != nil {
		return errors.Join(err, tmp.Close(), os.Remove(name))
	}
	if _, err := tmp.Write(data); err != nil {
		return errors.Join(err, tmp.Close(), os.Remove(name))
	}
	if err := tmp.Sync(); err != nil {
		return errors.Join(err, tmp.Close(), os.Remove(name))
	}
	if err := tmp.Close(); err != nil {
		return errors.Join(err, os.Remove(name))
	}
	if err := os.Rename(name, f.path(r.ID)); err != nil {
		return errors.Join(err, os.Remove(name))
	}
	return f.syncDir()
}

func (f *deliveryFiles) syncDir() error {
	dir, err := os.Open(f.dir)
	if err != nil {
		return err
	}
	return errors.Join(dir.Sync(), dir.Close())
}

func (f *deliveryFiles) remove(id string) error {
	err := os.Remove(f.path(id))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

// loadAll reads every record. Temporary files of a write cut off by a
// crash are removed (the record they would have replaced is still there);
// a record that does not decode is renamed to <id>.json.corrupt, kept for
// a person to look at, and skipped.
func (f *deliveryFiles) loadAll() ([]*record, error) {
	entries, err := os.ReadDir(f.dir)
	if err != nil {
		return nil, fmt.Errorf("outgoing webhooks: %w", err)
	}
	var recs []*record
	for _, e := range entries {
		name := e.Name()
		full := filepath.Join(f.dir, name)
		switch {
		case strings.HasSuffix(name, tmpExt):
			if err := os.Remove(full); err != nil {
				f.log.Warn("outgoing webhooks: removing a torn write", "file", name, "err", err)
			}
			continue
		case !strings.HasSuffix(name, recordExt) || e.IsDir():
			continue
		}
		data, err := os.ReadFile(full)
		if err != nil {
			return nil, fmt.Errorf("outgoing webhooks: %w", err)
		}
		r, err := decodeRecord(data)
		if err == nil && r.ID+recordExt != name {
			err = errors.New("id does not match the file name")
		}
		if err != nil {
			f.log.Warn("outgoing webhooks: a delivery record is unreadable, set aside", "file", name, "err", err)
			if err := os.Rename(full, full+badExt); err != nil {
				return nil, fmt.Errorf("outgoing webhooks: setting aside %s: %w", name, err)
			}
			continue
		}
		recs = append(recs, r)
	}
	return recs, nil
}

// decodeRecord reads a delivery record and checks what the dispatcher
// relies on.
func decodeRecord(data []byte) (*record, error) {
	var r record
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, err
	}
	switch {
	case !validDeliveryID(r.ID):
		return nil, errors.New("bad id")
	case r.Hook == "":
		return nil, errors.New("no hook")
	case r.Status != StatusPending && r.Status != StatusDelivered && r.Status != StatusFailed:
		return nil, fmt.Errorf("bad status %q", r.Status)
	case r.Attempts < 0:
		return nil, errors.New("negative attempts")
	case !json.Valid(r.Body):
		return nil, errors.New("bad body")
	}
	if r.Status == StatusPending && r.NextAttempt.IsZero() {
		r.NextAttempt = r.Created
	}
	return &r, nil
}

// validDeliveryID accepts what DeliveryID makes: "msg_" and base32
// letters and digits, which are safe in a file name.
func validDeliveryID(id string) bool {
	rest, ok := strings.CutPrefix(id, "msg_")
	if !ok || rest == "" || len(rest) > 64 {
		return false
	}
	for _, c := range rest {
		if (c < 'a' || c > 'z') && (c < '2' || c > '7') {
			return false
		}
	}
	return true
}

// dueQueue orders pending deliveries by their next attempt. Entries are
// not removed when a record changes: a popped entry whose time no longer
// matches its record is stale and skipped.
type dueQueue struct{ h dueHeap }

type dueEntry struct {
	at time.Time
	id string
}

type dueHeap []dueEntry

func (h dueHeap) Len() int           { return len(h) }
func (h dueHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h dueHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *dueHeap) Push(x any)        { *h = append(*h, x.(dueEntry)) }
func (h *dueHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

func (q *dueQueue) Len() int                     { return q.h.Len() }
func (q *dueQueue) push(at time.Time, id string) { heap.Push(&q.h, dueEntry{at, id}) }
func (q *dueQueue) peek() (time.Time, string)    { return q.h[0].at, q.h[0].id }
func (q *dueQueue) pop()                         { heap.Pop(&q.h) }
