package commands

import (
	"fmt"
	"os"

	"github.com/skiff-dev/skiff/config"
	"github.com/skiff-dev/skiff/network"
	"github.com/skiff-dev/skiff/spec"
)

// bridgeConfig is the default bridge's settings: the config file's bip
// and default-address-pools, its state under <runroot>/networks.
func bridgeConfig(f config.File, runRoot string) network.Config {
	cfg := network.Config{BIP: f.BridgeIP(), RunDir: network.RunDir(runRoot)}
	for _, p := range f.Pools() {
		cfg.Pools = append(cfg.Pools, network.Pool{Base: p.Base, Size: p.Size})
	}
	return cfg
}

// ensureBridge makes the default bridge before a container on it is
// created or started (cheap when it exists), once per command; a forward
// chain of another table that would drop its traffic is named once, on
// stderr.
func (g *Globals) ensureBridge() error {
	if g.bridgeChecked {
		return nil
	}
	if err := network.EnsureBridge(g.Bridge); err != nil {
		return err
	}
	g.bridgeChecked = true
	if line := network.ForwardBlocked(); line != "" {
		fmt.Fprintln(os.Stderr, "skiff: warning:", line)
	}
	return nil
}

// ensureBridgeFor is ensureBridge before start or restart starts container
// ref, when that one is on the bridge and not running; a lookup error is
// left to the start, which reports it in its own words.
func (g *Globals) ensureBridgeFor(ref string) error {
	ct, err := g.Containers().Lookup(ref)
	if err != nil || ct.Status.Up() || ct.Host.NetworkMode != spec.NetworkBridge {
		return nil
	}
	return g.ensureBridge()
}
