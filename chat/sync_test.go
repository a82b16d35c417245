package chat

import (
	"bytes"
	"context"
	"crypto/ed25519"
	crand "crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/parley-chat/parley/crypto"
	"github.com/parley-chat/parley/internal/wire"
)

// This file tests history sync (/parley/sync/1.0.0) without a network:
// the reconciler between two item sets through an in-memory driver that
// takes the turns the way syncSession does, and whole sessions between
// two Services (SyncRoomWith against handleSync) over in-memory pipes,
// with a map for a store and rooms that have no pubsub behind them.

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

// syncRun is what an in-memory session between two reconcilers did.
type syncRun struct {
	sent     [2][]MessageID // messages each side sent: [0] the opener's, [1] the server's
	turns    int            // turns after the opener's first frame, the last (empty) one included
	frames   []int          // size on the wire of every frame, messages left out
	bytes    int            // their sum, the opener's first frame included
	maxFrame int
}

// runSync reconciles the opener's items with the server's the way
// serveSync and syncSession do: the server describes its window, then the
// sides take turns until one has nothing to answer. Every frame goes
// through the wire encoding. It fails the test on a protocol error or a
// session that does not end.
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
		return &out
	}
	wireRoundTrip(&wire.SyncFrame{Room: "lobby", Since: uint64(opener0(opener, server))})
	run.frames = run.frames[:0] // the hello is counted in bytes only
	recs := [2]*reconciler{newReconciler(opener), newReconciler(server)}
	ranges := []*wire.SyncRange{{Payload: &wire.SyncRange_Ids{Ids: &wire.IdList{}}}}
	if len(server) > 0 {
		ranges = describe(server, infinity)
	}
	in := wireRoundTrip(&wire.SyncFrame{WindowStart: uint64(opener0(opener, server)), Ranges: ranges})
	run.turns = 1
	for side := 0; len(in.Ranges) > 0 || len(in.Want) > 0; side = 1 - side {
		if run.turns > 100 {
			t.Fatalf("session still going after %d turns", run.turns)
		}
		rec := recs[side]
		rec.give, rec.want = rec.give[:0], rec.want[:0]
		out, err := rec.answer(in.Ranges)
		if err != nil {
			t.Fatalf("turn %d: %v", run.turns+1, err)
		}
		ids := append(rec.resolve(in.Want), rec.give...)
		run.sent[side] = append(run.sent[side], ids...)
		in = wireRoundTrip(&wire.SyncFrame{Ranges: out, Want: rec.want})
		run.turns++
	}
	return run
}

// opener0 is a window start below every item.
func opener0(sets ...[]Cursor) HLC {
	lo := HLC(math.MaxUint64)
	for _, s := range sets {
		if len(s) > 0 {
			lo = min(lo, s[0].HLC)
		}
	}
	if lo == math.MaxUint64 {
		return 1
	}
	return lo
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
		common := rng.IntN(3000)
		onlyA, onlyB := rng.IntN(60), rng.IntN(60)
		switch rng.IntN(5) {
		case 0:
			onlyA = rng.IntN(2000)
		case 1:
			onlyB = rng.IntN(2000)
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
	for _, n := range []int{0, 1, 2, syncListMax, syncListMax + 1, 100, 1000, 10000} {
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
	for _, n := range []int{1, syncListMax, syncListMax + 1, 1000, 10000} {
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
		{"two HLCs, shared prefixes", 2, syncPrefixLen - 1, 5000, 100, 3},
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

// TestSyncReconcileBytes measures the reconciliation traffic for a
// 10,000-message window that differs in 1%, without the messages
// themselves: it must be a small fraction of sending the history (here
// only its IDs, 32 bytes each).
func TestSyncReconcileBytes(t *testing.T) {
	const total, differ = 10000, 100
	const budget = 64 << 10
	historyIDs := total * len(MessageID{})
	for _, tc := range []struct {
		name         string
		onlyA, onlyB int
	}{
		{"server lacks 100", differ, 0},
		{"opener lacks 100", 0, differ},
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

// TestSyncResolveRepeatedWants: a want is a request for a message. A peer
// that names the same prefix maxSyncWants times in one turn must get the
// message once, not maxSyncWants copies: today resolve returns one ID per
// want, syncMessages loads each copy and sendTurn writes them all, so
// about 160 KB of wants buy up to 16384 x 60 KiB (close to 1 GiB) of
// memory and upload on the serving node.
func TestSyncResolveRepeatedWants(t *testing.T) {
	items := newSyncItemGen(5, 1<<30, 0).items(10)
	slices.SortFunc(items, compareCursors)
	rec := newReconciler(items)
	k := prefixOf(items[4].ID)
	want := make([][]byte, maxSyncWants)
	for i := range want {
		want[i] = k[:]
	}
	got := rec.resolve(want)
	if len(got) != 1 {
		t.Fatalf("resolve of %d wants of one prefix: got %d IDs, want 1 (chat/sync.go resolve does not deduplicate)", len(want), len(got))
	}
}

// TestSyncAnswerRejectsUnorderedBounds: ranges cover the window in order,
// so their bounds strictly increase. answer does not check it: a range
// whose bound goes back makes the next range start again from there, and
// a frame alternating a low and a high bound makes every second range
// cover (almost) the whole window, to be fingerprinted and split again. A
// few hundred KB of ranges then cost seconds of CPU instead of one pass
// over the window (measured: maxSyncRanges such ranges, 480 KB, over
// 10,000 items take about 2 s; as many ordered ranges take 8 ms).
func TestSyncAnswerRejectsUnorderedBounds(t *testing.T) {
	items := newSyncItemGen(6, 1<<30, 0).items(10000)
	slices.SortFunc(items, compareCursors)
	low, high := uint64(items[0].HLC), uint64(items[len(items)-1].HLC)+1
	fp := &wire.SyncRange_Fingerprint{Fingerprint: make([]byte, 16)}
	alternating := make([]*wire.SyncRange, 0, 500)
	for i := range cap(alternating) {
		upper := high
		if i%2 == 1 {
			upper = low
		}
		alternating = append(alternating, &wire.SyncRange{UpperHlc: upper, Payload: fp})
	}
	size := proto.Size(&wire.SyncFrame{Ranges: alternating})
	start := time.Now()
	_, err := newReconciler(items).answer(alternating)
	took := time.Since(start)
	t.Logf("%d alternating ranges (%d bytes) over %d items: answer took %v, err %v", len(alternating), size, len(items), took, err)
	if !errors.Is(err, errSyncProtocol) {
		t.Fatalf("got %v, want errSyncProtocol for bounds that go back (chat/sync.go answer does not check the order of bounds)", err)
	}
}

// ---- sessions between two Services ----

// syncTestStore is the part of a Store that sync uses, in a map. Items may
// be bare positions (no message behind them): reconciliation never needs
// the message of an item both sides hold, and misses counts the lookups
// of one that is not there.
type syncTestStore struct {
	Store // nil: the methods sync does not use are not implemented

	mu     sync.Mutex
	items  map[MessageID]Cursor
	msgs   map[MessageID]*Message
	misses int
}

func newSyncTestStore() *syncTestStore {
	return &syncTestStore{items: make(map[MessageID]Cursor), msgs: make(map[MessageID]*Message)}
}

func (s *syncTestStore) Peers() ([]Peer, error) { return nil, nil }

func (s *syncTestStore) SyncItems(_ Conversation, since HLC) ([]Cursor, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Cursor
	for _, c := range s.items {
		if c.HLC >= since {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, compareCursors)
	return out, nil
}

func (s *syncTestStore) Message(id MessageID) (*Message, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.msgs[id]
	if !ok {
		s.misses++
		return nil, ErrNotFound
	}
	return m, nil
}

func (s *syncTestStore) Has(id MessageID) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.items[id]
	return ok, nil
}

func (s *syncTestStore) AddMessages(ms []*Message) ([]bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	added := make([]bool, len(ms))
	for i, m := range ms {
		if _, ok := s.items[m.ID]; ok {
			continue
		}
		s.items[m.ID] = CursorOf(m)
		s.msgs[m.ID] = m
		added[i] = true
	}
	return added, nil
}

// addBare adds positions with no message behind them.
func (s *syncTestStore) addBare(cs []Cursor) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range cs {
		s.items[c.ID] = c
	}
}

func (s *syncTestStore) holds(id MessageID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.msgs[id]
	return ok
}

func (s *syncTestStore) missed() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.misses
}

// syncTestNet connects Services' sync handlers with in-memory pipes.
type syncTestNet struct {
	mu       sync.Mutex
	handlers map[PeerID]StreamHandler
	wg       sync.WaitGroup // running handlers
}

func newSyncTestNet(t testing.TB) *syncTestNet {
	n := &syncTestNet{handlers: make(map[PeerID]StreamHandler)}
	t.Cleanup(n.wg.Wait)
	return n
}

// serve answers sync streams to p with h.
func (n *syncTestNet) serve(p PeerID, h StreamHandler) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.handlers[p] = h
}

// syncTestTransport is one node's Transport on a syncTestNet: it opens
// sync streams and nothing else.
type syncTestTransport struct {
	Transport // nil: only what Service.New, SyncRoomWith and Close use is implemented
	net       *syncTestNet
	self      PeerID
}

func (tr *syncTestTransport) Self() PeerID                  { return tr.self }
func (tr *syncTestTransport) RemoveStreamHandler(string)    {}
func (tr *syncTestTransport) AddPeerAddrs(PeerID, []string) {}

func (tr *syncTestTransport) OpenStream(ctx context.Context, p PeerID, protocol string) (Stream, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	tr.net.mu.Lock()
	h := tr.net.handlers[p]
	tr.net.mu.Unlock()
	if h == nil || protocol != SyncProtocol {
		return nil, fmt.Errorf("%s does not serve %s", p.Short(), protocol)
	}
	local, remote := net.Pipe()
	tr.net.wg.Add(1)
	go func() {
		defer tr.net.wg.Done()
		h(tr.self, pipeStream{remote})
	}()
	return pipeStream{local}, nil
}

// pipeStream is a Stream over one end of net.Pipe; Reset closes it.
type pipeStream struct{ net.Conn }

func (s pipeStream) Reset() error { return s.Close() }

// syncTestTopic is a room's topic with no pubsub behind it.
type syncTestTopic struct{ Topic }

func (syncTestTopic) Close() error { return nil }

// syncTestNode is a Service with one joined room and a map store,
// serving sync on a syncTestNet; its room runs no goroutines.
type syncTestNode struct {
	id    *crypto.Identity
	store *syncTestStore
	svc   *Service
}

const syncTestRoom = "lobby"

func newSyncTestNode(t testing.TB, n *syncTestNet, cfg Config) *syncTestNode {
	t.Helper()
	id, err := crypto.NewIdentity(crand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return newSyncTestNodeWith(t, n, id, cfg)
}

func newSyncTestNodeWith(t testing.TB, n *syncTestNet, id *crypto.Identity, cfg Config) *syncTestNode {
	t.Helper()
	st := newSyncTestStore()
	cfg.Identity, cfg.Store = id, st
	cfg.Transport = &syncTestTransport{net: n, self: id.PeerID()}
	svc, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(svc.ctx)
	r := &room{
		s: svc, name: syncTestRoom, conv: RoomConversation(syncTestRoom), topic: syncTestTopic{},
		ctx: ctx, cancel: cancel,
		pending: make(map[MessageID]*Message), limits: make(map[PeerID]*bucket),
		syncing: make(map[PeerID]bool), lastSynced: make(map[PeerID]time.Time),
	}
	svc.mu.Lock()
	svc.rooms[syncTestRoom] = r
	svc.mu.Unlock()
	n.serve(id.PeerID(), svc.handleSync)
	t.Cleanup(func() { _ = svc.Close() })
	return &syncTestNode{id: id, store: st, svc: svc}
}

// syncTestIdentity is a fixed identity: the same key for every seed byte.
func syncTestIdentity(t testing.TB, seed byte) *crypto.Identity {
	t.Helper()
	return crypto.IdentityFromKey(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize)))
}

// pubsubSigned is what a GossipSub author signs for a message: the
// "libp2p-pubsub:" prefix and the protobuf encoding of {1: from, 2: data,
// 3: seqno, 4: topic}. Written out here on its own so that the tests do
// not check verifyProof against itself.
func pubsubSigned(from PeerID, data, seqno []byte, topic string) []byte {
	b := []byte("libp2p-pubsub:")
	b = protowire.AppendTag(b, 1, protowire.BytesType)
	b = protowire.AppendBytes(b, []byte(from))
	b = protowire.AppendTag(b, 2, protowire.BytesType)
	b = protowire.AppendBytes(b, data)
	b = protowire.AppendTag(b, 3, protowire.BytesType)
	b = protowire.AppendBytes(b, seqno)
	b = protowire.AppendTag(b, 4, protowire.BytesType)
	b = protowire.AppendString(b, topic)
	return b
}

// signedRoomTestMessage returns a room message by author with the proof
// GossipSub would have attached.
func signedRoomTestMessage(t testing.TB, author *crypto.Identity, room string, h HLC, body string, seq uint64) *Message {
	t.Helper()
	m := &Message{Author: author.PeerID(), Room: room, HLC: h, Kind: KindText, Body: body}
	if err := sealEnvelope(m); err != nil {
		t.Fatal(err)
	}
	m.Conversation = RoomConversation(room)
	m.Seqno = binary.BigEndian.AppendUint64(nil, seq)
	m.Signature = author.Sign(pubsubSigned(m.Author, m.Envelope, m.Seqno, RoomTopic(room)))
	m.Status = StatusReceived
	m.ReceivedAt = time.Now()
	return m
}

func TestSyncSessionBetweenServices(t *testing.T) {
	authors := []*crypto.Identity{syncTestIdentity(t, 1), syncTestIdentity(t, 2), syncTestIdentity(t, 3)}
	base := HLCFromTime(time.Now().Add(-2 * time.Hour))
	tests := []struct {
		name                 string
		common, onlyA, onlyB int
		maxBytes             int64 // reconciliation bytes, messages left out; 0: no check
	}{
		{"both empty", 0, 0, 0, 0},
		{"opener empty", 0, 0, 300, 0},
		{"server empty", 0, 300, 0, 0},
		{"identical", 5000, 0, 0, 2 << 10},
		{"disjoint", 0, 400, 500, 0},
		{"10000 with 1% differing", 9900, 50, 50, 64 << 10},
		{"10000, opener lacks 100", 9900, 0, 100, 64 << 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := newSyncTestNet(t)
			opener, server := newSyncTestNode(t, n, Config{}), newSyncTestNode(t, n, Config{})
			g := newSyncItemGen(uint64(tt.common+tt.onlyA+tt.onlyB), 1, 0)
			common := g.items(tt.common)
			for i := range common {
				common[i].HLC = base + HLC(i)<<4
			}
			opener.store.addBare(common)
			server.store.addBare(common)
			var msgBytes int64
			mk := func(n int, who string) []*Message {
				ms := make([]*Message, n)
				for i := range ms {
					h := base + HLC(g.rng.IntN(tt.common+1))<<4 + 1
					ms[i] = signedRoomTestMessage(t, authors[i%len(authors)], syncTestRoom, h, fmt.Sprintf("%s %d", who, i), uint64(i+1))
					rm := &wire.RoomMessage{Envelope: ms[i].Envelope, Seqno: ms[i].Seqno, Signature: ms[i].Signature}
					msgBytes += int64(protowire.SizeBytes(proto.Size(rm)) + 1)
				}
				return ms
			}
			fromA, fromB := mk(tt.onlyA, "a"), mk(tt.onlyB, "b")
			if _, err := opener.store.AddMessages(fromA); err != nil {
				t.Fatal(err)
			}
			if _, err := server.store.AddMessages(fromB); err != nil {
				t.Fatal(err)
			}

			stats, err := opener.svc.SyncRoomWith(t.Context(), syncTestRoom, server.svc.Self())
			if err != nil {
				t.Fatalf("SyncRoomWith: %v", err)
			}
			n.wg.Wait() // the server has stored what the opener sent
			if stats.Received != len(fromB) {
				t.Errorf("received: got %d, want %d", stats.Received, len(fromB))
			}
			for _, m := range fromB {
				if !opener.store.holds(m.ID) {
					t.Fatalf("the opener lacks %s after the sync", m.ID)
				}
			}
			for _, m := range fromA {
				if !server.store.holds(m.ID) {
					t.Fatalf("the server lacks %s after the sync", m.ID)
				}
			}
			if a, b := opener.store.missed(), server.store.missed(); a+b != 0 {
				t.Errorf("lookups of items both sides hold: opener %d, server %d, want none", a, b)
			}
			onWire := stats.BytesIn + stats.BytesOut
			t.Logf("%s: %d bytes in, %d out, %d of them messages (%d); reconciliation %d bytes; took %v",
				tt.name, stats.BytesIn, stats.BytesOut, msgBytes, len(fromA)+len(fromB), onWire-msgBytes, stats.Took)
			if tt.maxBytes > 0 && onWire-msgBytes >= tt.maxBytes {
				t.Errorf("reconciliation took %d bytes, want < %d", onWire-msgBytes, tt.maxBytes)
			}
		})
	}
}

// TestSyncSessionLopsidedWindows: the opener reconciles every item it
// holds from the server's window start, while the server's window is cut
// to its newest SyncMaxMessages. When the opener holds many more items in
// that window (the server was away while the room was busy), the ranges
// multiply: each of the server's small ranges still covers more than
// syncListMax of the opener's items and is split again. With 110,000
// against 10,000 the opener's answer has more than maxSyncRanges ranges
// (the session fails every time), and a little below that a turn's first
// frame, which carries all its ranges, nears the 1 MiB frame cap.
func TestSyncSessionLopsidedWindows(t *testing.T) {
	for _, extra := range []int{20000, 100000} {
		t.Run(fmt.Sprint(extra), func(t *testing.T) {
			n := newSyncTestNet(t)
			opener, server := newSyncTestNode(t, n, Config{}), newSyncTestNode(t, n, Config{})
			g := newSyncItemGen(uint64(extra), 1, 0)
			base := HLCFromTime(time.Now().Add(-time.Hour))
			all := g.items(10000 + extra)
			for i := range all {
				all[i].HLC = base + HLC(i)
			}
			opener.store.addBare(all)
			var some []Cursor
			for i, c := range all {
				if i%(1+extra/10000) == 0 {
					some = append(some, c)
				}
			}
			server.store.addBare(some)
			stats, err := opener.svc.SyncRoomWith(t.Context(), syncTestRoom, server.svc.Self())
			n.wg.Wait()
			t.Logf("opener %d items, server %d: %d bytes in, %d out, err %v", len(all), len(some), stats.BytesIn, stats.BytesOut, err)
			if err != nil {
				t.Fatalf("SyncRoomWith: %v", err)
			}
		})
	}
}

// TestSyncSessionWindowStart: the opener asks for the window since its
// SyncWindow floor and the server's answer fixes the window; a server
// may move the start later (its SyncMaxMessages cut), never earlier.
// Today SyncRoomWith takes window_start as it comes: a peer that answers
// window_start = 1 and an empty ID list gets the opener's whole history
// of the room, every message loaded into memory at once by syncMessages,
// however old and however many.
func TestSyncSessionWindowStart(t *testing.T) {
	n := newSyncTestNet(t)
	opener := newSyncTestNode(t, n, Config{SyncWindow: 24 * time.Hour})
	author := syncTestIdentity(t, 5)
	old := signedRoomTestMessage(t, author, syncTestRoom, HLCFromTime(time.Now().Add(-30*24*time.Hour)), "a month ago", 1)
	recent := signedRoomTestMessage(t, author, syncTestRoom, HLCFromTime(time.Now().Add(-time.Hour)), "an hour ago", 2)
	if _, err := opener.store.AddMessages([]*Message{old, recent}); err != nil {
		t.Fatal(err)
	}
	hostile := syncTestIdentity(t, 9)
	got := make(chan []MessageID, 1)
	n.serve(hostile.PeerID(), func(_ PeerID, st Stream) {
		defer func() { _ = st.Close() }()
		c := newSyncConn(st)
		var ids []MessageID
		defer func() { got <- ids }()
		if _, err := c.recv(); err != nil {
			return
		}
		if err := c.sendTurn(&wire.SyncFrame{WindowStart: 1}, []*wire.SyncRange{{Payload: &wire.SyncRange_Ids{Ids: &wire.IdList{}}}}, nil, nil); err != nil {
			return
		}
		for {
			f, err := c.recv()
			if err != nil {
				return
			}
			for _, m := range f.Messages {
				ids = append(ids, MessageIDOf(m.Envelope))
			}
			if !f.More {
				return
			}
		}
	})
	_, err := opener.svc.SyncRoomWith(t.Context(), syncTestRoom, hostile.PeerID())
	n.wg.Wait()
	sent := <-got
	t.Logf("the opener sent %d messages (err %v)", len(sent), err)
	if slices.Contains(sent, old.ID) {
		t.Fatalf("the opener sent a message 30 days old with a 24-hour SyncWindow: it took window_start 1 from the peer (chat/sync.go SyncRoomWith)")
	}
}

// TestSyncSessionEndlessTurn: a peer that answers a sync with one endless
// turn of messages (frames with more = true) must not make the opener
// read and hold all of it. Today recvTurn appends every frame's messages
// until a frame without more, with no cap (maxSyncRanges and maxSyncWants
// cap only ranges and wants), and syncSession looks at them only then: a
// hostile member can make every node that syncs with it buffer gigabytes
// within the 2-minute session timeout.
func TestSyncSessionEndlessTurn(t *testing.T) {
	const offered = 32 << 20
	n := newSyncTestNet(t)
	opener := newSyncTestNode(t, n, Config{SyncMaxMessages: 100})
	hostile := syncTestIdentity(t, 9)
	var written int64
	n.serve(hostile.PeerID(), func(_ PeerID, st Stream) {
		defer func() { _ = st.Close() }()
		c := newSyncConn(st)
		if _, err := c.recv(); err != nil {
			return
		}
		junk := &wire.RoomMessage{Envelope: bytes.Repeat([]byte{0x0a}, 1000), Seqno: []byte{1}, Signature: make([]byte, 64)}
		batch := make([]*wire.RoomMessage, maxSyncBatch/proto.Size(junk))
		for i := range batch {
			batch[i] = junk
		}
		frame := &wire.SyncFrame{WindowStart: 1, Ranges: []*wire.SyncRange{{Payload: &wire.SyncRange_Ids{Ids: &wire.IdList{}}}}, More: true}
		for written < offered {
			frame.Messages = batch
			b, err := proto.Marshal(frame)
			if err != nil {
				return
			}
			k, err := st.Write(appendFrame(nil, b))
			written += int64(k)
			if err != nil {
				return
			}
			frame = &wire.SyncFrame{More: true}
		}
		frame.More = false
		b, _ := proto.Marshal(frame)
		_, _ = st.Write(appendFrame(nil, b))
	})
	_, err := opener.svc.SyncRoomWith(t.Context(), syncTestRoom, hostile.PeerID())
	n.wg.Wait()
	t.Logf("the peer wrote %d bytes of messages before the opener stopped reading (err %v)", written, err)
	if written > 4<<20 {
		t.Fatalf("the opener read %d bytes of one turn with SyncMaxMessages 100, want at most 4 MiB (chat/sync.go recvTurn has no cap on messages)", written)
	}
}

// ---- fuzzing ----

// fuzzSyncItems is the fixed item set FuzzSyncFrame answers from.
func fuzzSyncItems() []Cursor {
	g := newSyncItemGen(77, 3, 4)
	items := g.items(300)
	slices.SortFunc(items, compareCursors)
	return items
}

// syncFrameSeeds are frames a session really carries.
func syncFrameSeeds(tb testing.TB) map[string][]byte {
	items := fuzzSyncItems()
	other := slices.Clone(items[:250])
	g := newSyncItemGen(78, 3, 4)
	other = sortedUnion(other, g.items(20))
	k := prefixOf(items[7].ID)
	frames := map[string]*wire.SyncFrame{
		"hello":            {Room: "lobby", Since: uint64(items[0].HLC)},
		"first-turn":       {WindowStart: uint64(items[0].HLC), Ranges: describe(other, infinity)},
		"ids":              {Ranges: describe(other[:20], infinity), Want: [][]byte{k[:]}},
		"empty-ids":        {Ranges: []*wire.SyncRange{{Payload: &wire.SyncRange_Ids{Ids: &wire.IdList{}}}}},
		"skip-then-bounds": {Ranges: []*wire.SyncRange{{UpperHlc: uint64(items[100].HLC), UpperId: items[100].ID[:3]}, {UpperHlc: uint64(items[200].HLC), Payload: &wire.SyncRange_Fingerprint{Fingerprint: fingerprint(items[100:200])}}}},
		"long-bound-id":    {Ranges: []*wire.SyncRange{{UpperHlc: 5, UpperId: make([]byte, 33)}}},
		"short-prefix":     {Ranges: []*wire.SyncRange{{Payload: &wire.SyncRange_Ids{Ids: &wire.IdList{Ids: [][]byte{{1, 2, 3}}}}}}},
		"descending":       {Ranges: []*wire.SyncRange{{UpperHlc: uint64(items[299].HLC) + 1, Payload: &wire.SyncRange_Fingerprint{}}, {UpperHlc: uint64(items[0].HLC), Payload: &wire.SyncRange_Fingerprint{}}, {Payload: &wire.SyncRange_Fingerprint{}}}},
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

// FuzzSyncFrame feeds a peer's sync frame to the reconciler: answer its
// ranges and resolve its wants. It must never panic, must fail only with
// errSyncProtocol (always for a bound ID over 32 bytes or an ID prefix
// that is not 8 bytes), and what it returns must hold together.
func FuzzSyncFrame(f *testing.F) {
	for _, b := range syncFrameSeeds(f) {
		f.Add(b)
	}
	items := fuzzSyncItems()
	ours := make(map[MessageID]bool, len(items))
	for _, c := range items {
		ours[c.ID] = true
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var frame wire.SyncFrame
		if err := proto.Unmarshal(data, &frame); err != nil {
			return
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
			if len(rec.want) > maxSyncWants {
				t.Fatalf("%d wants, over %d", len(rec.want), maxSyncWants)
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

// checkSyncedSeeds are the valid signed room messages FuzzCheckSynced
// starts from, by a fixed author: the fuzzer cannot sign, so these are the
// only messages checkSynced may ever accept.
func checkSyncedSeeds(tb testing.TB) []*Message {
	author := syncTestIdentity(tb, 0x42)
	h := HLCFromTime(time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)) // in the past on any clock
	text := signedRoomTestMessage(tb, author, syncTestRoom, h, "hello, lobby", 1)
	join := &Message{Author: author.PeerID(), Room: syncTestRoom, HLC: h + 1, Kind: KindJoin}
	if err := sealEnvelope(join); err != nil {
		tb.Fatal(err)
	}
	join.Seqno = []byte{0, 0, 0, 0, 0, 0, 0, 2}
	join.Signature = author.Sign(pubsubSigned(join.Author, join.Envelope, join.Seqno, RoomTopic(syncTestRoom)))
	return []*Message{text, join}
}

// FuzzCheckSynced feeds arbitrary (envelope, seqno, signature) to
// checkSynced, the check of every message that arrives by sync. It must
// never panic, and accept nothing but the seeds' validly signed messages.
func FuzzCheckSynced(f *testing.F) {
	seeds := checkSyncedSeeds(f)
	valid := make(map[string]bool)
	for _, m := range seeds {
		f.Add(m.Envelope, m.Seqno, m.Signature)
		valid[string(m.Envelope)+"\x00"+string(m.Seqno)+"\x00"+string(m.Signature)] = true
	}
	n := newSyncTestNet(f)
	s := newSyncTestNode(f, n, Config{}).svc
	for _, m := range seeds {
		if _, err := s.checkSynced(syncTestRoom, m.Envelope, m.Seqno, m.Signature); err != nil {
			f.Fatalf("a valid seed is refused: %v", err)
		}
	}
	f.Fuzz(func(t *testing.T, envelope, seqno, signature []byte) {
		env, seq, sig := bytes.Clone(envelope), bytes.Clone(seqno), bytes.Clone(signature)
		m, err := s.checkSynced(syncTestRoom, env, seq, sig)
		if !bytes.Equal(env, envelope) || !bytes.Equal(seq, seqno) || !bytes.Equal(sig, signature) {
			t.Fatal("checkSynced changed its input")
		}
		if err != nil {
			if m != nil {
				t.Fatal("got a message with the error")
			}
			return
		}
		if !valid[string(envelope)+"\x00"+string(seqno)+"\x00"+string(signature)] {
			t.Fatalf("accepted a message that is not a validly signed seed: envelope %x seqno %x signature %x", envelope, seqno, signature)
		}
		pub, ok := m.Author.PublicKey()
		if !ok || !ed25519.Verify(pub, pubsubSigned(m.Author, envelope, seqno, RoomTopic(syncTestRoom)), signature) {
			t.Fatal("accepted a message whose signature does not verify")
		}
		if m.ID != MessageIDOf(envelope) || m.Room != syncTestRoom || !m.Kind.Stored() || m.Status != StatusReceived {
			t.Fatalf("accepted message is not what was sent: %+v", m)
		}
		// The message must own its bytes: the caller reuses its buffers.
		env[0] ^= 0xff
		seq[0] ^= 0xff
		sig[0] ^= 0xff
		if !bytes.Equal(m.Envelope, envelope) || !bytes.Equal(m.Seqno, seqno) || !bytes.Equal(m.Signature, signature) {
			t.Fatal("the accepted message shares the caller's buffers")
		}
	})
}

// TestCheckSynced covers the verdicts on one valid message and its
// mutations.
func TestCheckSynced(t *testing.T) {
	n := newSyncTestNet(t)
	s := newSyncTestNode(t, n, Config{}).svc
	author := syncTestIdentity(t, 0x42)
	other := syncTestIdentity(t, 0x43)
	good := signedRoomTestMessage(t, author, syncTestRoom, HLCFromTime(time.Now().Add(-time.Minute)), "hi", 7)
	future := signedRoomTestMessage(t, author, syncTestRoom, HLCFromTime(time.Now().Add(2*time.Hour)), "later", 8)
	otherRoom := signedRoomTestMessage(t, author, "kitchen", HLCFromTime(time.Now()), "wrong room", 9)
	flip := func(b []byte, i int) []byte { b = bytes.Clone(b); b[i] ^= 1; return b }
	typing := &Message{Author: author.PeerID(), Room: syncTestRoom, HLC: good.HLC, Kind: KindTyping}
	if err := sealEnvelope(typing); err != nil {
		t.Fatal(err)
	}
	typingSig := author.Sign(pubsubSigned(typing.Author, typing.Envelope, good.Seqno, RoomTopic(syncTestRoom)))
	big := signedRoomTestMessage(t, author, syncTestRoom, good.HLC, string(bytes.Repeat([]byte("x"), MaxRoomMessage)), 10)
	tests := []struct {
		name                       string
		envelope, seqno, signature []byte
		ok                         bool
	}{
		{"valid", good.Envelope, good.Seqno, good.Signature, true},
		{"no signature", good.Envelope, good.Seqno, nil, false},
		{"no seqno", good.Envelope, nil, good.Signature, false},
		{"other seqno", good.Envelope, []byte{0, 0, 0, 0, 0, 0, 0, 8}, good.Signature, false},
		{"signature bit flipped", good.Envelope, good.Seqno, flip(good.Signature, 10), false},
		{"short signature", good.Envelope, good.Seqno, good.Signature[:63], false},
		{"signed by someone else", good.Envelope, good.Seqno, other.Sign(pubsubSigned(author.PeerID(), good.Envelope, good.Seqno, RoomTopic(syncTestRoom))), false},
		{"signed for another topic", good.Envelope, good.Seqno, author.Sign(pubsubSigned(author.PeerID(), good.Envelope, good.Seqno, RoomTopic("kitchen"))), false},
		{"envelope changed", flip(good.Envelope, len(good.Envelope)-1), good.Seqno, good.Signature, false},
		{"another room", otherRoom.Envelope, otherRoom.Seqno, otherRoom.Signature, false},
		{"two hours ahead", future.Envelope, future.Seqno, future.Signature, false},
		{"typing is not kept", typing.Envelope, good.Seqno, typingSig, false},
		{"over MaxRoomMessage", big.Envelope, big.Seqno, big.Signature, false},
		{"garbage", []byte("garbage"), good.Seqno, good.Signature, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := s.checkSynced(syncTestRoom, tt.envelope, tt.seqno, tt.signature)
			if got := err == nil; got != tt.ok {
				t.Fatalf("accepted: got %v (err %v), want %v", got, err, tt.ok)
			}
			if tt.ok && (m.ID != good.ID || m.Author != author.PeerID()) {
				t.Fatalf("got message %s by %s, want %s by %s", m.ID, m.Author.Short(), good.ID, author.PeerID().Short())
			}
		})
	}
}
