// Package crypto holds Parley's identity: Ed25519 node keys, the peer IDs
// derived from them, and the short fingerprints people compare out of band;
// the symmetric sealing of private rooms; and the content hashes and
// per-file chunk encryption of shared files (filehash.go: a file's root is
// a SHA-256 over its size, chunk size and the SHA-256 of each chunk, so any
// chunk can be checked alone).
//
// It is a leaf package (standard library and x/crypto only). Peer IDs use
// the libp2p encoding (an identity multihash of the protobuf-encoded public
// key, shown in base58btc), so a PeerID converts to and from libp2p's
// peer.ID without loss; the node package tests that equivalence.
package crypto
