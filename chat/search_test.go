package chat_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/chat/chattest"
	"github.com/parley-chat/parley/internal/search"
)

// withSearch gives a node a search index in a directory of its own,
// closed after the node stops.
func withSearch(t *testing.T) chattest.Option {
	t.Helper()
	idx := openIndex(t, filepath.Join(t.TempDir(), "search"))
	return chattest.WithConfig(func(c *chat.Config) { c.Search = idx })
}

func openIndex(t *testing.T, dir string) *search.Index {
	t.Helper()
	idx, err := search.Open(dir, search.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = idx.Close() })
	return idx
}

func searchIDs(t *testing.T, n *chattest.Node, q chat.SearchQuery) []chat.MessageID {
	t.Helper()
	hits, err := n.Svc.Search(q)
	if err != nil {
		t.Fatalf("search %+v: %v", q, err)
	}
	var ids []chat.MessageID
	for _, h := range hits {
		ids = append(ids, h.ID)
	}
	return ids
}

func TestSearchRoomsAndDMs(t *testing.T) {
	net := chattest.NewNet(t)
	ann := chattest.NewNode(t, net, chattest.WithRooms(), chattest.WithNick("ann"), withSearch(t))
	bob := chattest.NewNode(t, net, chattest.WithRooms(), chattest.WithNick("bob"), withSearch(t))
	net.Connect(ann.ID, bob.ID)
	joinRoom(t, ann, dev)
	ann.Events.WaitFor(t, "bob's join line at ann", chattest.MessageIs(joinRoom(t, bob, dev).ID))

	inRoom := sendRoom(t, ann, dev, "the deploy failed on staging")
	// bob answers once he has it, so his clock orders the DM after it.
	bob.Events.WaitFor(t, "bob storing ann's room message", chattest.MessageIs(inRoom.ID))
	dm, err := bob.Svc.SendDM(t.Context(), ann.ID, "Deployment fixed, see the staging logs")
	if err != nil {
		t.Fatal(err)
	}
	ann.Events.WaitFor(t, "ann storing bob's DM", chattest.MessageIs(dm.ID))

	for _, n := range []*chattest.Node{ann, bob} {
		tests := []struct {
			q    chat.SearchQuery
			want []chat.MessageID
		}{
			{chat.SearchQuery{Text: "staging"}, []chat.MessageID{dm.ID, inRoom.ID}},
			{chat.SearchQuery{Text: "deploy*"}, []chat.MessageID{dm.ID, inRoom.ID}},
			{chat.SearchQuery{Text: `"deploy failed"`}, []chat.MessageID{inRoom.ID}},
			{chat.SearchQuery{Text: "staging", In: devConv}, []chat.MessageID{inRoom.ID}},
			{chat.SearchQuery{Text: "staging", From: bob.ID}, []chat.MessageID{dm.ID}},
			{chat.SearchQuery{Text: "joined"}, nil}, // join lines are not searchable
		}
		for _, tt := range tests {
			if got := searchIDs(t, n, tt.q); !slices.Equal(got, tt.want) {
				t.Errorf("%s: search %+v: got %v, want %v", n.Config.Nick, tt.q, got, tt.want)
			}
		}
	}
	hits, err := ann.Svc.Search(chat.SearchQuery{Text: "logs"})
	if err != nil || len(hits) != 1 {
		t.Fatalf("logs: got %v, %v; want one hit", hits, err)
	}
	h := hits[0]
	if h.Conversation != chat.DMConversation(bob.ID) || h.From != bob.ID || h.Text != dm.Body || !h.SentAt.Equal(dm.SentAt()) {
		t.Errorf("hit: got %+v, want bob's DM as ann holds it", h)
	}
}

func TestSearchErrors(t *testing.T) {
	net := chattest.NewNet(t)
	off := chattest.NewNode(t, net)
	if _, err := off.Svc.Search(chat.SearchQuery{Text: "x"}); !errors.Is(err, chat.ErrSearchOff) {
		t.Errorf("no index: got %v, want ErrSearchOff", err)
	}
	on := chattest.NewNode(t, net, withSearch(t))
	for _, q := range []chat.SearchQuery{{Text: "  "}, {Text: "x", Limit: -1}, {Text: "x", Limit: chat.MaxSearchLimit + 1}} {
		if _, err := on.Svc.Search(q); !errors.Is(err, chat.ErrInvalid) {
			t.Errorf("search %+v: got %v, want ErrInvalid", q, err)
		}
	}
}

// TestSearchBurst sends 10,000 direct messages at once: the receiver's
// index keeps up, and the last one is found as soon as it is stored.
func TestSearchBurst(t *testing.T) {
	const n = 10_000
	net := chattest.NewNet(t)
	ann := chattest.NewNode(t, net, withSearch(t))
	bob := chattest.NewNode(t, net, withSearch(t))
	net.Connect(ann.ID, bob.ID)
	var last *chat.Message
	for i := range n {
		m, err := ann.Svc.SendDM(t.Context(), bob.ID, fmt.Sprintf("burst message number%d", i))
		if err != nil {
			t.Fatal(err)
		}
		last = m
	}
	bob.Events.WaitFor(t, "bob storing the last message", chattest.MessageIs(last.ID))
	for _, node := range []*chattest.Node{ann, bob} {
		if got := searchIDs(t, node, chat.SearchQuery{Text: fmt.Sprintf("number%d", n-1)}); !slices.Equal(got, []chat.MessageID{last.ID}) {
			t.Errorf("last message: got %v, want %v", got, last.ID)
		}
		got := searchIDs(t, node, chat.SearchQuery{Text: "burst", Limit: chat.MaxSearchLimit})
		if len(got) != chat.MaxSearchLimit || got[0] != last.ID {
			t.Errorf("burst: got %d hits, first %v; want %d, the last message first", len(got), got[0], chat.MaxSearchLimit)
		}
		if got := searchIDs(t, node, chat.SearchQuery{Text: "number0"}); len(got) != 1 {
			t.Errorf("first message: got %v, want one hit", got)
		}
	}
}

// TestSearchRebuild gives a node with history a new, empty index: it is
// rebuilt from the store at start, and the first search finds the old
// messages.
func TestSearchRebuild(t *testing.T) {
	net := chattest.NewNet(t)
	ann := chattest.NewNode(t, net, chattest.WithRooms(), chattest.OnDisk(), withSearch(t))
	bob := chattest.NewNode(t, net)
	net.Connect(ann.ID, bob.ID)
	joinRoom(t, ann, dev)
	old := sendRoom(t, ann, dev, "an old room message about kittens")
	dm, err := ann.Svc.SendDM(t.Context(), bob.ID, "an old direct message about kittens")
	if err != nil {
		t.Fatal(err)
	}
	ann.Stop()
	ann.Config.Search = openIndex(t, filepath.Join(t.TempDir(), "fresh"))
	ann.Start()
	if got := searchIDs(t, ann, chat.SearchQuery{Text: "kittens"}); !slices.Equal(got, []chat.MessageID{dm.ID, old.ID}) {
		t.Errorf("after rebuild: got %v, want %v", got, []chat.MessageID{dm.ID, old.ID})
	}
	// A restart with the built index keeps it as it is.
	ann.Restart()
	if got := searchIDs(t, ann, chat.SearchQuery{Text: "kittens"}); !slices.Equal(got, []chat.MessageID{dm.ID, old.ID}) {
		t.Errorf("after restart: got %v, want %v", got, []chat.MessageID{dm.ID, old.ID})
	}
}

// TestSearchEditsAndDeletes: an edited message is found by its new text
// and no longer by its old one, on every member; a deleted message leaves
// every member's index (not only the results); a rebuild indexes the
// current texts.
func TestSearchEditsAndDeletes(t *testing.T) {
	net := chattest.NewNet(t)
	var nodes []*chattest.Node
	var idxs []*search.Index
	for _, nick := range []string{"ann", "bob", "cat"} {
		idx := openIndex(t, filepath.Join(t.TempDir(), "search"))
		n := chattest.NewNode(t, net, chattest.WithRooms(), chattest.WithNick(nick), chattest.OnDisk(),
			chattest.WithConfig(func(c *chat.Config) { c.Search = idx }))
		nodes, idxs = append(nodes, n), append(idxs, idx)
	}
	ann, bob := nodes[0], nodes[1]
	net.Connect(ann.ID, bob.ID)
	net.Connect(bob.ID, nodes[2].ID)
	net.Connect(ann.ID, nodes[2].ID)
	for _, n := range nodes {
		joinRoom(t, n, dev)
	}
	edited := sendRoom(t, ann, dev, "the alpha release is out")
	gone := sendRoom(t, bob, dev, "my secret password is hunter2")
	kept := sendRoom(t, bob, dev, "release notes follow")
	waitSame(t, devConv, nodes...)
	if _, err := ann.Svc.Edit(t.Context(), edited.ID, "the omega release is out"); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.Svc.Delete(t.Context(), gone.ID); err != nil {
		t.Fatal(err)
	}
	waitSame(t, devConv, nodes...)

	check := func(when string) {
		t.Helper()
		for i, n := range nodes {
			// The index itself no longer holds the deleted text (asked before
			// the Service's search of it, which drops what it finds gone; the
			// search for another word waits for the index to catch up).
			searchIDs(t, n, chat.SearchQuery{Text: "notes"})
			hits, err := idxs[i].Search(chat.SearchQuery{Text: "hunter2", Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			if len(hits) != 0 {
				t.Errorf("%s %s: the index still holds the deleted message: %v", when, n.Config.Nick, hits)
			}
			hits, err = idxs[i].Search(chat.SearchQuery{Text: "alpha", Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			if len(hits) != 0 {
				t.Errorf("%s %s: the index still holds the edited message's old text: %v", when, n.Config.Nick, hits)
			}
			tests := []struct {
				q    string
				want []chat.MessageID
			}{
				{"omega", []chat.MessageID{edited.ID}},
				{"alpha", nil},
				{"release", []chat.MessageID{kept.ID, edited.ID}},
				{"hunter2", nil},
				{"password", nil},
			}
			for _, tt := range tests {
				if got := searchIDs(t, n, chat.SearchQuery{Text: tt.q, In: devConv}); !slices.Equal(got, tt.want) {
					t.Errorf("%s %s: search %q: got %v, want %v", when, n.Config.Nick, tt.q, got, tt.want)
				}
			}
		}
	}
	check("live")

	// A fresh index is rebuilt from the store with the current texts.
	cat := nodes[2]
	cat.Stop()
	idxs[2] = openIndex(t, filepath.Join(t.TempDir(), "fresh"))
	cat.Config.Search = idxs[2]
	cat.Start()
	check("rebuilt")
}
