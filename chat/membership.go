package chat

import (
	"bytes"
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/parley-chat/parley/crypto"
	"github.com/parley-chat/parley/internal/wire"
)

// A private room's members and roles are what its ops say, applied in
// room order (HLC, ID): every member holding the same ops derives the same
// state. An op that its author may not do at its place in that order is
// skipped (it is kept: it is well formed and signed, and skipping it is
// the same everywhere). The rules:
//
//   - create: the op whose ID starts with the room ID; its author is the
//     first admin. Every other create is skipped.
//   - add: by a member, through an invite that is made, not revoked, not
//     expired at the add's time and not used up; or by an admin without one.
//   - remove, promote, settings: by an admin. Remove and promote name a
//     member; nobody removes themselves (they leave).
//   - leave: by a member. When the last admin leaves, the remaining member
//     added first becomes admin.
//   - rotate: by a member.
//   - invite: by an admin, or by any member when the room's setting says
//     members may invite. revoke: by the invite's maker or an admin.
//
// Create, add, remove and rotate start an epoch.

// opTypeName names op types for people and logs.
var opTypeName = map[wire.RoomOp_Type]string{
	wire.RoomOp_TYPE_CREATE:   "create",
	wire.RoomOp_TYPE_ADD:      "add",
	wire.RoomOp_TYPE_REMOVE:   "remove",
	wire.RoomOp_TYPE_PROMOTE:  "promote",
	wire.RoomOp_TYPE_LEAVE:    "leave",
	wire.RoomOp_TYPE_ROTATE:   "rotate",
	wire.RoomOp_TYPE_SETTINGS: "settings",
	wire.RoomOp_TYPE_INVITE:   "invite",
	wire.RoomOp_TYPE_REVOKE:   "revoke",
}

// startsEpoch reports whether ops of type t start an epoch.
func startsEpoch(t wire.RoomOp_Type) bool {
	switch t {
	case wire.RoomOp_TYPE_CREATE, wire.RoomOp_TYPE_ADD, wire.RoomOp_TYPE_REMOVE, wire.RoomOp_TYPE_ROTATE:
		return true
	}
	return false
}

// checkOp checks what an op says on its own (DecodeEnvelope calls it).
func checkOp(op *wire.RoomOp) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: op: %s", ErrBadEnvelope, fmt.Sprintf(format, args...))
	}
	t := op.Type
	if _, ok := opTypeName[t]; !ok {
		return bad("unknown type %d", t)
	}
	needsTarget := t == wire.RoomOp_TYPE_ADD || t == wire.RoomOp_TYPE_REMOVE || t == wire.RoomOp_TYPE_PROMOTE
	if needsTarget {
		if _, err := crypto.PeerIDFromBytes(op.Target); err != nil {
			return bad("target: %v", err)
		}
	} else if len(op.Target) > 0 {
		return bad("a %s has no target", opTypeName[t])
	}
	if startsEpoch(t) != (len(op.KeyCheck) == 16) {
		return bad("key check of %d bytes", len(op.KeyCheck))
	}
	switch t {
	case wire.RoomOp_TYPE_INVITE, wire.RoomOp_TYPE_REVOKE:
		if len(op.InviteId) != 16 {
			return bad("invite ID of %d bytes", len(op.InviteId))
		}
	case wire.RoomOp_TYPE_ADD:
		if len(op.InviteId) != 0 && len(op.InviteId) != 16 {
			return bad("invite ID of %d bytes", len(op.InviteId))
		}
	default:
		if len(op.InviteId) > 0 {
			return bad("a %s has no invite", opTypeName[t])
		}
	}
	if t == wire.RoomOp_TYPE_INVITE {
		if len(op.InviteHash) != 32 || op.Uses == 0 || op.ExpiresMs <= 0 {
			return bad("an invite needs a 32-byte hash, uses and an expiry")
		}
	} else if len(op.InviteHash) > 0 || op.Uses != 0 || op.ExpiresMs != 0 {
		return bad("a %s has no invite terms", opTypeName[t])
	}
	settings := t == wire.RoomOp_TYPE_CREATE || t == wire.RoomOp_TYPE_SETTINGS
	if !settings && (op.History != "" || op.Invite != "") {
		return bad("a %s has no settings", opTypeName[t])
	}
	if op.History != "" && op.History != HistoryJoin && op.History != HistoryAll {
		return bad("history %q", op.History)
	}
	if op.Invite != "" && op.Invite != InviteAdmins && op.Invite != InviteMembers {
		return bad("invite %q", op.Invite)
	}
	if (t == wire.RoomOp_TYPE_CREATE) != (len(op.Nonce) == 16) {
		return bad("nonce of %d bytes", len(op.Nonce))
	}
	return nil
}

// checkGrant checks what a key grant says on its own.
func checkGrant(g *wire.KeyGrant) error {
	if len(g.RoomId) != len(RoomID{}) || len(g.Epoch) != len(MessageID{}) || len(g.Secret) != crypto.KeySize {
		return fmt.Errorf("%w: key grant: malformed", ErrBadEnvelope)
	}
	return nil
}

// epochInfo is one epoch of a private room.
type epochInfo struct {
	id      MessageID // the op that started it
	at      Cursor    // that op's place
	check   []byte    // its key check
	starter PeerID    // that op's author, who made the secret
}

// inviteState is an invite as the ops say.
type inviteState struct {
	by      PeerID
	hash    []byte
	uses    int
	used    int
	expires time.Time
	revoked bool
}

// memberInfo is a current member.
type memberInfo struct {
	role  Role
	since Cursor // the op that added them (the create for its author)
}

// span is a stretch of room order in which a peer was a member: from the
// op that added them up to (not including) the one that ended it (zero:
// still a member).
type span struct{ from, to Cursor }

// roomState is what a private room's ops say.
type roomState struct {
	id       RoomID
	created  bool
	creator  PeerID
	members  map[PeerID]*memberInfo
	spans    map[PeerID][]span
	history  string
	invite   string
	invites  map[[16]byte]*inviteState
	epochs   []epochInfo // in room order
	removals []Cursor    // places of removes and leaves, in order
	applied  int         // ops applied (not skipped)
}

// sameMembership reports whether two states have the same members, roles
// and settings: what people see of a private room's ops.
func sameMembership(a, b *roomState) bool {
	if len(a.members) != len(b.members) || a.history != b.history || a.invite != b.invite {
		return false
	}
	for p, mi := range a.members {
		if o := b.members[p]; o == nil || o.role != mi.role {
			return false
		}
	}
	return true
}

func newRoomState(id RoomID) *roomState {
	return &roomState{
		id:      id,
		members: make(map[PeerID]*memberInfo),
		spans:   make(map[PeerID][]span),
		history: HistoryJoin,
		invite:  InviteAdmins,
		invites: make(map[[16]byte]*inviteState),
	}
}

// deriveState applies ops (any order; they are sorted here, and an op
// given twice is applied once) to a fresh state.
func deriveState(id RoomID, ops []*Message) *roomState {
	ops = slices.Clone(ops)
	slices.SortFunc(ops, func(a, b *Message) int { return compareCursor(CursorOf(a), CursorOf(b)) })
	ops = slices.CompactFunc(ops, func(a, b *Message) bool { return a.ID == b.ID })
	st := newRoomState(id)
	for _, m := range ops {
		st.apply(m)
	}
	return st
}

func compareCursor(a, b Cursor) int {
	if c := cmp.Compare(a.HLC, b.HLC); c != 0 {
		return c
	}
	return bytes.Compare(a.ID[:], b.ID[:])
}

// admin reports whether p is an admin now.
func (st *roomState) admin(p PeerID) bool {
	mi := st.members[p]
	return mi != nil && mi.role == RoleAdmin
}

// roleOf is p's role now (empty if not a member).
func (st *roomState) roleOf(p PeerID) Role {
	if mi := st.members[p]; mi != nil {
		return mi.role
	}
	return ""
}

// member reports whether p is a member now.
func (st *roomState) member(p PeerID) bool { return st.members[p] != nil }

// mayInvite reports whether p may make invites now.
func (st *roomState) mayInvite(p PeerID) bool {
	return st.admin(p) || (st.member(p) && st.invite == InviteMembers)
}

// apply applies one op, or skips it if its author may not do it here. It
// reports whether it applied the op.
func (st *roomState) apply(m *Message) bool {
	op := m.op
	if op == nil {
		return false
	}
	a, at := m.Author, CursorOf(m)
	target := PeerID(op.Target)
	ok := false
	switch {
	case !st.created:
		if op.Type == wire.RoomOp_TYPE_CREATE && RoomID(m.ID[:16]) == st.id {
			st.created, st.creator = true, a
			st.join(a, RoleAdmin, at)
			if op.History != "" {
				st.history = op.History
			}
			if op.Invite != "" {
				st.invite = op.Invite
			}
			ok = true
		}
	case op.Type == wire.RoomOp_TYPE_ADD:
		if !st.member(a) || st.member(target) {
			break
		}
		if len(op.InviteId) == 0 {
			ok = st.admin(a)
		} else if inv := st.invites[[16]byte(op.InviteId)]; inv != nil && !inv.revoked && inv.used < inv.uses && m.SentAt().Before(inv.expires) {
			inv.used++
			ok = true
		}
		if ok {
			st.join(target, RoleMember, at)
		}
	case op.Type == wire.RoomOp_TYPE_REMOVE:
		if ok = st.admin(a) && st.member(target) && target != a; ok {
			st.part(target, at)
		}
	case op.Type == wire.RoomOp_TYPE_PROMOTE:
		if ok = st.admin(a) && st.member(target); ok {
			st.members[target].role = RoleAdmin
		}
	case op.Type == wire.RoomOp_TYPE_LEAVE:
		if ok = st.member(a); ok {
			st.part(a, at)
		}
	case op.Type == wire.RoomOp_TYPE_ROTATE:
		ok = st.member(a)
	case op.Type == wire.RoomOp_TYPE_SETTINGS:
		if ok = st.admin(a); ok {
			if op.History != "" {
				st.history = op.History
			}
			if op.Invite != "" {
				st.invite = op.Invite
			}
		}
	case op.Type == wire.RoomOp_TYPE_INVITE:
		id := [16]byte(op.InviteId)
		if ok = st.mayInvite(a) && st.invites[id] == nil; ok {
			st.invites[id] = &inviteState{by: a, hash: op.InviteHash, uses: int(op.Uses), expires: time.UnixMilli(op.ExpiresMs)}
		}
	case op.Type == wire.RoomOp_TYPE_REVOKE:
		inv := st.invites[[16]byte(op.InviteId)]
		if ok = inv != nil && (inv.by == a || st.admin(a)); ok {
			inv.revoked = true
		}
	}
	if !ok {
		return false
	}
	st.applied++
	if startsEpoch(op.Type) {
		st.epochs = append(st.epochs, epochInfo{id: m.ID, at: at, check: op.KeyCheck, starter: a})
	}
	return true
}

func (st *roomState) join(p PeerID, role Role, at Cursor) {
	st.members[p] = &memberInfo{role: role, since: at}
	st.spans[p] = append(st.spans[p], span{from: at})
}

// part ends p's membership at at; when no admin remains, the member added
// first becomes one.
func (st *roomState) part(p PeerID, at Cursor) {
	delete(st.members, p)
	if s := st.spans[p]; len(s) > 0 {
		s[len(s)-1].to = at
	}
	st.removals = append(st.removals, at)
	var first PeerID
	for q, mi := range st.members {
		if mi.role == RoleAdmin {
			return
		}
		if first == "" || compareCursor(mi.since, st.members[first].since) < 0 {
			first = q
		}
	}
	if first != "" {
		st.members[first].role = RoleAdmin
	}
}

// memberAt reports whether p was a member at place at.
func (st *roomState) memberAt(p PeerID, at Cursor) bool {
	for _, s := range st.spans[p] {
		if compareCursor(s.from, at) <= 0 && (s.to == Cursor{} || compareCursor(at, s.to) < 0) {
			return true
		}
	}
	return false
}

// epoch returns the epoch started by op id.
func (st *roomState) epoch(id MessageID) (epochInfo, bool) {
	for _, e := range st.epochs {
		if e.id == id {
			return e, true
		}
	}
	return epochInfo{}, false
}

// current is the latest epoch (ok false before the create is known).
func (st *roomState) current() (epochInfo, bool) {
	if len(st.epochs) == 0 {
		return epochInfo{}, false
	}
	return st.epochs[len(st.epochs)-1], true
}

// lastRemovalBefore is the place of the latest remove or leave before at
// (zero if none).
func (st *roomState) lastRemovalBefore(at Cursor) Cursor {
	var last Cursor
	for _, r := range st.removals {
		if compareCursor(r, at) >= 0 {
			break
		}
		last = r
	}
	return last
}

// sealedOK judges a sealed message by author at place at under epoch e:
// the author was a member there, and no remove or leave lies between the
// epoch's start and the message (a key from before a removal is not used
// after it).
func (st *roomState) sealedOK(author PeerID, e epochInfo, at Cursor) error {
	if !st.memberAt(author, at) {
		return fmt.Errorf("%s is not a member there", author.Short())
	}
	if r := st.lastRemovalBefore(at); compareCursor(r, e.at) > 0 {
		return fmt.Errorf("sealed with the key of an epoch that ended at a removal")
	}
	return nil
}

// readsFrom is the oldest place p may read from: its latest join when the
// room's history setting is "join", else the beginning.
func (st *roomState) readsFrom(p PeerID) HLC {
	if st.history == HistoryAll {
		return 0
	}
	if mi := st.members[p]; mi != nil {
		return mi.since.HLC
	}
	return 0
}

// membersOf lists current members, sorted.
func (st *roomState) memberList() []PeerID {
	out := make([]PeerID, 0, len(st.members))
	for p := range st.members {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}
