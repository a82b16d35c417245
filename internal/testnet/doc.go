// Package testnet runs real parley processes for end-to-end tests: on
// 127.0.0.1, and in Linux network namespaces joined by a bridge (a LAN
// where mDNS really multicasts). In-process networks over mocknet live in
// node/nodetest.
package testnet
