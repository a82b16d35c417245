package chat

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Operations on messages: replies and threads, edits, deletes and
// reactions. Each is a message of its own (signed, ordered and synced like
// any other, sealed in a private room) that names the message it is about;
// what a member sees of a message is derived from the messages that name
// it, in conversation order, so every member that holds the same messages
// shows the same text, edited flag, reactions and reply count.
//
// Who may do what is judged where it is shown, the same way on every
// member: an edit counts only when its author wrote the message; a delete
// only from the message's author or, in a private room, from an admin
// (as the room's ops say now). A delete erases the message's text, files
// and mentions, and its edits' texts, from this node's store (Store.Erase)
// as soon as both are here, whichever came first.

// ErrNotAuthor is returned for an edit or delete of another member's
// message. It wraps ErrNotAllowed.
var ErrNotAuthor error = &wrappedSentinel{"not your message", ErrNotAllowed}

// post sends a drafted message (content fields set) to conv.
func (s *Service) post(ctx context.Context, conv Conversation, m *Message) (*Message, error) {
	if name, ok := conv.Room(); ok {
		r, err := s.joined(name)
		if err != nil {
			return nil, err
		}
		return r.postMessage(ctx, m, nil)
	}
	if p, ok := conv.Peer(); ok {
		return s.sendDMMessage(ctx, p, m)
	}
	return nil, fmt.Errorf("%w: conversation %q", ErrInvalid, conv)
}

// Reply posts body as a reply to parent, in parent's conversation. With
// thread, the reply belongs to the thread of parent's root (parent itself
// unless parent is a thread reply), shown in the room too with alsoRoom.
func (s *Service) Reply(ctx context.Context, parent MessageID, body string, thread, alsoRoom bool) (*Message, error) {
	if strings.TrimSpace(body) == "" {
		return nil, ErrEmptyMessage
	}
	p, err := s.target(parent)
	if err != nil {
		return nil, err
	}
	m := &Message{Kind: KindText, Body: body, ReplyTo: p.ID}
	if thread {
		m.Thread = p.ID
		if !p.Thread.IsZero() {
			m.Thread = p.Thread
		}
		m.AlsoRoom = alsoRoom && p.Room != ""
	}
	return s.post(ctx, p.Conversation, m)
}

// Edit replaces the text of one of this node's messages.
func (s *Service) Edit(ctx context.Context, id MessageID, body string) (*Message, error) {
	if strings.TrimSpace(body) == "" {
		return nil, ErrEmptyMessage
	}
	t, err := s.target(id)
	if err != nil {
		return nil, err
	}
	if t.Author != s.self {
		return nil, fmt.Errorf("%w: only its author edits a message", ErrNotAuthor)
	}
	return s.post(ctx, t.Conversation, &Message{Kind: KindEdit, Body: body, Target: t.ID, TargetHLC: t.HLC})
}

// Delete deletes a message for everyone: one of this node's, or any in a
// private room this node is an admin of.
func (s *Service) Delete(ctx context.Context, id MessageID) (*Message, error) {
	t, err := s.target(id)
	if err != nil {
		return nil, err
	}
	if !s.mayDelete(s.self, t) {
		return nil, fmt.Errorf("%w: only its author (or, in a private room, an admin) deletes a message", ErrNotAuthor)
	}
	return s.post(ctx, t.Conversation, &Message{Kind: KindDelete, Target: t.ID, TargetHLC: t.HLC})
}

// React toggles this node's emoji on a message: added reports whether it
// is now there (false: it was there and is taken back).
func (s *Service) React(ctx context.Context, id MessageID, emoji string) (m *Message, added bool, err error) {
	emoji = strings.TrimSpace(emoji)
	if emoji == "" || len(emoji) > MaxEmojiLen || !utf8.ValidString(emoji) || strings.ContainsFunc(emoji, unicode.IsSpace) {
		return nil, false, fmt.Errorf("%w: a reaction is one emoji (1 to %d bytes, no spaces)", ErrInvalid, MaxEmojiLen)
	}
	t, err := s.target(id)
	if err != nil {
		return nil, false, err
	}
	if err := s.decorate([]*Message{t}); err != nil {
		return nil, false, err
	}
	mine := slices.ContainsFunc(t.Reactions, func(r Reaction) bool { return r.Emoji == emoji && slices.Contains(r.By, s.self) })
	m, err = s.post(ctx, t.Conversation, &Message{Kind: KindReact, Emoji: emoji, Remove: mine, Target: t.ID, TargetHLC: t.HLC})
	return m, !mine, err
}

// target loads a message that an operation may act on: a text message,
// not deleted.
func (s *Service) target(id MessageID) (*Message, error) {
	t, err := s.cfg.Store.Message(id)
	if err != nil {
		return nil, fmt.Errorf("message %s: %w", id, err)
	}
	switch {
	case t.Kind != KindText:
		return nil, fmt.Errorf("%w: message %s is a %v message, not a text", ErrInvalid, id, t.Kind)
	case t.Deleted:
		return nil, fmt.Errorf("%w: message %s was deleted", ErrNotFound, id)
	}
	return t, nil
}

// mayDelete reports whether p may delete t for everyone.
func (s *Service) mayDelete(p PeerID, t *Message) bool {
	if p == t.Author && p != "" {
		return true
	}
	if t.Room == "" {
		return false
	}
	r := s.rooms.get(t.Room)
	return r != nil && r.priv != nil && r.priv.state().admin(p)
}

// Thread returns a whole thread: its root, then all its replies in
// order, each decorated as History's are.
func (s *Service) Thread(root MessageID) ([]*Message, error) {
	return s.thread(root, Cursor{}, math.MaxInt)
}

// ThreadPage returns a page of a thread: its root, then the newest
// q.Limit replies before q.Before (DefaultHistoryLimit if 0), oldest
// first, each decorated as History's are. q.All changes nothing.
func (s *Service) ThreadPage(root MessageID, q HistoryQuery) ([]*Message, error) {
	if q.Limit == 0 {
		q.Limit = DefaultHistoryLimit
	}
	if q.Limit < 1 || q.Limit > MaxHistoryLimit {
		return nil, fmt.Errorf("%w: limit %d: want a number from 1 to %d", ErrInvalid, q.Limit, MaxHistoryLimit)
	}
	var before Cursor
	if !q.Before.IsZero() {
		m, err := s.cfg.Store.Message(q.Before)
		if err != nil {
			return nil, fmt.Errorf("message %s: %w", q.Before, err)
		}
		if m.Thread != root {
			return nil, fmt.Errorf("%w: message %s is not in thread %s", ErrInvalid, q.Before, root)
		}
		before = CursorOf(m)
	}
	return s.thread(root, before, q.Limit)
}

func (s *Service) thread(root MessageID, before Cursor, limit int) ([]*Message, error) {
	r, err := s.cfg.Store.Message(root)
	if err != nil {
		return nil, fmt.Errorf("message %s: %w", root, err)
	}
	if !r.Thread.IsZero() {
		return nil, fmt.Errorf("%w: message %s is a reply in thread %s; open that", ErrInvalid, root, r.Thread)
	}
	replies, err := s.cfg.Store.ThreadReplies(root, before, limit)
	if err != nil {
		return nil, err
	}
	out := make([]*Message, 0, 1+len(replies))
	out = append(out, r)
	for _, m := range replies {
		if m.Kind == KindText {
			out = append(out, m)
		}
	}
	if err := s.decorate(out); err != nil {
		return nil, err
	}
	s.dms.overlaySent(r.Conversation, out)
	return out, nil
}

// decorate fills in what other messages say of each text message of ms
// (its newest text and earlier versions, its reactions, its replies: its
// stored View) and who has read it (see decorateReceipts).
func (s *Service) decorate(ms []*Message) error {
	ids := make([]MessageID, 0, len(ms))
	for _, m := range ms {
		if m.Kind == KindText {
			ids = append(ids, m.ID)
		}
	}
	if len(ids) > 0 {
		views, err := s.cfg.Store.Views(ids)
		if err != nil {
			return err
		}
		for _, m := range ms {
			if m.Kind == KindText {
				applyView(m, views[m.ID])
			}
		}
	}
	return s.decorateReceipts(ms)
}

// applyView shows v on m.
func applyView(m *Message, v View) {
	m.Edited, m.Versions, m.Reactions, m.Replies, m.LastReply = v.Edited, v.Versions, v.Reactions, v.Replies, v.LastReply
	if v.Edited {
		m.Body = v.Body
		m.Mentions, m.MentionAll = v.Mentions, v.MentionAll
	}
}

// ApplyOperations derives what ops (the operations naming m, in
// conversation order, as Store.Related returns them) say of text message
// m: its newest text and earlier versions, and its reactions. An edit
// counts only from m's author; a deleted message, or an erased edit,
// shows no edit; a deleted message shows no reaction. It depends on
// nothing but its arguments, so every member holding the same messages
// derives the same view, whatever order they arrived in; the store keeps
// its result (Store.Views) and the replies count beside it.
func ApplyOperations(m *Message, ops []*Message) View {
	var v View
	body, at := m.Body, m.HLC
	for _, o := range ops {
		switch {
		case o.Target != m.ID:
		case o.Kind == KindEdit && o.Author == m.Author && !m.Deleted && !o.Deleted:
			v.Versions = append(v.Versions, Version{Body: body, HLC: at})
			body, at = o.Body, o.HLC
			v.Edited = true
			v.Mentions, v.MentionAll = o.Mentions, o.MentionAll
		case o.Kind == KindReact && !m.Deleted:
			v.Reactions = react(v.Reactions, o.Emoji, o.Author, !o.Remove)
		}
	}
	if v.Edited {
		v.Body = body
	}
	return v
}

// react adds (on) or takes back p's emoji in rs.
func react(rs []Reaction, emoji string, p PeerID, on bool) []Reaction {
	i := slices.IndexFunc(rs, func(r Reaction) bool { return r.Emoji == emoji })
	switch {
	case on && i < 0:
		return append(rs, Reaction{Emoji: emoji, By: []PeerID{p}})
	case on && !slices.Contains(rs[i].By, p):
		rs[i].By = append(rs[i].By, p)
	case !on && i >= 0:
		rs[i].By = slices.DeleteFunc(rs[i].By, func(q PeerID) bool { return q == p })
		if len(rs[i].By) == 0 {
			rs = slices.Delete(rs, i, i+1)
		}
	}
	return rs
}

// relationsArrived applies what newly stored messages mean for others:
// a delete erases its target (and the target's edits), or leaves a
// placeholder when the target is not here yet; a message that arrives
// after its delete, and an edit of a deleted message, are erased at once.
// It keeps the search index in step: a text message is indexed with its
// current text, an edit re-indexes its target, a delete unindexes it.
func (s *Service) relationsArrived(ms []*Message) {
	// One at a time: a delete and an edit of the same message stored at
	// once must each see the other's outcome (the second sees the first
	// erased, or is found by its erase).
	s.relMu.Lock()
	defer s.relMu.Unlock()
	for _, m := range ms {
		var err error
		switch {
		case m.Kind == KindDelete:
			err = s.applyDelete(m)
		case m.Kind == KindText && !m.Deleted:
			err = s.textArrived(m)
		case m.Kind == KindEdit:
			err = s.editArrived(m)
		}
		if err != nil {
			s.log.Warn("could not apply a message's delete", "id", m.ID.String()[:8], "err", err)
		}
	}
}

// applyDelete carries out delete d.
func (s *Service) applyDelete(d *Message) error {
	t, err := s.cfg.Store.Message(d.Target)
	if err != nil {
		// Not here (yet): a placeholder at its position, so this node
		// shows the same tombstone and sync leaves both out. The target
		// replaces it if it comes, and is judged then.
		ph := &Message{ID: d.Target, Conversation: d.Conversation, Room: d.Room, To: d.To, HLC: d.TargetHLC,
			Kind: KindText, Deleted: true, DeletedBy: d.Author, Placeholder: true, Status: StatusReceived, ReceivedAt: s.cfg.Now()}
		if err := encodeEnvelope(ph); err != nil {
			return err
		}
		ph.ID = d.Target // encodeEnvelope set the placeholder envelope's own
		_, err := s.cfg.Store.AddMessages([]*Message{ph})
		return err
	}
	if t.Deleted || t.Conversation != d.Conversation || !s.mayDelete(d.Author, t) {
		return nil
	}
	return s.erase(t, d.Author)
}

// textArrived erases text message m if a delete of it is here already,
// and otherwise indexes its current text (edits may have come first).
func (s *Service) textArrived(m *Message) error {
	rel, err := s.cfg.Store.Related(m.ID)
	if err != nil {
		return err
	}
	for _, d := range rel {
		if d.Kind == KindDelete && d.Target == m.ID && s.mayDelete(d.Author, m) {
			return s.erase(m, d.Author)
		}
	}
	shown := *m
	applyView(&shown, ApplyOperations(m, rel))
	s.indexMessages([]*Message{&shown})
	return nil
}

// editArrived erases edit e when its target is deleted, and otherwise
// indexes the target's current text.
func (s *Service) editArrived(e *Message) error {
	t, err := s.cfg.Store.Message(e.Target)
	if err != nil {
		return nil //nolint:nilerr // the target is not here: it is indexed, edits applied, when it comes
	}
	if t.Deleted {
		return s.cfg.Store.Erase(e.ID, t.DeletedBy)
	}
	if e.Author != t.Author {
		return nil // not an edit anyone shows
	}
	if err := s.decorate([]*Message{t}); err != nil {
		return err
	}
	s.indexMessages([]*Message{t})
	return nil
}

// erase erases t and the texts of its edits, deleted by `by`, and takes
// them out of the search index.
func (s *Service) erase(t *Message, by PeerID) error {
	rel, err := s.cfg.Store.Related(t.ID)
	if err != nil {
		return err
	}
	for _, e := range rel {
		if e.Kind == KindEdit && e.Target == t.ID {
			if err := s.cfg.Store.Erase(e.ID, by); err != nil {
				return err
			}
		}
	}
	t.Deleted, t.DeletedBy = true, by
	if err := s.cfg.Store.Erase(t.ID, by); err != nil {
		return err
	}
	s.unindex([]MessageID{t.ID})
	return nil
}

// fillMentions sets m's mentions from its text: @room and @here mention
// everyone in a room, @nick the peer it names now (resolved here, so a
// later rename does not change whom the message mentioned). A nick that
// names no one, or several, mentions no one.
func (s *Service) fillMentions(m *Message) {
	m.Mentions, m.MentionAll = nil, false
	for _, w := range strings.FieldsFunc(m.Body, func(r rune) bool {
		return unicode.IsSpace(r) || strings.ContainsRune(",;:!?()[]{}<>\"'", r)
	}) {
		nick, ok := strings.CutPrefix(w, "@")
		if !ok || nick == "" {
			continue
		}
		nick = strings.TrimRight(nick, ".")
		if nick == "room" || nick == "here" {
			m.MentionAll = m.MentionAll || m.Room != ""
			continue
		}
		p, err := s.ResolvePeer("@" + nick)
		if err != nil || slices.Contains(m.Mentions, p) || len(m.Mentions) == MaxMentions {
			continue
		}
		m.Mentions = append(m.Mentions, p)
	}
}
