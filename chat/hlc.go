package chat

import (
	"sync"
	"time"
)

// HLC is a hybrid logical clock reading: milliseconds since the Unix epoch
// in the high 48 bits and a logical counter in the low 16. Readings from one
// clock strictly increase, and a clock that has observed a reading only
// produces larger ones, so (HLC, ID) orders a conversation the same way on
// every node whatever their wall clocks say.
type HLC uint64

const hlcLogicalBits = 16

// HLCFromTime returns the first reading at wall time t.
func HLCFromTime(t time.Time) HLC { return HLC(uint64(t.UnixMilli()) << hlcLogicalBits) }

// Time returns the wall-clock part of h.
func (h HLC) Time() time.Time { return time.UnixMilli(int64(h >> hlcLogicalBits)).UTC() }

// Clock issues HLC readings.
type Clock struct {
	now func() time.Time

	mu   sync.Mutex
	last HLC
}

// NewClock returns a clock over the wall clock now (time.Now in production).
func NewClock(now func() time.Time) *Clock { return &Clock{now: now} }

// Now returns a reading larger than every earlier reading and every
// observed one.
func (c *Clock) Now() HLC {
	wall := HLCFromTime(c.now())
	c.mu.Lock()
	defer c.mu.Unlock()
	if wall > c.last {
		c.last = wall
	} else {
		c.last++
	}
	return c.last
}

// Observe folds a reading from another node into the clock.
func (c *Clock) Observe(h HLC) {
	c.mu.Lock()
	if h > c.last {
		c.last = h
	}
	c.mu.Unlock()
}

// TooFarAhead reports whether h is more than skew ahead of the local wall clock.
func (c *Clock) TooFarAhead(h HLC, skew time.Duration) bool {
	return h.Time().After(c.now().Add(skew))
}
