package chat

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/parley-chat/parley/internal/wire"
)

// This file tests the pure parts of history sync without a network: the
// range reconciler between two item sets (reconcile.go), through an
// in-memory driver that takes the turns the way reconcileStage does, and
// the stage bounds both sides fix and check (sync.go, sync_serve.go).
// Sessions between Services are tested in sync_test.go.

// ---- item sets ----

// syncItemGen draws items for reconciliation tests: random IDs, HLCs in
// [base, base+spread). With shared > 0 half the IDs copy a prefix of up
// to shared bytes from an earlier ID, so bounds need long ID prefixes.
// Prefixes of syncPrefixLen bytes are kept unique (ID lists and wants
// name items by them; SHA-256 IDs collide there with odds of 2^-64).
type syncItemGen struct {
	rng    *rand.Rand
	base   HLC
	spread uint64
	shared int
	made   []MessageID
	pfx    map[[syncPrefixLen]byte]bool
}

func newSyncItemGen(seed uint64, spread uint64, shared int) *syncItemGen {
	return &syncItemGen{
		rng:    rand.New(rand.NewPCG(seed, 0x5eed)),
		base:   HLCFromTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)),
		spread: spread,
		shared: shared,
		pfx:    make(map[[syncPrefixLen]byte]bool),
	}
}

func (g *syncItemGen) item() Cursor {
	for {
		var id MessageID
		for w := range 4 {
			binary.LittleEndian.PutUint64(id[w*8:], g.rng.Uint64())
		}
		if g.shared > 0 && len(g.made) > 0 && g.rng.IntN(2) == 0 {
			k := g.rng.IntN(g.shared + 1)
			copy(id[:k], g.made[g.rng.IntN(len(g.made))][:k])
		}
		if g.pfx[prefixOf(id)] {
			continue
		}
		g.pfx[prefixOf(id)] = true
		g.made = append(g.made, id)
		return Cursor{HLC: g.base + HLC(g.rng.Uint64N(g.spread)), ID: id}
	}
}

func (g *syncItemGen) items(n int) []Cursor {
	out := make([]Cursor, n)
	for i := range out {
		out[i] = g.item()
	}
	return out
}

func compareCursors(a, b Cursor) int {
	switch {
	case cursorLess(a, b):
		return -1
	case cursorLess(b, a):
		return 1
	}
	return 0
}

// sortedUnion returns the sets concatenated and sorted by (HLC, ID).
func sortedUnion(sets ...[]Cursor) []Cursor {
	out := slices.Concat(sets...)
	slices.SortFunc(out, compareCursors)
	return out
}

// syncSets returns two sets that share common items and each hold
// onlyA and onlyB items the other lacks.
func syncSets(g *syncItemGen, common, onlyA, onlyB int) (a, b, wantFromA, wantFromB []Cursor) {
	c := g.items(common)
	wantFromA, wantFromB = g.items(onlyA), g.items(onlyB)
	return sortedUnion(c, wantFromA), sortedUnion(c, wantFromB), wantFromA, wantFromB
}

// ---- the in-memory driver ----

// syncRun is what an in-memory stage between two reconcilers did.
type syncRun struct {
	sent     [2][]MessageID // messages each side sent: [0] the opener's, [1] the server's
	turns    int            // turns, the server's description and the last (empty) one included
	frames   []int          // size on the wire of every turn, messages left out
	bytes    int            // their sum
	maxFrame int
}

// runSync reconciles one stage's window, the opener's items against the
// server's, the way reconcileStage does on both sides: the server
// describes its window, then the sides take turns until one has nothing
// to answer. Every turn goes through the wire encoding. It fails the test
// on a protocol error, a turn over the caps, or a stage longer than
// maxStageTurns.
func runSync(t testing.TB, opener, server []Cursor) syncRun {
	t.Helper()
	var run syncRun
	wireRoundTrip := func(f *wire.SyncFrame) *wire.SyncFrame {
		b, err := proto.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		size := len(appendFrame(nil, b))
		run.frames = append(run.frames, size)
		run.bytes += size
		run.maxFrame = max(run.maxFrame, size)
		var out wire.SyncFrame
		if err := proto.Unmarshal(b, &out); err != nil {
			t.Fatal(err)
		}
		if len(out.Ranges) > maxSyncRanges || len(out.Want) > maxStageItems {
			t.Fatalf("turn %d: %d ranges and %d wants, over the caps", run.turns, len(out.Ranges), len(out.Want))
		}
		return &out
	}
	recs := [2]*reconciler{newReconciler(opener), newReconciler(server)}
	ranges := []*wire.SyncRange{{Payload: &wire.SyncRange_Ids{Ids: &wire.IdList{}}}}
	if len(server) > 0 {
		ranges = describe(server, infinity)
	}
	in := wireRoundTrip(&wire.SyncFrame{Stage: &wire.SyncStage{Last: true}, Ranges: ranges})
	run.turns = 1
	for side := 0; len(in.Ranges) > 0 || len(in.Want) > 0; side = 1 - side {
		if run.turns >= maxStageTurns {
			t.Fatalf("stage still going after %d turns", run.turns)
		}
		rec := recs[side]
		rec.give, rec.want = rec.give[:0], rec.want[:0]
		out, err := rec.answer(in.Ranges)
		if err != nil {
			t.Fatalf("turn %d: %v", run.turns+1, err)
		}
		ids := dedupIDs(append(rec.resolve(in.Want), rec.give...))
		if len(ids) > maxStageItems {
			t.Fatalf("turn %d: %d messages, over the cap", run.turns+1, len(ids))
		}
		run.sent[side] = append(run.sent[side], ids...)
		in = wireRoundTrip(&wire.SyncFrame{Ranges: out, Want: rec.want})
		run.turns++
	}
	return run
}

// checkSent fails the test unless sent names exactly the items of want,
// each once.
func checkSent(t testing.TB, who string, sent []MessageID, want []Cursor) {
	t.Helper()
	wantIDs := make(map[MessageID]bool, len(want))
	for _, c := range want {
		wantIDs[c.ID] = true
	}
	seen := make(map[MessageID]bool, len(sent))
	for _, id := range sent {
		if seen[id] {
			t.Errorf("%s sent %s more than once", who, id)
		}
		seen[id] = true
		if !wantIDs[id] {
			t.Errorf("%s sent %s, which the other side holds", who, id)
		}
	}
	for id := range wantIDs {
		if !seen[id] {
			t.Errorf("%s never sent %s, which the other side lacks", who, id)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
}

// ---- bounds, fingerprints ----

func TestSyncBetween(t *testing.T) {
	id := func(b ...byte) (out MessageID) {
		copy(out[:], b)
		return out
	}
	var long1, long2 MessageID
	for i := range long1 {
		long1[i], long2[i] = 0xab, 0xab
	}
	long2[31] = 0xac
	tests := []struct {
		name       string
		prev, next Cursor
		wantID     int // length of the bound's ID prefix
	}{
		{"different HLCs", Cursor{HLC: 5, ID: id(0xff)}, Cursor{HLC: 6, ID: id(0x00)}, 0},
		{"different HLCs, next ID zero", Cursor{HLC: 5}, Cursor{HLC: 7}, 0},
		{"same HLC, first byte differs", Cursor{HLC: 5, ID: id(0x01)}, Cursor{HLC: 5, ID: id(0x02)}, 1},
		{"same HLC, shared 3 bytes", Cursor{HLC: 5, ID: id(1, 2, 3, 4)}, Cursor{HLC: 5, ID: id(1, 2, 3, 5)}, 4},
		{"same HLC, next is prev plus a byte", Cursor{HLC: 5, ID: id(1, 2, 3)}, Cursor{HLC: 5, ID: id(1, 2, 3, 0, 0, 1)}, 6},
		{"same HLC, differ in the last byte", Cursor{HLC: 9, ID: long1}, Cursor{HLC: 9, ID: long2}, 32},
		{"same HLC, zero ID first", Cursor{HLC: 9}, Cursor{HLC: 9, ID: id(0, 0, 0, 0, 0, 0, 0, 0, 0, 1)}, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := between(tt.prev, tt.next)
			checkBetween(t, b, tt.prev, tt.next)
			if len(b.id) != tt.wantID {
				t.Errorf("bound ID prefix: got %d bytes, want %d", len(b.id), tt.wantID)
			}
		})
	}
}

// checkBetween checks the contract of between(prev, next): the bound is
// strictly above prev, not above next, as short as it can be, and the
// same after the wire encoding.
func checkBetween(t testing.TB, b bound, prev, next Cursor) {
	t.Helper()
	if !b.above(prev) {
		t.Fatalf("bound %d/%x is not above prev %d/%x", b.hlc, b.id, prev.HLC, prev.ID)
	}
	if b.above(next) {
		t.Fatalf("bound %d/%x is above next %d/%x", b.hlc, b.id, next.HLC, next.ID)
	}
	if n := len(b.id); n > 0 {
		if shorter := (bound{hlc: b.hlc, id: b.id[:n-1]}); shorter.above(prev) && !shorter.above(next) {
			t.Fatalf("bound %d/%x is not the shortest: %x would do", b.hlc, b.id, shorter.id)
		}
	}
	var r wire.SyncRange
	b.put(&r)
	enc, err := proto.Marshal(&r)
	if err != nil {
		t.Fatal(err)
	}
	var dec wire.SyncRange
	if err := proto.Unmarshal(enc, &dec); err != nil {
		t.Fatal(err)
	}
	got, err := boundOf(&dec)
	if err != nil {
		t.Fatalf("boundOf after the wire: %v", err)
	}
	if got.above(prev) != b.above(prev) || got.above(next) != b.above(next) {
		t.Fatalf("bound %d/%x decodes as %d/%x, which orders prev or next differently", b.hlc, b.id, got.hlc, got.id)
	}
}

// TestSyncBetweenSplitsSortedSets checks between for every neighbour pair
// of random sorted sets, including sets where every item has the same HLC
// and IDs share long prefixes: the bound must split the set exactly there,
// which is what span relies on.
func TestSyncBetweenSplitsSortedSets(t *testing.T) {
	for _, tc := range []struct {
		spread uint64
		shared int
	}{{1, 0}, {1, 31}, {3, 31}, {1 << 40, 0}, {50, 8}} {
		t.Run(fmt.Sprintf("spread=%d,shared=%d", tc.spread, tc.shared), func(t *testing.T) {
			g := newSyncItemGen(tc.spread+uint64(tc.shared), tc.spread, tc.shared)
			items := make([]Cursor, 0, 2000)
			for range 2000 {
				c := g.item()
				// Long shared prefixes are the point here: drop the
				// uniqueness of 8-byte prefixes the generator keeps.
				clear(g.pfx)
				items = append(items, c)
			}
			slices.SortFunc(items, compareCursors)
			items = slices.CompactFunc(items, func(a, b Cursor) bool { return a == b })
			for i := 1; i < len(items); i++ {
				b := between(items[i-1], items[i])
				checkBetween(t, b, items[i-1], items[i])
				lo := sortSearch(items, b)
				if lo != i {
					t.Fatalf("bound between items %d and %d splits the set at %d", i-1, i, lo)
				}
			}
		})
	}
}

// sortSearch returns the first item the bound is not above.
func sortSearch(items []Cursor, b bound) int {
	i, _ := slices.BinarySearchFunc(items, b, func(c Cursor, b bound) int {
		if b.above(c) {
			return -1
		}
		return 1
	})
	return i
}

func TestSyncBoundOf(t *testing.T) {
	tests := []struct {
		name     string
		r        *wire.SyncRange
		infinite bool
		wantErr  bool
	}{
		{"no bound is the end", &wire.SyncRange{}, true, false},
		{"HLC only", &wire.SyncRange{UpperHlc: 7}, false, false},
		{"zero HLC with an ID is a bound", &wire.SyncRange{UpperId: []byte{1}}, false, false},
		{"whole ID", &wire.SyncRange{UpperHlc: 7, UpperId: make([]byte, 32)}, false, false},
		{"ID of 33 bytes", &wire.SyncRange{UpperHlc: 7, UpperId: make([]byte, 33)}, false, true},
		{"ID of 1000 bytes", &wire.SyncRange{UpperHlc: 7, UpperId: make([]byte, 1000)}, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := boundOf(tt.r)
			if tt.wantErr {
				if !errors.Is(err, errSyncProtocol) {
					t.Fatalf("got %v, want errSyncProtocol", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := b.hlc == math.MaxUint64; got != tt.infinite {
				t.Fatalf("infinite: got %v, want %v", got, tt.infinite)
			}
		})
	}
}

func TestSyncFingerprint(t *testing.T) {
	g := newSyncItemGen(1, 1<<30, 0)
	items := g.items(500)
	fp := fingerprint(items)
	if len(fp) != 16 {
		t.Fatalf("fingerprint length: got %d, want 16", len(fp))
	}

	t.Run("order-independent", func(t *testing.T) {
		rng := rand.New(rand.NewPCG(2, 2))
		for range 20 {
			shuffled := slices.Clone(items)
			rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
			if got := fingerprint(shuffled); !bytes.Equal(got, fp) {
				t.Fatalf("got %x for a shuffled set, want %x", got, fp)
			}
		}
	})
	t.Run("HLC does not count", func(t *testing.T) {
		moved := slices.Clone(items)
		moved[3].HLC++
		if got := fingerprint(moved); !bytes.Equal(got, fp) {
			t.Fatalf("got %x, want %x: the fingerprint covers IDs only", got, fp)
		}
	})
	t.Run("one item differs", func(t *testing.T) {
		for i := range items {
			for _, bit := range []int{0, 7, 63, 64, 128, 255} {
				changed := slices.Clone(items)
				changed[i].ID[bit/8] ^= 1 << (bit % 8)
				if got := fingerprint(changed); bytes.Equal(got, fp) {
					t.Fatalf("item %d with bit %d flipped: fingerprint unchanged", i, bit)
				}
			}
		}
		replaced := slices.Clone(items)
		replaced[250] = g.item()
		if bytes.Equal(fingerprint(replaced), fp) {
			t.Fatal("an item replaced by another: fingerprint unchanged")
		}
	})
	t.Run("count matters", func(t *testing.T) {
		// A zero ID adds nothing to the sum; the count must still tell.
		if bytes.Equal(fingerprint(append(slices.Clone(items), Cursor{})), fp) {
			t.Fatal("an extra zero ID: fingerprint unchanged")
		}
		if bytes.Equal(fingerprint(nil), fingerprint([]Cursor{{}})) {
			t.Fatal("the empty set and {zero ID} have the same fingerprint")
		}
		if bytes.Equal(fingerprint(items[:1]), fingerprint(append(items[:1:1], items[0]))) {
			t.Fatal("{x} and {x, x} have the same fingerprint")
		}
	})
	t.Run("sum carries across words", func(t *testing.T) {
		// As 256-bit little-endian numbers: (2^64-1) + 1 = 2^64 + 0, and
		// (2^256-1) + 1 = 0 + 0 (mod 2^256).
		word := func(w int, v uint64) (c Cursor) {
			binary.LittleEndian.PutUint64(c.ID[w*8:], v)
			return c
		}
		var ones Cursor
		for i := range ones.ID {
			ones.ID[i] = 0xff
		}
		if a, b := fingerprint([]Cursor{word(0, math.MaxUint64), word(0, 1)}), fingerprint([]Cursor{word(1, 1), {}}); !bytes.Equal(a, b) {
			t.Errorf("carry out of word 0: got %x and %x, want equal", a, b)
		}
		if a, b := fingerprint([]Cursor{ones, word(0, 1)}), fingerprint([]Cursor{{}, {}}); !bytes.Equal(a, b) {
			t.Errorf("carry out of word 3: got %x and %x, want equal (the sum is mod 2^256)", a, b)
		}
		if a, b := fingerprint([]Cursor{word(0, math.MaxUint64), word(0, 1)}), fingerprint([]Cursor{word(0, 0), {}}); bytes.Equal(a, b) {
			t.Errorf("a lost carry: got %x for both", a)
		}
	})
}

// ---- reconciliation properties ----

func TestSyncReconcileRandomSets(t *testing.T) {
	seeds := 150
	if testing.Short() {
		seeds = 30
	}
	for seed := range uint64(seeds) {
		rng := rand.New(rand.NewPCG(seed, 7))
		spread := []uint64{1, 20, 5000, 1 << 40}[rng.IntN(4)]
		// A stage's window holds at most maxStageItems of each side's.
		common := rng.IntN(2000)
		onlyA, onlyB := rng.IntN(60), rng.IntN(60)
		switch rng.IntN(5) {
		case 0:
			onlyA = rng.IntN(maxStageItems - common)
		case 1:
			onlyB = rng.IntN(maxStageItems - common)
		case 2:
			common = rng.IntN(40)
		}
		g := newSyncItemGen(seed, spread, rng.IntN(syncPrefixLen))
		a, b, fromA, fromB := syncSets(g, common, onlyA, onlyB)
		name := fmt.Sprintf("seed=%d,common=%d,onlyA=%d,onlyB=%d,spread=%d", seed, common, onlyA, onlyB, spread)
		t.Run(name, func(t *testing.T) {
			run := runSync(t, a, b)
			checkSent(t, "the opener", run.sent[0], fromA)
			checkSent(t, "the server", run.sent[1], fromB)
			if run.maxFrame > maxSyncFrame {
				t.Fatalf("a frame of %d bytes, over the %d-byte cap", run.maxFrame, maxSyncFrame)
			}
		})
	}
}

func TestSyncReconcileIdenticalSets(t *testing.T) {
	for _, n := range []int{0, 1, 2, syncListMax, syncListMax + 1, 100, 1000, maxStageItems} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			items := newSyncItemGen(uint64(n), 1<<30, 0).items(n)
			slices.SortFunc(items, compareCursors)
			run := runSync(t, items, slices.Clone(items))
			if len(run.sent[0])+len(run.sent[1]) != 0 {
				t.Fatalf("sent %d and %d messages, want none", len(run.sent[0]), len(run.sent[1]))
			}
			// One round: the server's description, the opener's empty answer.
			if run.turns != 2 {
				t.Fatalf("turns: got %d, want 2", run.turns)
			}
			first := describeFirst(items)
			if n > syncListMax && (len(first) != syncBranch || first[0].GetFingerprint() == nil) {
				t.Fatalf("first turn: got %d ranges, want %d fingerprints", len(first), syncBranch)
			}
			t.Logf("%d items: %d bytes in all, frames %v", n, run.bytes, run.frames)
		})
	}
}

func describeFirst(items []Cursor) []*wire.SyncRange {
	if len(items) == 0 {
		return nil
	}
	return describe(items, infinity)
}

func TestSyncReconcileOneSideEmpty(t *testing.T) {
	for _, n := range []int{1, syncListMax, syncListMax + 1, 1000, maxStageItems} {
		items := newSyncItemGen(uint64(n)+1, 1<<30, 0).items(n)
		slices.SortFunc(items, compareCursors)
		t.Run(fmt.Sprintf("opener empty,%d", n), func(t *testing.T) {
			run := runSync(t, nil, items)
			checkSent(t, "the opener", run.sent[0], nil)
			checkSent(t, "the server", run.sent[1], items)
			if run.turns > 3 {
				t.Fatalf("turns: got %d, want at most 3", run.turns)
			}
		})
		t.Run(fmt.Sprintf("server empty,%d", n), func(t *testing.T) {
			run := runSync(t, items, nil)
			checkSent(t, "the opener", run.sent[0], items)
			checkSent(t, "the server", run.sent[1], nil)
			if run.turns != 2 {
				t.Fatalf("turns: got %d, want 2", run.turns)
			}
		})
	}
}

// TestSyncReconcileSharedHLC has whole sets at one HLC (a burst from one
// clock, or clocks that agree to the millisecond and counter), so every
// bound is an ID prefix.
func TestSyncReconcileSharedHLC(t *testing.T) {
	for _, tc := range []struct {
		name                 string
		spread               uint64
		shared               int
		common, onlyA, onlyB int
	}{
		{"one HLC", 1, 0, 3000, 40, 40},
		{"one HLC, shared prefixes", 1, syncPrefixLen - 1, 3000, 40, 40},
		{"two HLCs, shared prefixes", 2, syncPrefixLen - 1, 3900, 100, 3},
		{"one HLC, one side empty", 1, 4, 0, 2000, 0},
		{"one HLC, disjoint", 1, 4, 0, 700, 900},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newSyncItemGen(uint64(len(tc.name)), tc.spread, tc.shared)
			a, b, fromA, fromB := syncSets(g, tc.common, tc.onlyA, tc.onlyB)
			run := runSync(t, a, b)
			checkSent(t, "the opener", run.sent[0], fromA)
			checkSent(t, "the server", run.sent[1], fromB)
		})
	}
}

// TestSyncReconcileBytes measures the reconciliation traffic for a full
// stage window (maxStageItems items) that differs in 1%, without the
// messages themselves: it must be a small fraction of sending the window
// (here only its IDs, 32 bytes each).
func TestSyncReconcileBytes(t *testing.T) {
	const total, differ = maxStageItems, 40
	const budget = 32 << 10
	historyIDs := total * len(MessageID{})
	for _, tc := range []struct {
		name         string
		onlyA, onlyB int
	}{
		{"server lacks 40", differ, 0},
		{"opener lacks 40", 0, differ},
		{"50 on each side", differ / 2, differ / 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newSyncItemGen(42, uint64(time.Hour.Milliseconds())<<hlcLogicalBits, 0)
			a, b, fromA, fromB := syncSets(g, total-tc.onlyA-tc.onlyB, tc.onlyA, tc.onlyB)
			run := runSync(t, a, b)
			checkSent(t, "the opener", run.sent[0], fromA)
			checkSent(t, "the server", run.sent[1], fromB)
			t.Logf("%d/%d items differ: %d bytes over %d turns (frames %v), history IDs alone %d bytes (%.1f%%)",
				differ, total, run.bytes, run.turns, run.frames, historyIDs, 100*float64(run.bytes)/float64(historyIDs))
			if run.bytes >= budget {
				t.Fatalf("reconciliation took %d bytes, want < %d", run.bytes, budget)
			}
		})
	}
}

// ---- answer and resolve on hostile input ----

func TestSyncAnswerRejects(t *testing.T) {
	items := newSyncItemGen(3, 1<<30, 0).items(200)
	slices.SortFunc(items, compareCursors)
	bogus := func(upper uint64) *wire.SyncRange {
		return &wire.SyncRange{UpperHlc: upper, Payload: &wire.SyncRange_Fingerprint{Fingerprint: []byte("not a fingerprint")}}
	}
	tooMany := make([]*wire.SyncRange, 0, maxSyncRanges+1)
	for i := range maxSyncRanges + 1 {
		tooMany = append(tooMany, bogus(uint64(i+1)))
	}
	tests := []struct {
		name   string
		ranges []*wire.SyncRange
	}{
		{"bound ID of 33 bytes", []*wire.SyncRange{{UpperHlc: 9, UpperId: make([]byte, 33)}}},
		{"bad bound after good ranges", []*wire.SyncRange{bogus(1), {UpperHlc: 2, UpperId: make([]byte, 64), Payload: &wire.SyncRange_Ids{Ids: &wire.IdList{}}}}},
		{"ID prefix of 7 bytes", []*wire.SyncRange{{Payload: &wire.SyncRange_Ids{Ids: &wire.IdList{Ids: [][]byte{make([]byte, 7)}}}}}},
		{"ID prefix of 32 bytes", []*wire.SyncRange{{Payload: &wire.SyncRange_Ids{Ids: &wire.IdList{Ids: [][]byte{make([]byte, 8), make([]byte, 32)}}}}}},
		{"empty ID prefix", []*wire.SyncRange{{Payload: &wire.SyncRange_Ids{Ids: &wire.IdList{Ids: [][]byte{{}}}}}}},
		{"an answer over maxSyncRanges", tooMany},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := newReconciler(items)
			out, err := rec.answer(tt.ranges)
			if !errors.Is(err, errSyncProtocol) {
				t.Fatalf("got %v, want errSyncProtocol", err)
			}
			if out != nil {
				t.Fatalf("got %d ranges with the error, want none", len(out))
			}
		})
	}
}

func TestSyncResolve(t *testing.T) {
	items := newSyncItemGen(4, 1<<30, 0).items(50)
	slices.SortFunc(items, compareCursors)
	rec := newReconciler(items)
	p := func(c Cursor) []byte { k := prefixOf(c.ID); return k[:] }
	tests := []struct {
		name string
		want [][]byte
		got  []MessageID
	}{
		{"none", nil, nil},
		{"held ones", [][]byte{p(items[3]), p(items[0])}, []MessageID{items[3].ID, items[0].ID}},
		{"unknown prefix", [][]byte{make([]byte, syncPrefixLen)}, nil},
		{"wrong lengths are skipped", [][]byte{items[1].ID[:], items[1].ID[:7], {}, p(items[2])}, []MessageID{items[2].ID}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := rec.resolve(tt.want); !slices.Equal(got, tt.got) {
				t.Fatalf("got %x, want %x", got, tt.got)
			}
		})
	}
}

// TestSyncResolveRepeatedWants: a want is a request for a message; a peer
// that names the same prefix over and over in one turn gets it once.
func TestSyncResolveRepeatedWants(t *testing.T) {
	items := newSyncItemGen(5, 1<<30, 0).items(10)
	slices.SortFunc(items, compareCursors)
	rec := newReconciler(items)
	k := prefixOf(items[4].ID)
	want := make([][]byte, maxStageItems)
	for i := range want {
		want[i] = k[:]
	}
	if got := rec.resolve(want); !slices.Equal(got, []MessageID{items[4].ID}) {
		t.Fatalf("resolve of %d wants of one prefix: got %d IDs, want that one message", len(want), len(got))
	}
}

// TestSyncAnswerRejectsUnorderedBounds: ranges cover the window in order,
// so their bounds strictly increase. Bounds that go back would make every
// second range cover (almost) the whole window again, to be fingerprinted
// and split: answer refuses them.
func TestSyncAnswerRejectsUnorderedBounds(t *testing.T) {
	items := newSyncItemGen(6, 1<<30, 0).items(10000)
	slices.SortFunc(items, compareCursors)
	low, high := uint64(items[0].HLC), uint64(items[len(items)-1].HLC)+1
	fp := &wire.SyncRange_Fingerprint{Fingerprint: make([]byte, 16)}
	for _, tc := range []struct {
		name   string
		bounds []uint64
	}{
		{"alternating", []uint64{high, low, high, low}},
		{"repeated", []uint64{low + 1, low + 1}},
		{"back to the start", []uint64{high, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ranges []*wire.SyncRange
			for _, b := range tc.bounds {
				r := &wire.SyncRange{Payload: fp}
				if b != 0 {
					r.UpperHlc = b
				} else {
					r.UpperId = []byte{0} // HLC 0: the lowest bound there is
				}
				ranges = append(ranges, r)
			}
			if _, err := newReconciler(items).answer(ranges); !errors.Is(err, errSyncProtocol) {
				t.Fatalf("got %v, want errSyncProtocol for bounds that do not increase", err)
			}
		})
	}
}

// ---- stages ----

// stageItems returns n sorted items, HLCs 10 apart from 10, for the stage
// tests: between any two there is room for positions of their own.
func stageItems(n int) []Cursor {
	items := newSyncItemGen(uint64(n), 1, 0).items(n)
	for i := range items {
		items[i].HLC = HLC(10 * (i + 1))
	}
	return items
}

// at returns a pointer to a copy of c.
func at(c Cursor) *Cursor { return &c }

// just returns the position just below c's HLC: below c, above anything
// at an earlier HLC.
func just(c Cursor) *Cursor { return &Cursor{HLC: c.HLC - 1} }

func cursorString(c *Cursor) string {
	if c == nil {
		return "none"
	}
	return fmt.Sprintf("%d/%x", c.HLC, c.ID[:4])
}

func sameCursor(a, b *Cursor) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

func TestSyncProposal(t *testing.T) {
	c := stageItems(10)
	tests := []struct {
		name  string
		items []Cursor
		upper *Cursor
		limit int
		want  *Cursor
	}{
		{"no items", nil, nil, 3, nil},
		{"the 3rd newest", c, nil, 3, &c[7]},
		{"the 9th newest", c, nil, 9, &c[1]},
		{"exactly the limit: none", c, nil, 10, nil},
		{"fewer than the limit: none", c, nil, 11, nil},
		{"below an item", c, &c[5], 3, &c[2]},
		{"below an item, exactly the limit", c, &c[5], 5, nil},
		{"below a position between items", c, just(c[5]), 4, &c[1]},
		{"below the first item", c, &c[0], 1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := proposal(tt.items, tt.upper, tt.limit); !sameCursor(got, tt.want) {
				t.Fatalf("got %s, want %s", cursorString(got), cursorString(tt.want))
			}
		})
	}
}

func TestSyncWindow(t *testing.T) {
	c := stageItems(10)
	tests := []struct {
		name         string
		lower, upper *Cursor
		want         []Cursor
	}{
		{"everything", nil, nil, c},
		{"from an item", &c[2], nil, c[2:]},
		{"below an item", nil, &c[5], c[:5]},
		{"between items", &c[2], &c[5], c[2:5]},
		{"between positions", just(c[2]), just(c[5]), c[2:5]},
		{"empty", &c[4], &c[4], c[4:4]},
		{"above everything", at(Cursor{HLC: 1000}), nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := window(c, tt.lower, tt.upper); !slices.Equal(got, tt.want) {
				t.Fatalf("got %d items, want %d", len(got), len(tt.want))
			}
		})
	}
}

func TestSyncLaterOf(t *testing.T) {
	c := stageItems(3)
	tests := []struct {
		name       string
		a, b, want *Cursor
	}{
		{"none", nil, nil, nil},
		{"only a", &c[1], nil, &c[1]},
		{"only b", nil, &c[1], &c[1]},
		{"b later", &c[0], &c[2], &c[2]},
		{"a later", &c[2], &c[0], &c[2]},
		{"same HLC, larger ID", at(Cursor{HLC: 5, ID: MessageID{1}}), at(Cursor{HLC: 5, ID: MessageID{2}}), at(Cursor{HLC: 5, ID: MessageID{2}})},
		{"equal", &c[1], at(c[1]), &c[1]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := laterOf(tt.a, tt.b); !sameCursor(got, tt.want) {
				t.Fatalf("got %s, want %s", cursorString(got), cursorString(tt.want))
			}
		})
	}
}

// pos returns c as a stage bound (nil: absent).
func pos(c *Cursor) *wire.SyncPosition {
	if c == nil {
		return nil
	}
	return positionOf(*c)
}

// TestSyncCheckWindow is the opener's check of the window a server fixed:
// never below the opener's proposal (it would hold more than the stage
// limit there), always below the stage's upper bound.
func TestSyncCheckWindow(t *testing.T) {
	c := stageItems(10)
	short := &wire.SyncPosition{Hlc: uint64(c[5].HLC), Id: c[5].ID[:31]}
	tests := []struct {
		name        string
		lower       *wire.SyncPosition
		mine, upper *Cursor
		want        *Cursor
		bad         bool
	}{
		{"to the floor, no proposal", nil, nil, nil, nil, false},
		{"to the floor, below the proposal", nil, &c[3], nil, nil, true},
		{"at the proposal", pos(&c[3]), &c[3], &c[8], &c[3], false},
		{"above the proposal", pos(&c[5]), &c[3], &c[8], &c[5], false},
		{"between items above the proposal", pos(just(c[5])), &c[3], &c[8], just(c[5]), false},
		{"just below the proposal", pos(just(c[3])), &c[3], &c[8], nil, true},
		{"at the upper bound", pos(&c[8]), &c[3], &c[8], nil, true},
		{"above the upper bound", pos(&c[9]), &c[3], &c[8], nil, true},
		{"no upper bound", pos(&c[9]), &c[3], nil, &c[9], false},
		{"no proposal, below upper", pos(&c[0]), nil, &c[8], &c[0], false},
		{"an ID of 31 bytes", short, nil, nil, nil, true},
		{"an ID of 33 bytes", &wire.SyncPosition{Hlc: 7, Id: make([]byte, 33)}, nil, nil, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := checkWindow(&wire.SyncStage{Lower: tt.lower}, tt.mine, tt.upper)
			if tt.bad {
				if !errors.Is(err, errSyncProtocol) {
					t.Fatalf("got %s, %v; want errSyncProtocol", cursorString(got), err)
				}
				return
			}
			if err != nil || !sameCursor(got, tt.want) {
				t.Fatalf("got %s, %v; want %s", cursorString(got), err, cursorString(tt.want))
			}
		})
	}
}

// TestSyncFixStage is the server's side of a stage: the window's lower
// bound is the later of both proposals and the floor, and a stage must
// end where the previous one began.
func TestSyncFixStage(t *testing.T) {
	c := stageItems(10)
	floor := just(c[4])
	tests := []struct {
		name   string
		stage  *wire.SyncStage
		upper  *Cursor // where the previous stage began (nil: the first stage)
		floor  *Cursor
		want   *Cursor
		last   bool
		bad    bool
		reason string
	}{
		{name: "no stage", stage: nil, bad: true},
		{name: "ours later", stage: &wire.SyncStage{Limit: 3, Lower: pos(&c[2])}, want: &c[7]},
		{name: "theirs later", stage: &wire.SyncStage{Limit: 3, Lower: pos(just(c[9]))}, want: just(c[9])},
		{name: "theirs at ours", stage: &wire.SyncStage{Limit: 3, Lower: pos(&c[7])}, want: &c[7]},
		{name: "neither: to the start", stage: &wire.SyncStage{Limit: 64}, want: nil, last: true},
		{name: "neither: to the floor", stage: &wire.SyncStage{Limit: 64}, floor: floor, want: floor, last: true},
		{name: "the floor later than both", stage: &wire.SyncStage{Limit: 3, Lower: pos(&c[1])}, floor: just(c[8]), want: just(c[8]), last: true},
		{name: "a proposal below the floor", stage: &wire.SyncStage{Limit: 8, Lower: pos(&c[0])}, floor: floor, want: floor, last: true},
		{name: "limit 0 counts as 1", stage: &wire.SyncStage{}, want: &c[9]},
		{name: "a huge limit counts as maxStageItems", stage: &wire.SyncStage{Limit: math.MaxUint32}, want: nil, last: true},
		{name: "the next stage", stage: &wire.SyncStage{Limit: 3, Upper: pos(&c[7])}, upper: &c[7], want: &c[4]},
		{name: "the next stage, to the floor", stage: &wire.SyncStage{Limit: 64, Upper: pos(&c[7])}, upper: &c[7], floor: floor, want: floor, last: true},

		{name: "a first stage with an upper bound", stage: &wire.SyncStage{Limit: 3, Upper: pos(&c[7])}, bad: true},
		{name: "a next stage without one", stage: &wire.SyncStage{Limit: 3}, upper: &c[7], bad: true},
		{name: "a next stage that goes back", stage: &wire.SyncStage{Limit: 3, Upper: pos(&c[9])}, upper: &c[7], bad: true},
		{name: "a next stage that skips ahead", stage: &wire.SyncStage{Limit: 3, Upper: pos(&c[5])}, upper: &c[7], bad: true},
		{name: "a next stage a hair off", stage: &wire.SyncStage{Limit: 3, Upper: pos(just(c[7]))}, upper: &c[7], bad: true},
		{name: "an upper bound ID of 31 bytes", stage: &wire.SyncStage{Limit: 3, Upper: &wire.SyncPosition{Hlc: uint64(c[7].HLC), Id: c[7].ID[:31]}}, upper: &c[7], bad: true},
		{name: "a proposal at the upper bound", stage: &wire.SyncStage{Limit: 3, Upper: pos(&c[7]), Lower: pos(&c[7])}, upper: &c[7], bad: true},
		{name: "a proposal above the upper bound", stage: &wire.SyncStage{Limit: 3, Upper: pos(&c[7]), Lower: pos(&c[8])}, upper: &c[7], bad: true},
		{name: "a proposal ID of 1 byte", stage: &wire.SyncStage{Limit: 3, Lower: &wire.SyncPosition{Hlc: 5, Id: []byte{1}}}, bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lower, last, err := fixStage(tt.stage, tt.upper, window(c, tt.floor, nil), tt.floor)
			if tt.bad {
				if !errors.Is(err, errSyncProtocol) {
					t.Fatalf("got %s (last %v), %v; want errSyncProtocol", cursorString(lower), last, err)
				}
				return
			}
			if err != nil || !sameCursor(lower, tt.want) || last != tt.last {
				t.Fatalf("got %s (last %v), %v; want %s (last %v)", cursorString(lower), last, err, cursorString(tt.want), tt.last)
			}
		})
	}
}

// TestSyncStagesCoverHistory runs the stages of sessions between random
// item sets with random floors, with the stage functions both sides use
// and every stage bound through the wire encoding: the windows tile the
// history from the end down to the later floor, newest first, and neither
// side ever holds more than the stage limit in one.
func TestSyncStagesCoverHistory(t *testing.T) {
	for seed := range uint64(40) {
		rng := rand.New(rand.NewPCG(seed, 11))
		g := newSyncItemGen(seed, []uint64{1, 3, 1 << 20}[rng.IntN(3)], rng.IntN(4))
		common := rng.IntN(12000)
		a, b, _, _ := syncSets(g, common, rng.IntN(3000), rng.IntN(3000))
		if rng.IntN(4) == 0 {
			a = nil
		}
		// Each side reads its items from its own floor.
		floorOf := func(items []Cursor) *Cursor {
			if len(items) == 0 || rng.IntN(3) == 0 {
				return nil
			}
			return &Cursor{HLC: items[rng.IntN(len(items))].HLC}
		}
		fa, fb := floorOf(a), floorOf(b)
		a, b = window(a, fa, nil), window(b, fb, nil)
		t.Run(fmt.Sprintf("seed=%d,a=%d,b=%d", seed, len(a), len(b)), func(t *testing.T) {
			floor := laterOf(fa, fb)
			if floor != nil && floor.HLC == 0 {
				floor = nil
			}
			served := window(b, floor, nil)
			var upper *Cursor
			var gotA, gotB []Cursor
			for i := 0; ; i++ {
				if i > 100 {
					t.Fatal("more than 100 stages")
				}
				limit := stageLimit(i)
				mine := proposal(a, upper, limit)
				opened := roundTrip(t, &wire.SyncStage{Limit: uint32(limit), Upper: pos(upper), Lower: pos(mine)})
				lower, last, err := fixStage(opened, upper, served, floor)
				if err != nil {
					t.Fatalf("stage %d: the server: %v", i, err)
				}
				fixed := roundTrip(t, &wire.SyncStage{Lower: pos(lower), Last: last})
				got, err := checkWindow(fixed, mine, upper)
				if err != nil {
					t.Fatalf("stage %d: the opener: %v", i, err)
				}
				if !sameCursor(got, lower) {
					t.Fatalf("stage %d: the opener reads the window from %s, the server fixed %s", i, cursorString(got), cursorString(lower))
				}
				wa, wb := window(a, lower, upper), window(served, lower, upper)
				if len(wa) > limit || len(wb) > limit {
					t.Fatalf("stage %d (limit %d): the opener holds %d in the window, the server %d", i, limit, len(wa), len(wb))
				}
				// Newest first: each window lies below the ones before.
				gotA, gotB = append(wa, gotA...), append(wb, gotB...)
				if last {
					break
				}
				if lower == nil {
					t.Fatalf("stage %d: not the last, but open to the start", i)
				}
				upper = lower
			}
			if want := window(a, floor, nil); !slices.Equal(gotA, want) {
				t.Fatalf("the windows hold %d of the opener's items, want the %d from the floor", len(gotA), len(want))
			}
			if !slices.Equal(gotB, served) {
				t.Fatalf("the windows hold %d of the server's items, want the %d from the floor", len(gotB), len(served))
			}
		})
	}
}

func roundTrip(t testing.TB, s *wire.SyncStage) *wire.SyncStage {
	t.Helper()
	b, err := proto.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var out wire.SyncStage
	if err := proto.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return &out
}

// ---- fuzzing ----

// fuzzSyncItems is the fixed item set FuzzSyncFrame answers from.
func fuzzSyncItems() []Cursor {
	g := newSyncItemGen(77, 3, 4)
	items := g.items(300)
	slices.SortFunc(items, compareCursors)
	return items
}

// syncFrameSeeds are frames a session really carries, and some that
// break the rules.
func syncFrameSeeds(tb testing.TB) map[string][]byte {
	items := fuzzSyncItems()
	other := slices.Clone(items[:250])
	g := newSyncItemGen(78, 3, 4)
	other = sortedUnion(other, g.items(20))
	k := prefixOf(items[7].ID)
	frames := map[string]*wire.SyncFrame{
		"open":              {Room: "lobby", Floor: uint64(items[0].HLC), Summary: fingerprint(items), Stage: &wire.SyncStage{Limit: 64, Lower: positionOf(items[236])}},
		"open-next":         {Stage: &wire.SyncStage{Limit: 1024, Upper: positionOf(items[200]), Lower: positionOf(items[20])}},
		"first-answer":      {Stage: &wire.SyncStage{Lower: positionOf(items[236])}, Ranges: describe(other[:236], infinity)},
		"last-answer":       {Stage: &wire.SyncStage{Last: true}, Ranges: describe(other, infinity)},
		"equal":             {Equal: true},
		"stage-short-id":    {Stage: &wire.SyncStage{Limit: 64, Upper: &wire.SyncPosition{Hlc: uint64(items[9].HLC), Id: items[9].ID[:3]}}},
		"stage-upside-down": {Stage: &wire.SyncStage{Limit: 64, Upper: positionOf(items[10]), Lower: positionOf(items[290])}},
		"ids":               {Ranges: describe(other[:20], infinity), Want: [][]byte{k[:]}},
		"empty-ids":         {Ranges: []*wire.SyncRange{{Payload: &wire.SyncRange_Ids{Ids: &wire.IdList{}}}}},
		"skip-then-bounds":  {Ranges: []*wire.SyncRange{{UpperHlc: uint64(items[100].HLC), UpperId: items[100].ID[:3]}, {UpperHlc: uint64(items[200].HLC), Payload: &wire.SyncRange_Fingerprint{Fingerprint: fingerprint(items[100:200])}}}},
		"long-bound-id":     {Ranges: []*wire.SyncRange{{UpperHlc: 5, UpperId: make([]byte, 33)}}},
		"short-prefix":      {Ranges: []*wire.SyncRange{{Payload: &wire.SyncRange_Ids{Ids: &wire.IdList{Ids: [][]byte{{1, 2, 3}}}}}}},
		"descending":        {Ranges: []*wire.SyncRange{{UpperHlc: uint64(items[299].HLC) + 1, Payload: &wire.SyncRange_Fingerprint{}}, {UpperHlc: uint64(items[0].HLC), Payload: &wire.SyncRange_Fingerprint{}}, {Payload: &wire.SyncRange_Fingerprint{}}}},
	}
	out := make(map[string][]byte, len(frames))
	for name, f := range frames {
		b, err := proto.Marshal(f)
		if err != nil {
			tb.Fatal(err)
		}
		out[name] = b
	}
	return out
}

// FuzzSyncFrame feeds a peer's sync frame to the pure part of a session:
// the stage bounds as the server fixes them and as the opener checks
// them, then the reconciler's answer to its ranges and wants. It must
// never panic, must fail only with errSyncProtocol (always for a bound ID
// over 32 bytes or an ID prefix that is not 8 bytes), and what it returns
// must hold together.
func FuzzSyncFrame(f *testing.F) {
	for _, b := range syncFrameSeeds(f) {
		f.Add(b)
	}
	items := fuzzSyncItems()
	ours := make(map[MessageID]bool, len(items))
	for _, c := range items {
		ours[c.ID] = true
	}
	floor := just(items[30])
	served := window(items, floor, nil)
	f.Fuzz(func(t *testing.T, data []byte) {
		var frame wire.SyncFrame
		if err := proto.Unmarshal(data, &frame); err != nil {
			return
		}
		if frame.Stage != nil {
			checkFuzzedStage(t, frame.Stage, items, served, floor)
		}
		malformed := false
		for _, r := range frame.Ranges {
			if len(r.UpperId) > len(MessageID{}) {
				malformed = true
			}
			for _, id := range r.GetIds().GetIds() {
				if len(id) != syncPrefixLen {
					malformed = true
				}
			}
		}
		rec := newReconciler(items)
		out, err := rec.answer(frame.Ranges)
		if err != nil {
			if !errors.Is(err, errSyncProtocol) {
				t.Fatalf("got %v, want errSyncProtocol", err)
			}
		} else {
			if malformed {
				t.Fatal("accepted a bound ID over 32 bytes or an ID prefix that is not 8 bytes")
			}
			if len(out) > maxSyncRanges {
				t.Fatalf("answered with %d ranges, over %d", len(out), maxSyncRanges)
			}
			if len(out) > 0 && out[len(out)-1].Payload == nil {
				t.Fatal("the answer ends with a skip")
			}
			for i, r := range out {
				if _, err := boundOf(r); err != nil {
					t.Fatalf("range %d of the answer: %v", i, err)
				}
				if i > 0 && r.Payload == nil && out[i-1].Payload == nil {
					t.Fatalf("ranges %d and %d of the answer are both skips", i-1, i)
				}
				for _, id := range r.GetIds().GetIds() {
					if len(id) != syncPrefixLen {
						t.Fatalf("the answer lists a %d-byte prefix", len(id))
					}
				}
			}
			for _, id := range rec.give {
				if !ours[id] {
					t.Fatalf("give %s, which is not ours", id)
				}
			}
			if len(rec.want) > maxStageItems {
				t.Fatalf("%d wants, over %d", len(rec.want), maxStageItems)
			}
			for _, w := range rec.want {
				if len(w) != syncPrefixLen {
					t.Fatalf("want of a %d-byte prefix", len(w))
				}
				if _, ok := rec.byPfx[[syncPrefixLen]byte(w)]; ok {
					t.Fatalf("want %x, which we hold", w)
				}
			}
		}
		for _, id := range rec.resolve(frame.Want) {
			if !ours[id] {
				t.Fatalf("resolved %s, which is not ours", id)
			}
		}
	})
}

// checkFuzzedStage takes a fuzzed stage as both sides would: as the
// opening of a stage (first, or next after items[200]) that the server
// fixes from served above floor, and as the answer the opener checks
// against its proposal.
func checkFuzzedStage(t *testing.T, stage *wire.SyncStage, items, served []Cursor, floor *Cursor) {
	for _, upper := range []*Cursor{nil, &items[200]} {
		lower, last, err := fixStage(stage, upper, served, floor)
		if err != nil {
			if !errors.Is(err, errSyncProtocol) {
				t.Fatalf("fixStage: got %v, want errSyncProtocol", err)
			}
			continue
		}
		if lower == nil || cursorLess(*lower, *floor) {
			t.Fatalf("fixStage: a window from %s, below the floor %s", cursorString(lower), cursorString(floor))
		}
		if upper != nil && !cursorLess(*lower, *upper) {
			t.Fatalf("fixStage: a window from %s, not below its end %s", cursorString(lower), cursorString(upper))
		}
		if limit := min(max(int(stage.Limit), 1), maxStageItems); len(window(served, lower, upper)) > limit {
			t.Fatalf("fixStage: %d items in a window of limit %d", len(window(served, lower, upper)), limit)
		}
		if last != (*lower == *floor) {
			t.Fatalf("fixStage: last is %v for a window from %s, floor %s", last, cursorString(lower), cursorString(floor))
		}
	}
	for _, upper := range []*Cursor{nil, &items[200]} {
		mine := proposal(items, upper, 64)
		got, err := checkWindow(stage, mine, upper)
		if err != nil {
			if !errors.Is(err, errSyncProtocol) {
				t.Fatalf("checkWindow: got %v, want errSyncProtocol", err)
			}
			continue
		}
		if mine != nil && (got == nil || cursorLess(*got, *mine)) {
			t.Fatalf("checkWindow: a window from %s, below the proposal %s", cursorString(got), cursorString(mine))
		}
		if upper != nil && got != nil && !cursorLess(*got, *upper) {
			t.Fatalf("checkWindow: a window from %s, not below its end %s", cursorString(got), cursorString(upper))
		}
		if n := len(window(items, got, upper)); n > 64 {
			t.Fatalf("checkWindow: the opener holds %d items in a window of limit 64", n)
		}
	}
}
