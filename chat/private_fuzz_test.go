package chat

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/parley-chat/parley/crypto"
	"github.com/parley-chat/parley/internal/wire"
)

// This file fuzzes the decoders of private rooms' peer input: invite
// links (FuzzParseInvite), envelopes carrying ops and key grants
// (FuzzDecodeEnvelopeOps), sealed messages (FuzzOpenSealed), and the
// derivation of a room's state from its ops (FuzzDeriveState). Every
// seed is made from fixed keys, HLCs and nonces, so the seeds in
// testdata/fuzz are the ones the code adds, and a valid seed stays valid.

// fixedIdentity returns the identity whose key's seed is 32 times b.
func fixedIdentity(b byte) *crypto.Identity {
	return crypto.IdentityFromKey(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{b}, ed25519.SeedSize)))
}

// fixedKey returns the key of 32 times b.
func fixedKey(b byte) crypto.Key {
	var k crypto.Key
	for i := range k {
		k[i] = b
	}
	return k
}

// fixed16 returns 16 times b.
func fixed16(b byte) []byte { return bytes.Repeat([]byte{b}, 16) }

// fuzzRoom is the room name of the private room seeds.
const fuzzRoom = "payroll"

// fuzzOpHLC is the HLC of the first seed op.
var fuzzOpHLC = HLCFromTime(time.Date(2025, 6, 1, 9, 0, 0, 0, time.UTC))

// opMessage returns an op of author at hlc, encoded as chat encodes one.
func opMessage(tb testing.TB, author PeerID, hlc HLC, op *wire.RoomOp) *Message {
	tb.Helper()
	m := &Message{Author: author, Room: fuzzRoom, Conversation: RoomConversation(fuzzRoom), HLC: hlc, Kind: KindOp, op: op}
	if err := encodeEnvelope(m); err != nil {
		tb.Fatal(err)
	}
	return m
}

// ---- FuzzParseInvite ----

// signInviteWire signs w (whatever it holds) as signInvite signs an
// invite, and returns the link.
func signInviteWire(tb testing.TB, w *wire.Invite, id *crypto.Identity) string {
	tb.Helper()
	w = proto.Clone(w).(*wire.Invite)
	w.Signature = nil
	unsigned, err := proto.MarshalOptions{Deterministic: true}.Marshal(w)
	if err != nil {
		tb.Fatal(err)
	}
	w.Signature = id.Sign(invitePayload(unsigned))
	return inviteLinkOf(tb, w)
}

// inviteLinkOf returns the link carrying w as it is.
func inviteLinkOf(tb testing.TB, w *wire.Invite) string {
	tb.Helper()
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(w)
	if err != nil {
		tb.Fatal(err)
	}
	return InviteLinkPrefix + base64.RawURLEncoding.EncodeToString(b)
}

// inviteSeeds returns invite links: valid ones (with the invite each
// carries, and its signer), and links that must be refused.
func inviteSeeds(tb testing.TB) (valid map[string]string, invites map[string]*Invite, signers map[PeerID]*crypto.Identity, invalid map[string]string) {
	tb.Helper()
	ann, bob := fixedIdentity(0xa1), fixedIdentity(0xb0)
	signers = map[PeerID]*crypto.Identity{ann.PeerID(): ann, bob.PeerID(): bob}
	expires := time.Date(2025, 6, 8, 9, 0, 0, 0, time.UTC)
	base := Invite{RoomID: RoomID(fixed16(1)), ID: [16]byte(fixed16(2)), Secret: fixedKey(3), Inviter: ann.PeerID(), Expires: expires, RoomName: fuzzRoom}
	withAddrs := base
	withAddrs.Addrs = []string{"/ip4/127.0.0.1/tcp/4001", "/ip6/::1/udp/4001/quic-v1"}
	full := base
	full.RoomName = strings.Repeat("a", 64)
	for i := range maxInviteAddrs {
		full.Addrs = append(full.Addrs, fmt.Sprintf("/ip4/127.0.0.%d/tcp/4001", i+1))
	}
	byBob := base
	byBob.Inviter = bob.PeerID()
	invites = map[string]*Invite{"valid": &base, "valid-with-addrs": &withAddrs, "valid-full": &full, "valid-by-another": &byBob}
	valid = make(map[string]string)
	for name, inv := range invites {
		link, err := signInvite(inv, signers[inv.Inviter])
		if err != nil {
			tb.Fatal(err)
		}
		valid[name] = link
	}
	link := valid["valid"]
	w := base.wire()
	signed := func(edit func(*wire.Invite)) string {
		c := proto.Clone(w).(*wire.Invite)
		edit(c)
		return signInviteWire(tb, c, ann)
	}
	flipped := []byte(link)
	flipped[len(flipped)/2] ^= 1
	unsigned := inviteLinkOf(tb, w)
	sigOfAnother := proto.Clone(w).(*wire.Invite)
	sigOfAnother.Signature = []byte(valid["valid-by-another"])[:ed25519.SignatureSize] // any 64 bytes
	signedLink, _ := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(link, InviteLinkPrefix))
	// A duplicated field decodes to the same invite, in other bytes.
	dup := append(slices.Clone(signedLink), 0x3a, byte(len(fuzzRoom)))
	dup = append(dup, fuzzRoom...)
	// An unknown field is kept and re-encoded, but not signed.
	unknown := append(slices.Clone(signedLink), 0xf8, 0x01, 0x01)
	notInline := signed(func(w *wire.Invite) {
		h := sha256.Sum256([]byte("a key too long to inline"))
		w.Inviter = append([]byte{0x12, 0x20}, h[:]...)
	})
	// The last character of a link whose length is not a multiple of 3
	// bytes carries bits that encode nothing.
	addrsLink := valid["valid-with-addrs"]
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := strings.IndexByte(alphabet, addrsLink[len(addrsLink)-1])
	invalid = map[string]string{
		"unused-bits-set":     addrsLink[:len(addrsLink)-1] + string(alphabet[last^1]),
		"empty":               "",
		"prefix-only":         InviteLinkPrefix,
		"wrong-prefix":        "parley://room/" + strings.TrimPrefix(link, InviteLinkPrefix),
		"flipped-byte":        string(flipped),
		"truncated":           link[:len(link)-3],
		"padded":              link + "==",
		"standard-base64":     InviteLinkPrefix + base64.StdEncoding.EncodeToString(signedLink),
		"no-signature":        unsigned,
		"signature-of-other":  inviteLinkOf(tb, sigOfAnother),
		"signed-by-other":     signInviteWire(tb, w, bob),
		"duplicated-field":    InviteLinkPrefix + base64.RawURLEncoding.EncodeToString(dup),
		"unknown-field":       InviteLinkPrefix + base64.RawURLEncoding.EncodeToString(unknown),
		"too-many-addrs":      signed(func(w *wire.Invite) { w.Addrs = append(slices.Clone(full.Addrs), "/ip4/127.0.0.99/tcp/1") }),
		"room-name-invalid":   signed(func(w *wire.Invite) { w.Name = "Pay Roll" }),
		"no-room-name":        signed(func(w *wire.Invite) { w.Name = "" }),
		"short-secret":        signed(func(w *wire.Invite) { w.Secret = w.Secret[:31] }),
		"short-room-id":       signed(func(w *wire.Invite) { w.RoomId = w.RoomId[:15] }),
		"long-invite-id":      signed(func(w *wire.Invite) { w.InviteId = append(w.InviteId, 0) }),
		"inviter-not-inline":  notInline,
		"inviter-garbage":     signed(func(w *wire.Invite) { w.Inviter = []byte("garbage") }),
		"over-the-size-limit": InviteLinkPrefix + strings.Repeat("A", maxInviteLink),
		"garbage-base64":      InviteLinkPrefix + "not*base64",
	}
	return valid, invites, signers, invalid
}

// FuzzParseInvite feeds ParseInvite links. It must never panic, refuse
// with ErrInviteForged whatever is not an inviter's signed link (the
// fuzzer cannot sign: it is taken only for a valid seed, spaces around
// it aside), and what it takes must be the invite signed, which signs
// again to the same link.
func FuzzParseInvite(f *testing.F) {
	valid, invites, signers, invalid := inviteSeeds(f)
	byLink := make(map[string]*Invite)
	for name, link := range valid {
		f.Add(link)
		byLink[link] = invites[name]
	}
	for _, link := range invalid {
		f.Add(link)
	}
	f.Add(" \t" + valid["valid"] + "\n")
	for name, link := range invalid {
		if _, err := ParseInvite(link); !errors.Is(err, ErrInviteForged) {
			f.Fatalf("the invalid seed %s: got %v, want ErrInviteForged", name, err)
		}
	}
	f.Fuzz(func(t *testing.T, link string) {
		inv, err := ParseInvite(link)
		if err != nil {
			if inv != nil || !errors.Is(err, ErrInviteForged) {
				t.Fatalf("got (%v, %v), want ErrInviteForged alone", inv, err)
			}
			return
		}
		trimmed := strings.TrimSpace(link)
		want := byLink[trimmed]
		if want == nil {
			t.Fatalf("took a link that no inviter signed: %q", link)
		}
		if inv.RoomID != want.RoomID || inv.ID != want.ID || inv.Secret != want.Secret || inv.Inviter != want.Inviter ||
			!slices.Equal(inv.Addrs, want.Addrs) || !inv.Expires.Equal(want.Expires) || inv.RoomName != want.RoomName {
			t.Fatalf("got invite %+v, want %+v", inv, want)
		}
		again, err := signInvite(inv, signers[inv.Inviter])
		if err != nil || again != trimmed {
			t.Fatalf("signing the invite again: got (%q, %v), want the link", again, err)
		}
	})
}

// ---- FuzzDecodeEnvelopeOps ----

// opEnvelopeSeeds returns envelopes carrying ops and key grants: valid
// ones as chat encodes them (named in valid), and envelopes that break
// the rules.
func opEnvelopeSeeds(tb testing.TB) (seeds map[string][]byte, valid []string) {
	tb.Helper()
	ann, bob := fixedIdentity(0xa1).PeerID(), fixedIdentity(0xb0).PeerID()
	check, nonce, inviteID := fixed16(4), fixed16(5), fixed16(6)
	hash := sha256.Sum256([]byte("invite secret"))
	ops := map[string]*wire.RoomOp{
		"create":         {Type: wire.RoomOp_TYPE_CREATE, KeyCheck: check, Nonce: nonce, History: HistoryJoin, Invite: InviteAdmins},
		"add-by-admin":   {Type: wire.RoomOp_TYPE_ADD, Target: []byte(bob), KeyCheck: check},
		"add-by-invite":  {Type: wire.RoomOp_TYPE_ADD, Target: []byte(bob), KeyCheck: check, InviteId: inviteID},
		"remove":         {Type: wire.RoomOp_TYPE_REMOVE, Target: []byte(bob), KeyCheck: check},
		"promote":        {Type: wire.RoomOp_TYPE_PROMOTE, Target: []byte(bob)},
		"leave":          {Type: wire.RoomOp_TYPE_LEAVE},
		"rotate":         {Type: wire.RoomOp_TYPE_ROTATE, KeyCheck: check},
		"settings":       {Type: wire.RoomOp_TYPE_SETTINGS, History: HistoryAll, Invite: InviteMembers},
		"invite":         {Type: wire.RoomOp_TYPE_INVITE, InviteId: inviteID, InviteHash: hash[:], Uses: 3, ExpiresMs: 1749373200000},
		"revoke":         {Type: wire.RoomOp_TYPE_REVOKE, InviteId: inviteID},
		"bad-type":       {Type: 99},
		"no-target":      {Type: wire.RoomOp_TYPE_REMOVE, KeyCheck: check},
		"target-garbage": {Type: wire.RoomOp_TYPE_PROMOTE, Target: []byte("garbage")},
		"leave-target":   {Type: wire.RoomOp_TYPE_LEAVE, Target: []byte(bob)},
		"short-check":    {Type: wire.RoomOp_TYPE_ROTATE, KeyCheck: check[:15]},
		"promote-check":  {Type: wire.RoomOp_TYPE_PROMOTE, Target: []byte(bob), KeyCheck: check},
		"no-hash":        {Type: wire.RoomOp_TYPE_INVITE, InviteId: inviteID, Uses: 3, ExpiresMs: 1},
		"no-uses":        {Type: wire.RoomOp_TYPE_INVITE, InviteId: inviteID, InviteHash: hash[:], ExpiresMs: 1},
		"short-invite":   {Type: wire.RoomOp_TYPE_REVOKE, InviteId: inviteID[:8]},
		"bad-history":    {Type: wire.RoomOp_TYPE_SETTINGS, History: "forever"},
		"leave-settings": {Type: wire.RoomOp_TYPE_LEAVE, Invite: InviteMembers},
		"no-nonce":       {Type: wire.RoomOp_TYPE_CREATE, KeyCheck: check},
		"rotate-nonce":   {Type: wire.RoomOp_TYPE_ROTATE, KeyCheck: check, Nonce: nonce},
	}
	grant := &wire.KeyGrant{RoomId: fixed16(1), Epoch: bytes.Repeat([]byte{7}, 32), Secret: bytes.Repeat([]byte{8}, 32)}
	shortGrant := &wire.KeyGrant{RoomId: grant.RoomId, Epoch: grant.Epoch, Secret: grant.Secret[:31]}
	env := func(edit func(*wire.Envelope)) []byte {
		e := &wire.Envelope{Version: envelopeVersion, Author: []byte(ann), Room: fuzzRoom, Hlc: uint64(fuzzOpHLC), Kind: wire.Kind_KIND_OP}
		edit(e)
		b, err := proto.MarshalOptions{Deterministic: true}.Marshal(e)
		if err != nil {
			tb.Fatal(err)
		}
		return b
	}
	seeds = make(map[string][]byte)
	for name, op := range ops {
		seeds["op-"+name] = env(func(e *wire.Envelope) { e.Op = op })
		if checkOp(op) == nil {
			valid = append(valid, "op-"+name)
		}
	}
	dm := func(e *wire.Envelope) { e.Room, e.ToPeer, e.Kind = "", []byte(bob), wire.Kind_KIND_KEY }
	seeds["grant"] = env(func(e *wire.Envelope) { dm(e); e.Op = nil; e.Grant = grant })
	for name, edit := range map[string]func(*wire.Envelope){
		"op-as-text":       func(e *wire.Envelope) { e.Kind = wire.Kind_KIND_TEXT; e.Body = "hi"; e.Op = ops["leave"] },
		"op-without-op":    func(e *wire.Envelope) {},
		"op-in-dm":         func(e *wire.Envelope) { e.Room, e.ToPeer, e.Op = "", []byte(bob), ops["leave"] },
		"op-with-body":     func(e *wire.Envelope) { e.Body = "hi"; e.Op = ops["leave"] },
		"op-and-grant":     func(e *wire.Envelope) { e.Op, e.Grant = ops["leave"], grant },
		"grant-in-room":    func(e *wire.Envelope) { e.Kind, e.Grant = wire.Kind_KIND_KEY, grant },
		"grant-without":    func(e *wire.Envelope) { dm(e) },
		"grant-short":      func(e *wire.Envelope) { dm(e); e.Grant = shortGrant },
		"grant-as-text":    func(e *wire.Envelope) { dm(e); e.Kind = wire.Kind_KIND_TEXT; e.Body = "hi"; e.Grant = grant },
		"op-no-hlc":        func(e *wire.Envelope) { e.Hlc = 0; e.Op = ops["leave"] },
		"op-reply":         func(e *wire.Envelope) { e.Op = ops["rotate"]; e.ReplyTo = bytes.Repeat([]byte{9}, 32) },
		"op-version-2":     func(e *wire.Envelope) { e.Version = 2; e.Op = ops["leave"] },
		"op-author-bogus":  func(e *wire.Envelope) { e.Author = []byte("bogus"); e.Op = ops["leave"] },
		"op-room-not-name": func(e *wire.Envelope) { e.Room = "Pay Roll"; e.Op = ops["leave"] },
	} {
		seeds[name] = env(edit)
	}
	// Other bytes for the same content: an unknown field inside the op,
	// and a field given twice.
	leave := seeds["op-leave"]
	seeds["op-unknown-field"] = env(func(e *wire.Envelope) {
		e.Op = proto.Clone(ops["leave"]).(*wire.RoomOp)
		e.Op.ProtoReflect().SetUnknown([]byte{0xf8, 0x01, 0x01})
	})
	seeds["op-room-twice"] = append(slices.Clone(leave), 0x22, byte(len(fuzzRoom)))
	seeds["op-room-twice"] = append(seeds["op-room-twice"], fuzzRoom...)
	valid = append(valid, "grant", "op-reply", "op-unknown-field", "op-room-twice")
	return seeds, valid
}

// FuzzDecodeEnvelopeOps feeds DecodeEnvelope envelopes that carry ops and
// key grants. It must never panic; what it takes must be an op in a room
// or a grant to a peer that checkOp and checkGrant pass, that applies to
// a room's state without a panic, and that re-encodes to the same content:
// to the same bytes and ID when the input holds nothing DecodeEnvelope
// ignores (unknown fields, a field given twice, fields out of order).
func FuzzDecodeEnvelopeOps(f *testing.F) {
	seeds, valid := opEnvelopeSeeds(f)
	for _, b := range seeds {
		f.Add(b)
	}
	for name, b := range seeds {
		if _, err := DecodeEnvelope(b); (err == nil) != slices.Contains(valid, name) {
			f.Fatalf("the seed %s: got %v, want valid %v", name, err, slices.Contains(valid, name))
		}
	}
	if len(valid) != 14 {
		f.Fatalf("%d valid seeds, want 14", len(valid))
	}
	f.Fuzz(func(t *testing.T, envelope []byte) {
		m, err := DecodeEnvelope(envelope)
		if err != nil {
			if m != nil || !errors.Is(err, ErrBadEnvelope) {
				t.Fatalf("got (%v, %v), want ErrBadEnvelope alone", m, err)
			}
			return
		}
		if m.ID != sha256.Sum256(envelope) {
			t.Fatalf("ID: got %s, want sha256 of the input", m.ID)
		}
		switch m.Kind {
		case KindOp:
			if m.Room == "" || m.op == nil || m.grant != nil || m.Body != "" || checkOp(m.op) != nil {
				t.Fatalf("took an op: room %q, op %v, grant %v, body %q", m.Room, m.op, m.grant, m.Body)
			}
			// It applies after a create (its own room's), and as a first op.
			create := opMessage(t, m.Author, m.HLC-1, &wire.RoomOp{Type: wire.RoomOp_TYPE_CREATE, KeyCheck: fixed16(4), Nonce: fixed16(5)})
			deriveState(RoomID(create.ID[:16]), []*Message{create, m})
			deriveState(RoomID(m.ID[:16]), []*Message{m})
		case KindKey:
			if m.To == "" || m.grant == nil || m.op != nil || m.Body != "" || checkGrant(m.grant) != nil {
				t.Fatalf("took a grant: to %q, grant %v, op %v, body %q", m.To, m.grant, m.op, m.Body)
			}
		default:
			if m.op != nil || m.grant != nil {
				t.Fatalf("took a %v message with op %v, grant %v", m.Kind, m.op, m.grant)
			}
		}
		again := &Message{Author: m.Author, To: m.To, Room: m.Room, HLC: m.HLC, Kind: m.Kind, Body: m.Body, ReplyTo: m.ReplyTo, op: m.op, grant: m.grant}
		if err := encodeEnvelope(again); err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		back, err := DecodeEnvelope(again.Envelope)
		if err != nil {
			t.Fatalf("the re-encoded envelope does not decode: %v", err)
		}
		if back.Author != m.Author || back.To != m.To || back.Room != m.Room || back.HLC != m.HLC || back.Kind != m.Kind ||
			back.Body != m.Body || back.ReplyTo != m.ReplyTo || !proto.Equal(back.op, m.op) || !proto.Equal(back.grant, m.grant) {
			t.Fatalf("re-encoded: got %+v, want the content of %+v", back, m)
		}
		var plain wire.Envelope
		if err := (proto.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(envelope, &plain); err != nil {
			t.Fatal(err)
		}
		canonical, err := proto.MarshalOptions{Deterministic: true}.Marshal(&plain)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Equal(canonical, envelope) && again.ID != m.ID {
			t.Fatalf("an envelope in its encoder's form re-encodes to ID %s, want %s", again.ID, m.ID)
		}
	})
}

// ---- FuzzOpenSealed ----

// sealedSeeds returns sealed messages of fuzzRoom (its secret is
// fixedKey(0x11), the epoch's fixedKey(0x22)): what opens (with the
// message inside), and what must not.
func sealedSeeds(tb testing.TB) (valid map[string][]byte, opened map[string]*Message, invalid map[string][]byte) {
	tb.Helper()
	ann, bob := fixedIdentity(0xa1), fixedIdentity(0xb0)
	secret, epochSecret := fixedKey(0x11), fixedKey(0x22)
	rng := rand.NewChaCha8([32]byte{0x5e})
	seal := func(m *Message, key crypto.Key, epoch MessageID) []byte {
		var ad []byte
		if !epoch.IsZero() {
			ad = epoch[:]
			key = senderKey(key, m.Author)
		}
		box, err := crypto.Seal(key, m.Envelope, ad, rng)
		if err != nil {
			tb.Fatal(err)
		}
		b, err := proto.MarshalOptions{Deterministic: true}.Marshal(&wire.Sealed{Epoch: ad, Box: box})
		if err != nil {
			tb.Fatal(err)
		}
		return b
	}
	create := opMessage(tb, ann.PeerID(), fuzzOpHLC, &wire.RoomOp{Type: wire.RoomOp_TYPE_CREATE, KeyCheck: keyCheck(epochSecret), Nonce: fixed16(5)})
	epoch := create.ID
	text := func(author PeerID, hlc HLC, body string) *Message {
		m := &Message{Author: author, Room: fuzzRoom, HLC: hlc, Kind: KindText, Body: body}
		if err := encodeEnvelope(m); err != nil {
			tb.Fatal(err)
		}
		return m
	}
	hello, reply := text(ann.PeerID(), fuzzOpHLC+1, "hello"), text(ann.PeerID(), fuzzOpHLC+2, "")
	reply.ReplyTo = hello.ID
	join := &Message{Author: ann.PeerID(), Room: fuzzRoom, HLC: fuzzOpHLC + 3, Kind: KindJoin}
	for _, m := range []*Message{reply, join} {
		if err := encodeEnvelope(m); err != nil {
			tb.Fatal(err)
		}
	}
	opened = map[string]*Message{"create": create, "text": hello, "reply": reply, "join": join}
	valid = map[string][]byte{
		"create": seal(create, opKey(secret), MessageID{}),
		"text":   seal(hello, epochSecret, epoch),
		"reply":  seal(reply, epochSecret, epoch),
		"join":   seal(join, epochSecret, epoch),
	}
	other := MessageIDOf([]byte("another epoch"))
	flip := func(b []byte, i int) []byte {
		b = slices.Clone(b)
		b[i] ^= 0x80
		return b
	}
	invalid = map[string][]byte{
		"empty":                 {},
		"garbage":               []byte("garbage"),
		"flipped-box":           flip(valid["text"], len(valid["text"])-1),
		"flipped-epoch":         flip(valid["text"], 5),
		"flipped-op":            flip(valid["create"], len(valid["create"])/2),
		"text-with-the-op-key":  seal(hello, opKey(secret), MessageID{}),
		"op-with-a-sender-key":  seal(create, epochSecret, epoch),
		"another-authors-key":   seal(text(bob.PeerID(), fuzzOpHLC+1, "hi"), epochSecret, epoch),
		"room-secret-as-op-key": seal(create, secret, MessageID{}),
		"another-epoch":         seal(hello, epochSecret, other),
		"not-an-envelope":       seal(&Message{Author: ann.PeerID(), Envelope: []byte("not an envelope")}, epochSecret, epoch),
	}
	sl, _, err := decodeSealed(valid["text"])
	if err != nil {
		tb.Fatal(err)
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(&wire.Sealed{Epoch: sl.Epoch[:31], Box: sl.Box})
	if err != nil {
		tb.Fatal(err)
	}
	invalid["short-epoch"] = b
	b, err = proto.MarshalOptions{Deterministic: true}.Marshal(&wire.Sealed{Epoch: sl.Epoch, Box: sl.Box[:len(sl.Box)-1]})
	if err != nil {
		tb.Fatal(err)
	}
	invalid["truncated-box"] = b
	return valid, opened, invalid
}

// FuzzOpenSealed feeds decodeSealed and openSealed sealed messages by a
// fixed author, opened with the op key of a fixed room and the secret of
// its one epoch. They must never panic, and open nothing but what was
// sealed with those keys: the fuzzer cannot seal, so a message opens only
// with a valid seed's epoch and box, to that seed's envelope.
func FuzzOpenSealed(f *testing.F) {
	valid, opened, invalid := sealedSeeds(f)
	for _, b := range valid {
		f.Add(b)
	}
	for _, b := range invalid {
		f.Add(b)
	}
	author := fixedIdentity(0xa1).PeerID()
	ok, epochSecret := opKey(fixedKey(0x11)), fixedKey(0x22)
	epoch := opened["create"].ID
	open := func(data []byte) (*Message, error) {
		sl, e, err := decodeSealed(data)
		if err != nil {
			if sl != nil || !errors.Is(err, ErrBadEnvelope) {
				return nil, fmt.Errorf("decodeSealed: got (%v, %v), want ErrBadEnvelope alone", sl, err)
			}
			return nil, err
		}
		key := ok
		switch e {
		case MessageID{}:
		case epoch:
			key = epochSecret
		default:
			return nil, ErrBadEnvelope // no key for that epoch: the caller holds it
		}
		m, err := openSealed(sl, e, key, author)
		if err != nil && (m != nil || !errors.Is(err, ErrBadEnvelope)) {
			return nil, fmt.Errorf("openSealed: got (%v, %v), want ErrBadEnvelope alone", m, err)
		}
		return m, err
	}
	for name, b := range valid {
		if m, err := open(b); err != nil || m.ID != opened[name].ID {
			f.Fatalf("the valid seed %s: got (%v, %v), want it opened", name, m, err)
		}
	}
	for name, b := range invalid {
		if m, err := open(b); err == nil {
			f.Fatalf("the invalid seed %s: opened %s, want ErrBadEnvelope", name, m.ID)
		}
	}
	type boxKey struct{ epoch, box string }
	sealedAs := make(map[boxKey]MessageID)
	for name, b := range valid {
		sl, _, _ := decodeSealed(b)
		sealedAs[boxKey{string(sl.Epoch), string(sl.Box)}] = opened[name].ID
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := open(data)
		if err != nil {
			if !errors.Is(err, ErrBadEnvelope) {
				t.Fatal(err)
			}
			return
		}
		sl, _, _ := decodeSealed(data)
		want, ok := sealedAs[boxKey{string(sl.Epoch), string(sl.Box)}]
		if !ok || m.ID != want {
			t.Fatalf("opened %s from an epoch and box no seed has", m.ID)
		}
	})
}

// ---- FuzzDeriveState ----

// fuzzActors is how many peers the ops of FuzzDeriveState name.
const fuzzActors = 4

// fuzzOps turns data into well-formed ops of fuzzActors peers, after a
// fixed create by the first: each 4 bytes are one op (type, author,
// target or invite, HLC step). HLC steps may be zero, so ops share HLCs
// (and their order falls to their IDs); a step of 255 repeats the op
// before (a replay).
func fuzzOps(tb testing.TB, data []byte) (RoomID, []*Message) {
	tb.Helper()
	actors := make([]PeerID, fuzzActors)
	for i := range actors {
		actors[i] = fixedIdentity(byte(0xa0 + i)).PeerID()
	}
	create := opMessage(tb, actors[0], fuzzOpHLC, &wire.RoomOp{Type: wire.RoomOp_TYPE_CREATE, KeyCheck: fixed16(0), Nonce: fixed16(5)})
	ops := []*Message{create}
	hlc := fuzzOpHLC
	for i := 0; i+4 <= len(data) && len(ops) < 64; i += 4 {
		kind, author, arg, step := data[i], actors[int(data[i+1])%fuzzActors], data[i+2], data[i+3]
		if step == 255 {
			ops = append(ops, ops[len(ops)-1])
			continue
		}
		hlc += HLC(step % 4)
		target := actors[int(arg)%fuzzActors]
		inviteID := fixed16(arg % 3)
		check := fixed16(byte(i))
		var op *wire.RoomOp
		switch t := wire.RoomOp_Type(kind%9 + 1); t {
		case wire.RoomOp_TYPE_CREATE:
			op = &wire.RoomOp{Type: t, KeyCheck: check, Nonce: fixed16(byte(i))}
		case wire.RoomOp_TYPE_ADD:
			op = &wire.RoomOp{Type: t, Target: []byte(target), KeyCheck: check}
			if arg&0x80 != 0 {
				op.InviteId = inviteID
			}
		case wire.RoomOp_TYPE_REMOVE, wire.RoomOp_TYPE_PROMOTE:
			op = &wire.RoomOp{Type: t, Target: []byte(target)}
			if startsEpoch(t) {
				op.KeyCheck = check
			}
		case wire.RoomOp_TYPE_LEAVE:
			op = &wire.RoomOp{Type: t}
		case wire.RoomOp_TYPE_ROTATE:
			op = &wire.RoomOp{Type: t, KeyCheck: check}
		case wire.RoomOp_TYPE_SETTINGS:
			op = &wire.RoomOp{Type: t, History: []string{"", HistoryJoin, HistoryAll}[arg%3], Invite: []string{"", InviteAdmins, InviteMembers}[arg/3%3]}
		case wire.RoomOp_TYPE_INVITE:
			expires := fuzzOpHLC.Time().Add(time.Duration(arg%8) * time.Millisecond)
			op = &wire.RoomOp{Type: t, InviteId: inviteID, InviteHash: bytes.Repeat([]byte{arg}, 32), Uses: uint32(arg%3 + 1), ExpiresMs: expires.UnixMilli()}
		case wire.RoomOp_TYPE_REVOKE:
			op = &wire.RoomOp{Type: t, InviteId: inviteID}
		}
		m := opMessage(tb, author, hlc, op)
		if checkOp(m.op) != nil {
			tb.Fatalf("fuzzOps made an op checkOp refuses: %v", m.op)
		}
		ops = append(ops, m)
	}
	return RoomID(create.ID[:16]), ops
}

// describeState renders everything st holds, in a fixed order.
func describeState(st *roomState) string {
	var b strings.Builder
	fmt.Fprintf(&b, "created %v by %s, history %s, invite %s, applied %d\n", st.created, st.creator, st.history, st.invite, st.applied)
	for _, p := range slices.Sorted(maps.Keys(st.members)) {
		fmt.Fprintf(&b, "member %s %s since %v\n", p, st.members[p].role, st.members[p].since)
	}
	for _, p := range slices.Sorted(maps.Keys(st.spans)) {
		fmt.Fprintf(&b, "spans %s %v\n", p, st.spans[p])
	}
	for _, id := range slices.SortedFunc(maps.Keys(st.invites), func(a, b [16]byte) int { return bytes.Compare(a[:], b[:]) }) {
		fmt.Fprintf(&b, "invite %x %+v\n", id, *st.invites[id])
	}
	for _, e := range st.epochs {
		fmt.Fprintf(&b, "epoch %s at %v by %s\n", e.id, e.at, e.starter)
	}
	fmt.Fprintf(&b, "removals %v\n", st.removals)
	return b.String()
}

// fuzzStateSeeds are op sequences for FuzzDeriveState (see fuzzOps).
func fuzzStateSeeds() map[string][]byte {
	const (
		create, add, remove, promote, leave, rotate, settings, invite, revoke = 0, 1, 2, 3, 4, 5, 6, 7, 8
	)
	op := func(kind, author, arg, step byte) []byte { return []byte{kind, author, arg, step} }
	return map[string][]byte{
		"empty":               nil,
		"adds":                slices.Concat(op(add, 0, 1, 1), op(add, 0, 2, 1), op(add, 0, 3, 1)),
		"member-removes":      slices.Concat(op(add, 0, 1, 1), op(add, 0, 2, 1), op(remove, 1, 2, 1)),
		"admin-removes":       slices.Concat(op(add, 0, 1, 1), op(add, 0, 2, 1), op(remove, 0, 2, 1), op(rotate, 1, 0, 1)),
		"last-admin-leaves":   slices.Concat(op(add, 0, 2, 1), op(add, 0, 1, 1), op(leave, 0, 0, 1), op(remove, 2, 1, 1)),
		"promote-then-remove": slices.Concat(op(add, 0, 1, 1), op(promote, 0, 1, 1), op(remove, 1, 0, 1), op(settings, 1, 5, 1)),
		"invite-used":         slices.Concat(op(settings, 0, 6, 1), op(add, 0, 1, 1), op(invite, 1, 0x81, 1), op(add, 1, 0x82, 0), op(add, 1, 0x83, 1)),
		"invite-revoked":      slices.Concat(op(invite, 0, 0x81, 1), op(revoke, 0, 0x81, 1), op(add, 0, 0x82, 1)),
		"invite-expired":      slices.Concat(op(invite, 0, 0x80, 1), op(add, 0, 0x82, 3), op(add, 0, 0x83, 3)),
		"same-hlc":            slices.Concat(op(add, 0, 1, 1), op(remove, 0, 1, 0), op(add, 0, 1, 0), op(promote, 0, 1, 0)),
		"replays":             slices.Concat(op(add, 0, 1, 1), op(0, 0, 0, 255), op(rotate, 1, 0, 1), op(0, 0, 0, 255), op(remove, 0, 1, 1), op(0, 0, 0, 255)),
		"second-create":       slices.Concat(op(create, 1, 0, 1), op(add, 1, 2, 1)),
		"rejoin":              slices.Concat(op(add, 0, 1, 1), op(leave, 1, 0, 1), op(add, 0, 1, 1), op(remove, 0, 1, 1), op(add, 0, 1, 1)),
	}
}

// FuzzDeriveState derives a room's state from well-formed ops (fuzzOps)
// in the order given, reversed and shuffled, and without its replays:
// every order must give the same state (members know the same ops in
// different orders), a replayed op must change nothing, there must be no
// panic, and the state must hold together: an admin while anyone is a
// member, the current members those whose last span is open, epochs and
// removals in room order.
func FuzzDeriveState(f *testing.F) {
	for _, b := range fuzzStateSeeds() {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		id, ops := fuzzOps(t, data)
		st := deriveState(id, ops)
		want := describeState(st)
		reversed := slices.Clone(ops)
		slices.Reverse(reversed)
		shuffled := slices.Clone(ops)
		seed := sha256.Sum256(data)
		rand.New(rand.NewChaCha8(seed)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		var once []*Message // each op once: a replay changes nothing
		for _, m := range ops {
			if !slices.ContainsFunc(once, func(o *Message) bool { return o.ID == m.ID }) {
				once = append(once, m)
			}
		}
		for name, order := range map[string][]*Message{"reversed": reversed, "shuffled": shuffled, "without replays": once} {
			if got := describeState(deriveState(id, order)); got != want {
				t.Fatalf("ops %s: got state\n%s\nwant\n%s", name, got, want)
			}
		}
		if !st.created {
			t.Fatal("the room's create was not applied")
		}
		admins := 0
		for _, mi := range st.members {
			if mi.role == RoleAdmin {
				admins++
			}
		}
		if len(st.members) > 0 && admins == 0 {
			t.Fatalf("%d members and no admin:\n%s", len(st.members), want)
		}
		end := Cursor{HLC: ^HLC(0)}
		for p, spans := range st.spans {
			if st.member(p) != st.memberAt(p, end) || st.member(p) != (spans[len(spans)-1].to == Cursor{}) {
				t.Fatalf("%s: member %v, member at the end %v, spans %v", p, st.member(p), st.memberAt(p, end), spans)
			}
		}
		if !slices.IsSortedFunc(st.epochs, func(a, b epochInfo) int { return compareCursor(a.at, b.at) }) || !slices.IsSortedFunc(st.removals, compareCursor) {
			t.Fatalf("epochs or removals out of room order:\n%s", want)
		}
	})
}
