// Package doctor is parley doctor's checks: each looks at one thing that
// keeps a node from working (the daemon, its identity, listen ports,
// multicast for mDNS, peers and why each unreachable one is unreachable,
// clock skew, disk space, the store, the webhook listener) and says
// whether it is fine, what it found, and what to do. The checks take what
// the daemon reported (api.Diagnosis, api.Peer) and what they probe
// locally as arguments, so tests can give them any machine.
package doctor
