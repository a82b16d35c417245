package node

import (
	"fmt"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/protocol"
	rcmgr "github.com/libp2p/go-libp2p/p2p/host/resource-manager"

	"github.com/parley-chat/parley/chat"
)

// Resource limits: explicit, sized for a chat node on a laptop rather than
// scaled to the machine.
const (
	limitMemory = 256 << 20
	limitFDs    = 1024
)

func newResourceManager() (network.ResourceManager, error) {
	limits := rcmgr.DefaultLimits
	libp2p.SetDefaultServiceLimits(&limits)
	// A peer needs one DM stream each way; a few spare cover reconnects.
	limits.AddProtocolPeerLimit(protocol.ID(chat.DMProtocol),
		rcmgr.BaseLimit{Streams: 16, StreamsInbound: 8, StreamsOutbound: 8, Memory: 16 << 20},
		rcmgr.BaseLimitIncrease{})
	limits.AddProtocolPeerLimit(protocol.ID(chat.ProfileProtocol),
		rcmgr.BaseLimit{Streams: 4, StreamsInbound: 2, StreamsOutbound: 2, Memory: 1 << 20},
		rcmgr.BaseLimitIncrease{})
	rm, err := rcmgr.NewResourceManager(rcmgr.NewFixedLimiter(limits.Scale(limitMemory, limitFDs)))
	if err != nil {
		return nil, fmt.Errorf("resource manager: %w", err)
	}
	return rm, nil
}
