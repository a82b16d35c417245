package chat

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// AppPost is a message an integration posts through this node (an
// incoming webhook): Text is what every member reads (the payload
// rendered to plain text, indexed for search); App the hook's name,
// which marks the message as an app's; Icon its icon_emoji or icon_url
// (optional); Rich the sanitised Slack payload as JSON (optional), which
// clients render with formatting.
type AppPost struct {
	App  string
	Icon string
	Text string
	Rich []byte
}

// PostApp posts an integration's message to conv (a joined room, public
// or private, or a direct conversation). The message is an ordinary text
// message of this node's (signed, ordered, synced, sealed in a private
// room) that carries the app's fields besides. A Rich payload that would
// make the message too large is left out: the text still says it all.
func (s *Service) PostApp(ctx context.Context, conv Conversation, post AppPost) (*Message, error) {
	if strings.TrimSpace(post.Text) == "" {
		return nil, ErrEmptyMessage
	}
	if post.App == "" {
		return nil, fmt.Errorf("%w: an app message names its app", ErrInvalid)
	}
	draft := func(rich []byte) *Message {
		return &Message{Kind: KindText, Body: post.Text, App: post.App, AppIcon: post.Icon, Rich: rich}
	}
	m := draft(post.Rich)
	if err := checkApp(m); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	sent, err := s.post(ctx, conv, m)
	if errors.Is(err, ErrTooLarge) && len(post.Rich) > 0 {
		return s.post(ctx, conv, draft(nil))
	}
	return sent, err
}
