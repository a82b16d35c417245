package chat

// What chat_test's hostile members need to craft what an honest node never
// sends: sealing with a key of their choosing.

// SealMessage seals m's envelope: with key as the op key when epoch is
// zero, else with m's author's sender key of the epoch whose secret is
// key.
var SealMessage = sealMessage

// OpKey is the key a private room's ops are sealed with.
var OpKey = opKey
