// Package app assembles a Parley node from its parts: the home directory
// and config file, the identity, the store, the libp2p node, the chat
// service and the local API. The daemon and the embedded node of the
// terminal client both run an App.
package app
