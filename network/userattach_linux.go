package network

// Containers on user networks (issue 19): each network's bridge device
// and its nftables rules, a container's veth pair into it, and the DNS
// redirect in a container's namespace (dnsredirect_linux.go). The API is fixed here; the
// implementation follows it (see docs/design.md, "User networks").

import (
	"errors"
	"net/netip"
)

// UserRequest is one container's attachment to a user network.
type UserRequest struct {
	// Request's ID, Pid and MAC are as on the default bridge; its Ports
	// are published on this network's address (the container's first
	// network only: docker DNATs a published port to one address).
	Request
	Name    string     // the container's name: its DNS name on the network
	Aliases []string   // --network-alias, connect --alias
	IP      netip.Addr // --ip, connect --ip; zero: the next free address
	// Interface is the container's end of the pair: eth0 for its first
	// network, eth1 for the next ... (the caller counts).
	Interface string
	// DefaultRoute: route the container's default through this network's
	// gateway (the caller sets it for the first network that is not
	// --internal; an --internal network never gets one).
	DefaultRoute bool
}

var errNotYet = errors.New("user networks are not wired yet")

// EnsureBridge makes network n's bridge if it is missing: the default
// bridge's table first (EnsureBridge(cfg)), then the device n.Bridge with
// the gateway's address, n's MTU, up, and n's rules tagged with n.ID:
// isolation from every other skiff bridge, masquerade unless Internal,
// no forwarding out of an Internal one. Cheap when all is there. `network
// create` calls it once the record exists (docker makes the device at
// create); Attach calls it, as a reboot takes devices but keeps records.
func (s *UserNetworks) EnsureBridge(cfg Config, n *UserNetwork) error { return errNotYet }

// Attach joins req.ID to n (its member record and address, Join), makes
// n's bridge if missing, and wires a veth pair into req.Pid's namespace as
// req.Interface: address, up, the default route if req.DefaultRoute,
// published ports. The Endpoint's NetworkID, IfName and Member say where
// it is. On failure nothing of it is left (no record, address or veth).
// Detach undoes it and leaves the network; DetachAfterExit leaves it and
// lets the kernel take the veth with the namespace.
func (s *UserNetworks) Attach(cfg Config, n *UserNetwork, req UserRequest) (*Endpoint, error) {
	return nil, errNotYet
}

// Disconnect takes container containerID off network n while it runs
// (`network disconnect`): its veth on n deleted (the container's end goes
// with it), then Leave. Not a member: no error.
func (s *UserNetworks) Disconnect(n *UserNetwork, containerID string) error { return errNotYet }

// RemoveBridge deletes n's device and rules: `network rm` and prune call
// it after Remove took the record (a kill -9 between leaves a device
// without a record, which the next EnsureBridge of a network of the same
// bridge name reuses and a later RemoveBridge takes).
func (s *UserNetworks) RemoveBridge(n *UserNetwork) error { return errNotYet }
