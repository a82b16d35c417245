package app

import (
	"context"

	"github.com/parley-chat/parley/internal/api"
)

// storeCheckRecords bounds how many records the health check reads back.
const storeCheckRecords = 5000

// Diagnose reports what only the running node knows of its health:
// listen addresses against what was bound, discovery, the store read
// back, and the webhook listener's bound address (parley doctor).
func (a *App) Diagnose(ctx context.Context) api.Diagnosis {
	d := api.Diagnosis{
		PeerID:        a.Identity.PeerID().String(),
		ListenDefault: a.listenDefault,
	}
	if a.Hooks != nil { // the bound address: hooks_listen may name port 0
		d.HooksListen = a.Hooks.Addr().String()
	}
	d.MDNS, _ = a.Node.Discovery()
	for _, st := range a.Node.Listening() {
		d.Listen = append(d.Listen, api.ListenState{Addr: st.Addr, Network: st.Network, Host: st.Host, Port: st.Port, Bound: nonNilStrings(st.Bound)})
	}
	h, err := a.Store.Check(ctx, storeCheckRecords)
	d.Store = api.StoreHealth{OK: err == nil, LSMBytes: h.LSM, VLogBytes: h.VLog, Read: h.Read}
	if err != nil {
		d.Store.Error = err.Error()
	}
	return d
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
