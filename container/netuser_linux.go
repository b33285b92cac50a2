package container

// A container's user networks (issue 19): connect and disconnect, live
// when it runs, and the store of networks the container package reads.

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/skiff-dev/skiff/network"
	"github.com/skiff-dev/skiff/spec"
	"github.com/skiff-dev/skiff/state"
)

// ConnectOptions are `network connect`'s flags.
type ConnectOptions struct {
	Aliases []string // --alias
	IP      string   // --ip ("": the next free address)
}

// UserNetworks is the store's user networks (records under Root, members
// and addresses under the run root).
func (s Store) UserNetworks() *network.UserNetworks {
	return network.NewUserNetworks(s.Root, s.bridge())
}

// Connect is `network connect [--alias --ip] NET CONTAINER`: the network
// added to the container's record (a stopped container joins it at its
// next start), and, when it runs, attached at once (its next ethN), as
// docker does. docker's errors: an unknown network or container, a
// container already on it, one in host or container: network mode.
func (s Store) Connect(ctRef, netRef string, o ConnectOptions) error {
	nets := s.UserNetworks()
	n, err := lookupUserNetwork(nets, netRef)
	if err != nil {
		return err
	}
	ct, err := s.Lookup(ctRef)
	if err != nil {
		return err
	}
	rec, l, err := s.lockRecord(ct.ID)
	if err != nil {
		return err
	}
	defer l.Unlock()
	if err := checkConnectable(rec, n); err != nil {
		return err
	}
	e := state.EndpointConfig{NetworkID: n.ID, NetworkName: n.Name, Aliases: o.Aliases}
	if e.IPv4Address, err = checkRequestedIP(n, o.IP); err != nil {
		return err
	}
	attached := false
	if t, ok := pinRunning(rec); ok {
		err = s.attachLive(nets, rec, n, e)
		t.Close()
		if err != nil {
			return err
		}
		attached = true
	}
	rec.Host.Endpoints = append(rec.Host.Endpoints, e)
	rec.Host.Networks = append(rec.Host.Networks, n.Name)
	if err := state.Save(s.Root, rec); err != nil {
		if attached {
			err = errors.Join(err, nets.Disconnect(n, rec.ID))
		}
		return err
	}
	return nil
}

// lookupUserNetwork is network ref for connect and disconnect: docker's
// predefined networks are refused with docker's sentence for host, and
// as not supported for the others (their containers are wired at start).
func lookupUserNetwork(nets *network.UserNetworks, ref string) (*network.UserNetwork, error) {
	switch ref {
	case spec.NetworkHost:
		return nil, errors.New("container cannot be disconnected from host network or connected to host network")
	case spec.NetworkBridge, spec.NetworkNone, "default":
		return nil, fmt.Errorf("connecting to or disconnecting from the predefined network %s is not supported (it is set by run --network)", ref)
	}
	return nets.Lookup(ref)
}

// checkConnectable refuses what docker refuses: a container in the host's
// or another container's namespace, one with none, one already on n.
func checkConnectable(rec *state.Container, n *network.UserNetwork) error {
	switch mode := rec.Host.NetworkMode; {
	case mode == spec.NetworkHost:
		return errors.New("container cannot be disconnected from host network or connected to host network")
	case strings.HasPrefix(mode, spec.NetworkContainerPrefix):
		return errors.New("container sharing network namespace with another container or host cannot be connected to any other network")
	case mode == spec.NetworkNone || mode == "":
		return errors.New("container cannot be connected to multiple networks with one of the networks in private (none) mode")
	}
	if endpointIndex(rec.Host, n.ID) >= 0 {
		return fmt.Errorf("endpoint with name %s already exists in network %s", rec.Name, n.Name)
	}
	return nil
}

func endpointIndex(h state.Host, netID string) int {
	return slices.IndexFunc(h.Endpoints, func(e state.EndpointConfig) bool { return e.NetworkID == netID })
}

// attachLive attaches running container rec to n as its next free ethN,
// with the default route if it has none yet. The monitor holds no
// endpoint of it: the container's exit leaves every network it is a
// member of, and the kernel takes the veth with the namespace.
func (s Store) attachLive(nets *network.UserNetworks, rec *state.Container, n *network.UserNetwork, e state.EndpointConfig) error {
	joined, err := nets.ContainerNetworks(rec.ID)
	if err != nil {
		return err
	}
	used := map[string]bool{}
	routed := rec.Host.NetworkMode == spec.NetworkBridge
	if routed {
		used["eth0"] = true
	}
	for id, m := range joined {
		used[m.Interface] = true
		if other, err := nets.Lookup(id); err == nil && !other.Internal {
			routed = true
		}
	}
	ifName := "eth0"
	for i := 1; used[ifName]; i++ {
		ifName = fmt.Sprintf("eth%d", i)
	}
	req := network.UserRequest{
		Request: network.Request{ID: rec.ID, Pid: rec.Pid},
		Name:    rec.Name, Aliases: e.Aliases, Interface: ifName,
		DefaultRoute: !routed && !n.Internal,
	}
	if e.IPv4Address != "" {
		req.IP, _ = netip.ParseAddr(e.IPv4Address) // checked by checkRequestedIP
	}
	_, err = nets.Attach(s.bridge(), n, req)
	return err
}

// Disconnect is `network disconnect [-f] NET CONTAINER`: the network taken
// off the container's record and, when it runs, its interface on it
// removed. force: a container that is gone is taken off the network's
// members by name, and one not on it is no error.
func (s Store) Disconnect(ctRef, netRef string, force bool) error {
	nets := s.UserNetworks()
	n, err := lookupUserNetwork(nets, netRef)
	if err != nil {
		return err
	}
	ct, err := s.Lookup(ctRef)
	if errors.Is(err, state.ErrNotFound) && force {
		return disconnectGone(nets, n, ctRef)
	} else if err != nil {
		return err
	}
	rec, l, err := s.lockRecord(ct.ID)
	if err != nil {
		return err
	}
	defer l.Unlock()
	joined, err := nets.ContainerNetworks(rec.ID)
	if err != nil {
		return err
	}
	_, live := joined[n.ID]
	i := endpointIndex(rec.Host, n.ID)
	if i < 0 && !live {
		if force {
			return nil
		}
		return fmt.Errorf("container %s is not connected to network %s", rec.ID, n.Name)
	}
	if live {
		if err := nets.Disconnect(n, rec.ID); err != nil {
			return err
		}
	}
	if i < 0 {
		return nil
	}
	rec.Host.Endpoints = slices.Delete(rec.Host.Endpoints, i, i+1)
	if j := slices.Index(rec.Host.Networks, n.Name); j >= 0 {
		rec.Host.Networks = slices.Delete(rec.Host.Networks, j, j+1)
	}
	return state.Save(s.Root, rec)
}

// disconnectGone is disconnect -f of a container that no longer exists:
// its member record, found by name or id prefix, removed.
func disconnectGone(nets *network.UserNetworks, n *network.UserNetwork, ref string) error {
	members, err := nets.Members(n.ID)
	if err != nil {
		return err
	}
	for _, m := range members {
		if m.Name == ref || strings.HasPrefix(m.ContainerID, ref) {
			return nets.Disconnect(n, m.ContainerID)
		}
	}
	return nil
}
