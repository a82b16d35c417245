// Package nodetest runs several Parley members in one process over
// libp2p's mocknet: each member is a real node, store and chat service on
// a mocknet host, run as the daemon runs them (RunParts). Links are the
// ability to connect: cut one to make a partition, heal it to end it.
// SignProof signs room messages as GossipSub does, for history written
// straight into stores.
package nodetest
