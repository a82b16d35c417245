// Package nodetest runs several Parley members in one process over
// libp2p's mocknet: each member is a real node, store and chat service on
// a mocknet host. Links are the ability to connect: cut one to make a
// partition, heal it to end it.
package nodetest
