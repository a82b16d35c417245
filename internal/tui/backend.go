package tui

import (
	"context"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/parley-chat/parley/internal/api"
)

// Backend is what the client needs from a node; *api.Client implements it.
type Backend interface {
	Identity(ctx context.Context) (api.Identity, error)
	Conversations(ctx context.Context) ([]api.Conversation, error)
	Rooms(ctx context.Context) ([]api.Room, error)
	Peers(ctx context.Context) ([]api.Peer, error)
	Safety(ctx context.Context, peer string) (api.Safety, error)
	Verify(ctx context.Context, peer string) (api.Safety, error)
	Members(ctx context.Context, room string) ([]api.Member, error)
	HistoryAll(ctx context.Context, with string, limit int, before string, all bool) ([]api.Message, error)
	Send(ctx context.Context, to, text string) (api.Message, error)
	// RunCommand runs a slash command registered on the node ("/NAME
	// args"): 404 "unknown command …" when NAME is not one.
	RunCommand(ctx context.Context, to, text string) (api.CommandAnswer, error)
	// Message is one message as it stands now (edits, deletes, reactions
	// and replies applied).
	Message(ctx context.Context, id string) (api.Message, error)
	Reply(ctx context.Context, id string, req api.ReplyRequest) (api.Message, error)
	Edit(ctx context.Context, id, text string) (api.Message, error)
	Delete(ctx context.Context, id string) (api.Message, error)
	// React toggles this node's emoji on a message.
	React(ctx context.Context, id, emoji string) (api.ReactResponse, error)
	// ThreadPage is a page of a thread: its root, then the newest limit
	// replies before the reply before ("": the newest), in order.
	ThreadPage(ctx context.Context, root string, limit int, before string) ([]api.Message, error)
	// Search finds messages (newest first); in and from may be "".
	Search(ctx context.Context, text, in, from string, limit int) ([]api.SearchHit, error)
	Join(ctx context.Context, room string) (api.JoinResponse, error)
	Leave(ctx context.Context, room string) (api.JoinResponse, error)
	CreatePrivate(ctx context.Context, room string) (api.JoinResponse, error)
	Invite(ctx context.Context, room string, req api.InviteRequest) (api.InviteResponse, error)
	AcceptInvite(ctx context.Context, link string) (api.JoinResponse, error)
	RemoveMember(ctx context.Context, room, peer string) error
	PromoteMember(ctx context.Context, room, peer string) error
	Connect(ctx context.Context, addr string) (string, error)
	SetNick(ctx context.Context, nick string) error
	MarkRead(ctx context.Context, with, id string) error
	Typing(ctx context.Context, room string) error
	// Share streams the files at paths into one message to `to`.
	Share(ctx context.Context, to string, paths []string, text string) (api.Message, error)
	// Fetch fetches every file of a message (out: the node's download
	// directory if empty); timeout bounds the wait for a source.
	Fetch(ctx context.Context, id, out, timeout string) (api.FetchResponse, error)
	// Follow streams events; opened is called once the stream is open.
	Follow(ctx context.Context, opened func(), fn func(api.Event) error) error
}

var _ Backend = (*api.Client)(nil)

// callTimeout bounds one call to the backend.
const callTimeout = 30 * time.Second

// ask runs call as a command, off the update loop, with callTimeout: the
// message it returns goes to Update, an error it returns to the status bar
// instead. Calls whose failure the user need not hear of return a nil
// error (and usually a nil message).
func (m *Model) ask(call func(ctx context.Context) (tea.Msg, error)) tea.Cmd {
	return m.askFor(callTimeout, call)
}

// askFor is ask with a timeout of its own, for calls that move files.
func (m *Model) askFor(timeout time.Duration, call func(ctx context.Context) (tea.Msg, error)) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(m.ctx, timeout)
		defer cancel()
		msg, err := call(ctx)
		if err != nil {
			return errStatus(err)
		}
		return msg
	}
}

func errStatus(err error) tea.Msg { return statusMsg{text: err.Error(), err: true} }
