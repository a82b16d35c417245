package doctor

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

// Check is one line of parley doctor: `--json` prints a list of them.
type Check struct {
	Check  string `json:"check"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
	Fix    string `json:"fix"` // "" when OK
}

func pass(name, detail string) Check { return Check{Check: name, OK: true, Detail: detail} }

func fail(name, detail, fix string) Check {
	return Check{Check: name, Detail: detail, Fix: fix}
}

// Thresholds are the limits the checks warn at.
type Thresholds struct {
	MinFreeBytes   uint64        // disk: fail with less free than this
	MinFreePercent float64       // disk: or less than this share of the disk free
	MaxSkew        time.Duration // clock: fail when a peer's clock is further off
}

// DefaultThresholds: 1 GiB or 5% free disk, two minutes of clock skew.
func DefaultThresholds() Thresholds {
	return Thresholds{MinFreeBytes: 1 << 30, MinFreePercent: 5, MaxSkew: 2 * time.Minute}
}

// Failed counts the checks that failed.
func Failed(cs []Check) int {
	n := 0
	for _, c := range cs {
		if !c.OK {
			n++
		}
	}
	return n
}

// WriteJSON prints the checks as one JSON array.
func WriteJSON(w io.Writer, cs []Check) error {
	if cs == nil {
		cs = []Check{}
	}
	b, err := json.Marshal(cs)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// WriteText prints one line per check, "ok" or "FAIL", and under a
// failed one its fix.
func WriteText(w io.Writer, cs []Check) error {
	var b strings.Builder
	for _, c := range cs {
		mark := "ok  "
		if !c.OK {
			mark = "FAIL"
		}
		fmt.Fprintf(&b, "%s  %s: %s\n", mark, c.Check, c.Detail)
		if !c.OK && c.Fix != "" {
			fmt.Fprintf(&b, "      fix: %s\n", c.Fix)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// NotChecked is a daemon check while no daemon runs.
func NotChecked(name, startCmd string) Check {
	return fail(name, "not checked: the daemon is not running", "start it: "+startCmd)
}
