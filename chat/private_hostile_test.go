package chat_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/chat/chattest"
	"github.com/parley-chat/parley/crypto"
	"github.com/parley-chat/parley/internal/wire"
)

// These tests put a hostile peer into private #payroll: a node that learnt
// the room's topic but holds no key, and members (or a removed member)
// publishing what an honest node never sends. A hostile member is a
// stopped node whose identity publishes on the topic through a pubsub of
// its own, so its messages carry its real proofs. Each test then checks
// that the honest members' delivery goes on.

// privateSecret returns #payroll's ID and secret as n's store holds them.
func privateSecret(t *testing.T, n *chattest.Node) (chat.RoomID, crypto.Key) {
	t.Helper()
	rooms, err := n.Store.Rooms()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rooms {
		if r.Name == payroll && r.Private != nil {
			return r.Private.ID, r.Private.Secret
		}
	}
	t.Fatalf("%s holds no private #payroll", n.Config.Nick)
	return chat.RoomID{}, crypto.Key{}
}

// impersonate stops n and joins topic with n's identity on a pubsub of its
// own (on n's transport, so its links stay): what it publishes carries n's
// proofs.
func impersonate(t *testing.T, n *chattest.Node, topic string) chat.Topic {
	t.Helper()
	n.Stop()
	return rawTopic(t, n.Tr, n.Identity, topic)
}

// rawTopic joins topic on a pubsub of tr signed by id; it takes nothing.
func rawTopic(t *testing.T, tr *chattest.Transport, id *crypto.Identity, topic string) chat.Topic {
	t.Helper()
	tp, err := tr.PubSub(id).JoinTopic(topic, func(chat.PeerID, []byte) (chat.Verdict, *chat.Message) { return chat.Ignore, nil })
	if err != nil {
		t.Fatalf("join the topic: %v", err)
	}
	t.Cleanup(func() { _ = tp.Close() })
	return tp
}

// publishRaw publishes data on tp. The in-memory pubsub has every
// receiver judge it before Publish returns.
func publishRaw(t *testing.T, tp chat.Topic, data []byte) {
	t.Helper()
	if _, err := tp.Publish(t.Context(), data); err != nil {
		t.Fatalf("publish: %v", err)
	}
}

// sealedOf returns the sealed bytes of message id as n stored them, and
// the epoch they name.
func sealedOf(t *testing.T, n *chattest.Node, id chat.MessageID) ([]byte, chat.MessageID) {
	t.Helper()
	m, err := n.Svc.Message(id)
	if err != nil {
		t.Fatal(err)
	}
	var sl wire.Sealed
	if err := proto.Unmarshal(m.Sealed, &sl); err != nil || (len(sl.Epoch) != 0 && len(sl.Epoch) != len(chat.MessageID{})) {
		t.Fatalf("%s's copy of %s: sealed bytes that do not decode (%v)", n.Config.Nick, id, err)
	}
	var epoch chat.MessageID
	copy(epoch[:], sl.Epoch)
	return m.Sealed, epoch
}

// seal seals m (as chattest.Env makes it) with key: as an op when epoch
// is zero, else with m's author's sender key of epoch.
func seal(t *testing.T, m *chat.Message, key crypto.Key, epoch chat.MessageID) []byte {
	t.Helper()
	b, err := chat.SealMessage(m, key, epoch)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// opEnv returns an op by author, as chat encodes one.
func opEnv(t *testing.T, author chat.PeerID, hlc chat.HLC, op *wire.RoomOp) *chat.Message {
	t.Helper()
	return chattest.Env{Author: author, Room: payroll, HLC: hlc, Kind: chat.KindOp, Raw: func(e *wire.Envelope) { e.Op = op }}.Message(t)
}

func randomKey(t *testing.T) crypto.Key {
	t.Helper()
	k, err := crypto.NewKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func random16(t *testing.T) []byte {
	t.Helper()
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// afterOps is an HLC after every op n holds and after now.
func afterOps(t *testing.T, n *chattest.Node) chat.HLC {
	t.Helper()
	ops, err := n.Store.Ops(payrollConv)
	if err != nil {
		t.Fatal(err)
	}
	h := chat.HLCFromTime(time.Now())
	for _, m := range ops {
		h = max(h, m.HLC+1)
	}
	return h
}

// opsOf returns the ops n holds.
func opsOf(t *testing.T, n *chattest.Node) []chat.MessageID {
	t.Helper()
	ops, err := n.Store.Ops(payrollConv)
	if err != nil {
		t.Fatal(err)
	}
	return idsOf(ops)
}

// deliveredTo sends body from n and waits until every one of to stores
// it.
func deliveredTo(t *testing.T, from *chattest.Node, body string, to ...*chattest.Node) *chat.Message {
	t.Helper()
	m := sendRoom(t, from, payroll, body)
	for _, n := range to {
		n.Events.WaitFor(t, body+" at "+n.Config.Nick, chattest.MessageIs(m.ID))
	}
	return m
}

// textsOf returns the bodies of the text messages n holds in #payroll.
func textsOf(n *chattest.Node) []string {
	var out []string
	for _, m := range n.History(payrollConv) {
		if m.Kind == chat.KindText {
			out = append(out, m.Body)
		}
	}
	return out
}

func TestPrivateRoomNonMemberPublishing(t *testing.T) {
	net, ann, bob, cat := privateTrio(t)
	before := deliveredTo(t, ann, "before", bob, cat)
	_, secret := privateSecret(t, ann)
	annSealed, epoch := sealedOf(t, bob, before.ID)

	// Eve learnt the topic's name, not the room's secret or any key.
	eve := chattest.NewIdentity(t)
	eveTr := net.AddNode(eve.PeerID())
	for _, n := range []*chattest.Node{ann, bob, cat} {
		net.Connect(eve.PeerID(), n.ID)
	}
	topic := rawTopic(t, eveTr, eve, chat.PrivateTopic(secret))
	now := afterOps(t, ann)
	text := chattest.Env{Author: eve.PeerID(), Room: payroll, HLC: now, Body: "let me in"}.Message(t)
	add := opEnv(t, eve.PeerID(), now+1, &wire.RoomOp{Type: wire.RoomOp_TYPE_ADD, Target: []byte(eve.PeerID()), KeyCheck: random16(t)})
	sent := map[string]struct {
		data []byte
		id   chat.MessageID // zero: nothing a member could store
	}{
		"garbage":                      {data: []byte("garbage")},
		"an envelope in the clear":     {data: text.Envelope, id: text.ID},
		"a text sealed with a guess":   {data: seal(t, text, randomKey(t), epoch), id: text.ID},
		"an op sealed with a guess":    {data: seal(t, add, chat.OpKey(randomKey(t)), chat.MessageID{}), id: add.ID},
		"a member's message, replayed": {data: annSealed, id: before.ID},
	}
	for _, m := range sent {
		publishRaw(t, topic, m.data)
	}
	// Members read the topic in order: "after" comes after eve's.
	deliveredTo(t, bob, "after", ann, cat)
	for name, m := range sent {
		for _, n := range []*chattest.Node{ann, bob, cat} {
			if !m.id.IsZero() && m.id != before.ID && holds(t, n, m.id) {
				t.Errorf("%s: %s stored it", name, n.Config.Nick)
			}
		}
	}
	for _, n := range []*chattest.Node{ann, bob, cat} {
		if got, want := textsOf(n), []string{"before", "after"}; !slices.Equal(got, want) {
			t.Errorf("%s's texts: got %q, want %q", n.Config.Nick, got, want)
		}
		if slices.ContainsFunc(roomMembers(t, n), func(p chat.PeerID) bool { return p == eve.PeerID() }) {
			t.Errorf("%s lists eve as a member", n.Config.Nick)
		}
	}
}

// roomMembers returns the peers n lists in #payroll.
func roomMembers(t testing.TB, n *chattest.Node) []chat.PeerID {
	t.Helper()
	ms, err := n.Svc.RoomMembers(payroll)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]chat.PeerID, len(ms))
	for i, m := range ms {
		out[i] = m.Peer
	}
	return out
}

func TestPrivateRoomMemberClaimingAdmin(t *testing.T) {
	_, ann, bob, cat := privateTrio(t)
	_, secret := privateSecret(t, bob)
	topic := impersonate(t, bob, chat.PrivateTopic(secret))
	now := afterOps(t, ann)
	ops := map[string]*chat.Message{
		"remove cat":       opEnv(t, bob.ID, now, &wire.RoomOp{Type: wire.RoomOp_TYPE_REMOVE, Target: []byte(cat.ID), KeyCheck: random16(t)}),
		"promote himself":  opEnv(t, bob.ID, now+1, &wire.RoomOp{Type: wire.RoomOp_TYPE_PROMOTE, Target: []byte(bob.ID)}),
		"change settings":  opEnv(t, bob.ID, now+2, &wire.RoomOp{Type: wire.RoomOp_TYPE_SETTINGS, History: chat.HistoryAll, Invite: chat.InviteMembers}),
		"remove ann first": opEnv(t, bob.ID, now+3, &wire.RoomOp{Type: wire.RoomOp_TYPE_REMOVE, Target: []byte(ann.ID), KeyCheck: random16(t)}),
	}
	for _, m := range ops {
		publishRaw(t, topic, seal(t, m, chat.OpKey(secret), chat.MessageID{}))
	}
	// Each reads what arrived on the topic in order: once one stores the
	// other's message, it has stored and applied bob's ops.
	deliveredTo(t, ann, "ann after", cat)
	deliveredTo(t, cat, "cat after", ann)
	// The ops are kept (well formed, signed, by a member) and skipped.
	for name, m := range ops {
		for _, n := range []*chattest.Node{ann, cat} {
			if !holds(t, n, m.ID) {
				t.Errorf("bob's op %q: %s does not keep it", name, n.Config.Nick)
			}
		}
	}
	for _, n := range []*chattest.Node{ann, cat} {
		got := map[chat.PeerID]chat.Role{}
		ms, err := n.Svc.RoomMembers(payroll)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			got[m.Peer] = m.Role
		}
		if len(got) != 3 || got[ann.ID] != chat.RoleAdmin || got[bob.ID] != chat.RoleMember || got[cat.ID] != chat.RoleMember {
			t.Errorf("%s's members after bob's ops: got %v, want ann admin, bob and cat members", n.Config.Nick, got)
		}
		if history, invite, err := n.Svc.PrivateSettings(payroll); err != nil || history != chat.HistoryJoin || invite != chat.InviteAdmins {
			t.Errorf("%s's settings after bob's: got (%q, %q, %v), want (join, admins)", n.Config.Nick, history, invite, err)
		}
	}
	if roomInfo(t, cat, payroll).Removed {
		t.Error("cat thinks it was removed")
	}
}

func TestPrivateRoomReplayedOp(t *testing.T) {
	net, ann, bob, cat := privateTrio(t)
	dave := chattest.NewNode(t, net, chattest.WithRooms(), chattest.WithNick("dave"))
	for _, n := range []*chattest.Node{ann, bob, cat} {
		net.Connect(dave.ID, n.ID)
	}
	// Bob invites dave (members may): bob's add of dave is the op to replay.
	if err := ann.Svc.SetPrivateSettings(t.Context(), payroll, "", chat.InviteMembers); err != nil {
		t.Fatal(err)
	}
	chattest.WaitFor(t, 0, "bob to learn members may invite", func() bool {
		_, invite, err := bob.Svc.PrivateSettings(payroll)
		return err == nil && invite == chat.InviteMembers
	})
	joinByInvite(t, bob, dave)
	waitMembers(t, []*chattest.Node{ann, bob, cat, dave}, ann, bob, cat, dave)
	addDave := findOp(t, bob, wire.RoomOp_TYPE_ADD, dave.ID)
	addSealed, _ := sealedOf(t, bob, addDave)

	if err := ann.Svc.RemoveMember(t.Context(), payroll, dave.ID); err != nil {
		t.Fatal(err)
	}
	chattest.WaitFor(t, 0, "dave to learn it was removed", func() bool { return roomInfo(t, dave, payroll).Removed })
	waitMembers(t, []*chattest.Node{ann, bob, cat}, ann, bob, cat)
	deliveredTo(t, bob, "bob has the new epoch", ann, cat)
	opsBefore := opsOf(t, ann)

	_, secret := privateSecret(t, bob)
	topic := impersonate(t, bob, chat.PrivateTopic(secret))
	for range 2 {
		publishRaw(t, topic, addSealed)
	}
	deliveredTo(t, ann, "ann after", cat)
	after := deliveredTo(t, cat, "cat after", ann)
	for _, n := range []*chattest.Node{ann, cat} {
		if got := roomMembers(t, n); slices.Contains(got, dave.ID) || len(got) != 3 {
			t.Errorf("%s's members after the replay: got %d, dave among them %v; want ann, bob and cat", n.Config.Nick, len(got), slices.Contains(got, dave.ID))
		}
	}
	if got := opsOf(t, ann); !slices.Equal(got, opsBefore) {
		t.Errorf("ann's ops after the replay: got %d, want the %d before", len(got), len(opsBefore))
	}
	if holds(t, dave, after.ID) {
		t.Error("dave holds a message sent after its removal")
	}
}

// findOp returns the op of type typ with target that n holds.
func findOp(t *testing.T, n *chattest.Node, typ wire.RoomOp_Type, target chat.PeerID) chat.MessageID {
	t.Helper()
	ops, err := n.Store.Ops(payrollConv)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ops {
		var env wire.Envelope
		if err := proto.Unmarshal(m.Envelope, &env); err != nil {
			t.Fatal(err)
		}
		if env.Op.GetType() == typ && bytes.Equal(env.Op.GetTarget(), []byte(target)) {
			return m.ID
		}
	}
	t.Fatalf("%s holds no %v op of %s", n.Config.Nick, typ, target.Short())
	return chat.MessageID{}
}

func TestPrivateRoomOldEpochAfterRemoval(t *testing.T) {
	net, ann, bob, cat := privateTrio(t)
	dave := chattest.NewNode(t, net, chattest.WithRooms(), chattest.WithNick("dave"))
	for _, n := range []*chattest.Node{ann, bob, cat} {
		net.Connect(dave.ID, n.ID)
	}
	joinByInvite(t, ann, dave)
	waitMembers(t, []*chattest.Node{ann, bob, cat, dave}, ann, bob, cat, dave)
	before := deliveredTo(t, bob, "before", ann, cat, dave)
	roomID, secret := privateSecret(t, bob)
	_, oldEpoch := sealedOf(t, ann, before.ID)
	keys, err := bob.Store.RoomKeys(roomID)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(keys, func(k chat.RoomKey) bool { return k.Epoch == oldEpoch })
	if i < 0 {
		t.Fatal("bob lacks the key of the epoch he sealed with")
	}
	oldKey := keys[i].Secret

	if err := ann.Svc.RemoveMember(t.Context(), payroll, cat.ID); err != nil {
		t.Fatal(err)
	}
	chattest.WaitFor(t, 0, "cat to learn it was removed", func() bool { return roomInfo(t, cat, payroll).Removed })
	waitMembers(t, []*chattest.Node{ann, bob, dave}, ann, bob, dave)
	deliveredTo(t, bob, "bob has the new epoch", ann, dave)
	deliveredTo(t, dave, "dave has the new epoch", ann, bob)

	// Cat, removed, still holds the key of the epoch before its removal.
	catTopic := impersonate(t, cat, chat.PrivateTopic(secret))
	byCat := chattest.Env{Author: cat.ID, Room: payroll, HLC: afterOps(t, ann), Body: "still reading?"}.Message(t)
	publishRaw(t, catTopic, seal(t, byCat, oldKey, oldEpoch))
	deliveredTo(t, ann, "after cat's", bob, dave)
	if holds(t, bob, byCat.ID) {
		t.Error("bob stored cat's message sealed with the key from before its removal")
	}
	// Bob, a member, seals with that key after the removal.
	bobTopic := impersonate(t, bob, chat.PrivateTopic(secret))
	byBob := chattest.Env{Author: bob.ID, Room: payroll, HLC: afterOps(t, ann), Body: "the old key"}.Message(t)
	publishRaw(t, bobTopic, seal(t, byBob, oldKey, oldEpoch))
	deliveredTo(t, ann, "after bob's", dave)
	deliveredTo(t, dave, "dave after bob's", ann)

	// Cat dates a message just after "before", when it was still a
	// member, and publishes it live after its removal.
	backdated := chattest.Env{Author: cat.ID, Room: payroll, HLC: before.HLC + 1, Body: "I said this earlier"}.Message(t)
	publishRaw(t, catTopic, seal(t, backdated, oldKey, oldEpoch))
	deliveredTo(t, ann, "after cat's backdated one", dave)

	for _, n := range []*chattest.Node{ann, dave} {
		for who, id := range map[string]chat.MessageID{"cat's": byCat.ID, "bob's": byBob.ID, "cat's backdated": backdated.ID} {
			if holds(t, n, id) {
				t.Errorf("%s stored %s message sealed with the key from before the removal", n.Config.Nick, who)
			}
		}
	}
	// Nor is the room's history pulled from cat.
	if _, err := dave.Svc.SyncRoomWith(t.Context(), payroll, cat.ID); !errors.Is(err, chat.ErrNotMember) {
		t.Errorf("dave syncing #%s with removed cat: %v, want ErrNotMember", payroll, err)
	}
}

func TestPrivateRoomForgedInvite(t *testing.T) {
	net, ann, bob, cat := privateTrio(t)
	dave := chattest.NewNode(t, net, chattest.WithRooms(), chattest.WithNick("dave"))
	net.Connect(dave.ID, ann.ID)
	net.Connect(dave.ID, bob.ID)
	link, _, err := ann.Svc.CreateInvite(t.Context(), payroll, 1, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for i := len(chat.InviteLinkPrefix); i < len(link); i++ {
		for _, bit := range []byte{0x01, 0x02, 0x20} {
			b := []byte(link)
			b[i] ^= bit
			if name, joined, err := dave.Svc.JoinInvite(t.Context(), string(b)); !errors.Is(err, chat.ErrInviteForged) {
				t.Fatalf("the link with byte %d xor %#x: got (%q, %v, %v), want ErrInviteForged", i, bit, name, joined, err)
			}
		}
	}
	if slices.ContainsFunc(mustRooms(t, dave), func(r chat.RoomInfo) bool { return r.Name == payroll }) {
		t.Fatal("dave is in #payroll after forged links")
	}
	// The invite is unused: the link as made still admits.
	if name, joined, err := dave.Svc.JoinInvite(t.Context(), link); err != nil || !joined || name != payroll {
		t.Fatalf("the link as made: got (%q, %v, %v), want (%q, true, nil)", name, joined, err, payroll)
	}
	waitMembers(t, []*chattest.Node{ann, bob, dave}, ann, bob, cat, dave)
	deliveredTo(t, bob, "welcome", ann, dave)
}
