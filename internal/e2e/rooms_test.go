package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/api"
	"github.com/parley-chat/parley/internal/testnet"
)

// messageID is the text form of a message ID: SHA-256 in lower-case hex.
var messageID = regexp.MustCompile(`^[0-9a-f]{64}$`)

// rooms returns parley rooms --json.
func rooms(t *testing.T, d *testnet.Daemon) []api.Room {
	t.Helper()
	var rs []api.Room
	d.RunJSON(&rs, "rooms", "--json")
	return rs
}

// waitLobby waits until d lists #lobby (a fresh home joins it as the node
// starts, while its API may already answer) and returns d's rooms.
func waitLobby(t *testing.T, d *testnet.Daemon) []api.Room {
	t.Helper()
	var rs []api.Room
	waitUntil(t, 15*time.Second, d.Name+" in #lobby", func() bool {
		rs = rooms(t, d)
		_, ok := roomOf(rs, "lobby")
		return ok
	})
	return rs
}

// roomOf finds room name (without '#') in rs.
func roomOf(rs []api.Room, name string) (api.Room, bool) {
	i := slices.IndexFunc(rs, func(r api.Room) bool { return r.Name == name })
	if i < 0 {
		return api.Room{}, false
	}
	return rs[i], true
}

// roomMembers reports d's member count of room, or -1 if d is not in it.
func roomMembers(t *testing.T, d *testnet.Daemon, room string) int {
	t.Helper()
	r, ok := roomOf(rooms(t, d), room)
	if !ok {
		return -1
	}
	return r.Members
}

// sendRoom sends text to #room and returns the message ID it prints.
func sendRoom(t *testing.T, d *testnet.Daemon, room, text string) string {
	t.Helper()
	id := strings.TrimSpace(d.MustRun("send", "#"+room, text))
	if !messageID.MatchString(id) {
		t.Fatalf("%s: send #%s printed %q, want a 64-hex message ID", d.Name, room, id)
	}
	return id
}

// peekRoom reads a room's text messages through the API, which (unlike
// the history command) does not mark them read.
func peekRoom(t *testing.T, d *testnet.Daemon, room string) []api.Message {
	t.Helper()
	return apiHistory(t, d, "#"+room)
}

func messageIDs(ms []api.Message) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	return out
}

// sameRoomHistory reports whether every daemon's room history holds want
// text messages with the same IDs in the same order.
func sameRoomHistory(t *testing.T, ds []*testnet.Daemon, room string, want int) bool {
	t.Helper()
	var first []string
	for i, d := range ds {
		ids := messageIDs(peekRoom(t, d, room))
		if len(ids) != want {
			return false
		}
		if i == 0 {
			first = ids
		} else if !slices.Equal(ids, first) {
			return false
		}
	}
	return true
}

// oneLine reports whether an error output is exactly one line.
func oneLine(s string) bool {
	s = strings.TrimSpace(s)
	return s != "" && !strings.Contains(s, "\n")
}

// TestLANRoom runs four daemons in network namespaces on one bridge: they
// find each other by mDNS, all join #team and post in it, and every node
// ends with the same history in the same order. Then one leaves, and one
// has its cable pulled while both sides of the cut keep posting: after the
// cable is back, the histories converge.
func TestLANRoom(t *testing.T) {
	const room = "team"
	lan := testnet.NewLAN(t, 4)
	names := []string{"ada", "bo", "cy", "di"}
	ds := make([]*testnet.Daemon, len(names))
	ids := make([]string, len(names))
	for i := range ds {
		ds[i] = testnet.NewDaemon(t, names[i], lan.Exec(i+1)...)
	}
	start := time.Now()
	for i, d := range ds {
		d.Start()
		ids[i] = d.Identity().PeerID
	}
	waitUntil(t, 30*time.Second, "every pair connected by mDNS", func() bool {
		for i, d := range ds {
			for j := range ds {
				if i != j && !connected(t, d, ids[j]) {
					return false
				}
			}
		}
		return true
	})
	t.Logf("figure: mDNS discovery, four daemons started to every pair connected: %v", time.Since(start))

	for _, d := range ds {
		if out := d.MustRun("join", "#"+room); !strings.Contains(out, "joined #"+room) {
			t.Errorf("%s: join #%s printed %q", d.Name, room, out)
		}
	}
	joined := time.Now()
	waitUntil(t, 30*time.Second, "#team and #lobby with 4 members on every node", func() bool {
		for _, d := range ds {
			rs := rooms(t, d)
			team, ok1 := roomOf(rs, room)
			lobby, ok2 := roomOf(rs, "lobby")
			if !ok1 || !ok2 || team.Members != 4 || lobby.Members != 4 {
				return false
			}
		}
		return true
	})
	t.Logf("figure: join to 4 members in #team on every node: %v", time.Since(joined))

	// Everyone posts twice.
	author := map[string]int{}
	text := map[string]string{}
	for round := range 2 {
		for i, d := range ds {
			s := d.Name + " says hello, round " + string(rune('1'+round))
			id := sendRoom(t, d, room, s)
			author[id], text[id] = i, s
		}
	}
	posted := time.Now()
	// Wait without reading (the history command marks read): unread is
	// 6 on every node, the messages of the three others.
	waitUntil(t, 30*time.Second, "6 unread in #team and all 8 messages on every node", func() bool {
		for _, d := range ds {
			r, ok := roomOf(rooms(t, d), room)
			if !ok || r.Unread != 6 || len(peekRoom(t, d, room)) != 8 {
				return false
			}
		}
		return true
	})
	t.Logf("figure: 8 messages posted to every node holding all 8: %v", time.Since(posted))
	for _, d := range ds {
		if r, _ := roomOf(rooms(t, d), "lobby"); r.Unread != 0 {
			t.Errorf("%s: #lobby unread %d, want 0 (join lines are not unread text)", d.Name, r.Unread)
		}
	}

	var order []string
	for i, d := range ds {
		ms := history(t, d, "#"+room)
		if len(ms) != 8 {
			t.Fatalf("%s: history #%s has %d messages, want 8: %+v", d.Name, room, len(ms), ms)
		}
		if i == 0 {
			order = messageIDs(ms)
		} else if got := messageIDs(ms); !slices.Equal(got, order) {
			t.Errorf("%s: history order\n got %v\nwant %v (as %s has it)", d.Name, got, order, ds[0].Name)
		}
		for _, m := range ms {
			a, ok := author[m.ID]
			switch {
			case !ok:
				t.Errorf("%s: unexpected message %+v", d.Name, m)
			case m.From != ids[a] || m.Text != text[m.ID] || m.Kind != "text" || m.Room != room:
				t.Errorf("%s: message %s: got from %s kind %q room %q text %q; want from %s, text, room %q, %q",
					d.Name, m.ID, m.From, m.Kind, m.Room, m.Text, ids[a], room, text[m.ID])
			}
		}
		if r, _ := roomOf(rooms(t, d), room); r.Unread != 0 {
			t.Errorf("%s: #%s unread after reading the history: got %d, want 0", d.Name, room, r.Unread)
		}
	}

	// di leaves: the other three see three members.
	di := ds[3]
	if r := di.Run("leave", "#"+room); r.Code != 0 || !strings.Contains(r.Stdout, "left #"+room) {
		t.Fatalf("di: leave #%s: exit %d, stdout %q, stderr %q", room, r.Code, r.Stdout, r.Stderr)
	}
	if _, ok := roomOf(rooms(t, di), room); ok {
		t.Errorf("di still lists #%s after leaving it", room)
	}
	left := time.Now()
	waitUntil(t, 30*time.Second, "3 members in #team once di left", func() bool {
		for _, d := range ds[:3] {
			if roomMembers(t, d, room) != 3 {
				return false
			}
		}
		return true
	})
	t.Logf("figure: leave to 3 members on the other nodes: %v", time.Since(left))

	// cy's cable is pulled; both sides post; the cable is plugged back.
	members := ds[:3]
	ada, bo, cy := ds[0], ds[1], ds[2]
	lan.Cut(3)
	cut := time.Now()
	waitUntil(t, 30*time.Second, "both sides of the cut see the other gone", func() bool {
		return !connected(t, ada, ids[2]) && !connected(t, bo, ids[2]) && !connected(t, cy, ids[0]) && !connected(t, cy, ids[1])
	})
	t.Logf("figure: cable pulled to both sides seeing the cut: %v", time.Since(cut))
	adaCut := sendRoom(t, ada, room, "ada, while cy is away")
	sendRoom(t, bo, room, "bo, while cy is away")
	sendRoom(t, cy, room, "cy, alone 1")
	sendRoom(t, cy, room, "cy, alone 2")
	if slices.Contains(messageIDs(peekRoom(t, cy, room)), adaCut) {
		t.Errorf("cy got ada's message across a pulled cable: the partition is not real")
	}
	lan.Restore(3)
	took := waitUntil(t, 30*time.Second, "histories converge after the cable is back", func() bool {
		return sameRoomHistory(t, members, room, 12)
	})
	t.Logf("figure: cable plugged back to identical #team histories (12 messages) on the three members: %v", took)

	// di left: its history stays as it was, and nothing new reaches it.
	if ms := peekRoom(t, di, room); !slices.Equal(messageIDs(ms), order) {
		t.Errorf("di's #%s history after leaving: got %v, want the 8 messages from before", room, messageIDs(ms))
	}
}

// TestRoomRendezvousViaBootstrap runs three daemons in network namespaces
// without mDNS: A and C know only the bootstrap node B, which is not in
// #secret. A and C must meet through the DHT rendezvous (the room's topic
// as namespace), and what A posts must reach C.
//
// In a three-node DHT the routing-table lookups alone would introduce A and
// C (B answers A's self-lookup with C), which is not what is tested; in a
// large DHT two members are rarely among each other's closest peers. So A
// and C cannot reach each other (an unreachable route either way) until
// both have joined, and #lobby is not auto-joined (its rendezvous would
// introduce them too). Once the route is back, only the rendezvous, or a
// DHT refresh minutes later, brings them together.
//
// "join" joins by command, once the bootstrap peer is connected; "auto-join"
// has #secret in auto_join, so the room is opened while the node starts,
// as every joined room is at each restart.
func TestRoomRendezvousViaBootstrap(t *testing.T) {
	t.Run("join", func(t *testing.T) { testRendezvous(t, false) })
	t.Run("auto-join", func(t *testing.T) { testRendezvous(t, true) })
}

func testRendezvous(t *testing.T, autoJoin bool) {
	const room = "secret"
	lan := testnet.NewLAN(t, 3)
	b := testnet.NewDaemon(t, "boot", lan.Exec(1)...)
	a := testnet.NewDaemon(t, "amy", lan.Exec(2)...)
	c := testnet.NewDaemon(t, "cal", lan.Exec(3)...)
	auto := "[]"
	if autoJoin {
		auto = `["` + room + `"]`
	}
	for _, d := range []*testnet.Daemon{a, c} {
		appendFile(t, filepath.Join(d.Home, "config.toml"), "auto_join = "+auto+"\n")
	}
	// A and C cannot reach each other: unreachable routes either way.
	ipRoute(t, "add", lan.NS(2), lan.Addr(3))
	ipRoute(t, "add", lan.NS(3), lan.Addr(2))

	b.Start("--no-mdns")
	bid := b.Identity()
	var bootAddr string
	for _, addr := range bid.Addrs {
		if strings.HasPrefix(addr, "/ip4/"+lan.Addr(1)+"/tcp/") {
			bootAddr = addr
		}
	}
	if bootAddr == "" {
		t.Fatalf("the bootstrap node has no TCP address on %s: %v", lan.Addr(1), bid.Addrs)
	}
	args := []string{"--no-mdns", "--log-level", "debug", "--bootstrap", bootAddr}
	started := time.Now()
	a.Start(args...)
	c.Start(args...)
	aid, cid := a.Identity(), c.Identity()
	for _, id := range []api.Identity{bid, aid, cid} {
		if id.MDNS || id.DHT != "server" {
			t.Errorf("%s: id --json says mdns %v, dht %q; want mdns off, DHT server (nothing makes these nodes unreachable)", id.Nick, id.MDNS, id.DHT)
		}
	}
	waitOrDump(t, 30*time.Second, "amy and cal connected to the bootstrap node", func() bool {
		return connected(t, a, bid.PeerID) && connected(t, c, bid.PeerID)
	}, func() string {
		return fmt.Sprintf("amy's log:\n%s\ncal's log:\n%s", tailLines(a.Log(), 20), tailLines(c.Log(), 20))
	})
	if !autoJoin {
		a.MustRun("join", "#"+room)
		c.MustRun("join", "#"+room)
	}
	joined := time.Now()
	for _, d := range []*testnet.Daemon{a, c} {
		if roomMembers(t, d, room) != 1 {
			t.Fatalf("%s: want #%s joined, alone", d.Name, room)
		}
	}
	if _, ok := roomOf(rooms(t, b), room); ok {
		t.Errorf("the bootstrap node lists #%s, which it never joined", room)
	}

	// The rendezvous found the other member when the node starts dialling
	// it (and fails: no route yet). Only the rendezvous (or a bootstrap
	// address, mDNS, connect, or a stored peer: none here) makes a peer
	// one the node redials.
	found := func(d *testnet.Daemon, other string) bool {
		for _, line := range strings.Split(d.Log(), "\n") {
			if strings.Contains(line, "redial failed") && strings.Contains(line, other) {
				return true
			}
		}
		return false
	}
	deadline := 60 * time.Second
	for start := time.Now(); !found(a, cid.PeerID) && !found(c, aid.PeerID); {
		if time.Since(start) > deadline {
			t.Fatalf("neither amy nor cal found the other through the DHT rendezvous within %v of joining #%s (%v after the daemons started)\namy's log:\n%s\ncal's log:\n%s",
				deadline, room, time.Since(started), tailLines(a.Log(), 30), tailLines(c.Log(), 30))
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("figure: joined to the rendezvous finding the other member: %v (amy found cal: %v, cal found amy: %v)",
		time.Since(joined), found(a, cid.PeerID), found(c, aid.PeerID))
	if connected(t, a, cid.PeerID) || connected(t, c, aid.PeerID) {
		t.Fatalf("amy and cal are connected through an unreachable route")
	}

	ipRoute(t, "del", lan.NS(2), lan.Addr(3))
	ipRoute(t, "del", lan.NS(3), lan.Addr(2))
	open := time.Now()
	took := waitOrDump(t, 30*time.Second, "amy and cal meet in #secret", func() bool {
		return roomMembers(t, a, room) == 2 && roomMembers(t, c, room) == 2
	}, func() string {
		return fmt.Sprintf("amy connected to cal: %v, cal to amy: %v; #%s members: amy %d, cal %d\namy's log:\n%s\ncal's log:\n%s",
			connected(t, a, cid.PeerID), connected(t, c, aid.PeerID), room, roomMembers(t, a, room), roomMembers(t, c, room),
			tailLines(a.Log(), 20), tailLines(c.Log(), 20))
	})
	t.Logf("figure: route opened to amy and cal both seeing 2 members in #%s: %v", room, took)

	msg := sendRoom(t, a, room, "only for #secret")
	sent := time.Now()
	waitOrDump(t, 30*time.Second, "amy's message reaches cal", func() bool {
		return slices.Contains(messageIDs(peekRoom(t, c, room)), msg)
	}, func() string {
		return fmt.Sprintf("amy connected to cal: %v; cal's #%s: %v", connected(t, a, cid.PeerID), room, messageIDs(peekRoom(t, c, room)))
	})
	t.Logf("figure: send to cal holding the message: %v (route opened to delivery: %v)", time.Since(sent), time.Since(open))
}

// ipRoute adds or deletes an unreachable route to addr in namespace ns.
func ipRoute(t *testing.T, op, ns, addr string) {
	t.Helper()
	if out, err := exec.Command("ip", "-n", ns, "route", op, "unreachable", addr+"/32").CombinedOutput(); err != nil {
		t.Fatalf("ip -n %s route %s unreachable %s: %v: %s", ns, op, addr, err, out)
	}
}

// waitOrDump is waitUntil that says more on failure: dump describes the
// state at the deadline.
func waitOrDump(t *testing.T, timeout time.Duration, what string, cond func() bool, dump func() string) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > timeout {
			t.Fatalf("timed out after %v waiting for %s\n%s", timeout, what, dump())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(start)
}

// tailLines returns the last n lines of s.
func tailLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

func appendFile(t *testing.T, path, text string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestRoomContract checks the room commands of the CLI on three daemons on
// 127.0.0.1: join and leave, rooms --json, send and history, errors and
// exit codes, persistence across a restart, and #lobby on a fresh home.
func TestRoomContract(t *testing.T) {
	const room = "dev"
	ds := []*testnet.Daemon{testnet.NewDaemon(t, "alice"), testnet.NewDaemon(t, "bob"), testnet.NewDaemon(t, "carol")}
	ids := make([]string, len(ds))
	for i, d := range ds {
		d.Start(loopbackListen...)
		ids[i] = d.Identity().PeerID
		// A fresh home joins #lobby on its first start, and only that.
		rs := waitLobby(t, d)
		if len(rs) != 1 || rs[0].Name != "lobby" || rs[0].Members != 1 || rs[0].Unread != 0 {
			t.Errorf("%s: rooms on a fresh home: got %+v, want only lobby, 1 member, 0 unread", d.Name, rs)
		}
	}
	alice, bob, carol := ds[0], ds[1], ds[2]
	alice.MustRun("connect", bob.Identity().Addrs[0])
	alice.MustRun("connect", carol.Identity().Addrs[0])
	bob.MustRun("connect", carol.Identity().Addrs[0])

	// join: exit 0, also when already joined.
	for _, d := range ds {
		if r := d.Run("join", "#"+room); r.Code != 0 || strings.TrimSpace(r.Stdout) != "joined #"+room {
			t.Errorf("%s: join: exit %d, stdout %q, stderr %q; want 0 and 'joined #%s'", d.Name, r.Code, r.Stdout, r.Stderr, room)
		}
	}
	if r := alice.Run("join", "#"+room); r.Code != 0 || strings.TrimSpace(r.Stdout) != "already in #"+room {
		t.Errorf("second join: exit %d, stdout %q, stderr %q; want 0 and 'already in #%s'", r.Code, r.Stdout, r.Stderr, room)
	}

	// rooms --json: names without '#', members counting this node, unread a number.
	waitUntil(t, 30*time.Second, "3 members in #dev and #lobby on every node", func() bool {
		for _, d := range ds {
			if roomMembers(t, d, room) != 3 || roomMembers(t, d, "lobby") != 3 {
				return false
			}
		}
		return true
	})
	var raw []map[string]any
	alice.RunJSON(&raw, "rooms", "--json")
	if len(raw) != 2 {
		t.Errorf("rooms --json: got %v, want dev and lobby", raw)
	}
	for _, r := range raw {
		name, _ := r["name"].(string)
		if name != room && name != "lobby" {
			t.Errorf("rooms --json: name %q, want %q or lobby (without '#')", r["name"], room)
		}
		if _, ok := r["members"].(float64); !ok {
			t.Errorf("rooms --json: members %#v is not a number", r["members"])
		}
		if _, ok := r["unread"].(float64); !ok {
			t.Errorf("rooms --json: unread %#v is not a number", r["unread"])
		}
	}
	var members []api.Member
	bob.RunJSON(&members, "members", "#"+room, "--json")
	if got := len(members); got != 3 {
		t.Errorf("bob: members #%s: got %d, want 3: %+v", room, got, members)
	}
	for _, m := range members {
		if !slices.Contains(ids, m.PeerID) || !m.Online {
			t.Errorf("bob: members #%s: unexpected %+v", room, m)
		}
	}

	// send prints a 64-hex ID; the others hold the message under that ID.
	const text = "hello #dev"
	msg := sendRoom(t, alice, room, text)
	for _, d := range ds[1:] {
		waitUntil(t, 15*time.Second, d.Name+" holds alice's message", func() bool {
			return slices.Contains(messageIDs(peekRoom(t, d, room)), msg)
		})
	}
	for _, d := range ds {
		ms := history(t, d, "#"+room)
		if len(ms) != 1 {
			t.Errorf("%s: history #%s: got %d messages, want 1: %+v", d.Name, room, len(ms), ms)
			continue
		}
		m := ms[0]
		if m.ID != msg || m.From != ids[0] || m.Text != text || m.Kind != "text" || m.Room != room {
			t.Errorf("%s: history #%s: got %+v; want ID %s from %s, text %q", d.Name, room, m, msg, ids[0], text)
		}
		if _, err := time.Parse(time.RFC3339, m.SentAt); err != nil {
			t.Errorf("%s: sent_at %q is not RFC 3339: %v", d.Name, m.SentAt, err)
		}
	}

	// Bad names: exit 2, one line on standard error, for every room command.
	bad := []string{"#Bad!", "#", "#" + strings.Repeat("a", 65)}
	for _, name := range bad {
		for _, args := range [][]string{
			{"join", name},
			{"leave", name},
			{"send", name, "hi"},
			{"history", name},
			{"members", name},
			{"retention", name},
			{"retention", name, "90d"},
		} {
			r := alice.Run(args...)
			if r.Code != 2 || !oneLine(r.Stderr) {
				t.Errorf("parley %s %q: exit %d, stderr %q; want exit 2 and one line", args[0], name, r.Code, r.Stderr)
			}
		}
	}
	// A 64-character name is fine.
	long := strings.Repeat("a", 64)
	if r := alice.Run("join", "#"+long); r.Code != 0 {
		t.Errorf("join a 64-character name: exit %d, stderr %q; want 0", r.Code, r.Stderr)
	}
	alice.MustRun("leave", "#"+long)

	// Sending to a room not joined: exit 1, one line.
	if r := alice.Run("send", "#elsewhere", "hi"); r.Code != 1 || !oneLine(r.Stderr) {
		t.Errorf("send to a room not joined: exit %d, stderr %q; want exit 1 and one line", r.Code, r.Stderr)
	}

	// leave: exit 0, also when already left; the others see 2 members.
	if r := carol.Run("leave", "#"+room); r.Code != 0 || strings.TrimSpace(r.Stdout) != "left #"+room {
		t.Errorf("leave: exit %d, stdout %q, stderr %q; want 0 and 'left #%s'", r.Code, r.Stdout, r.Stderr, room)
	}
	if r := carol.Run("leave", "#"+room); r.Code != 0 || strings.TrimSpace(r.Stdout) != "not in #"+room {
		t.Errorf("second leave: exit %d, stdout %q, stderr %q; want 0 and 'not in #%s'", r.Code, r.Stdout, r.Stderr, room)
	}
	if r := carol.Run("send", "#"+room, "hi"); r.Code != 1 || !oneLine(r.Stderr) {
		t.Errorf("send to a room left: exit %d, stderr %q; want exit 1 and one line", r.Code, r.Stderr)
	}
	waitUntil(t, 30*time.Second, "2 members in #dev once carol left", func() bool {
		return roomMembers(t, alice, room) == 2 && roomMembers(t, bob, room) == 2
	})

	// Rooms persist across a restart: bob leaves #lobby, stops, starts.
	bob.MustRun("leave", "#lobby")
	if code, _ := bob.Stop(); code != 0 {
		t.Errorf("bob: SIGTERM: exit %d, want 0", code)
	}
	bob.Start(loopbackListen...)
	// The API answers as the node starts; the rooms open meanwhile.
	waitUntil(t, 15*time.Second, "bob's #"+room+" open again", func() bool {
		_, ok := roomOf(rooms(t, bob), room)
		return ok
	})
	rs := rooms(t, bob)
	if len(rs) != 1 || rs[0].Name != room {
		t.Errorf("bob's rooms after a restart: got %+v, want only %s (lobby was left and stays left)", rs, room)
	}
	if ms := history(t, bob, "#"+room); len(ms) != 1 || ms[0].ID != msg {
		t.Errorf("bob's #%s history after a restart: got %+v, want alice's message %s", room, ms, msg)
	}
	// And the room works after the restart: bob reconnects (alice redials
	// him) and his post reaches alice.
	after := sendRoom(t, bob, room, "back again")
	waitUntil(t, 30*time.Second, "bob's post after his restart reaches alice", func() bool {
		return slices.Contains(messageIDs(peekRoom(t, alice, room)), after)
	})

	// Unread is a count of others' text: alice has one unread (bob's).
	if r, _ := roomOf(rooms(t, alice), room); r.Unread != 1 {
		t.Errorf("alice: #%s unread: got %d, want 1", room, r.Unread)
	}
	var js json.RawMessage
	alice.RunJSON(&js, "history", "#"+room, "--json")
	if r, _ := roomOf(rooms(t, alice), room); r.Unread != 0 {
		t.Errorf("alice: #%s unread after history: got %d, want 0", room, r.Unread)
	}
}
