// Package node is Parley's only libp2p importer: the host (TCP and QUIC,
// Noise and TLS, Yamux, identify, ping), resource and connection limits,
// discovery (mDNS on the LAN, a Kademlia DHT beyond it), liveness and
// reconnection, GossipSub, and the plumbing that implements chat.Transport,
// chat.Network and chat.PubSub.
//
// New builds the host (it listens from then on), the DHT and GossipSub;
// Run starts the node's own work (the host event loop, mDNS, DHT
// bootstrap, redials, liveness pings, connection de-duplication) and stops
// it when its context ends; Close closes the DHT and the host.
//
// # Rooms
//
// A room is a GossipSub topic with StrictSign. The node alone knows
// GossipSub's message format: a topic's validator wrapper hands other
// nodes' messages to chat's validator once and passes what it decoded on
// to the subscriber (pubsub validator data), and catches the signature and
// seqno of this node's own publishes, so Topic.Publish returns the proof.
// VerifyProof checks a proof that arrives later (history sync) exactly as
// GossipSub checks a live message.
//
// # Peers
//
// A Parley peer is one whose identify record lists chat.DMProtocol. Such a
// peer is reported up once identified, and down when its last connection
// closes. Connected Parley peers are pinged every PingInterval; PingMisses
// misses in a row close the connections, so a vanished peer is seen as gone
// within about 8 s instead of the 30-40 s that transport keep-alives take.
//
// Every Parley peer ever seen is a known peer: its addresses are kept (and
// persisted by chat through PeerEvent.Addrs and AddPeerAddrs), and while it
// is down the node redials it, quickly at first (every RedialFast for
// RedialFastFor) and then every RedialSlow. mDNS does not report a peer
// again when it comes back, so this redial is what reconnects a LAN peer
// after a cable is pulled and plugged back.
//
// When both ends of a pair dial at once, each keeps only the connections
// dialled by the peer with the smaller ID and closes the others, so a pair
// settles on one connection. On mDNS discovery the peer with the larger ID
// waits briefly before dialling, which usually avoids the race altogether.
package node
