package tui

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/parley-chat/parley/internal/api"
)

// The fake's side of threads, edits, deletes, reactions and search. The
// fake records each call and answers from f.history and f.threads; a
// test changes a stored message with f.change, as the node would after
// an edit, and then sends the event that tells the client.

// messageLocked finds a stored message (in a history or a thread).
func (f *fakeBackend) messageLocked(id string) *api.Message {
	for _, ms := range f.history {
		for i := range ms {
			if ms[i].ID == id {
				return &ms[i]
			}
		}
	}
	for _, ms := range f.threads {
		for i := range ms {
			if ms[i].ID == id {
				return &ms[i]
			}
		}
	}
	return nil
}

// change applies fn to the stored message id (in every place it is kept).
func (f *fakeBackend) change(id string, fn func(*api.Message)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, ms := range f.history {
		for i := range ms {
			if ms[i].ID == id {
				fn(&ms[i])
			}
		}
	}
	for _, ms := range f.threads {
		for i := range ms {
			if ms[i].ID == id {
				fn(&ms[i])
			}
		}
	}
}

// setThread stores a thread's replies (the root stays in its history).
func (f *fakeBackend) setThread(root string, replies []api.Message) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.threads == nil {
		f.threads = map[string][]api.Message{}
	}
	f.threads[root] = replies
}

func (f *fakeBackend) Message(_ context.Context, id string) (api.Message, error) {
	if err := f.record("Message", id); err != nil {
		return api.Message{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if m := f.messageLocked(id); m != nil {
		return *m, nil
	}
	return api.Message{}, &api.Error{Status: 404, Code: api.CodeNotFound, Message: "no message " + id}
}

func (f *fakeBackend) Reply(_ context.Context, id string, req api.ReplyRequest) (api.Message, error) {
	if err := f.record("Reply", id, req.Text, fmt.Sprint(req.Thread), fmt.Sprint(req.AlsoRoom)); err != nil {
		return api.Message{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextID++
	msg := api.Message{ID: fmt.Sprintf("reply-%04d", f.nextID), From: f.self.PeerID, Kind: "text", Text: req.Text,
		SentAt: t0.Format(time.RFC3339Nano), Status: "sent", ReplyTo: id}
	if parent := f.messageLocked(id); parent != nil {
		msg.Conversation, msg.Room, msg.To = parent.Conversation, parent.Room, parent.To
		if req.Thread {
			msg.Thread, msg.AlsoRoom = cmpOr(parent.Thread, parent.ID), req.AlsoRoom
		}
	}
	return msg, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func (f *fakeBackend) Edit(_ context.Context, id, text string) (api.Message, error) {
	if err := f.record("Edit", id, text); err != nil {
		return api.Message{}, err
	}
	return api.Message{ID: "edit-" + id, Kind: "edit", Target: id, Text: text, From: selfID}, nil
}

func (f *fakeBackend) Delete(_ context.Context, id string) (api.Message, error) {
	if err := f.record("Delete", id); err != nil {
		return api.Message{}, err
	}
	return api.Message{ID: "delete-" + id, Kind: "delete", Target: id, From: selfID}, nil
}

func (f *fakeBackend) React(_ context.Context, id, emoji string) (api.ReactResponse, error) {
	if err := f.record("React", id, emoji); err != nil {
		return api.ReactResponse{}, err
	}
	return api.ReactResponse{Message: api.Message{ID: "react-" + id, Kind: "react", Target: id, Emoji: emoji, From: selfID}, Added: true}, nil
}

func (f *fakeBackend) ThreadPage(_ context.Context, root string, limit int, before string) ([]api.Message, error) {
	if err := f.record("ThreadPage", root, fmt.Sprint(limit), before); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	m := f.messageLocked(root)
	if m == nil {
		return nil, &api.Error{Status: 404, Code: api.CodeNotFound, Message: "no message " + root}
	}
	replies := f.threads[root]
	end := len(replies)
	if before != "" {
		end = slices.IndexFunc(replies, func(r api.Message) bool { return r.ID == before })
		if end < 0 {
			return nil, &api.Error{Status: 400, Code: api.CodeBadRequest, Message: "message " + before + " is not in thread " + root}
		}
	}
	return append([]api.Message{*m}, replies[max(0, end-limit):end]...), nil
}

// Search finds the stored text messages containing text (any case),
// newest first.
func (f *fakeBackend) Search(_ context.Context, text, in, from string, limit int) ([]api.SearchHit, error) {
	if err := f.record("Search", text, in, from, fmt.Sprint(limit)); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var hits []api.SearchHit
	for _, ms := range f.history {
		for _, m := range ms {
			if m.Kind == "text" && strings.Contains(strings.ToLower(m.Text), strings.ToLower(text)) {
				hits = append(hits, api.SearchHit{ID: m.ID, Conversation: m.Conversation, From: m.From, Text: m.Text, SentAt: m.SentAt})
			}
		}
	}
	slices.SortFunc(hits, func(a, b api.SearchHit) int { return strings.Compare(b.SentAt, a.SentAt) })
	if limit > 0 && len(hits) > limit {
		hits = hits[:limit]
	}
	return hits, nil
}
