package chat

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// RetentionForever, as a room's retention, keeps the room's whole history
// whatever the node's default.
const RetentionForever time.Duration = -1

// ParseRetention reads how long history is kept: "90d", "2w", "36h",
// "30m" (any Go duration, plus d for days and w for weeks), "forever" or
// "0" for no limit (RetentionForever), or "" or "default" for the node's
// default (0).
func ParseRetention(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	switch s {
	case "", "default":
		return 0, nil
	case "0", "forever":
		return RetentionForever, nil
	}
	for unit, d := range map[string]time.Duration{"d": 24 * time.Hour, "w": 7 * 24 * time.Hour} {
		if n, ok := strings.CutSuffix(s, unit); ok {
			v, err := strconv.ParseFloat(n, 64)
			if err != nil || v <= 0 || v > 100*365 {
				return 0, fmt.Errorf("%w: retention %q: want a positive number of days (90d) or weeks (2w), or a duration like 36h", ErrInvalid, s)
			}
			return time.Duration(v * float64(d)), nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%w: retention %q: want a number of days (90d), weeks (2w), a duration like 36h, or forever", ErrInvalid, s)
	}
	return d, nil
}

// FormatRetention writes a retention as ParseRetention reads it: whole
// days as "90d", anything else as a Go duration, no limit (0 or
// RetentionForever) as "forever".
func FormatRetention(d time.Duration) string {
	switch {
	case d <= 0:
		return "forever"
	case d%(24*time.Hour) == 0:
		return strconv.FormatInt(int64(d/(24*time.Hour)), 10) + "d"
	}
	return d.String()
}
