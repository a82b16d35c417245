package chat_test

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/chat/chattest"
	"github.com/parley-chat/parley/internal/wire"
)

const payroll = "payroll"

var payrollConv = chat.RoomConversation(payroll)

// privateTrio makes ann (admin of private #payroll), bob and cat, all
// linked, with bob and cat joined by invite.
func privateTrio(t *testing.T) (net *chattest.Net, ann, bob, cat *chattest.Node) {
	t.Helper()
	net = chattest.NewNet(t)
	ann = chattest.NewNode(t, net, chattest.WithRooms(), chattest.WithNick("ann"))
	bob = chattest.NewNode(t, net, chattest.WithRooms(), chattest.WithNick("bob"))
	cat = chattest.NewNode(t, net, chattest.WithRooms(), chattest.WithNick("cat"))
	for _, pair := range [][2]*chattest.Node{{ann, bob}, {ann, cat}, {bob, cat}} {
		net.Connect(pair[0].ID, pair[1].ID)
	}
	if err := ann.Svc.CreatePrivateRoom(t.Context(), payroll); err != nil {
		t.Fatalf("create: %v", err)
	}
	for _, n := range []*chattest.Node{bob, cat} {
		joinByInvite(t, ann, n)
	}
	waitMembers(t, []*chattest.Node{ann, bob, cat}, ann, bob, cat)
	return net, ann, bob, cat
}

// waitMembers waits until each of nodes lists exactly members in
// #payroll. A member that has not yet applied the op adding another seals
// with the epoch before it, which the newcomer never gets the key of (it
// reads from its join on): tests send only once every member knows
// every other.
func waitMembers(t testing.TB, nodes []*chattest.Node, members ...*chattest.Node) {
	t.Helper()
	want := make([]chat.PeerID, len(members))
	for i, m := range members {
		want[i] = m.ID
	}
	slices.Sort(want)
	for _, n := range nodes {
		chattest.WaitFor(t, 0, n.Config.Nick+" to list every member", func() bool {
			ms, err := n.Svc.RoomMembers(payroll)
			if err != nil {
				return false
			}
			got := make([]chat.PeerID, len(ms))
			for i, m := range ms {
				got[i] = m.Peer
			}
			slices.Sort(got)
			return slices.Equal(got, want)
		})
	}
}

// joinByInvite has inviter invite n into #payroll, and n join.
func joinByInvite(t testing.TB, inviter, n *chattest.Node) {
	t.Helper()
	link, _, err := inviter.Svc.CreateInvite(t.Context(), payroll, 1, time.Hour)
	if err != nil {
		t.Fatalf("invite: %v", err)
	}
	name, joined, err := n.Svc.JoinInvite(t.Context(), link)
	if err != nil || !joined || name != payroll {
		t.Fatalf("join by invite: got (%q, %v, %v), want (%q, true, nil)", name, joined, err, payroll)
	}
}

func roomInfo(t *testing.T, n *chattest.Node, name string) chat.RoomInfo {
	t.Helper()
	rooms, err := n.Svc.Rooms()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rooms {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("%s is not in #%s", n.ID.Short(), name)
	return chat.RoomInfo{}
}

func holds(t *testing.T, n *chattest.Node, id chat.MessageID) bool {
	t.Helper()
	_, err := n.Svc.Message(id)
	if err != nil && !errors.Is(err, chat.ErrNotFound) {
		t.Fatal(err)
	}
	return err == nil
}

func TestPrivateRoomMessagesAreSealed(t *testing.T) {
	_, ann, bob, cat := privateTrio(t)
	if info := roomInfo(t, ann, payroll); !info.Private || info.Role != chat.RoleAdmin {
		t.Errorf("ann's #payroll: got private %v, role %q; want true, admin", info.Private, info.Role)
	}
	if info := roomInfo(t, bob, payroll); !info.Private || info.Role != chat.RoleMember {
		t.Errorf("bob's #payroll: got private %v, role %q; want true, member", info.Private, info.Role)
	}
	sent := sendRoom(t, ann, payroll, "salaries are up")
	for _, n := range []*chattest.Node{bob, cat} {
		n.Events.WaitFor(t, "the message at "+n.Config.Nick, chattest.MessageIs(sent.ID))
	}
	ann.Events.WaitFor(t, "ann's message sent", chattest.StatusIs(sent.ID, chat.StatusSent))
	got, err := bob.Svc.Message(sent.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Body != "salaries are up" || len(got.Sealed) == 0 {
		t.Fatalf("bob's copy: body %q, %d sealed bytes; want the text, and what was published", got.Body, len(got.Sealed))
	}
	if slices.Contains(got.Sealed, 's') && containsBytes(got.Sealed, []byte("salaries")) {
		t.Error("the published bytes hold the text in the clear")
	}
	// The proof covers the sealed bytes on the private topic, not the
	// room's public topic.
	if err := bob.PS.VerifyProof(chat.RoomTopic(payroll), ann.ID, got.Sealed, got.Proof); err == nil {
		t.Error("the proof verifies on the public topic of the same name")
	}
	ms, err := cat.Svc.RoomMembers(payroll)
	if err != nil {
		t.Fatal(err)
	}
	roles := map[chat.PeerID]chat.Role{}
	for _, m := range ms {
		roles[m.Peer] = m.Role
	}
	want := map[chat.PeerID]chat.Role{ann.ID: chat.RoleAdmin, bob.ID: chat.RoleMember, cat.ID: chat.RoleMember}
	if len(roles) != 3 || roles[ann.ID] != want[ann.ID] || roles[bob.ID] != want[bob.ID] || roles[cat.ID] != want[cat.ID] {
		t.Errorf("cat's member list: got %v, want %v", roles, want)
	}
}

func containsBytes(b, sub []byte) bool {
	for i := 0; i+len(sub) <= len(b); i++ {
		if string(b[i:i+len(sub)]) == string(sub) {
			return true
		}
	}
	return false
}

func TestPrivateRoomRemovalHolds(t *testing.T) {
	_, ann, bob, cat := privateTrio(t)
	before := sendRoom(t, bob, payroll, "before")
	cat.Events.WaitFor(t, "cat reading before the removal", chattest.MessageIs(before.ID))

	if err := bob.Svc.RemoveMember(t.Context(), payroll, cat.ID); !errors.Is(err, chat.ErrNotAllowed) {
		t.Errorf("a member removing: got %v, want ErrNotAllowed", err)
	}
	if err := ann.Svc.RemoveMember(t.Context(), payroll, cat.ID); err != nil {
		t.Fatalf("remove: %v", err)
	}
	chattest.WaitFor(t, 10*time.Second, "cat to learn it was removed", func() bool {
		return roomInfo(t, cat, payroll).Removed
	})
	if _, err := cat.Svc.SendRoom(t.Context(), payroll, "still here?"); !errors.Is(err, chat.ErrNotMember) {
		t.Errorf("a removed member sending: got %v, want ErrNotMember", err)
	}
	after := sendRoom(t, bob, payroll, "after")
	ann.Events.WaitFor(t, "ann reading after the removal", chattest.MessageIs(after.ID))
	reply := sendRoom(t, ann, payroll, "reply")
	bob.Events.WaitFor(t, "bob reading ann's reply", chattest.MessageIs(reply.ID))
	for _, id := range []chat.MessageID{after.ID, reply.ID} {
		if holds(t, cat, id) {
			t.Errorf("the removed member holds a message sent after its removal")
		}
	}
	ms, err := bob.Svc.RoomMembers(payroll)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 {
		t.Errorf("bob's member list after the removal: %d members, want 2", len(ms))
	}
}

func TestPrivateRoomInvites(t *testing.T) {
	net := chattest.NewNet(t)
	ann := chattest.NewNode(t, net, chattest.WithRooms())
	bob := chattest.NewNode(t, net, chattest.WithRooms())
	cat := chattest.NewNode(t, net, chattest.WithRooms())
	late := chattest.NewNode(t, net, chattest.WithRooms(), chattest.WithConfig(func(c *chat.Config) {
		c.Now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	}))
	for _, n := range []*chattest.Node{bob, cat, late} {
		net.Connect(ann.ID, n.ID)
	}
	if err := ann.Svc.CreatePrivateRoom(t.Context(), payroll); err != nil {
		t.Fatal(err)
	}
	link, inv, err := ann.Svc.CreateInvite(t.Context(), payroll, 1, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if inv.Inviter != ann.ID || inv.RoomName != payroll {
		t.Errorf("invite: inviter %s, room %q", inv.Inviter.Short(), inv.RoomName)
	}
	// A flipped byte anywhere makes a forged link.
	for i := len(chat.InviteLinkPrefix); i < len(link); i += 7 {
		b := []byte(link)
		b[i] ^= 1
		if _, _, err := cat.Svc.JoinInvite(t.Context(), string(b)); !errors.Is(err, chat.ErrInviteForged) {
			t.Fatalf("a link with byte %d flipped: got %v, want ErrInviteForged", i, err)
		}
	}
	if _, _, err := late.Svc.JoinInvite(t.Context(), link); !errors.Is(err, chat.ErrInviteExpired) {
		t.Errorf("an expired link: got %v, want ErrInviteExpired", err)
	}
	if _, joined, err := bob.Svc.JoinInvite(t.Context(), link); err != nil || !joined {
		t.Fatalf("bob joining: (%v, %v)", joined, err)
	}
	if _, joined, err := bob.Svc.JoinInvite(t.Context(), link); err != nil || joined {
		t.Errorf("bob joining again: got (%v, %v), want (false, nil)", joined, err)
	}
	if _, _, err := cat.Svc.JoinInvite(t.Context(), link); !errors.Is(err, chat.ErrInviteUsedUp) {
		t.Errorf("a used-up link: got %v, want ErrInviteUsedUp", err)
	}
	link2, inv2, err := ann.Svc.CreateInvite(t.Context(), payroll, 5, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if room, err := ann.Svc.RevokeInvite(t.Context(), inv2.IDString()); err != nil || room != payroll {
		t.Fatalf("revoke: (%q, %v)", room, err)
	}
	if _, _, err := cat.Svc.JoinInvite(t.Context(), link2); !errors.Is(err, chat.ErrInviteRevoked) {
		t.Errorf("a revoked link: got %v, want ErrInviteRevoked", err)
	}
	if slices.ContainsFunc(mustRooms(t, cat), func(r chat.RoomInfo) bool { return r.Name == payroll }) {
		t.Error("cat is in #payroll after failed joins")
	}
}

func mustRooms(t *testing.T, n *chattest.Node) []chat.RoomInfo {
	t.Helper()
	rooms, err := n.Svc.Rooms()
	if err != nil {
		t.Fatal(err)
	}
	return rooms
}

// lateProofs is a store whose SetProofs waits while held: the proofs of
// what the node publishes are recorded late.
type lateProofs struct {
	chat.Store
	mu   sync.Mutex
	held chan struct{} // nil: SetProofs does not wait
}

func (s *lateProofs) SetProofs(ms []*chat.Message) error {
	s.mu.Lock()
	held := s.held
	s.mu.Unlock()
	if held != nil {
		<-held
	}
	return s.Store.SetProofs(ms)
}

func (s *lateProofs) hold() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.held == nil {
		s.held = make(chan struct{})
	}
}

func (s *lateProofs) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.held != nil {
		close(s.held)
		s.held = nil
	}
}

// TestPrivateRoomJoinBeforeProofsRecorded joins by an invite whose op is
// published but whose proof the inviter has not recorded yet (a link used
// the moment it is made): the inviter waits for the proof rather than
// answer without the invite op, which would leave the joiner unable to
// tell it was added.
func TestPrivateRoomJoinBeforeProofsRecorded(t *testing.T) {
	net := chattest.NewNet(t)
	var store *lateProofs
	ann := chattest.NewNode(t, net, chattest.WithRooms(), chattest.WithStore(func(st chat.Store) chat.Store {
		store = &lateProofs{Store: st}
		return store
	}))
	t.Cleanup(store.release) // before ann stops
	bob := chattest.NewNode(t, net, chattest.WithRooms())
	cat := chattest.NewNode(t, net, chattest.WithRooms())
	for _, pair := range [][2]*chattest.Node{{ann, bob}, {ann, cat}, {bob, cat}} {
		net.Connect(pair[0].ID, pair[1].ID)
	}
	if err := ann.Svc.CreatePrivateRoom(t.Context(), payroll); err != nil {
		t.Fatal(err)
	}
	joinByInvite(t, ann, cat)

	store.hold()
	link, _, err := ann.Svc.CreateInvite(t.Context(), payroll, 1, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	joined := make(chan error, 1)
	go func() {
		_, _, err := bob.Svc.JoinInvite(t.Context(), link)
		joined <- err
	}()
	// Cat seeing bob added means ann has published the add and is about
	// to answer bob; only then are ann's proofs recorded.
	chattest.WaitFor(t, 0, "cat to see bob added", func() bool {
		ms, err := cat.Svc.RoomMembers(payroll)
		return err == nil && slices.ContainsFunc(ms, func(m chat.RoomMember) bool { return m.Peer == bob.ID })
	})
	store.release()
	if err := <-joined; err != nil {
		t.Fatalf("bob joining: got %v, want nil", err)
	}
}

// TestPrivateRoomOpBySync has a member get an op only by sync (it was
// cut off from the op's author when it went out): the member applies it
// as it would a live one.
func TestPrivateRoomOpBySync(t *testing.T) {
	net, ann, bob, cat := privateTrio(t)
	dave := chattest.NewNode(t, net, chattest.WithRooms(), chattest.WithNick("dave"))
	net.Connect(dave.ID, ann.ID)
	net.Disconnect(ann.ID, cat.ID)
	joinByInvite(t, ann, dave)
	waitMembers(t, []*chattest.Node{ann, bob}, ann, bob, cat, dave)
	if slices.Contains(roomMembers(t, cat), dave.ID) {
		t.Fatal("cat learnt of dave's add live, cut off from ann")
	}
	if _, err := cat.Svc.SyncRoomWith(t.Context(), payroll, bob.ID); err != nil {
		t.Fatalf("sync with bob: %v", err)
	}
	if !holds(t, cat, findOp(t, ann, wire.RoomOp_TYPE_ADD, dave.ID)) {
		t.Fatal("cat lacks ann's add of dave after syncing with bob")
	}
	if got := roomMembers(t, cat); !slices.Contains(got, dave.ID) {
		t.Errorf("cat's members after syncing dave's add: got %d, dave not among them", len(got))
	}
}

// An offline member misses a removal and an addition; when it comes back
// it derives the same members as everyone else and reads, and is read by,
// the newcomer under the new keys.
func TestPrivateRoomOfflineMemberCatchesUp(t *testing.T) {
	net := chattest.NewNet(t)
	ann := chattest.NewNode(t, net, chattest.WithRooms(), chattest.WithNick("ann"))
	bob := chattest.NewNode(t, net, chattest.WithRooms(), chattest.WithNick("bob"))
	cat := chattest.NewNode(t, net, chattest.WithRooms(), chattest.WithNick("cat"), chattest.OnDisk())
	dan := chattest.NewNode(t, net, chattest.WithRooms(), chattest.WithNick("dan"))
	for _, pair := range [][2]*chattest.Node{{ann, bob}, {ann, cat}, {bob, cat}, {ann, dan}} {
		net.Connect(pair[0].ID, pair[1].ID)
	}
	if err := ann.Svc.CreatePrivateRoom(t.Context(), payroll); err != nil {
		t.Fatal(err)
	}
	joinByInvite(t, ann, bob)
	joinByInvite(t, ann, cat)
	hello := sendRoom(t, ann, payroll, "hello all")
	cat.Events.WaitFor(t, "cat reading before it goes away", chattest.MessageIs(hello.ID))

	cat.Stop()
	net.Disconnect(ann.ID, cat.ID)
	net.Disconnect(bob.ID, cat.ID)
	if err := ann.Svc.RemoveMember(t.Context(), payroll, bob.ID); err != nil {
		t.Fatal(err)
	}
	joinByInvite(t, ann, dan)
	fromDan := sendRoom(t, dan, payroll, "dan here")
	ann.Events.WaitFor(t, "ann reading dan", chattest.MessageIs(fromDan.ID))

	cat.Start()
	<-cat.Svc.Started()
	net.Connect(ann.ID, cat.ID)
	net.Connect(dan.ID, cat.ID)
	memberSet := func(n *chattest.Node) []chat.PeerID {
		ms, err := n.Svc.RoomMembers(payroll)
		if err != nil {
			t.Fatal(err)
		}
		var out []chat.PeerID
		for _, m := range ms {
			out = append(out, m.Peer)
		}
		slices.Sort(out)
		return out
	}
	want := []chat.PeerID{ann.ID, cat.ID, dan.ID}
	slices.Sort(want)
	chattest.WaitFor(t, 20*time.Second, "cat to derive ann, cat and dan as the members", func() bool {
		return slices.Equal(memberSet(cat), want)
	})
	for _, n := range []*chattest.Node{ann, dan} {
		if got := memberSet(n); !slices.Equal(got, want) {
			t.Errorf("%s's members: %v, want %v", n.Config.Nick, got, want)
		}
	}
	chattest.WaitFor(t, 20*time.Second, "cat to read dan's message by sync", func() bool { return holds(t, cat, fromDan.ID) })
	fromCat := sendRoom(t, cat, payroll, "cat is back")
	for _, n := range []*chattest.Node{ann, dan} {
		chattest.WaitFor(t, 20*time.Second, n.Config.Nick+" to read cat under the new keys", func() bool { return holds(t, n, fromCat.ID) })
	}
	if holds(t, bob, fromCat.ID) || holds(t, bob, fromDan.ID) {
		t.Error("bob, removed, holds a message sent after his removal")
	}
}

// TestPrivateRoomMembersEvent: a change of members or roles made by
// another node reaches the event stream, so clients refresh what they show.
func TestPrivateRoomMembersEvent(t *testing.T) {
	_, ann, bob, cat := privateTrio(t)
	events, cancel := bob.Svc.Subscribe()
	defer cancel()
	if err := ann.Svc.PromoteMember(t.Context(), payroll, cat.ID); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(30 * time.Second)
	for {
		select {
		case e, ok := <-events:
			if !ok {
				t.Fatal("bob's event stream ended")
			}
			if e.Type == chat.EventMembers && e.Room == payroll {
				return
			}
		case <-deadline:
			t.Fatal("bob got no members event after ann promoted cat")
		}
	}
}
