package crypto

import "errors"

var (
	// ErrIdentityExists is returned when creating an identity where one already is.
	ErrIdentityExists = errors.New("identity already exists")
	// ErrNoIdentity is returned when loading an identity that was never created.
	ErrNoIdentity = errors.New("no identity")
	// ErrBadPeerID is returned for text or bytes that are not a peer ID.
	ErrBadPeerID = errors.New("invalid peer ID")
	// ErrBadHash is returned for text that is not a hash.
	ErrBadHash = errors.New("invalid hash")
	// ErrBadChunkList is returned for a file's chunk list that does not
	// match its root, size and chunk size.
	ErrBadChunkList = errors.New("chunk list does not match the file")
)
