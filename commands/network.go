package commands

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/skiff-dev/skiff/network"
	"github.com/skiff-dev/skiff/spec"
	"github.com/skiff-dev/skiff/state"
)

// The `network` group: docker's predefined networks bridge, host and
// none, and user networks (package network's records, issue 19). One file
// a subcommand: network_ls.go, network_inspect.go, network_create.go,
// network_rm.go (rm and prune), network_connect.go (connect, disconnect).
func init() { register(networkGroupCommand) }

func networkGroupCommand() *cli.Command {
	return &cli.Command{
		Name:  "network",
		Usage: "manage networks",
		Subcommands: []*cli.Command{
			networkConnectCommand(),
			networkCreateCommand(),
			networkDisconnectCommand(),
			networkInspectCommand(),
			networkLsCommand(),
			networkPruneCommand(),
			networkRmCommand(),
		},
	}
}

// predefinedNetwork is one of docker's networks that always exist.
type predefinedNetwork struct{ Name, Driver string }

// predefinedNetworks are docker's, in `network ls` order (by name).
var predefinedNetworks = []predefinedNetwork{
	{spec.NetworkBridge, "bridge"}, {spec.NetworkHost, "host"}, {spec.NetworkNone, "null"},
}

// networkID is a predefined network's id: stable across reboots and
// machines (docker's are random per daemon), the sha256 of its name.
func networkID(name string) string {
	sum := sha256.Sum256([]byte("skiff network " + name))
	return hex.EncodeToString(sum[:])
}

// userNetworks is the store of user networks with the config file's
// address pools and bip, which a new network's subnet avoids.
func (g *Globals) userNetworks() *network.UserNetworks {
	return network.NewUserNetworks(g.Paths.Root, g.Bridge)
}

// anyNetwork is a network as ls and inspect show it: a predefined one
// (user nil) or a user network's record.
type anyNetwork struct {
	Name, ID, Driver string
	Created          time.Time
	Internal         bool
	Labels           map[string]string
	user             *network.UserNetwork
}

func predefined(n predefinedNetwork) anyNetwork {
	return anyNetwork{Name: n.Name, ID: networkID(n.Name), Driver: n.Driver}
}

func userNetwork(n *network.UserNetwork) anyNetwork {
	return anyNetwork{Name: n.Name, ID: n.ID, Driver: n.Driver, Created: n.Created, Internal: n.Internal, Labels: n.Labels, user: n}
}

// allNetworks are the predefined networks and the user networks, by name
// as docker's CLI sorts them.
func allNetworks(g *Globals) ([]anyNetwork, error) {
	users, err := g.userNetworks().List()
	if err != nil {
		return nil, err
	}
	all := make([]anyNetwork, 0, len(predefinedNetworks)+len(users))
	for _, n := range predefinedNetworks {
		all = append(all, predefined(n))
	}
	for _, n := range users {
		all = append(all, userNetwork(n))
	}
	slices.SortStableFunc(all, func(a, b anyNetwork) int {
		switch {
		case naturalLess(a.Name, b.Name):
			return -1
		case naturalLess(b.Name, a.Name):
			return 1
		}
		return 0
	})
	return all, nil
}

// findNetwork is docker's lookup of ref: a predefined network by name or
// full id, then a user network (id, name, unique id prefix), then a
// predefined network by id prefix. A miss is *network.NotFoundError.
func findNetwork(g *Globals, ref string) (anyNetwork, error) {
	for _, n := range predefinedNetworks {
		if ref == n.Name || ref == networkID(n.Name) {
			return predefined(n), nil
		}
	}
	n, err := g.userNetworks().Lookup(ref)
	if err == nil {
		return userNetwork(n), nil
	}
	if nf := (*network.NotFoundError)(nil); !errors.As(err, &nf) {
		return anyNetwork{}, err
	}
	for _, p := range predefinedNetworks {
		if ref != "" && strings.HasPrefix(networkID(p.Name), ref) {
			return predefined(p), nil
		}
	}
	return anyNetwork{}, err
}

// containerNetworks are the networks a container is on, by its record,
// in docker's order: "bridge", "host" or "none" (records older than
// networking: none), then its user networks in the order it joins them;
// none for one that joined another container's namespace, which docker
// lists in no network.
func containerNetworks(ct *state.Container) []string {
	var names []string
	switch m := ct.Host.NetworkMode; m {
	case "":
		names = append(names, spec.NetworkNone)
	case spec.NetworkBridge, spec.NetworkHost, spec.NetworkNone:
		names = append(names, m)
	default:
		if spec.IsTapnet(m) {
			names = append(names, spec.NetworkTapnet)
		}
		if h := spec.HelperNetwork(m); h != "" {
			names = append(names, h)
		}
	}
	for _, e := range ct.Host.Endpoints {
		names = append(names, e.NetworkName)
	}
	return names
}

// onNetwork reports whether ct is on the network a ps filter value names:
// its name, or a prefix of its id.
func onNetwork(ct *state.Container, v string) bool {
	for _, n := range containerNetworks(ct) {
		if n == v || !spec.IsUserNetwork(n) && strings.HasPrefix(networkID(n), v) {
			return true
		}
	}
	for _, e := range ct.Host.Endpoints {
		if strings.HasPrefix(e.NetworkID, v) {
			return true
		}
	}
	return false
}
