package chat_test

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/chat/chattest"
	"github.com/parley-chat/parley/crypto"
	"github.com/parley-chat/parley/internal/wire"
	"github.com/parley-chat/parley/store"
)

func TestResolvePeer(t *testing.T) {
	net := chattest.NewNet(t)
	alice := chattest.NewNode(t, net, chattest.WithNick("alice"))
	bob := chattest.NewNode(t, net, chattest.WithNick("bob"))
	otherBob := chattest.NewNode(t, net, chattest.WithNick("BOB"))
	dave := chattest.NewNode(t, net, chattest.WithNick("Dave.2"))
	for _, n := range []*chattest.Node{bob, otherBob, dave} {
		net.Connect(alice.ID, n.ID)
		alice.Events.WaitFor(t, "the nickname of "+n.Config.Nick, chattest.PeerNickIs(n.ID, n.Config.Nick))
	}
	stranger := chattest.NewIdentity(t).PeerID() // a valid peer ID nobody knows

	tests := []struct {
		ref     string
		want    chat.PeerID
		wantErr error
	}{
		{"@Dave.2", dave.ID, nil},
		{"@dave.2", dave.ID, nil},
		{"@DAVE.2", dave.ID, nil},
		{"@bob", "", chat.ErrAmbiguousPeer},
		{"@Bob", "", chat.ErrAmbiguousPeer},
		{"@carol", "", chat.ErrUnknownPeer},
		{"@alice", "", chat.ErrUnknownPeer}, // our own nickname is not a peer's
		{"@dave", "", chat.ErrUnknownPeer},  // no prefix matching
		{dave.ID.String(), dave.ID, nil},
		{stranger.String(), stranger, nil},
		{"Dave.2", "", chat.ErrUnknownPeer}, // a nickname needs its '@'
		{"", "", chat.ErrUnknownPeer},
		{"12D3KooWnotapeerid", "", chat.ErrUnknownPeer},
		{" " + dave.ID.String(), "", chat.ErrUnknownPeer},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			got, err := alice.Svc.ResolvePeer(tt.ref)
			if got != tt.want || !errors.Is(err, tt.wantErr) {
				t.Errorf("ResolvePeer(%q): got (%s, %v), want (%s, %v)", tt.ref, got, err, tt.want, tt.wantErr)
			}
		})
	}

	t.Run("ambiguity lists the candidates", func(t *testing.T) {
		_, err := alice.Svc.ResolvePeer("@bob")
		for _, c := range []struct {
			id      chat.PeerID
			display string
		}{{bob.ID, "bob (" + bob.ID.Short() + ")"}, {otherBob.ID, "BOB (" + otherBob.ID.Short() + ")"}} {
			if err == nil || !strings.Contains(err.Error(), c.display+" = "+c.id.String()) {
				t.Errorf("got %v, want an error naming %q = %s", err, c.display, c.id)
			}
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Errorf("got %q, want one line", err)
		}
	})
}

// TestResolvePeerEmptyNick resolves "@" while a known peer has no nickname.
func TestResolvePeerEmptyNick(t *testing.T) {
	net := chattest.NewNet(t)
	alice := chattest.NewNode(t, net)
	quiet := chattest.NewIdentity(t).PeerID() // never tells its nickname
	if _, err := alice.Svc.SendDM(t.Context(), quiet, "hello"); err != nil {
		t.Fatal(err)
	}
	if got, err := alice.Svc.ResolvePeer("@"); !errors.Is(err, chat.ErrUnknownPeer) {
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
			net := chattest.NewNet(t)
			alice := chattest.NewNode(t, net, chattest.WithNick("alice"), chattest.WithConfig(func(c *chat.Config) { c.Agent = "parley/test" }))
			mallory := chattest.NewIdentity(t).PeerID()
			heard := make(chan *wire.Profile, 1)
			net.AddNode(mallory).SetStreamHandler(chat.ProfileProtocol, func(_ chat.PeerID, s chat.Stream) {
				defer func() { _ = s.Close() }()
				mine, err := proto.Marshal(&wire.Profile{Nick: tt.nick, Agent: "evil/1.0"})
				if err != nil {
					return
				}
				if _, err := s.Write(chattest.Frame(mine)); err != nil {
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
			net.Connect(alice.ID, mallory)

			alice.Events.WaitFor(t, "mallory's nickname", chattest.PeerNickIs(mallory, tt.want))
			p, ok := alice.Svc.Peer(mallory)
			if !ok || p.Nick != tt.want {
				t.Errorf("peer: got %q (known %v), want %q", p.Nick, ok, tt.want)
			}
			select {
			case got := <-heard:
				if got.Nick != "alice" || got.Agent != "parley/test" {
					t.Errorf("alice's profile: got (%q, %q), want (%q, %q)", got.Nick, got.Agent, "alice", "parley/test")
				}
			case <-time.After(chattest.Timeout):
				t.Errorf("mallory heard no profile from alice after %v", chattest.Timeout)
			}
		})
	}
}

func TestHostileProfileStream(t *testing.T) {
	tests := []struct {
		name  string
		input []byte
	}{
		{"frame over the profile cap", chattest.Frame(make([]byte, 2000))},
		{"not protobuf", chattest.Frame([]byte{0xff, 0xff})},
		{"varint overflow", bytes.Repeat([]byte{0xff}, 11)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			net := chattest.NewNet(t)
			alice := chattest.NewNode(t, net, chattest.WithNick("alice"))
			mallory := chattest.NewIdentity(t).PeerID()
			malloryTr := net.AddNode(mallory)
			net.Connect(alice.ID, mallory)
			s := openRaw(t, malloryTr, alice.ID, chat.ProfileProtocol)
			if _, err := s.Write(tt.input); err != nil {
				t.Fatal(err)
			}
			p := newRawPeer(s)
			var err error
			for err == nil {
				_, err = p.next() // alice's own profile comes first
			}
			if !errors.Is(err, chattest.ErrStreamReset) {
				t.Errorf("read: got %v, want the stream reset", err)
			}
			if p, _ := alice.Svc.Peer(mallory); p.Nick != "" {
				t.Errorf("nick: got %q, want none", p.Nick)
			}
		})
	}
}

func TestPeersListedAndRemembered(t *testing.T) {
	net := chattest.NewNet(t)
	alice := chattest.NewNode(t, net, chattest.OnDisk())
	bob := chattest.NewNode(t, net, chattest.WithNick("bob"))
	carol := chattest.NewNode(t, net, chattest.WithNick("Carol"))
	zed := chattest.NewNode(t, net, chattest.WithNick("zed"))
	dave := chattest.NewIdentity(t).PeerID() // messaged, never seen

	for _, n := range []*chattest.Node{zed, carol, bob} {
		net.Connect(alice.ID, n.ID)
		alice.Events.WaitFor(t, "the nickname of "+n.Config.Nick, chattest.PeerNickIs(n.ID, n.Config.Nick))
	}
	net.Disconnect(alice.ID, zed.ID)
	alice.Events.WaitFor(t, "zed going down", peerDown(zed.ID))
	if _, err := alice.Svc.SendDM(t.Context(), dave, "hello dave"); err != nil {
		t.Fatal(err)
	}

	type row struct {
		id        chat.PeerID
		nick      string
		connected bool
	}
	var got []row
	for _, p := range alice.Svc.Peers() {
		got = append(got, row{p.ID, p.Nick, p.Connected})
	}
	// Connected first, then by nickname ignoring case.
	want := []row{{bob.ID, "bob", true}, {carol.ID, "Carol", true}, {dave, "", false}, {zed.ID, "zed", false}}
	if !slices.Equal(got, want) {
		t.Errorf("peers: got %v, want %v", got, want)
	}
	p, ok := alice.Svc.Peer(bob.ID)
	if !ok || !slices.Equal(p.Addrs, []string{chattest.Addr(bob.ID)}) || p.FirstSeen.IsZero() || p.LastSeen.IsZero() {
		t.Errorf("bob: got %+v (known %v), want addrs [%s] and times set", p, ok, chattest.Addr(bob.ID))
	}

	alice.Restart()
	for _, w := range want {
		if _, ok := alice.Svc.Peer(w.id); !ok {
			t.Errorf("after restart: peer %s is not known", w.id)
		}
	}
	// (That nicknames survive too is TestNickSurvivesRestart's business.)
	// The transport is told where known peers were last seen.
	if got := alice.Tr.KnownAddrs(zed.ID); !slices.Equal(got, []string{chattest.Addr(zed.ID)}) {
		t.Errorf("addresses of zed given to the transport: got %v, want [%s]", got, chattest.Addr(zed.ID))
	}
}

func TestNewRejects(t *testing.T) {
	net := chattest.NewNet(t)
	st, err := store.Open("", store.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	id := chattest.NewIdentity(t)
	tr := net.AddNode(id.PeerID())
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
	net := chattest.NewNet(t)
	n := chattest.NewNode(t, net)
	svc := n.Svc
	n.Stop()
	if err := svc.Close(); err != nil {
		t.Errorf("second Close: got %v, want nil", err)
	}
	ran := make(chan error, 1)
	go func() { ran <- svc.Run(t.Context()) }()
	select {
	case err := <-ran:
		if err != nil {
			t.Errorf("Run after Close: got %v, want nil", err)
		}
	case <-time.After(chattest.Timeout):
		t.Fatalf("Run after Close has not returned after %v", chattest.Timeout)
	}
	ch, cancel := svc.Subscribe()
	defer cancel()
	if _, ok := <-ch; ok {
		t.Error("Subscribe after Close: got an open channel, want a closed one")
	}
}

// TestNickSurvivesRestart makes the node persist a peer's "up" record
// while the peer's profile is being learnt, and checks that the nickname,
// not the older record, is what the store keeps. (Not in a synctest
// bubble: the hook waits on the clock while holding the service's lock
// that orders peer writes, and a goroutine waiting for a lock keeps a
// bubble's clock from moving.)
func TestNickSurvivesRestart(t *testing.T) {
	net := chattest.NewNet(t)
	bob := chattest.NewNode(t, net, chattest.WithNick("bob"))
	nickSaved := make(chan struct{})
	var once sync.Once
	alice := chattest.NewNode(t, net, chattest.OnDisk(), chattest.WithStore(func(st chat.Store) chat.Store {
		return &putPeerHook{Store: st, before: func(p chat.Peer) {
			switch {
			case p.ID != bob.ID:
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
		}}
	}))
	net.Connect(alice.ID, bob.ID)
	alice.Events.WaitFor(t, "bob's nickname", chattest.PeerNickIs(bob.ID, "bob"))
	select {
	case <-nickSaved:
	case <-time.After(chattest.Timeout):
		t.Fatal("bob's nickname was never saved")
	}

	// Stop alice while bob is still up (any later event of bob's would
	// save his record again) and read what her store kept.
	alice.Stop()
	st, err := store.Open(alice.Dir, store.Options{})
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
	i := slices.IndexFunc(peers, func(p chat.Peer) bool { return p.ID == bob.ID })
	if i < 0 {
		t.Fatal("bob is not in the store")
	}
	if got := peers[i].Nick; got != "bob" {
		t.Errorf("stored nick: got %q, want %q", got, "bob")
	}
}

// putPeerHook is a store whose PutPeer calls before first.
type putPeerHook struct {
	chat.Store
	before func(chat.Peer)
}

func (s *putPeerHook) PutPeer(p chat.Peer) error {
	s.before(p)
	return s.Store.PutPeer(p)
}

// TestResolve turns what a person types into a conversation.
func TestResolve(t *testing.T) {
	net := chattest.NewNet(t)
	alice := chattest.NewNode(t, net, chattest.WithNick("alice"))
	bob := chattest.NewNode(t, net, chattest.WithNick("bob"))
	sams := []*chattest.Node{chattest.NewNode(t, net, chattest.WithNick("sam")), chattest.NewNode(t, net, chattest.WithNick("Sam"))}
	for _, n := range append([]*chattest.Node{bob}, sams...) {
		net.Connect(alice.ID, n.ID)
		alice.Events.WaitFor(t, "the nickname of "+n.Config.Nick, chattest.PeerNickIs(n.ID, n.Config.Nick))
	}
	stranger := chattest.NewIdentity(t).PeerID()
	tests := []struct {
		ref     string
		want    chat.Conversation
		wantErr error
	}{
		{"#dev", chat.RoomConversation("dev"), nil}, // a room need not be joined
		{"#a-b_9", chat.RoomConversation("a-b_9"), nil},
		{"#Dev", "", chat.ErrBadRoom},
		{"#", "", chat.ErrBadRoom},
		{"@bob", chat.DMConversation(bob.ID), nil},
		{"@BOB", chat.DMConversation(bob.ID), nil},
		{bob.ID.String(), chat.DMConversation(bob.ID), nil},
		{stranger.String(), chat.DMConversation(stranger), nil},
		{"@sam", "", chat.ErrAmbiguousPeer},
		{"@nobody", "", chat.ErrUnknownPeer},
		{"bob", "", chat.ErrUnknownPeer},
		{"", "", chat.ErrUnknownPeer},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			got, err := alice.Svc.Resolve(tt.ref)
			if got != tt.want || !errors.Is(err, tt.wantErr) {
				t.Errorf("Resolve(%q): got (%q, %v), want (%q, %v)", tt.ref, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

// TestInfo describes a node that has no Network: it has no addresses,
// no discovery, and cannot dial addresses.
func TestInfo(t *testing.T) {
	net := chattest.NewNet(t)
	alice := chattest.NewNode(t, net, chattest.WithNick("alice"))
	bob := chattest.NewNode(t, net)
	net.Connect(alice.ID, bob.ID)
	info := alice.Svc.Info()
	want := chat.NodeInfo{
		PeerID:      alice.ID,
		Nick:        "alice",
		Fingerprint: crypto.Fingerprint(alice.Identity.PublicKey()),
		Addrs:       []string{},
		DHT:         "off",
	}
	if info.PeerID != want.PeerID || info.Nick != want.Nick || info.Fingerprint != want.Fingerprint ||
		info.Addrs == nil || len(info.Addrs) != 0 || info.MDNS || info.DHT != want.DHT {
		t.Errorf("Info: got %+v, want %+v", info, want)
	}
	if info.Fingerprint == "" {
		t.Error("Info: no fingerprint")
	}
	if _, err := alice.Svc.Connect(t.Context(), chattest.Addr(bob.ID)); err == nil {
		t.Error("Connect without a Network: got nil error, want one")
	}
	alice.Events.WaitFor(t, "bob coming up", func(ev chat.Event) bool {
		return ev.Type == chat.EventPeer && ev.Peer.ID == bob.ID && ev.Peer.Connected
	})
	for _, p := range alice.Svc.Peers() {
		if p.Connections != 0 {
			t.Errorf("peer %s: got %d connections, want 0 (no Network counts them)", p.ID.Short(), p.Connections)
		}
	}
}

// TestSetNick changes the node's nickname: it is saved first (SaveNick),
// then shown in Info and told to connected peers.
func TestSetNick(t *testing.T) {
	net := chattest.NewNet(t)
	var saved []string
	var saveErr error
	var mu sync.Mutex
	alice := chattest.NewNode(t, net, chattest.WithNick("alice"), chattest.WithConfig(func(c *chat.Config) {
		c.SaveNick = func(nick string) error {
			mu.Lock()
			defer mu.Unlock()
			saved = append(saved, nick)
			return saveErr
		}
	}))
	bob := chattest.NewNode(t, net)
	net.Connect(alice.ID, bob.ID)
	bob.Events.WaitFor(t, "alice's nickname", chattest.PeerNickIs(alice.ID, "alice"))

	if err := alice.Svc.SetNick("Alice.2"); err != nil {
		t.Fatal(err)
	}
	if got := alice.Svc.Info().Nick; got != "Alice.2" {
		t.Errorf("Info().Nick: got %q, want %q", got, "Alice.2")
	}
	bob.Events.WaitFor(t, "alice's new nickname", chattest.PeerNickIs(alice.ID, "Alice.2"))

	if err := alice.Svc.SetNick("two words"); !errors.Is(err, chat.ErrBadNick) {
		t.Errorf("SetNick of a bad nickname: got %v, want ErrBadNick", err)
	}
	mu.Lock()
	saveErr = errors.New("disk full")
	mu.Unlock()
	if err := alice.Svc.SetNick("alice3"); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("SetNick when saving fails: got %v, want the save error", err)
	}
	if got := alice.Svc.Nick(); got != "Alice.2" {
		t.Errorf("nickname after a failed save: got %q, want %q", got, "Alice.2")
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(saved, []string{"Alice.2", "alice3"}) {
		t.Errorf("saved: got %q, want [Alice.2 alice3] (a bad nickname is never saved)", saved)
	}
}
