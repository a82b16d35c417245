package api

import (
	"fmt"
	"time"

	"github.com/parley-chat/parley/chat"
)

// The room half of fakeBackend: a set of joined rooms, with messages and
// read markers kept per conversation.

func (f *fakeBackend) roomState() {
	if f.rooms == nil {
		f.rooms = map[string]bool{}
		f.marked = map[chat.Conversation]chat.Cursor{}
	}
}

func (f *fakeBackend) SendRoom(room, text string) (*chat.Message, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.roomState()
	if !f.rooms[room] {
		return nil, fmt.Errorf("%w: #%s", chat.ErrNotJoined, room)
	}
	if f.sendErr != nil {
		return nil, f.sendErr
	}
	f.roomSends = append(f.roomSends, sendCall{text: room + ":" + text})
	return f.sendReply, nil
}

func (f *fakeBackend) JoinRoom(room string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.roomState()
	changed := !f.rooms[room]
	f.rooms[room] = true
	return changed, nil
}

func (f *fakeBackend) LeaveRoom(room string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.roomState()
	changed := f.rooms[room]
	delete(f.rooms, room)
	return changed, nil
}

func (f *fakeBackend) Rooms() ([]chat.RoomInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.roomState()
	var out []chat.RoomInfo
	for name := range f.rooms {
		out = append(out, chat.RoomInfo{Name: name, Members: 1, Online: 1, JoinedAt: time.Unix(0, 0)})
	}
	return out, nil
}

func (f *fakeBackend) RoomMembers(room string) ([]chat.RoomMember, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.roomState()
	if !f.rooms[room] {
		return nil, fmt.Errorf("%w: #%s", chat.ErrNotJoined, room)
	}
	return []chat.RoomMember{{Peer: "self", Nick: f.identity.Nick, Online: true}}, nil
}

func (f *fakeBackend) MarkRead(conv chat.Conversation, upTo chat.Cursor) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.roomState()
	f.marked[conv] = upTo
	return nil
}

func (f *fakeBackend) Typing(room string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.roomState()
	if !f.rooms[room] {
		return fmt.Errorf("%w: #%s", chat.ErrNotJoined, room)
	}
	return nil
}

func (f *fakeBackend) Conversations() ([]chat.ConversationInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.roomState()
	var out []chat.ConversationInfo
	for name := range f.rooms {
		out = append(out, chat.ConversationInfo{Conversation: chat.RoomConversation(name), Room: name})
	}
	return out, nil
}

func (f *fakeBackend) SetNick(nick string) error {
	if err := chat.ValidateNick(nick); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.identity.Nick = nick
	return nil
}
