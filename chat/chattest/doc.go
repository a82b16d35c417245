// Package chattest is the one test kit for code built on package chat:
//
//   - Net, an in-memory network whose nodes get a chat.Transport (and a
//     chat.PubSub), with links the test makes and cuts;
//   - Env, an envelope builder, and the frames of the DM protocol, so no
//     test encodes wire bytes by hand;
//   - WaitFor, the one way a test waits for a condition (with a deadline,
//     never a sleep), and EventLog, which records a service's events so a
//     test can wait for one without losing the others.
//
// Multi-node behaviour over real libp2p is tested with node/nodetest
// (mocknet) and with the built binary (internal/e2e); this kit is for the
// messenger's own logic, in milliseconds.
package chattest
