package e2e

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/api"
	"github.com/parley-chat/parley/internal/testnet"
)

// TestPrivateRoomContract drives private rooms through the built binary:
// create, invite, join by link, members with roles, a stranger on the
// same network reading nothing, removal, and the invite errors.
func TestPrivateRoomContract(t *testing.T) {
	names := []string{"alice", "bob", "carol", "eve"}
	ds := make([]*testnet.Daemon, len(names))
	ids := make([]string, len(names))
	for i, n := range names {
		ds[i] = testnet.NewDaemon(t, n)
		ds[i].Start(loopbackListen...)
		ids[i] = ds[i].Identity().PeerID
	}
	for i, d := range ds {
		for _, other := range ds[i+1:] {
			d.MustRun("connect", other.Identity().Addrs[0])
		}
	}
	privateRoomScenario(t, ds, ids)
}

// TestLANPrivateRoom is the same on a simulated LAN: four daemons in
// network namespaces that find each other by mDNS; three share a private
// room, and the fourth, on the same LAN and in a public room of the same
// name, reads nothing of it and cannot post into it.
func TestLANPrivateRoom(t *testing.T) {
	lan := testnet.NewLAN(t, 4)
	names := []string{"alice", "bob", "carol", "eve"}
	ds := make([]*testnet.Daemon, len(names))
	ids := make([]string, len(names))
	for i, n := range names {
		ds[i] = testnet.NewDaemon(t, n, lan.Exec(i+1)...)
		ds[i].Start()
		ids[i] = ds[i].Identity().PeerID
	}
	waitUntil(t, 30*time.Second, "every pair connected by mDNS", func() bool { return allConnected(t, ds, ids) })
	privateRoomScenario(t, ds, ids)
}

// privateRoomScenario runs the private-room contract on four connected
// daemons: alice creates, bob and carol join by invite, eve is a stranger.
func privateRoomScenario(t *testing.T, ds []*testnet.Daemon, ids []string) {
	const room = "payroll"
	alice, bob, carol, eve := ds[0], ds[1], ds[2], ds[3]

	if r := alice.Run("create", "#"+room, "--private"); r.Code != 0 {
		t.Fatalf("create --private: exit %d, %q %q", r.Code, r.Stdout, r.Stderr)
	}
	var rs []map[string]any
	alice.RunJSON(&rs, "rooms", "--json")
	found := false
	for _, r := range rs {
		switch r["name"] {
		case room:
			found = true
			if r["private"] != true || r["role"] != "admin" {
				t.Errorf("rooms --json: #%s is %v, want private true and role admin", room, r)
			}
		case "lobby":
			if r["private"] != false {
				t.Errorf("rooms --json: #lobby is %v, want private false", r)
			}
		}
	}
	if !found {
		t.Fatalf("rooms --json: no #%s in %v", room, rs)
	}

	invite := func(args ...string) string {
		t.Helper()
		r := alice.Run(append([]string{"invite", "#" + room}, args...)...)
		lines := strings.Split(strings.TrimSpace(r.Stdout), "\n")
		if r.Code != 0 || !strings.HasPrefix(lines[len(lines)-1], "parley://invite/") {
			t.Fatalf("invite: exit %d, stdout %q, stderr %q", r.Code, r.Stdout, r.Stderr)
		}
		return lines[len(lines)-1]
	}
	for _, d := range []*testnet.Daemon{bob, carol} {
		link := invite()
		if r := d.Run("join", link); r.Code != 0 {
			t.Fatalf("%s: join LINK: exit %d, %q %q", d.Name, r.Code, r.Stdout, r.Stderr)
		}
		// A used-up link: exit 1, one line saying so.
		if r := eve.Run("join", link); r.Code != 1 || !strings.Contains(r.Stderr, "used up") || strings.Count(strings.TrimSpace(r.Stderr), "\n") != 0 {
			t.Errorf("eve joining with a used link: exit %d, stderr %q; want 1 and one line saying used up", r.Code, r.Stderr)
		}
	}
	// A flipped byte: forged.
	link := invite("--uses", "3", "--expires", "10m")
	b := []byte(link)
	b[len(b)-5] ^= 1
	if r := eve.Run("join", string(b)); r.Code != 1 || !strings.Contains(r.Stderr, "forged") {
		t.Errorf("eve joining with a flipped byte: exit %d, stderr %q; want 1 and forged", r.Code, r.Stderr)
	}
	if r := alice.Run("invite", "--revoke", link); r.Code != 0 {
		t.Errorf("invite --revoke: exit %d, %q", r.Code, r.Stderr)
	}
	if r := eve.Run("join", link); r.Code != 1 || !strings.Contains(r.Stderr, "revoked") {
		t.Errorf("eve joining with a revoked link: exit %d, stderr %q; want 1 and revoked", r.Code, r.Stderr)
	}
	// Eve has a public room of the same name: the two never mix.
	eve.MustRun("join", "#"+room)

	var members []map[string]any
	waitUntil(t, 30*time.Second, "three members with roles at carol", func() bool {
		carol.RunJSON(&members, "members", "#"+room, "--json")
		return len(members) == 3
	})
	for _, m := range members {
		want := "member"
		if m["peer_id"] == ids[0] {
			want = "admin"
		}
		if m["role"] != want {
			t.Errorf("members --json at carol: %v, want role %s", m, want)
		}
	}

	first := sendRoom(t, bob, room, "the payroll runs on friday")
	eveSays := sendRoom(t, eve, room, "eve was here")
	waitUntil(t, 30*time.Second, "bob's message at alice and carol", func() bool {
		return slices.Contains(messageIDs(history(t, alice, "#"+room)), first) && slices.Contains(messageIDs(history(t, carol, "#"+room)), first)
	})
	for _, d := range []*testnet.Daemon{alice, bob, carol} {
		if slices.Contains(messageIDs(history(t, d, "#"+room)), eveSays) {
			t.Errorf("%s holds eve's message from her public room of the same name", d.Name)
		}
	}
	for _, m := range history(t, eve, "#"+room) {
		if strings.Contains(m.Text, "payroll") {
			t.Errorf("eve reads the private room's text: %q", m.Text)
		}
	}

	// Only an admin removes.
	if r := bob.Run("remove", "#"+room, ids[2]); r.Code != 1 {
		t.Errorf("bob removing carol: exit %d, stderr %q; want 1", r.Code, r.Stderr)
	}
	if r := alice.Run("remove", "#"+room, ids[2]); r.Code != 0 {
		t.Fatalf("alice removing carol: exit %d, stderr %q", r.Code, r.Stderr)
	}
	waitUntil(t, 30*time.Second, "carol to know she was removed", func() bool {
		r := carol.Run("send", "#"+room, "am I still here?")
		return r.Code == 1 && strings.Contains(r.Stderr, "not a member")
	})
	after := sendRoom(t, bob, room, "carol is gone")
	waitUntil(t, 30*time.Second, "the message after the removal at alice", func() bool {
		return slices.Contains(messageIDs(history(t, alice, "#"+room)), after)
	})
	if slices.Contains(messageIDs(history(t, carol, "#"+room)), after) {
		t.Error("carol holds a message sent after her removal")
	}

	// Safety numbers are another test's; the room is alice's and bob's now.
	var bobMembers []api.Member
	bob.RunJSON(&bobMembers, "members", "#"+room, "--json")
	if len(bobMembers) != 2 {
		t.Errorf("bob's members after the removal: %+v, want alice and bob", bobMembers)
	}
}
