package chat

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"sort"

	"github.com/parley-chat/parley/internal/wire"
)

// This file is the pure part of history sync: range-based set
// reconciliation over the items (HLC, ID) of one window of a room's
// history. sync.go runs it over a stream.

// Reconciliation parameters.
const (
	syncBranch    = 8       // a differing range splits into this many
	syncListMax   = 32      // a differing range this small is sent as an ID list
	syncPrefixLen = 8       // ID prefix length in ID lists and wants
	maxSyncRanges = 1 << 14 // ranges per turn
)

// bound is an upper bound of a range: items sort below it when their
// (HLC, ID) is smaller than (hlc, id zero-padded). hlc == MaxUint64 is
// "no bound".
type bound struct {
	hlc uint64
	id  []byte
}

var infinity = bound{hlc: math.MaxUint64}

func (b bound) above(c Cursor) bool {
	if b.hlc == math.MaxUint64 {
		return true
	}
	if uint64(c.HLC) != b.hlc {
		return uint64(c.HLC) < b.hlc
	}
	return bytes.Compare(c.ID[:len(b.id)], b.id) < 0
}

// cmp orders bounds as the positions they stand for (IDs zero-padded).
func (b bound) cmp(o bound) int {
	if b.hlc != o.hlc {
		if b.hlc < o.hlc {
			return -1
		}
		return 1
	}
	var x, y MessageID
	copy(x[:], b.id)
	copy(y[:], o.id)
	return bytes.Compare(x[:], y[:])
}

func boundOf(r *wire.SyncRange) (bound, error) {
	if r.UpperHlc == 0 && len(r.UpperId) == 0 {
		return infinity, nil
	}
	if len(r.UpperId) > len(MessageID{}) {
		return bound{}, fmt.Errorf("%w: bound ID of %d bytes", errSyncProtocol, len(r.UpperId))
	}
	return bound{hlc: r.UpperHlc, id: r.UpperId}, nil
}

func (b bound) put(r *wire.SyncRange) {
	if b.hlc != math.MaxUint64 {
		r.UpperHlc, r.UpperId = b.hlc, b.id
	}
}

// between returns the shortest bound above prev and not above next
// (prev < next).
func between(prev, next Cursor) bound {
	if prev.HLC != next.HLC {
		return bound{hlc: uint64(next.HLC)}
	}
	n := 0
	for n < len(next.ID) && prev.ID[n] == next.ID[n] {
		n++
	}
	return bound{hlc: uint64(next.HLC), id: next.ID[:n+1]}
}

// fingerprint of a set of items: SHA-256 of the count and the sum of the
// IDs as 256-bit little-endian numbers, cut to 16 bytes. A sum (unlike an
// XOR) cannot be matched by choosing a few crafted IDs.
func fingerprint(items []Cursor) []byte {
	var sum [4]uint64
	for i := range items {
		id := &items[i].ID
		var carry uint64
		for w := range 4 {
			v := binary.LittleEndian.Uint64(id[w*8:])
			s := sum[w] + v
			c1 := s < v
			s2 := s + carry
			c2 := s2 < s
			sum[w] = s2
			carry = 0
			if c1 || c2 {
				carry = 1
			}
		}
	}
	var buf [40]byte
	binary.LittleEndian.PutUint64(buf[:8], uint64(len(items)))
	for w := range 4 {
		binary.LittleEndian.PutUint64(buf[8+w*8:], sum[w])
	}
	h := sha256.Sum256(buf[:])
	return h[:16]
}

// reconciler holds one side's items of the window and works out, range by
// range, what the other side lacks and what this side wants.
type reconciler struct {
	items []Cursor // sorted
	byPfx map[[syncPrefixLen]byte]MessageID
	give  []MessageID // ours, they lack
	want  [][]byte    // their prefixes we lack
}

func newReconciler(items []Cursor) *reconciler {
	r := &reconciler{items: items, byPfx: make(map[[syncPrefixLen]byte]MessageID, len(items))}
	for _, it := range items {
		r.byPfx[prefixOf(it.ID)] = it.ID
	}
	return r
}

func prefixOf(id MessageID) (p [syncPrefixLen]byte) {
	copy(p[:], id[:])
	return p
}

// span returns our items in [lo, hi).
func (r *reconciler) span(lo, hi bound, loIsStart bool) []Cursor {
	i := 0
	if !loIsStart {
		i = sort.Search(len(r.items), func(k int) bool { return !lo.above(r.items[k]) })
	}
	j := sort.Search(len(r.items), func(k int) bool { return !hi.above(r.items[k]) })
	if j < i {
		j = i
	}
	return r.items[i:j]
}

// describe returns ranges describing items (which end at upper): an ID
// list if small, else split fingerprints.
func describe(items []Cursor, upper bound) []*wire.SyncRange {
	if len(items) <= syncListMax {
		ids := make([][]byte, len(items))
		for i, it := range items {
			p := prefixOf(it.ID)
			ids[i] = p[:]
		}
		r := &wire.SyncRange{Payload: &wire.SyncRange_Ids{Ids: &wire.IdList{Ids: ids}}}
		upper.put(r)
		return []*wire.SyncRange{r}
	}
	out := make([]*wire.SyncRange, 0, syncBranch)
	n := len(items)
	for k := range syncBranch {
		lo, hi := k*n/syncBranch, (k+1)*n/syncBranch
		ub := upper
		if k < syncBranch-1 {
			ub = between(items[hi-1], items[hi])
		}
		r := &wire.SyncRange{Payload: &wire.SyncRange_Fingerprint{Fingerprint: fingerprint(items[lo:hi])}}
		ub.put(r)
		out = append(out, r)
	}
	return out
}

// answer processes the other side's ranges and returns ours in reply.
// Ranges that match become skips (no payload), merged with neighbours.
func (r *reconciler) answer(in []*wire.SyncRange) ([]*wire.SyncRange, error) {
	var out []*wire.SyncRange
	skip := func(upper bound) {
		if n := len(out); n > 0 && out[n-1].Payload == nil {
			out = out[:n-1]
		}
		s := &wire.SyncRange{}
		upper.put(s)
		out = append(out, s)
	}
	lo, start := bound{}, true
	for i, rg := range in {
		hi, err := boundOf(rg)
		if err != nil {
			return nil, err
		}
		if !start && hi.cmp(lo) <= 0 {
			return nil, fmt.Errorf("%w: range bounds out of order", errSyncProtocol)
		}
		mine := r.span(lo, hi, start)
		switch p := rg.Payload.(type) {
		case nil:
			skip(hi)
		case *wire.SyncRange_Fingerprint:
			fp := fingerprint(mine)
			switch {
			case bytes.Equal(p.Fingerprint, fp):
				skip(hi)
			case len(mine) > syncListMax && len(out)+syncBranch+len(in)-i-1 > maxSyncRanges:
				// No room to split: say what we hold there as one range;
				// the other side splits it (or lists it) in its turn.
				r := &wire.SyncRange{Payload: &wire.SyncRange_Fingerprint{Fingerprint: fp}}
				hi.put(r)
				out = append(out, r)
			default:
				out = append(out, describe(mine, hi)...)
			}
		case *wire.SyncRange_Ids:
			theirs := make(map[[syncPrefixLen]byte]bool, len(p.Ids.Ids))
			for _, id := range p.Ids.Ids {
				if len(id) != syncPrefixLen {
					return nil, fmt.Errorf("%w: ID prefix of %d bytes", errSyncProtocol, len(id))
				}
				var k [syncPrefixLen]byte
				copy(k[:], id)
				theirs[k] = true
				if _, ok := r.byPfx[k]; !ok && len(r.want) < maxStageItems {
					r.want = append(r.want, id)
				}
			}
			for _, it := range mine {
				if !theirs[prefixOf(it.ID)] {
					r.give = append(r.give, it.ID)
				}
			}
			skip(hi)
		}
		lo, start = hi, false
	}
	// Trailing skips say nothing.
	for len(out) > 0 && out[len(out)-1].Payload == nil {
		out = out[:len(out)-1]
	}
	if len(out) > maxSyncRanges {
		return nil, fmt.Errorf("%w: %d ranges", errSyncProtocol, len(out))
	}
	return out, nil
}

// resolve turns wanted prefixes into our message IDs.
func (r *reconciler) resolve(want [][]byte) []MessageID {
	out := make([]MessageID, 0, len(want))
	seen := make(map[[syncPrefixLen]byte]bool, len(want))
	for _, p := range want {
		if len(p) != syncPrefixLen {
			continue
		}
		k := [syncPrefixLen]byte(p)
		if seen[k] {
			continue
		}
		seen[k] = true
		if id, ok := r.byPfx[k]; ok {
			out = append(out, id)
		}
	}
	return out
}

// dedupIDs drops repeated IDs, keeping the first of each.
func dedupIDs(ids []MessageID) []MessageID {
	seen := make(map[MessageID]bool, len(ids))
	out := ids[:0]
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}
