// Package e2e drives the built parley binary end to end: daemons on
// 127.0.0.1 connected by hand, a receiver killed with SIGKILL in the middle
// of a stream, and daemons in network namespaces on a bridge that find each
// other by mDNS. It has tests only.
package e2e
