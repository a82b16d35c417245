package api

import (
	"bytes"
	"context"
	"encoding/json"
	"image/png"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/chat/chattest"
	"github.com/parley-chat/parley/crypto"
)

// formattedSafety matches a safety number as the API shows it.
var formattedSafety = regexp.MustCompile(`^[0-9]{5}( [0-9]{5}){11}$`)

func TestSafetyAndVerify(t *testing.T) {
	c := newCluster(t)
	alice, bob := c.node("alice"), c.node("bob")
	c.connect(alice, bob)
	ts, tsBob := startServer(t, alice), startServer(t, bob)
	digits, err := crypto.SafetyNumber(alice.ID, bob.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := crypto.FormatSafetyNumber(digits)

	status, _, body := ts.unixDo(t, http.MethodGet, "/api/v1/peers/@bob/safety", nil, nil)
	if status != http.StatusOK {
		t.Fatalf("GET safety: got %d (%s), want 200", status, body)
	}
	var raw map[string]any
	if err := json.Unmarshal(body, &raw); err != nil {
		t.Fatal(err)
	}
	if got := sortedKeys(raw); !slices.Equal(got, []string{"peer_id", "safety_number", "verified"}) {
		t.Errorf("keys: got %v, want peer_id, safety_number, verified", got)
	}
	if raw["peer_id"] != bob.ID.String() || raw["safety_number"] != want || raw["verified"] != false {
		t.Errorf("GET safety: got %s, want bob's peer ID, %q, verified false", body, want)
	}
	if !formattedSafety.MatchString(want) {
		t.Errorf("safety number %q: want 12 groups of five digits", want)
	}

	// Bob's side, asked by peer ID, reads the same number.
	atBob, err := tsBob.client.Safety(t.Context(), alice.ID.String())
	if err != nil {
		t.Fatalf("Safety at bob: %v", err)
	}
	if atBob != (Safety{PeerID: alice.ID.String(), SafetyNumber: want}) {
		t.Errorf("Safety at bob: got %+v, want alice's ID and %q", atBob, want)
	}

	// The QR code is a PNG.
	status, header, body := ts.unixDo(t, http.MethodGet, "/api/v1/peers/"+bob.ID.String()+"/safety.png", nil, nil)
	if status != http.StatusOK || header.Get("Content-Type") != "image/png" {
		t.Fatalf("GET safety.png: got %d %q, want 200 image/png", status, header.Get("Content-Type"))
	}
	img, err := png.Decode(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("safety.png: %v", err)
	}
	if b := img.Bounds(); b.Dx() != qrPixels || b.Dy() != qrPixels {
		t.Errorf("safety.png: got %v, want %dx%d", b, qrPixels, qrPixels)
	}

	// Verifying answers with the same number, marked; peers and later
	// answers show the mark.
	verified, err := ts.client.Verify(t.Context(), "@bob")
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if verified != (Safety{PeerID: bob.ID.String(), SafetyNumber: want, Verified: true}) {
		t.Errorf("Verify: got %+v, want bob verified with %q", verified, want)
	}
	if again, err := ts.client.Safety(t.Context(), "@BOB"); err != nil || !again.Verified {
		t.Errorf("Safety after verifying: got %+v, %v; want verified", again, err)
	}
	peers, err := ts.client.Peers(t.Context())
	if err != nil || len(peers) != 1 || !peers[0].Verified || peers[0].Display != "bob ✓" {
		t.Errorf("Peers after verifying: got %+v, %v; want bob verified, shown as \"bob ✓\"", peers, err)
	}
	if p, _ := alice.Svc.Peer(bob.ID); !p.Verified {
		t.Errorf("the messenger: bob is not verified")
	}
	if atBob, _ := tsBob.client.Safety(t.Context(), "@alice"); atBob.Verified {
		t.Errorf("Safety at bob: got verified, want not (only alice verified)")
	}
}

func TestSafetyErrors(t *testing.T) {
	c := newCluster(t)
	alice, sam, otherSam := c.node("alice"), c.node("sam"), c.node("Sam")
	c.connect(alice, sam)
	c.connect(alice, otherSam)
	ts := startServer(t, alice)
	stranger := newPeerID(t)
	for _, tc := range []struct {
		name       string
		peer       string
		wantStatus int
		wantCode   string
		wantText   []string
	}{
		{"unknown nick", "@nobody", http.StatusNotFound, CodeNotFound, []string{"unknown peer @nobody"}},
		{"never seen", stranger.String(), http.StatusNotFound, CodeNotFound, []string{"unknown peer " + stranger.String(), "connect"}},
		{"not a peer ID", "xyz", http.StatusNotFound, CodeNotFound, []string{`unknown peer "xyz"`}},
		{"oneself", alice.ID.String(), http.StatusBadRequest, CodeBadRequest, []string{"own peer ID"}},
		{"ambiguous", "@sam", http.StatusConflict, CodeConflict, []string{
			"sam (" + sam.ID.Short() + ") = " + sam.ID.String(),
			"Sam (" + otherSam.ID.Short() + ") = " + otherSam.ID.String(),
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, call := range []struct {
				name string
				do   func(context.Context, string) (Safety, error)
			}{{"Safety", ts.client.Safety}, {"Verify", ts.client.Verify}} {
				_, err := call.do(t.Context(), tc.peer)
				ae := apiError(t, err, tc.wantStatus, tc.wantCode)
				for _, w := range tc.wantText {
					if !strings.Contains(ae.Message, w) {
						t.Errorf("%s: got %q, want it to say %q", call.name, ae.Message, w)
					}
				}
			}
			status, _, body := ts.unixDo(t, http.MethodGet, "/api/v1/peers/"+url.PathEscape(tc.peer)+"/safety.png", nil, nil)
			if status != tc.wantStatus {
				t.Errorf("safety.png: got %d (%s), want %d", status, body, tc.wantStatus)
			}
		})
	}
	for _, p := range alice.Svc.Peers() {
		if p.Verified {
			t.Errorf("after refused verifications: %s is verified", p.Display)
		}
	}
	if status, _, _ := ts.unixDo(t, http.MethodPost, "/api/v1/peers/@sam/safety", nil, nil); status != http.StatusMethodNotAllowed {
		t.Errorf("POST safety: got %d, want 405", status)
	}
}

// TestDisplayNames checks that every client gets the messenger's names:
// peers, message authors (history and events), members and the sidebar
// tell two peers with one nickname apart.
func TestDisplayNames(t *testing.T) {
	c := newCluster(t)
	alice, bob, otherBob := c.node("alice"), c.node("bob"), c.node("Bob")
	c.connect(alice, bob)
	c.connect(alice, otherBob)
	ts := startServer(t, alice)
	bobShown, otherShown := "bob ("+bob.ID.Short()+")", "Bob ("+otherBob.ID.Short()+")"

	peers, err := ts.client.Peers(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	shown := map[string]string{}
	for _, p := range peers {
		shown[p.PeerID] = p.Display
	}
	if shown[bob.ID.String()] != bobShown || shown[otherBob.ID.String()] != otherShown {
		t.Errorf("peers: got %q, want %q and %q", shown, bobShown, otherShown)
	}

	events := make(chan Event, 64)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- ts.client.Events(ctx, func(e Event) error {
			events <- e
			return nil
		})
	}()
	ts.backend.waitSubscription(t)
	m, err := bob.Svc.SendDM(t.Context(), alice.ID, "it's me")
	if err != nil {
		t.Fatal(err)
	}
	for e := range events {
		if e.Type == "message" && e.Message.ID == m.ID.String() {
			if e.Message.FromDisplay != bobShown {
				t.Errorf("message event: from_display %q, want %q", e.Message.FromDisplay, bobShown)
			}
			break
		}
	}
	cancel()
	if err := waitErr(t, done, "the event stream to end"); err != nil {
		t.Errorf("Events: %v", err)
	}

	ms, err := ts.client.History(t.Context(), bob.ID.String(), 10, "")
	if err != nil || len(ms) != 1 || ms[0].FromDisplay != bobShown {
		t.Errorf("history: got %+v, %v; want one message from %q", ms, err, bobShown)
	}
	convs, err := ts.client.Conversations(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, cv := range convs {
		if cv.PeerID == bob.ID.String() && cv.Name != bobShown {
			t.Errorf("conversation with bob: name %q, want %q", cv.Name, bobShown)
		}
	}

	for _, n := range []string{"alice", "bob", "Bob"} {
		node := map[string]*chat.Service{"alice": alice.Svc, "bob": bob.Svc, "Bob": otherBob.Svc}[n]
		if _, err := node.JoinRoom(t.Context(), "dev"); err != nil {
			t.Fatal(err)
		}
	}
	var members []Member
	chattest.WaitFor(t, 0, "three members in #dev", func() bool {
		members, err = ts.client.Members(t.Context(), "#dev")
		return err == nil && len(members) == 3
	})
	for _, mb := range members {
		if want := map[string]string{alice.ID.String(): "alice", bob.ID.String(): bobShown, otherBob.ID.String(): otherShown}[mb.PeerID]; mb.Display != want {
			t.Errorf("member %s: display %q, want %q", mb.PeerID, mb.Display, want)
		}
	}
}
