package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/testnet"
)

// roomView is what history --json says of a room, reduced to what every
// member must agree on: ids, texts, edited and deleted flags, reply
// counts, reactions (emoji and who) and mentions.
func roomView(t *testing.T, d *testnet.Daemon, room string) string {
	t.Helper()
	out := d.MustRun("history", "#"+room, "--json", "--keep-unread", "--limit", "1000")
	var ms []map[string]any
	if err := json.Unmarshal([]byte(out), &ms); err != nil {
		t.Fatalf("%s: history --json: %v", d.Name, err)
	}
	var b strings.Builder
	for _, m := range ms {
		var reacts []string
		for _, r := range m["reactions"].([]any) {
			r := r.(map[string]any)
			var by []string
			for _, p := range r["by"].([]any) {
				by = append(by, p.(string)[:12])
			}
			slices.Sort(by)
			reacts = append(reacts, fmt.Sprint(r["emoji"], by))
		}
		slices.Sort(reacts)
		fmt.Fprintf(&b, "%.8s %q edited=%v deleted=%v replies=%v reactions=%v mentions=%v\n",
			m["id"], m["text"], m["edited"], m["deleted"], m["replies"], reacts, len(m["mentions"].([]any)))
	}
	return b.String()
}

// TestRelationsContract drives reply, edit, delete and react through the
// built binary on three daemons on loopback: concurrent edits and
// reactions, a delete racing an edit, a thread, a daemon stopped in the
// middle (a partition) and started again; every daemon ends with the same
// history, and the contract's fields and exit codes hold.
func TestRelationsContract(t *testing.T) {
	const room = "team"
	names := []string{"ann", "bob", "cat"}
	ds := make([]*testnet.Daemon, len(names))
	for i, n := range names {
		ds[i] = testnet.NewDaemon(t, n)
		ds[i].Start(loopbackListen...)
	}
	ann, bob, cat := ds[0], ds[1], ds[2]
	for i, d := range ds {
		for _, other := range ds[i+1:] {
			d.MustRun("connect", other.Identity().Addrs[0])
		}
		d.MustRun("join", "#"+room)
	}
	waitUntil(t, 30*time.Second, "every daemon in #team with the others", func() bool {
		for _, d := range ds {
			if roomMembers(t, d, room) != len(ds) {
				return false
			}
		}
		return true
	})
	plan := sendRoom(t, ann, room, "the plan: ship friday, @bob please check")
	doomed := sendRoom(t, ann, room, "to be deleted")
	waitUntil(t, 30*time.Second, "both messages everywhere", func() bool { return sameRoomHistory(t, ds, room, 2) })

	// Another's message: edit and delete exit 1 and say why.
	for _, args := range [][]string{{"edit", plan, "bob's words"}, {"delete", plan}} {
		r := bob.Run(args...)
		if r.Code != 1 || !strings.Contains(r.Stderr, "not your message") {
			t.Errorf("bob: parley %s: exit %d, stderr %q; want 1 and why", args[0], r.Code, r.Stderr)
		}
	}

	// At once: edits, a delete racing an edit, reactions, thread replies.
	var wg sync.WaitGroup
	run := func(d *testnet.Daemon, args ...string) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out := strings.TrimSpace(d.MustRun(args...))
			if !messageID.MatchString(out) {
				t.Errorf("%s: parley %s printed %q, want a message ID", d.Name, args[0], out)
			}
		}()
	}
	run(ann, "edit", plan, "the plan: ship thursday, @bob please check")
	wg.Add(1)
	go func() { // races the delete: either is first
		defer wg.Done()
		r := ann.Run("edit", doomed, "edited while deleted")
		if r.Code != 0 && (r.Code != 1 || !strings.Contains(r.Stderr, "was deleted")) {
			t.Errorf("ann: edit racing the delete: exit %d, %q", r.Code, r.Stderr)
		}
	}()
	run(ann, "delete", doomed)
	for _, d := range ds {
		run(d, "react", plan, "👍")
	}
	run(bob, "reply", plan, "checked, thursday works", "--thread")
	run(cat, "reply", plan, "me too", "--thread", "--also-room")
	run(bob, "reply", plan, "a quote reply")
	wg.Wait()

	// A partition: cat stops; ann and bob go on; cat comes back.
	cat.Stop()
	ann.MustRun("edit", plan, "the plan: ship thursday 10:00, @bob please check")
	bob.MustRun("react", plan, "👍") // taken back
	late := sendRoom(t, bob, room, "posted and deleted while cat was away")
	bob.MustRun("delete", late)
	cat.Start(loopbackListen...)
	for _, d := range []*testnet.Daemon{ann, bob} {
		cat.MustRun("connect", d.Identity().Addrs[0])
	}
	var views []string
	waitOrDump(t, 60*time.Second, "every daemon showing the same history", func() bool {
		views = views[:0]
		for _, d := range ds {
			views = append(views, roomView(t, d, room))
		}
		return views[0] == views[1] && views[1] == views[2] && strings.Contains(views[0], "10:00")
	}, func() string { return strings.Join(views, "\n") })
	v := views[0]
	for _, want := range []string{
		fmt.Sprintf("%.8s %q edited=true deleted=false replies=2", plan, "the plan: ship thursday 10:00, @bob please check"),
		fmt.Sprintf("%.8s \"\" edited=false deleted=true", doomed),
		fmt.Sprintf("%.8s \"\" edited=false deleted=true", late),
		"mentions=1",
		`"me too"`,
		`"a quote reply"`,
	} {
		if !strings.Contains(v, want) {
			t.Errorf("history: want %s in\n%s", want, v)
		}
	}
	if strings.Contains(v, "checked, thursday works") {
		t.Errorf("a thread-only reply is in the room's history:\n%s", v)
	}

	// The thread, and the raw fields of the contract.
	var thread []map[string]any
	cat.RunJSON(&thread, "history", "#"+room, "--thread", plan, "--json")
	if len(thread) != 3 || thread[0]["id"] != plan || thread[1]["thread"] != plan || thread[1]["reply_to"] != plan {
		t.Errorf("history --thread: got %v, want the root and its two replies", thread)
	}
	var msgs []map[string]any
	cat.RunJSON(&msgs, "history", "#"+room, "--json", "--keep-unread")
	for _, m := range msgs {
		if m["id"] != plan {
			continue
		}
		rs := m["reactions"].([]any)
		if len(rs) != 1 || rs[0].(map[string]any)["emoji"] != "👍" || len(rs[0].(map[string]any)["by"].([]any)) != 2 {
			t.Errorf("plan's reactions: got %v, want 👍 by ann and cat (bob took his back)", rs)
		}
		if ms := m["mentions"].([]any); len(ms) != 1 || ms[0] != bob.Identity().PeerID {
			t.Errorf("plan's mentions: got %v, want bob's peer ID", ms)
		}
		if vs, _ := m["versions"].([]any); len(vs) != 2 {
			t.Errorf("plan's earlier versions: got %d, want 2 (the original and the first edit)", len(vs))
		}
	}
	// Toggling: react prints an ID both times; the second takes it back.
	if r := cat.Run("react", plan, "🎉"); r.Code != 0 {
		t.Errorf("react: exit %d %q", r.Code, r.Stderr)
	}
	if r := cat.Run("react", "not-an-id", "🎉"); r.Code != 2 {
		t.Errorf("react with a bad ID: exit %d, want 2", r.Code)
	}

	// Search follows edits and deletes on every daemon.
	for _, d := range ds {
		var hits []map[string]any
		d.RunJSON(&hits, "search", "thursday", "--in", "#"+room, "--json")
		if !slices.ContainsFunc(hits, func(h map[string]any) bool { return h["id"] == plan && strings.Contains(h["text"].(string), "10:00") }) {
			t.Errorf("%s: search thursday: got %v, want the edited plan with its new text", d.Name, hits)
		}
		for _, q := range []string{"friday", `"posted and deleted"`, `"to be deleted"`} {
			d.RunJSON(&hits, "search", q, "--json")
			if len(hits) != 0 {
				t.Errorf("%s: search %s: got %v, want nothing (edited away or deleted)", d.Name, q, hits)
			}
		}
	}

	// Read receipts: bob reads the room; ann's plan shows him among those
	// who saw it.
	bob.MustRun("history", "#"+room)
	waitOrDump(t, 30*time.Second, "ann to show bob has seen the plan", func() bool {
		var ms []map[string]any
		ann.RunJSON(&ms, "history", "#"+room, "--json", "--keep-unread")
		for _, m := range ms {
			if seen, _ := m["seen_by"].([]any); m["id"] == plan && slices.Contains(seen, any(bob.Identity().PeerID)) {
				return true
			}
		}
		return false
	}, func() string { return ann.MustRun("history", "#"+room, "--json", "--keep-unread") })

	// Export: the whole room, threads and edits in it, deleted texts not.
	out := cat.MustRun("export", "#"+room, "--format", "json")
	var ex struct {
		Conversation string `json:"conversation"`
		Messages     []struct {
			ID            string           `json:"id"`
			Text          string           `json:"text"`
			Edited        bool             `json:"edited"`
			Deleted       bool             `json:"deleted"`
			Versions      []map[string]any `json:"versions"`
			ThreadReplies []map[string]any `json:"thread_replies"`
		} `json:"messages"`
	}
	if err := json.Unmarshal([]byte(out), &ex); err != nil {
		t.Fatalf("export --format json: %v\n%s", err, out)
	}
	found := 0
	for _, m := range ex.Messages {
		switch m.ID {
		case plan:
			found++
			if !m.Edited || len(m.Versions) != 2 || len(m.ThreadReplies) != 2 ||
				!slices.ContainsFunc(m.ThreadReplies, func(r map[string]any) bool { return r["text"] == "checked, thursday works" }) {
				t.Errorf("export: plan: edited=%v versions=%d thread=%v", m.Edited, len(m.Versions), m.ThreadReplies)
			}
		case doomed, late:
			found++
			if !m.Deleted || m.Text != "" {
				t.Errorf("export: a deleted message: %+v", m)
			}
		}
	}
	if found != 3 || ex.Conversation != "room:"+room {
		t.Errorf("export: found %d of plan, doomed and late in %q", found, ex.Conversation)
	}
	for _, gone := range []string{"to be deleted", "posted and deleted", "edited while deleted"} {
		if strings.Contains(out, gone) {
			t.Errorf("export holds deleted text %q", gone)
		}
	}
	md := filepath.Join(t.TempDir(), "room.md")
	cat.MustRun("export", "#"+room, "--format", "md", "--out", md)
	b, err := os.ReadFile(md)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"# \\#" + room, "Thread: 2 replies", "> checked, thursday works", "*(edited)*", "message deleted", "the plan: ship thursday 10:00"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("export --format md: want %q in\n%s", want, b)
		}
	}
	if r := cat.Run("export", "#"+room, "--format", "md", "--out", md); r.Code != 1 || !strings.Contains(r.Stderr, "not overwriting") {
		t.Errorf("export over an existing file: exit %d %q, want 1 and a reason", r.Code, r.Stderr)
	}
	if r := cat.Run("export", "#"+room, "--format", "pdf"); r.Code != 2 {
		t.Errorf("export --format pdf: exit %d, want 2", r.Code)
	}
}
