package tui

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/parley-chat/parley/internal/api"
)

// refCommands are the commands that name a message as their first
// argument: by the number shown beside it while such a command is typed,
// or by the start of its ID (as /get takes it).
var refCommands = map[string]bool{"/reply": true, "/thread": true, "/edit": true, "/delete": true, "/react": true}

// maxRefs is how many messages get a number (the newest): "#9999" still
// fits where the time stands.
const maxRefs = 9999

// refSnapshot numbers the messages shown, newest first (1 is the newest),
// as they were when a command that names one began to be typed: a
// message arriving meanwhile shifts no number.
type refSnapshot struct {
	ids []string       // newest first
	num map[string]int // by ID
}

// syncRefs shows message numbers while the composer holds a command that
// names a message, and hides them otherwise.
func (m *Model) syncRefs() {
	value := m.input.Value()
	name, _, hasArgs := strings.Cut(value, " ")
	if !hasArgs || !refCommands[name] {
		m.refs = nil
		return
	}
	if m.refs == nil || len(m.refs.ids) == 0 {
		// Numbered afresh while there was nothing to number (the
		// conversation or thread was still loading).
		m.refs = m.numberShown()
	}
}

// numberShown numbers the text messages of the open conversation (or
// thread), newest first.
func (m *Model) numberShown() *refSnapshot {
	msgs := m.shownMsgs()
	r := &refSnapshot{num: map[string]int{}}
	for i := len(msgs) - 1; i >= 0 && len(r.ids) < maxRefs; i-- {
		if msgs[i].Kind != "text" {
			continue
		}
		r.ids = append(r.ids, msgs[i].ID)
		r.num[msgs[i].ID] = len(r.ids)
	}
	return r
}

// refNumber is the number shown beside a message, or 0.
func (m *Model) refNumber(id string) int {
	if m.refs == nil {
		return 0
	}
	return m.refs.num[id]
}

// shownMsgs are the messages on screen: the open thread's, else the open
// conversation's.
func (m *Model) shownMsgs() []api.Message {
	if m.thread != nil {
		return m.thread.msgs
	}
	if t := m.tl[m.cur]; t != nil {
		return t.msgs
	}
	return nil
}

// resolveRef finds the message a command names: a number as shown
// beside the messages (1: the newest), else the start of an ID.
func (m *Model) resolveRef(ref string) (api.Message, error) {
	ref = strings.TrimPrefix(ref, "#")
	if n, err := strconv.Atoi(ref); err == nil && len(ref) <= 4 && n > 0 {
		refs := m.refs
		if refs == nil {
			refs = m.numberShown()
		}
		if n <= len(refs.ids) {
			if msg := m.loadedMessage(refs.ids[n-1]); msg != nil {
				return *msg, nil
			}
		}
	}
	msg, err := m.findByPrefix(ref, func(msg *api.Message) bool { return msg.Kind == "text" })
	if err != nil {
		return api.Message{}, fmt.Errorf("no message %s here: name one by the number shown beside it, or the start of its ID", ref)
	}
	return *msg, nil
}

// loadedMessage finds a loaded message by its ID: in the open thread, or
// any loaded timeline.
func (m *Model) loadedMessage(id string) *api.Message {
	if m.thread != nil {
		for i := range m.thread.msgs {
			if m.thread.msgs[i].ID == id {
				return &m.thread.msgs[i]
			}
		}
	}
	for _, t := range m.tl {
		for i := range t.msgs {
			if t.msgs[i].ID == id {
				return &t.msgs[i]
			}
		}
	}
	return nil
}

// errNoPrefix says that no loaded message starts with a prefix.
type errNoPrefix string

func (e errNoPrefix) Error() string { return "no message starts with " + string(e) }

// findByPrefix finds a loaded message that keep accepts by the start of
// its ID: in the open thread first, then the open conversation, then the
// other loaded ones.
func (m *Model) findByPrefix(prefix string, keep func(*api.Message) bool) (*api.Message, error) {
	prefix = strings.ToLower(prefix)
	var runs [][]api.Message
	if m.thread != nil {
		runs = append(runs, m.thread.msgs)
	}
	if t := m.tl[m.cur]; t != nil {
		runs = append(runs, t.msgs)
	}
	for conv, t := range m.tl {
		if conv != m.cur {
			runs = append(runs, t.msgs)
		}
	}
	for _, msgs := range runs {
		var found []*api.Message
		for i := range msgs {
			if strings.HasPrefix(msgs[i].ID, prefix) && keep(&msgs[i]) {
				found = append(found, &msgs[i])
			}
		}
		switch len(found) {
		case 0:
			continue
		case 1:
			return found[0], nil
		}
		return nil, fmt.Errorf("%d messages start with %s: give more of the ID", len(found), prefix)
	}
	return nil, errNoPrefix(prefix)
}
