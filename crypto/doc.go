// Package crypto holds Parley's identity: Ed25519 node keys, the peer IDs
// derived from them, and the short fingerprints people compare out of band.
//
// It is a leaf package (standard library only). Peer IDs use the libp2p
// encoding (an identity multihash of the protobuf-encoded public key, shown in
// base58btc), so a PeerID converts to and from libp2p's peer.ID without loss;
// the node package tests that equivalence.
package crypto
