// Package e2e drives the built parley binary end to end: daemons on
// 127.0.0.1 connected by hand (safety numbers and a second peer taking a
// verified peer's nickname among them), a receiver killed with SIGKILL in the middle
// of a stream, and daemons in network namespaces on a bridge that find each
// other by mDNS, rooms over mDNS and over DHT rendezvous, the terminal
// client in tmux, and the web client in headless Chromium (driven with
// chromedp). It has tests and benchmarks only.
package e2e
