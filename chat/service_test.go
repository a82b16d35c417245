package chat_test

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/internal/wire"
	"github.com/parley-chat/parley/store"
)

func TestResolvePeer(t *testing.T) {
	net := newFakeNet(t)
	alice := newNode(t, net, withNick("alice"))
	bob := newNode(t, net, withNick("bob"))
	otherBob := newNode(t, net, withNick("BOB"))
	dave := newNode(t, net, withNick("Dave.2"))
	for _, n := range []*testNode{bob, otherBob, dave} {
		net.connect(alice.id, n.id)
		alice.events.waitFor(t, "the nickname of "+n.cfg.Nick, peerNickIs(n.id, n.cfg.Nick))
	}
	stranger := newIdentity(t).PeerID() // a valid peer ID nobody knows

	tests := []struct {
		ref     string
		want    chat.PeerID
		wantErr error
	}{
		{"@Dave.2", dave.id, nil},
		{"@dave.2", dave.id, nil},
		{"@DAVE.2", dave.id, nil},
		{"@bob", "", chat.ErrAmbiguousPeer},
		{"@Bob", "", chat.ErrAmbiguousPeer},
		{"@carol", "", chat.ErrUnknownPeer},
		{"@alice", "", chat.ErrUnknownPeer}, // our own nickname is not a peer's
		{"@dave", "", chat.ErrUnknownPeer},  // no prefix matching
		{dave.id.String(), dave.id, nil},
		{stranger.String(), stranger, nil},
		{"Dave.2", "", chat.ErrUnknownPeer}, // a nickname needs its '@'
		{"", "", chat.ErrUnknownPeer},
		{"12D3KooWnotapeerid", "", chat.ErrUnknownPeer},
		{" " + dave.id.String(), "", chat.ErrUnknownPeer},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			got, err := alice.svc.ResolvePeer(tt.ref)
			if got != tt.want || !errors.Is(err, tt.wantErr) {
				t.Errorf("ResolvePeer(%q): got (%s, %v), want (%s, %v)", tt.ref, got, err, tt.want, tt.wantErr)
			}
		})
	}

	t.Run("ambiguity lists the candidates", func(t *testing.T) {
		_, err := alice.svc.ResolvePeer("@bob")
		for _, id := range []chat.PeerID{bob.id, otherBob.id} {
			if err == nil || !strings.Contains(err.Error(), id.String()) {
				t.Errorf("got %v, want an error naming %s", err, id)
			}
		}
	})
}

// TestResolvePeerEmptyNick resolves "@" while a known peer has no nickname.
func TestResolvePeerEmptyNick(t *testing.T) {
	net := newFakeNet(t)
	alice := newNode(t, net)
	quiet := newIdentity(t).PeerID() // never tells its nickname
	if _, err := alice.svc.SendDM(quiet, "hello"); err != nil {
		t.Fatal(err)
	}
	if got, err := alice.svc.ResolvePeer("@"); !errors.Is(err, chat.ErrUnknownPeer) {
		t.Errorf(`ResolvePeer("@"): got (%s, %v), want ErrUnknownPeer`, got, err)
	}
}

// TestProfileNickCleaned has a hand-written peer announce nicknames no
// honest node sends; they are cleaned before anyone sees them.
func TestProfileNickCleaned(t *testing.T) {
	tests := []struct {
		name string
		nick string
		want string
	}{
		{"plain", "mallory", "mallory"},
		{"controls and markup", "m\u202eal\x00lo\nry<b>", "malloryb"},
		{"spaces", "mal lory", "mallory"},
		{"too long", strings.Repeat("ab", 40), strings.Repeat("ab", 16)},
		{"letters of any script", "Zoë_Ωμέγα-7", "Zoë_Ωμέγα-7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			net := newFakeNet(t)
			alice := newNode(t, net, withNick("alice"), withConfig(func(c *chat.Config) { c.Agent = "parley/test" }))
			mallory := newIdentity(t).PeerID()
			heard := make(chan *wire.Profile, 1)
			net.addNode(mallory).SetStreamHandler(chat.ProfileProtocol, func(_ chat.PeerID, s chat.Stream) {
				defer func() { _ = s.Close() }()
				mine, err := proto.Marshal(&wire.Profile{Nick: tt.nick, Agent: "evil/1.0"})
				if err != nil {
					return
				}
				if _, err := s.Write(lengthPrefixed(mine)); err != nil {
					return
				}
				b, err := newRawPeer(s).next()
				if err != nil {
					return
				}
				var theirs wire.Profile
				if proto.Unmarshal(b, &theirs) == nil {
					heard <- &theirs
				}
			})
			net.connect(alice.id, mallory)

			alice.events.waitFor(t, "mallory's nickname", peerNickIs(mallory, tt.want))
			p, ok := alice.svc.Peer(mallory)
			if !ok || p.Nick != tt.want {
				t.Errorf("peer: got %q (known %v), want %q", p.Nick, ok, tt.want)
			}
			select {
			case got := <-heard:
				if got.Nick != "alice" || got.Agent != "parley/test" {
					t.Errorf("alice's profile: got (%q, %q), want (%q, %q)", got.Nick, got.Agent, "alice", "parley/test")
				}
			case <-time.After(waitTimeout):
				t.Errorf("mallory heard no profile from alice after %v", waitTimeout)
			}
		})
	}
}

func TestHostileProfileStream(t *testing.T) {
	tests := []struct {
		name  string
		input []byte
	}{
		{"frame over the profile cap", lengthPrefixed(make([]byte, 2000))},
		{"not protobuf", lengthPrefixed([]byte{0xff, 0xff})},
		{"varint overflow", bytesOf(0xff, 11)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			net := newFakeNet(t)
			alice := newNode(t, net, withNick("alice"))
			mallory := newIdentity(t).PeerID()
			malloryTr := net.addNode(mallory)
			net.connect(alice.id, mallory)
			s := openRaw(t, malloryTr, alice.id, chat.ProfileProtocol)
			if _, err := s.Write(tt.input); err != nil {
				t.Fatal(err)
			}
			p := newRawPeer(s)
			var err error
			for err == nil {
				_, err = p.next() // alice's own profile comes first
			}
			if !errors.Is(err, errStreamReset) {
				t.Errorf("read: got %v, want the stream reset", err)
			}
			if p, _ := alice.svc.Peer(mallory); p.Nick != "" {
				t.Errorf("nick: got %q, want none", p.Nick)
			}
		})
	}
}

func TestPeersListedAndRemembered(t *testing.T) {
	net := newFakeNet(t)
	alice := newNode(t, net, onDisk())
	bob := newNode(t, net, withNick("bob"))
	carol := newNode(t, net, withNick("Carol"))
	zed := newNode(t, net, withNick("zed"))
	dave := newIdentity(t).PeerID() // messaged, never seen

	for _, n := range []*testNode{zed, carol, bob} {
		net.connect(alice.id, n.id)
		alice.events.waitFor(t, "the nickname of "+n.cfg.Nick, peerNickIs(n.id, n.cfg.Nick))
	}
	net.disconnect(alice.id, zed.id)
	alice.events.waitFor(t, "zed going down", func(ev chat.Event) bool {
		return ev.Type == chat.EventPeer && ev.Peer.ID == zed.id && !ev.Peer.Connected
	})
	if _, err := alice.svc.SendDM(dave, "hello dave"); err != nil {
		t.Fatal(err)
	}

	type row struct {
		id        chat.PeerID
		nick      string
		connected bool
	}
	var got []row
	for _, p := range alice.svc.Peers() {
		got = append(got, row{p.ID, p.Nick, p.Connected})
	}
	// Connected first, then by nickname ignoring case.
	want := []row{{bob.id, "bob", true}, {carol.id, "Carol", true}, {dave, "", false}, {zed.id, "zed", false}}
	if !slices.Equal(got, want) {
		t.Errorf("peers: got %v, want %v", got, want)
	}
	p, ok := alice.svc.Peer(bob.id)
	if !ok || !slices.Equal(p.Addrs, []string{fakeAddr(bob.id)}) || p.FirstSeen.IsZero() || p.LastSeen.IsZero() {
		t.Errorf("bob: got %+v (known %v), want addrs [%s] and times set", p, ok, fakeAddr(bob.id))
	}

	alice.restart()
	for _, w := range want {
		if _, ok := alice.svc.Peer(w.id); !ok {
			t.Errorf("after restart: peer %s is not known", w.id)
		}
	}
	// (That nicknames survive too is TestNickSurvivesRestart's business.)
	// The transport is told where known peers were last seen.
	if got := alice.tr.knownAddrs(zed.id); !slices.Equal(got, []string{fakeAddr(zed.id)}) {
		t.Errorf("addresses of zed given to the transport: got %v, want [%s]", got, fakeAddr(zed.id))
	}
}

func TestNewRejects(t *testing.T) {
	net := newFakeNet(t)
	st, err := store.Open("", store.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	id := newIdentity(t)
	tr := net.addNode(id.PeerID())
	tests := []struct {
		name    string
		cfg     chat.Config
		wantErr error
	}{
		{"no identity", chat.Config{Transport: tr, Store: st}, nil},
		{"no transport", chat.Config{Identity: id, Store: st}, nil},
		{"no store", chat.Config{Identity: id, Transport: tr}, nil},
		{"bad nick", chat.Config{Identity: id, Transport: tr, Store: st, Nick: "no spaces"}, chat.ErrBadNick},
		{"long nick", chat.Config{Identity: id, Transport: tr, Store: st, Nick: strings.Repeat("n", chat.MaxNickLen+1)}, chat.ErrBadNick},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc, err := chat.New(tt.cfg)
			if err == nil {
				_ = svc.Close()
				t.Fatal("got nil error, want one")
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("got %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestValidateNick(t *testing.T) {
	tests := []struct {
		nick string
		ok   bool
	}{
		{"alice", true},
		{"Zoë_Ωμέγα-7.x", true},
		{strings.Repeat("é", chat.MaxNickLen), true},
		{strings.Repeat("é", chat.MaxNickLen+1), false},
		{"", false},
		{"two words", false},
		{"@alice", false},
		{"tab\t", false},
		{"bidi\u202e", false},
	}
	for _, tt := range tests {
		err := chat.ValidateNick(tt.nick)
		if (err == nil) != tt.ok {
			t.Errorf("ValidateNick(%q): got %v, want ok=%v", tt.nick, err, tt.ok)
		}
		if err != nil && !errors.Is(err, chat.ErrBadNick) {
			t.Errorf("ValidateNick(%q): got %v, want ErrBadNick", tt.nick, err)
		}
	}
}

func TestCloseTwiceAndRunAfterClose(t *testing.T) {
	net := newFakeNet(t)
	n := newNode(t, net)
	svc := n.svc
	n.stop()
	if err := svc.Close(); err != nil {
		t.Errorf("second Close: got %v, want nil", err)
	}
	if err := svc.Run(t.Context()); err == nil {
		t.Error("Run after Run: got nil error, want one")
	}
	ch, cancel := svc.Subscribe()
	defer cancel()
	if _, ok := <-ch; ok {
		t.Error("Subscribe after Close: got an open channel, want a closed one")
	}
}

// TestNickSurvivesRestart makes the node persist a peer's "up" record
// while the peer's profile is being learnt, and checks that the nickname,
// not the older record, is what the store keeps.
func TestNickSurvivesRestart(t *testing.T) {
	net := newFakeNet(t)
	bob := newNode(t, net, withNick("bob"))
	nickSaved := make(chan struct{})
	var once sync.Once
	alice := newNode(t, net, onDisk(), withPutPeerHook(func(p chat.Peer) {
		switch {
		case p.ID != bob.id:
		case p.Nick == "bob":
			once.Do(func() { close(nickSaved) })
		case p.Connected:
			// The record of bob coming up, snapshotted before his
			// nickname was known: hold it until the nickname is saved,
			// as a slow disk might. A service that orders its writes
			// never saves the nickname meanwhile; the wait then ends.
			select {
			case <-nickSaved:
			case <-time.After(time.Second):
			}
		}
	}))
	net.connect(alice.id, bob.id)
	alice.events.waitFor(t, "bob's nickname", peerNickIs(bob.id, "bob"))
	waitUntil(t, "the nickname saved", func() bool {
		select {
		case <-nickSaved:
			return true
		default:
			return false
		}
	})

	// Stop alice while bob is still up (any later event of bob's would
	// save his record again) and read what her store kept.
	alice.stop()
	st, err := store.Open(alice.dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := st.Close(); err != nil {
			t.Error(err)
		}
	}()
	peers, err := st.Peers()
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(peers, func(p chat.Peer) bool { return p.ID == bob.id })
	if i < 0 {
		t.Fatal("bob is not in the store")
	}
	if got := peers[i].Nick; got != "bob" {
		t.Errorf("stored nick: got %q, want %q", got, "bob")
	}
}
