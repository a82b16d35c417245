package chat

// TEMPORARY: the file store's types as specified to the branch that builds
// them (files); replaced by that branch's chat/files.go on rebase.

import (
	"io"
	"time"
)

type FileState string

const (
	FileRemote      FileState = "remote"
	FileDownloading FileState = "downloading"
	FileComplete    FileState = "complete"
	FileFailed      FileState = "failed"
)

type FileRecord struct {
	Manifest FileManifest
	Chunks   []FileHash
	Have     []byte
	HaveN    int
	Pinned   bool
	State    FileState
	Path     string
	Convs    []Conversation
	LastUsed time.Time
}

type FileStore interface {
	ImportFile(r io.Reader, name string, conv Conversation, max int64) (FileRecord, error)
	PutFileRecord(rec FileRecord) error
	FileRecord(h FileHash) (FileRecord, error)
	FileRecords() ([]FileRecord, error)
	SetChunkList(h FileHash, chunks []FileHash) error
	PutChunk(h FileHash, i int, data []byte) error
	Chunk(h FileHash, i int) ([]byte, error)
	SaveFile(h FileHash, dir string) (path string, err error)
	EvictFiles(limit int64) (freed int64, err error)
	TouchFile(h FileHash) error
	// AddFileConv records that a file was shared in conv: a remote record
	// from man if the file is unknown, else conv added to its Convs.
	AddFileConv(man FileManifest, conv Conversation) error
}

func SafeFileName(name string) string { return name }
