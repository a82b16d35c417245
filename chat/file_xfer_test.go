package chat_test

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/parley-chat/parley/chat"
	"github.com/parley-chat/parley/chat/chattest"
	"github.com/parley-chat/parley/crypto"
	"github.com/parley-chat/parley/internal/wire"
)

const filesRoom = "files"

// fileRoom is n nodes with file sharing, all connected, all in #files.
// opts apply to every node.
func fileRoom(t testing.TB, names []string, opts ...chattest.Option) []*chattest.Node {
	t.Helper()
	net := chattest.NewNet(t)
	ns := make([]*chattest.Node, len(names))
	for i, name := range names {
		ns[i] = chattest.NewNode(t, net, append([]chattest.Option{chattest.WithRooms(), chattest.WithNick(name), chattest.WithFiles(nil)}, opts...)...)
	}
	for i := range ns {
		for _, o := range ns[i+1:] {
			net.Connect(ns[i].ID, o.ID)
		}
	}
	var lines []*chat.Message
	for _, n := range ns {
		lines = append(lines, joinRoom(t, n, filesRoom))
	}
	for _, n := range ns {
		for _, l := range lines {
			n.Events.WaitFor(t, "every join line", chattest.MessageIs(l.ID))
		}
	}
	return ns
}

func randomBytes(t testing.TB, n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// share shares one file named name with data into conv from n.
func share(t testing.TB, n *chattest.Node, conv chat.Conversation, name string, data []byte) *chat.Message {
	t.Helper()
	files := func(yield func(chat.SharedFile, error) bool) {
		yield(chat.SharedFile{Name: name, Data: bytes.NewReader(data)}, nil)
	}
	m, err := n.Svc.ShareFiles(t.Context(), conv, files, "")
	if err != nil {
		t.Fatalf("share %s: %v", name, err)
	}
	if len(m.Files) != 1 {
		t.Fatalf("share: the message carries %d files", len(m.Files))
	}
	return m
}

// fileComplete matches the event that says file h is complete.
func fileComplete(h chat.FileHash) func(chat.Event) bool {
	return func(e chat.Event) bool {
		return e.Type == chat.EventFile && e.File.Hash == h && e.File.State == chat.FileComplete
	}
}

// contentOf reads file h back from n.
func contentOf(t *testing.T, n *chattest.Node, h chat.FileHash) []byte {
	t.Helper()
	r, _, err := n.Svc.OpenFile(h)
	if err != nil {
		t.Fatalf("open %x at %s: %v", h[:4], n.Config.Nick, err)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestFileSharedInRoom: a file shared in a room of three reaches the other
// two on arrival (it is under auto_download), byte for byte, with its
// manifest; a zero-byte file and a file of exactly one chunk too.
func TestFileSharedInRoom(t *testing.T) {
	ns := fileRoom(t, []string{"ann", "bob", "cat"})
	ann := ns[0]
	conv := chat.RoomConversation(filesRoom)
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"notes.txt", []byte("plain text notes\n")},
		{"empty.bin", nil},
		{"one-chunk.bin", randomBytes(t, crypto.FileChunkSize)},
		{"several.bin", randomBytes(t, 2*crypto.FileChunkSize+12345)},
	} {
		m := share(t, ann, conv, tc.name, tc.data)
		man := m.Files[0]
		if man.Name != tc.name || man.Size != int64(len(tc.data)) || man.Encrypted() {
			t.Errorf("%s: manifest %+v", tc.name, man)
		}
		for _, n := range ns[1:] {
			n.Events.WaitFor(t, tc.name+" complete at "+n.Config.Nick, fileComplete(man.Hash))
			if got := contentOf(t, n, man.Hash); !bytes.Equal(got, tc.data) {
				t.Errorf("%s at %s: %d bytes differ from the %d shared", tc.name, n.Config.Nick, len(got), len(tc.data))
			}
			got, err := n.Svc.Message(m.ID)
			if err != nil || len(got.Files) != 1 || got.Files[0].Hash != man.Hash {
				t.Errorf("%s at %s: the message's files %v, %v", tc.name, n.Config.Nick, got, err)
			}
		}
	}
	if got := m0MIME(t, ann, conv); got != "text/plain; charset=utf-8" {
		t.Errorf("notes.txt detected as %q", got)
	}
}

// m0MIME is the MIME type of the first file shared in conv at n.
func m0MIME(t *testing.T, n *chattest.Node, conv chat.Conversation) string {
	for _, m := range n.History(conv) {
		if len(m.Files) > 0 {
			return m.Files[0].MIME
		}
	}
	t.Fatal("no files in history")
	return ""
}

// TestFileFromMembersWhenSharerLeaves: a file over auto_download is
// fetched on demand; once one member has it, the sharer goes away and the
// others still complete, from that member.
func TestFileFromMembersWhenSharerLeaves(t *testing.T) {
	ns := fileRoom(t, []string{"ann", "bob", "cat", "dan"}, chattest.WithConfig(func(c *chat.Config) { c.AutoDownload = 1 }))
	ann, bob := ns[0], ns[1]
	data := randomBytes(t, 3*crypto.FileChunkSize+7)
	m := share(t, ann, chat.RoomConversation(filesRoom), "build.tar", data)
	h := m.Files[0].Hash
	for _, n := range ns[1:] {
		n.Events.WaitFor(t, "the message at "+n.Config.Nick, chattest.MessageIs(m.ID))
		if rec, err := n.Svc.FileRecord(h); err != nil || rec.State != chat.FileRemote {
			t.Errorf("%s: a file over auto_download is %v (%v), want remote", n.Config.Nick, rec.State, err)
		}
	}
	if err := bob.Svc.FetchFile(t.Context(), m.ID, h); err != nil {
		t.Fatalf("bob fetching: %v", err)
	}
	ann.Stop()
	var wg sync.WaitGroup
	for _, n := range ns[2:] {
		wg.Go(func() {
			if err := n.Svc.FetchFile(t.Context(), m.ID, h); err != nil {
				t.Errorf("%s fetching with the sharer gone: %v", n.Config.Nick, err)
			}
		})
	}
	wg.Wait()
	for _, n := range ns[1:] {
		if got := contentOf(t, n, h); !bytes.Equal(got, data) {
			t.Errorf("%s: the file differs", n.Config.Nick)
		}
	}
}

// badSource makes n answer /parley/file/1.0.0 like a member that holds
// the file, with the right chunk list and garbage for chunks; it counts
// the chunk requests it gets.
func badSource(n *chattest.Node, list []chat.FileHash, chunkRequests *atomic.Int32) {
	n.Tr.SetStreamHandler(chat.FileProtocol, func(_ chat.PeerID, st chat.Stream) {
		defer func() { _ = st.Close() }()
		br := bufio.NewReader(st)
		for {
			b, err := readFrame(br)
			if err != nil {
				return
			}
			var req wire.FileRequest
			if proto.Unmarshal(b, &req) != nil {
				return
			}
			var rs []*wire.FileResponse
			switch req.Type {
			case wire.FileRequest_TYPE_HAVE:
				rs = append(rs, &wire.FileResponse{Have: bytes.Repeat([]byte{0xff}, (len(list)+7)/8)})
			case wire.FileRequest_TYPE_LIST:
				hs := make([][]byte, len(list))
				for i := range list {
					hs[i] = list[i][:]
				}
				rs = append(rs, &wire.FileResponse{ChunkHashes: hs})
			case wire.FileRequest_TYPE_CHUNKS:
				chunkRequests.Add(1)
				for _, i := range req.Indices {
					rs = append(rs, &wire.FileResponse{Index: i, Data: bytes.Repeat([]byte("x"), crypto.FileChunkSize)})
				}
			}
			for _, r := range rs {
				out, _ := proto.Marshal(r)
				if writeFrame(st, out) != nil {
					return
				}
			}
		}
	})
}

// TestFileBadSourceDropped: a member serving corrupted chunks is caught
// by the chunk hashes and dropped; the file still arrives intact from an
// honest member.
func TestFileBadSourceDropped(t *testing.T) {
	ns := fileRoom(t, []string{"ann", "bob", "mal"}, chattest.WithConfig(func(c *chat.Config) { c.AutoDownload = 1 }))
	ann, bob, mal := ns[0], ns[1], ns[2]
	data := randomBytes(t, 2*crypto.FileChunkSize+1)
	m := share(t, ann, chat.RoomConversation(filesRoom), "design.psd", data)
	h := m.Files[0].Hash
	rec, err := ann.Svc.FileRecord(h)
	if err != nil {
		t.Fatal(err)
	}
	var asked atomic.Int32
	badSource(mal, rec.Chunks, &asked)
	bob.Events.WaitFor(t, "the message at bob", chattest.MessageIs(m.ID))

	// Only mal is there at first: every chunk it sends is refused.
	ann.Stop()
	fetched := make(chan error, 1)
	go func() { fetched <- bob.Svc.FetchFile(t.Context(), m.ID, h) }()
	chattest.WaitFor(t, 0, "bob dropping mal", func() bool { return slices.Contains(bob.Svc.BadSources(h), mal.ID) })
	if r, err := bob.Svc.FileRecord(h); err != nil || r.HaveN != 0 {
		t.Fatalf("bob stored %d chunks from the bad source (%v)", r.HaveN, err)
	}
	dropped := asked.Load()
	ann.Start()
	if err := <-fetched; err != nil {
		t.Fatalf("bob fetching: %v", err)
	}
	if got := contentOf(t, bob, h); !bytes.Equal(got, data) {
		t.Error("the file differs")
	}
	// Each of bob's streams to mal had at most two requests out when the
	// first bad chunk came, and none asked again once mal was dropped
	// (requests sent just before may be counted just after).
	if n := asked.Load(); n > 2*chat.SourceLanes {
		t.Errorf("mal was asked for chunks %d times (%d when dropped); want at most %d", n, dropped, 2*chat.SourceLanes)
	}
}

// TestFilePrivateRoom: in a private room the manifest carries a file key,
// members fetch the file, and a node outside the room is refused it even
// when it asks with the room's ID.
func TestFilePrivateRoom(t *testing.T) {
	net := chattest.NewNet(t)
	ann := chattest.NewNode(t, net, chattest.WithRooms(), chattest.WithNick("ann"), chattest.WithFiles(nil))
	bob := chattest.NewNode(t, net, chattest.WithRooms(), chattest.WithNick("bob"), chattest.WithFiles(nil))
	eve := chattest.NewNode(t, net, chattest.WithRooms(), chattest.WithNick("eve"), chattest.WithFiles(nil))
	for _, pair := range [][2]*chattest.Node{{ann, bob}, {ann, eve}, {bob, eve}} {
		net.Connect(pair[0].ID, pair[1].ID)
	}
	if err := ann.Svc.CreatePrivateRoom(t.Context(), payroll); err != nil {
		t.Fatal(err)
	}
	joinByInvite(t, ann, bob)
	waitMembers(t, []*chattest.Node{ann, bob}, ann, bob)
	data := randomBytes(t, crypto.FileChunkSize+99)
	m := share(t, ann, chat.RoomConversation(payroll), "salaries.xlsx", data)
	man := m.Files[0]
	if !man.Encrypted() {
		t.Error("a file in a private room has no key")
	}
	bob.Events.WaitFor(t, "the file at bob", fileComplete(man.Hash))
	if got := contentOf(t, bob, man.Hash); !bytes.Equal(got, data) {
		t.Error("the file differs at bob")
	}
	id, _ := privateSecret(t, ann)
	for _, label := range []string{"private:" + hex.EncodeToString(id[:]), "room:" + payroll, "dm"} {
		st := openRaw(t, eve.Tr, ann.ID, chat.FileProtocol)
		req, _ := proto.Marshal(&wire.FileRequest{Type: wire.FileRequest_TYPE_CHUNKS, Hash: man.Hash[:], Conversation: label, Indices: []uint32{0}})
		if err := writeFrame(st, req); err != nil {
			t.Fatal(err)
		}
		b, err := readFrame(bufio.NewReader(st))
		if err != nil {
			t.Fatal(err)
		}
		var resp wire.FileResponse
		if err := proto.Unmarshal(b, &resp); err != nil {
			t.Fatal(err)
		}
		if resp.Error != "not allowed" || len(resp.Data) > 0 {
			t.Errorf("eve asking as %q: error %q, %d bytes; want not allowed and nothing", label, resp.Error, len(resp.Data))
		}
		_ = st.Close()
	}
}

// countingFiles counts the chunks a node stores.
type countingFiles struct {
	chat.FileStore
	puts *atomic.Int32
}

func (c countingFiles) PutChunk(h chat.FileHash, i int, data []byte) error {
	c.puts.Add(1)
	return c.FileStore.PutChunk(h, i, data)
}

// TestFileStreamAfterRemoval: a source keeps a file's record from request
// to request on one stream, but asks anew whether the asker may have it:
// a member removed from the private room mid-stream gets nothing more on
// the stream it opened while a member.
func TestFileStreamAfterRemoval(t *testing.T) {
	net := chattest.NewNet(t)
	ann := chattest.NewNode(t, net, chattest.WithRooms(), chattest.WithNick("ann"), chattest.WithFiles(nil))
	bob := chattest.NewNode(t, net, chattest.WithRooms(), chattest.WithNick("bob"), chattest.WithFiles(nil))
	net.Connect(ann.ID, bob.ID)
	if err := ann.Svc.CreatePrivateRoom(t.Context(), payroll); err != nil {
		t.Fatal(err)
	}
	joinByInvite(t, ann, bob)
	waitMembers(t, []*chattest.Node{ann, bob}, ann, bob)
	m := share(t, ann, chat.RoomConversation(payroll), "plan.bin", randomBytes(t, 3*crypto.FileChunkSize))
	man := m.Files[0]
	id, _ := privateSecret(t, ann)
	st := openRaw(t, bob.Tr, ann.ID, chat.FileProtocol)
	defer func() { _ = st.Close() }()
	br := bufio.NewReader(st)
	ask := func(i uint32) *wire.FileResponse {
		t.Helper()
		req, _ := proto.Marshal(&wire.FileRequest{Type: wire.FileRequest_TYPE_CHUNKS, Hash: man.Hash[:],
			Conversation: "private:" + hex.EncodeToString(id[:]), Indices: []uint32{i}})
		if err := writeFrame(st, req); err != nil {
			t.Fatal(err)
		}
		b, err := readFrame(br)
		if err != nil {
			t.Fatal(err)
		}
		var resp wire.FileResponse
		if err := proto.Unmarshal(b, &resp); err != nil {
			t.Fatal(err)
		}
		return &resp
	}
	if r := ask(0); r.Error != "" || len(r.Data) != crypto.FileChunkSize+crypto.ChunkOverhead {
		t.Fatalf("bob, a member, asking for chunk 0: error %q, %d bytes", r.Error, len(r.Data))
	}
	if err := ann.Svc.RemoveMember(t.Context(), payroll, bob.ID); err != nil {
		t.Fatal(err)
	}
	waitMembers(t, []*chattest.Node{ann}, ann)
	if r := ask(1); r.Error != "not allowed" || len(r.Data) > 0 {
		t.Errorf("bob, removed, asking on the same stream: error %q, %d bytes; want not allowed and nothing", r.Error, len(r.Data))
	}
}

// TestFileResumesAfterRestart: a downloader stopped part way resumes at
// its next start and fetches only the chunks it lacks.
func TestFileResumesAfterRestart(t *testing.T) {
	net := chattest.NewNet(t)
	ann := chattest.NewNode(t, net, chattest.WithRooms(), chattest.WithNick("ann"), chattest.WithFiles(nil), chattest.WithConfig(func(c *chat.Config) { c.AutoDownload = 1 }))
	var puts atomic.Int32
	bob := chattest.NewNode(t, net, chattest.WithRooms(), chattest.WithNick("bob"), chattest.WithConfig(func(c *chat.Config) { c.AutoDownload = 1 }),
		chattest.WithFiles(func(fs chat.FileStore) chat.FileStore { return countingFiles{fs, &puts} }))
	net.Connect(ann.ID, bob.ID)
	joinRoom(t, ann, filesRoom)
	ann.Events.WaitFor(t, "bob's join", chattest.MessageIs(joinRoom(t, bob, filesRoom).ID))
	data := randomBytes(t, 6*crypto.FileChunkSize)
	m := share(t, ann, chat.RoomConversation(filesRoom), "video.mp4", data)
	h := m.Files[0].Hash
	bob.Events.WaitFor(t, "the message at bob", chattest.MessageIs(m.ID))

	go func() { _ = bob.Svc.FetchFile(bob.T.Context(), m.ID, h) }()
	chattest.WaitFor(t, 0, "bob holding a chunk", func() bool { return puts.Load() > 0 })
	bob.Stop()
	before := int(puts.Load())
	bob.Start()
	bob.Events.WaitFor(t, "the file complete after the restart", fileComplete(h))
	if got := contentOf(t, bob, h); !bytes.Equal(got, data) {
		t.Error("the file differs")
	}
	if after := int(puts.Load()) - before; before+after != 6 || after >= 6 {
		t.Errorf("bob stored %d chunks before the restart and %d after; want the rest only (6 in all)", before, after)
	}
}

// readFrame reads one length-delimited frame (at most 32 MiB).
func readFrame(br *bufio.Reader) ([]byte, error) {
	n, err := binary.ReadUvarint(br)
	if err != nil {
		return nil, err
	}
	if n > 32<<20 {
		return nil, errors.New("frame too large")
	}
	b := make([]byte, n)
	_, err = io.ReadFull(br, b)
	return b, err
}

// writeFrame writes b as one length-delimited frame.
func writeFrame(w io.Writer, b []byte) error {
	_, err := w.Write(append(binary.AppendUvarint(nil, uint64(len(b))), b...))
	return err
}

// FuzzFileRequest feeds any bytes as a request to a node that holds a
// file shared in a public room: it must answer (or refuse) without
// panicking, in frames a downloader can read, and never hand out a chunk
// for a conversation the file was not shared in.
func FuzzFileRequest(f *testing.F) {
	ann := fileRoom(f, []string{"ann"})[0]
	m := share(f, ann, chat.RoomConversation(filesRoom), "f.bin", randomBytes(f, 3000))
	h := m.Files[0].Hash
	seed := func(r *wire.FileRequest) []byte {
		b, _ := proto.Marshal(r)
		return b
	}
	label := "room:" + filesRoom
	f.Add(seed(&wire.FileRequest{Type: wire.FileRequest_TYPE_HAVE, Hash: h[:], Conversation: label}))
	f.Add(seed(&wire.FileRequest{Type: wire.FileRequest_TYPE_LIST, Hash: h[:], Conversation: label}))
	f.Add(seed(&wire.FileRequest{Type: wire.FileRequest_TYPE_CHUNKS, Hash: h[:], Conversation: label, Indices: []uint32{0, 5, 1 << 31}}))
	f.Add(seed(&wire.FileRequest{Type: wire.FileRequest_TYPE_CHUNKS, Hash: h[:], Conversation: "dm", Indices: []uint32{0}}))
	f.Add(seed(&wire.FileRequest{Type: wire.FileRequest_TYPE_CHUNKS, Hash: h[:], Conversation: "private:00", Indices: []uint32{0}}))
	f.Add([]byte{0xff, 0x01})
	stranger := chattest.NewIdentity(f).PeerID()
	f.Fuzz(func(t *testing.T, b []byte) {
		var req wire.FileRequest
		if proto.Unmarshal(b, &req) != nil {
			return
		}
		var out bytes.Buffer
		if err := ann.Svc.AnswerFile(stranger, &req, &out); err != nil {
			t.Fatalf("answer: %v", err)
		}
		br := bufio.NewReader(&out)
		for {
			fr, err := readFrame(br)
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				t.Fatalf("a response frame does not read: %v", err)
			}
			var resp wire.FileResponse
			if err := proto.Unmarshal(fr, &resp); err != nil {
				t.Fatalf("a response does not decode: %v", err)
			}
			if len(resp.Data) > 0 && req.Conversation != label {
				t.Fatalf("a chunk handed out to a stranger asking as %q", req.Conversation)
			}
		}
	})
}
