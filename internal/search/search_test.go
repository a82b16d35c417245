package search

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/parley-chat/parley/chat"
)

var (
	alice = chat.PeerID("alice-peer")
	bob   = chat.PeerID("bob-peer")
	ops   = chat.RoomConversation("ops")
	dev   = chat.RoomConversation("dev")
	t0    = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
)

func id(n byte) chat.MessageID { return chat.MessageID{n} }

func open(t *testing.T, dir string) *Index {
	t.Helper()
	x, err := Open(dir, Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = x.Close() })
	return x
}

// sample holds five messages, one a minute, ID n sent at minute n.
func sample(t *testing.T, x *Index) {
	t.Helper()
	docs := []chat.SearchDoc{
		{ID: id(1), Conversation: ops, From: alice, Text: "Deploy failed on the staging server", SentAt: t0.Add(1 * time.Minute)},
		{ID: id(2), Conversation: ops, From: bob, Text: "the server is back; deployment done", SentAt: t0.Add(2 * time.Minute)},
		{ID: id(3), Conversation: dev, From: alice, Text: "failed tests on main, don't merge", SentAt: t0.Add(3 * time.Minute)},
		{ID: id(4), Conversation: dev, From: bob, Text: "Lunch? Café au lait at noon", SentAt: t0.Add(4 * time.Minute)},
		{ID: id(5), Conversation: chat.DMConversation(bob), From: alice, Text: "staging server deploy failed again", SentAt: t0.Add(5 * time.Minute)},
	}
	if err := x.Index(docs); err != nil {
		t.Fatalf("Index: %v", err)
	}
}

func ids(t *testing.T, x *Index, q chat.SearchQuery) []byte {
	t.Helper()
	hits, err := x.Search(q)
	if err != nil {
		t.Fatalf("Search(%+v): %v", q, err)
	}
	out := []byte{}
	for _, h := range hits {
		out = append(out, h.ID[0])
	}
	return out
}

func TestSearch(t *testing.T) {
	x := open(t, filepath.Join(t.TempDir(), "search"))
	sample(t, x)
	tests := []struct {
		name string
		q    chat.SearchQuery
		want []byte // IDs, newest first
	}{
		{"one word", chat.SearchQuery{Text: "failed"}, []byte{5, 3, 1}},
		{"case does not matter", chat.SearchQuery{Text: "DEPLOY"}, []byte{5, 1}},
		{"every word must match", chat.SearchQuery{Text: "server failed"}, []byte{5, 1}},
		{"words in any order", chat.SearchQuery{Text: "failed server"}, []byte{5, 1}},
		{"a word is not a prefix", chat.SearchQuery{Text: "deplo"}, []byte{}},
		{"prefix", chat.SearchQuery{Text: "deplo*"}, []byte{5, 2, 1}},
		{"prefix with a word", chat.SearchQuery{Text: "deplo* done"}, []byte{2}},
		{"one letter prefix is a word", chat.SearchQuery{Text: "d*"}, []byte{}},
		{"phrase", chat.SearchQuery{Text: `"deploy failed"`}, []byte{5, 1}},
		{"phrase in order only", chat.SearchQuery{Text: `"failed deploy"`}, []byte{}},
		{"phrase and word", chat.SearchQuery{Text: `"staging server" again`}, []byte{5}},
		{"unclosed phrase", chat.SearchQuery{Text: `"server is back`}, []byte{2}},
		{"apostrophe word", chat.SearchQuery{Text: "don't"}, []byte{3}},
		{"accents", chat.SearchQuery{Text: "café"}, []byte{4}},
		{"punctuation only", chat.SearchQuery{Text: "?!"}, []byte{}},
		{"in a room", chat.SearchQuery{Text: "failed", In: ops}, []byte{1}},
		{"in a DM", chat.SearchQuery{Text: "failed", In: chat.DMConversation(bob)}, []byte{5}},
		{"from", chat.SearchQuery{Text: "server", From: bob}, []byte{2}},
		{"in and from", chat.SearchQuery{Text: "failed", In: dev, From: alice}, []byte{3}},
		{"in and from, none", chat.SearchQuery{Text: "failed", In: dev, From: bob}, []byte{}},
		{"limit keeps the newest", chat.SearchQuery{Text: "failed", Limit: 2}, []byte{5, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ids(t, x, tt.q); !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	hits, err := x.Search(chat.SearchQuery{Text: "lunch"})
	if err != nil || len(hits) != 1 {
		t.Fatalf("lunch: got %v, %v; want one hit", hits, err)
	}
	if want := t0.Add(4 * time.Minute); !hits[0].SentAt.Equal(want) {
		t.Errorf("SentAt: got %v, want %v", hits[0].SentAt, want)
	}
}

func TestReplaceAndDelete(t *testing.T) {
	x := open(t, filepath.Join(t.TempDir(), "search"))
	sample(t, x)
	edited := chat.SearchDoc{ID: id(1), Conversation: ops, From: alice, Text: "rollback finished", SentAt: t0.Add(time.Minute)}
	if err := x.Index([]chat.SearchDoc{edited}); err != nil {
		t.Fatal(err)
	}
	if got := ids(t, x, chat.SearchQuery{Text: "rollback"}); !slices.Equal(got, []byte{1}) {
		t.Errorf("new text: got %v, want [1]", got)
	}
	if got := ids(t, x, chat.SearchQuery{Text: "failed"}); !slices.Equal(got, []byte{5, 3}) {
		t.Errorf("old text: got %v, want [5 3] (1 no longer says it)", got)
	}
	if err := x.Delete([]chat.MessageID{id(5), id(99)}); err != nil {
		t.Fatal(err)
	}
	if got := ids(t, x, chat.SearchQuery{Text: "staging"}); len(got) != 0 {
		t.Errorf("deleted: got %v, want none", got)
	}
	if n, err := x.Count(); err != nil || n != 4 {
		t.Errorf("Count: got %d, %v; want 4", n, err)
	}
}

func TestRestartKeepsIndex(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "search")
	x := open(t, dir)
	if built, err := x.Built(); err != nil || built {
		t.Fatalf("new index: Built got %v, %v; want false", built, err)
	}
	sample(t, x)
	if err := x.SetBuilt(); err != nil {
		t.Fatal(err)
	}
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := x.Search(chat.SearchQuery{Text: "failed"}); err == nil {
		t.Error("Search after Close: got no error")
	}
	x = open(t, dir)
	if built, err := x.Built(); err != nil || !built {
		t.Errorf("reopened: Built got %v, %v; want true", built, err)
	}
	if got := ids(t, x, chat.SearchQuery{Text: "failed"}); !slices.Equal(got, []byte{5, 3, 1}) {
		t.Errorf("reopened: got %v, want [5 3 1]", got)
	}
}

func TestDamagedIndexIsReplaced(t *testing.T) {
	tests := []struct {
		name   string
		damage func(t *testing.T, dir string)
	}{
		{"metadata garbage", func(t *testing.T, dir string) {
			if err := os.WriteFile(filepath.Join(dir, "index_meta.json"), []byte("{not json"), 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{"store removed", func(t *testing.T, dir string) {
			if err := os.RemoveAll(filepath.Join(dir, "store")); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "store"), []byte("not a directory"), 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{"partition damaged", func(t *testing.T, dir string) {
			if err := os.WriteFile(filepath.Join(dir, monthOf(t0).String(), "index_meta.json"), []byte("{not json"), 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{"format of another version", func(t *testing.T, dir string) {
			if err := os.WriteFile(filepath.Join(dir, formatFile), []byte("version 0\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{"directory removed", func(t *testing.T, dir string) {
			if err := os.RemoveAll(dir); err != nil {
				t.Fatal(err)
			}
		}},
		{"empty directory", func(t *testing.T, dir string) {
			if err := os.RemoveAll(dir); err != nil {
				t.Fatal(err)
			}
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "search")
			x := open(t, dir)
			sample(t, x)
			if err := x.SetBuilt(); err != nil {
				t.Fatal(err)
			}
			if err := x.Close(); err != nil {
				t.Fatal(err)
			}
			tt.damage(t, dir)
			x = open(t, dir)
			if built, err := x.Built(); err != nil || built {
				t.Errorf("Built: got %v, %v; want false, so the Service rebuilds it", built, err)
			}
			if got := ids(t, x, chat.SearchQuery{Text: "failed"}); len(got) != 0 {
				t.Errorf("search: got %v, want nothing yet", got)
			}
			sample(t, x)
			if got := ids(t, x, chat.SearchQuery{Text: "failed"}); !slices.Equal(got, []byte{5, 3, 1}) {
				t.Errorf("after reindexing: got %v, want [5 3 1]", got)
			}
		})
	}
}

func TestTenThousand(t *testing.T) {
	x := open(t, filepath.Join(t.TempDir(), "search"))
	c := newCorpus(2)
	fill(t, x, c, 10_000, 1000)
	last := c.doc(10_000)
	last.Text = "zyzzyva unique last words"
	if err := x.Index([]chat.SearchDoc{last}); err != nil {
		t.Fatal(err)
	}
	hits, err := x.Search(chat.SearchQuery{Text: "zyzzyva"})
	if err != nil || len(hits) != 1 || hits[0].ID != last.ID {
		t.Fatalf("got %v, %v; want the last message", hits, err)
	}
	hits, err = x.Search(chat.SearchQuery{Text: c.words[0], Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(hits) != 100 {
		t.Fatalf("common word: got %d hits, want 100", len(hits))
	}
	for i := 1; i < len(hits); i++ {
		if hits[i].SentAt.After(hits[i-1].SentAt) {
			t.Fatalf("hit %d sent %v after hit %d (%v): want newest first", i, hits[i].SentAt, i-1, hits[i-1].SentAt)
		}
	}
}

// TestMonths spreads messages over four months, so over four partitions:
// hits come newest first across them, a limit stops in the middle of
// one, a delete finds the partition holding the message, and all of it
// survives a restart.
func TestMonths(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "search")
	x := open(t, dir)
	sent := []time.Time{ // ID n+1 is sent at sent[n]
		time.Date(2025, 12, 31, 23, 59, 59, 0, time.UTC),
		time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 1, 31, 12, 0, 0, 0, time.UTC),
		time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC),
		time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC), // same millisecond: the greater ID first
		time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC),
	}
	var docs []chat.SearchDoc
	for n, at := range sent {
		docs = append(docs, chat.SearchDoc{ID: id(byte(n + 1)), Conversation: ops, From: alice, Text: "status report", SentAt: at})
	}
	slices.Reverse(docs) // the order of indexing does not matter
	if err := x.Index(docs); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		limit int
		want  []byte
	}{
		{0, []byte{6, 5, 4, 3, 2, 1}},
		{1, []byte{6}},
		{2, []byte{6, 5}},
		{4, []byte{6, 5, 4, 3}},
		{5, []byte{6, 5, 4, 3, 2}},
	}
	for _, tt := range tests {
		if got := ids(t, x, chat.SearchQuery{Text: "report", Limit: tt.limit}); !slices.Equal(got, tt.want) {
			t.Errorf("limit %d: got %v, want %v", tt.limit, got, tt.want)
		}
	}
	if err := x.Delete([]chat.MessageID{id(2), id(5)}); err != nil {
		t.Fatal(err)
	}
	edited := docs[len(docs)-1] // ID 1
	edited.Text = "status unknown"
	if err := x.Index([]chat.SearchDoc{edited}); err != nil {
		t.Fatal(err)
	}
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	x = open(t, dir)
	if got := ids(t, x, chat.SearchQuery{Text: "status"}); !slices.Equal(got, []byte{6, 4, 3, 1}) {
		t.Errorf("after delete, edit and restart: got %v, want [6 4 3 1]", got)
	}
	if got := ids(t, x, chat.SearchQuery{Text: "report"}); !slices.Equal(got, []byte{6, 4, 3}) {
		t.Errorf("the edited message's old text: got %v, want [6 4 3]", got)
	}
	if n, err := x.Count(); err != nil || n != 4 {
		t.Errorf("Count: got %d, %v; want 4", n, err)
	}
}

func TestMonthNames(t *testing.T) {
	tests := []struct {
		at   time.Time
		want string
	}{
		{time.Date(2026, 3, 31, 23, 59, 59, 0, time.UTC), "2026-03"},
		{time.Date(2026, 4, 1, 1, 0, 0, 0, time.FixedZone("CEST", 2*3600)), "2026-03"}, // UTC decides
		{time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC), "2025-12"},
		{time.Time{}, "1970-01"},
	}
	for _, tt := range tests {
		m := monthOf(tt.at)
		if got := m.String(); got != tt.want {
			t.Errorf("monthOf(%v): got %s, want %s", tt.at, got, tt.want)
		}
		if back, ok := parseMonth(m.String()); !ok || back != m {
			t.Errorf("parseMonth(%s): got %v, %v; want %v", m, back, ok, m)
		}
	}
	for _, bad := range []string{"2026-13", "2026-00", "2026-3", "26-03", "2026_03", "store", "02026-03"} {
		if _, ok := parseMonth(bad); ok {
			t.Errorf("parseMonth(%q): got ok, want not a partition", bad)
		}
	}
}
