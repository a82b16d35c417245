package chat_test

import (
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley/chat"
)

// manualClock is a wall clock the test moves by hand.
type manualClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *manualClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *manualClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

var hlcEpoch = time.Date(2025, 3, 14, 15, 9, 26, 535_000_000, time.UTC)

func TestHLCFromTime(t *testing.T) {
	tests := []struct {
		wall time.Time
		want chat.HLC
	}{
		{time.UnixMilli(0), 0},
		{time.UnixMilli(1), 1 << 16},
		{hlcEpoch, chat.HLC(hlcEpoch.UnixMilli()) << 16},
		{hlcEpoch.Add(999 * time.Microsecond), chat.HLC(hlcEpoch.UnixMilli()) << 16}, // below a millisecond is dropped
	}
	for _, tt := range tests {
		h := chat.HLCFromTime(tt.wall)
		if h != tt.want {
			t.Errorf("HLCFromTime(%v): got %d, want %d", tt.wall, h, tt.want)
		}
		if got, want := h.Time(), tt.wall.Truncate(time.Millisecond).UTC(); !got.Equal(want) {
			t.Errorf("HLCFromTime(%v).Time(): got %v, want %v", tt.wall, got, want)
		}
	}
	// The logical counter does not show in the wall time.
	if got, want := (chat.HLCFromTime(hlcEpoch) + 0xffff).Time(), hlcEpoch; !got.Equal(want) {
		t.Errorf("Time with a full counter: got %v, want %v", got, want)
	}
}

func TestClockNow(t *testing.T) {
	tests := []struct {
		name  string
		walls []time.Duration // wall clock after hlcEpoch at each reading
	}{
		{"wall clock moving on", []time.Duration{0, time.Millisecond, 2 * time.Millisecond, time.Second}},
		{"wall clock standing still", []time.Duration{0, 0, 0, 0, 0}},
		{"wall clock going back", []time.Duration{time.Second, 0, -time.Hour, 500 * time.Millisecond, time.Second}},
		{"sub-millisecond steps", []time.Duration{0, time.Microsecond, 999 * time.Microsecond, time.Millisecond}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wall := &manualClock{}
			c := chat.NewClock(wall.now)
			var prev chat.HLC
			for i, d := range tt.walls {
				wall.set(hlcEpoch.Add(d))
				h := c.Now()
				if h <= prev {
					t.Fatalf("reading %d: got %d, want more than %d", i, h, prev)
				}
				if floor := chat.HLCFromTime(wall.now()); h < floor {
					t.Errorf("reading %d: got %d, want at least the wall clock %d", i, h, floor)
				}
				prev = h
			}
		})
	}
}

func TestClockObserve(t *testing.T) {
	wall := &manualClock{t: hlcEpoch}
	c := chat.NewClock(wall.now)
	first := c.Now()

	// A reading from an hour in the future: every later reading is larger.
	future := chat.HLCFromTime(hlcEpoch.Add(time.Hour)) + 7
	c.Observe(future)
	if got := c.Now(); got <= future {
		t.Errorf("after observing a future reading: got %d, want more than %d", got, future)
	}

	// A reading from the past changes nothing.
	c2 := chat.NewClock(wall.now)
	a := c2.Now()
	c2.Observe(first - 100)
	if b := c2.Now(); b != a+1 {
		t.Errorf("after observing a past reading: got %d, want %d", b, a+1)
	}
}

func TestClockCounterOverflow(t *testing.T) {
	// More readings within one millisecond than the 16-bit counter holds:
	// they spill into the next millisecond and keep increasing.
	wall := &manualClock{t: hlcEpoch}
	c := chat.NewClock(wall.now)
	const n = 1<<16 + 10
	prev := c.Now()
	for i := 1; i < n; i++ {
		h := c.Now()
		if h <= prev {
			t.Fatalf("reading %d: got %d, want more than %d", i, h, prev)
		}
		prev = h
	}
	if got, want := prev.Time(), hlcEpoch.Add(time.Millisecond); !got.Equal(want) {
		t.Errorf("last reading's wall time: got %v, want %v", got, want)
	}
	// When the wall clock catches up, readings still increase.
	wall.set(hlcEpoch.Add(time.Millisecond))
	if h := c.Now(); h <= prev {
		t.Errorf("after the wall clock caught up: got %d, want more than %d", h, prev)
	}
}

func TestClockConcurrent(t *testing.T) {
	wall := &manualClock{t: hlcEpoch}
	c := chat.NewClock(wall.now)
	const goroutines, each = 8, 1000
	readings := make([][]chat.HLC, goroutines)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for range each {
				readings[g] = append(readings[g], c.Now())
			}
		})
	}
	wg.Wait()
	seen := make(map[chat.HLC]bool, goroutines*each)
	for g, rs := range readings {
		for i, h := range rs {
			if seen[h] {
				t.Fatalf("reading %d of goroutine %d: %d was issued twice", i, g, h)
			}
			seen[h] = true
			if i > 0 && h <= rs[i-1] {
				t.Fatalf("goroutine %d, reading %d: got %d after %d", g, i, h, rs[i-1])
			}
		}
	}
}

func TestClockTooFarAhead(t *testing.T) {
	wall := &manualClock{t: hlcEpoch}
	c := chat.NewClock(wall.now)
	const skew = time.Hour
	tests := []struct {
		name string
		h    chat.HLC
		want bool
	}{
		{"now", chat.HLCFromTime(hlcEpoch), false},
		{"long ago", chat.HLCFromTime(hlcEpoch.Add(-24 * 365 * time.Hour)), false},
		{"zero", 0, false},
		{"within the skew", chat.HLCFromTime(hlcEpoch.Add(skew - time.Millisecond)), false},
		{"exactly the skew", chat.HLCFromTime(hlcEpoch.Add(skew)) + 0xffff, false},
		{"just past the skew", chat.HLCFromTime(hlcEpoch.Add(skew + time.Millisecond)), true},
		{"far future", chat.HLCFromTime(hlcEpoch.Add(1000 * time.Hour)), true},
		{"largest reading", ^chat.HLC(0), true},
	}
	for _, tt := range tests {
		if got := c.TooFarAhead(tt.h, skew); got != tt.want {
			t.Errorf("%s: TooFarAhead(%d): got %v, want %v", tt.name, tt.h, got, tt.want)
		}
	}
}
