package network

// Containers on user networks (issue 19): each network's bridge device
// and its nftables rules (usernft_linux.go), a container's veth pair into
// it, and the DNS redirect in a container's namespace
// (dnsredirect_linux.go). See docs/design.md, "User networks".
//
// EnsureBridge, in order:
//   1. the default bridge and skiff's table (ensureBridge: cheap when there);
//   2. cheap path: n's device exists and its marker
//      <runroot>/networks/user/<id>/bridge.json is there -> done (a reboot
//      takes both, a hand-deleted device is made again);
//   3. under bridge.lock (the default bridge's makers' lock: one maker of
//      any bridge of a run root at a time), again 2, then skiff0's base
//      chains written again (an older skiff's may not accept through the
//      bridges set), n's rules (replacing stale ones of its device's
//      name) and its bridge in the bridges set, the device with the
//      gateway's address, up, route_localnet, other addresses removed;
//   4. the marker (MTU chosen), written last.
//
// Attach, in order (undone backwards on failure, as the default bridge's):
// EnsureBridge, the host ports reserved, Join (the member record with its
// address, host veth and interface), the last start's lingering veth
// deleted, then the default bridge's steps (wire): veth pair, the
// container's end, published ports' rules, ::1 forwarders.

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
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

// userBridge is what EnsureBridge made of a network, saved as its marker.
type userBridge struct {
	Bridge string `json:"bridge"`
	MTU    int    `json:"mtu"` // the network's, else the host's default route's
}

const userBridgeFile = "bridge.json"

// EnsureBridge makes network n's bridge if it is missing: the default
// bridge's table first (EnsureBridge(cfg)), then the device n.Bridge with
// the gateway's address, n's MTU, up, and n's rules tagged with n.ID:
// isolation from every other skiff bridge, masquerade unless Internal,
// no forwarding out of an Internal one. Cheap when all is there. `network
// create` calls it once the record exists (docker makes the device at
// create); Attach calls it, as a reboot takes devices but keeps records.
func (s *UserNetworks) EnsureBridge(cfg Config, n *UserNetwork) error {
	_, _, err := s.ensureBridge(cfg, n)
	return err
}

func (s *UserNetworks) ensureBridge(cfg Config, n *UserNetwork) (settings, userBridge, error) {
	base, err := ensureBridge(cfg)
	if err != nil {
		return settings{}, userBridge{}, err
	}
	if b, ok := s.bridgeReady(n); ok {
		return base, b, nil
	}
	unlock, err := lockFile(filepath.Join(cfg.RunDir, bridgeLock))
	if err != nil {
		return settings{}, userBridge{}, err
	}
	defer unlock()
	if b, ok := s.bridgeReady(n); ok {
		return base, b, nil
	}
	b, err := s.makeBridge(base, n)
	return base, b, err
}

// bridgeReady is the cheap check: n's marker read and its device there.
func (s *UserNetworks) bridgeReady(n *UserNetwork) (userBridge, bool) {
	var b userBridge
	data, err := os.ReadFile(filepath.Join(s.netRunDir(n.ID), userBridgeFile))
	if err != nil || json.Unmarshal(data, &b) != nil || b.Bridge != n.Bridge || b.MTU <= 0 {
		return userBridge{}, false
	}
	if _, err := netlink.LinkByName(n.Bridge); err != nil {
		return userBridge{}, false
	}
	return b, true
}

// makeBridge writes the rules (skiff0's base chains with base, so that
// they accept through the bridges set even if an older skiff wrote them,
// then n's), then n's device, then its marker.
func (s *UserNetworks) makeBridge(base settings, n *UserNetwork) (userBridge, error) {
	if n.Bridge == "" || n.Bridge == BridgeInterface || !n.Subnet.IsValid() || !n.Gateway.IsValid() {
		return userBridge{}, fmt.Errorf("network %s: no bridge, subnet or gateway recorded", n.Name)
	}
	b := userBridge{Bridge: n.Bridge, MTU: n.MTU}
	if b.MTU == 0 {
		b.MTU = defaultRouteMTU()
	}
	if err := writeTables(base, n); err != nil {
		return userBridge{}, err
	}
	gw := netip.PrefixFrom(n.Gateway, n.Subnet.Bits())
	link, err := setupBridgeDevice(n.Bridge, gw, b.MTU)
	if err != nil {
		return userBridge{}, fmt.Errorf("network %s: %w", n.Name, err)
	}
	if err := dropOtherAddrs(link, gw); err != nil {
		return userBridge{}, err
	}
	data, err := json.Marshal(b)
	if err != nil {
		return userBridge{}, err
	}
	if err := writeFileAtomic(filepath.Join(s.netRunDir(n.ID), userBridgeFile), data); err != nil {
		return userBridge{}, err
	}
	return b, nil
}

// writeTables writes skiff's table with skiff0's settings base, then n's
// rules in it.
func writeTables(base settings, n *UserNetwork) error {
	if err := setupTable(base); err != nil {
		return err
	}
	return writeNetworkRules(n)
}

// dropOtherAddrs removes link's IPv4 addresses but keep: a device a
// removed network left (its removal killed) has that network's.
func dropOtherAddrs(link netlink.Link, keep netip.Prefix) error {
	addrs, err := netlink.AddrList(link, netlink.FAMILY_V4)
	if err != nil {
		return fmt.Errorf("list %s's addresses: %w", link.Attrs().Name, err)
	}
	for _, a := range addrs {
		ones, _ := a.Mask.Size()
		if ip, ok := netip.AddrFromSlice(a.IP.To4()); ok && netip.PrefixFrom(ip, ones) == keep {
			continue
		}
		if err := netlink.AddrDel(link, &a); err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) {
			return fmt.Errorf("remove %s's old address %s: %w", link.Attrs().Name, a.IPNet, err)
		}
	}
	return nil
}

// userVethName is the host end's name on a user network: "vn", 7 hex of
// the container's id and 6 of the network's (15 bytes, IFNAMSIZ's most):
// one per container and network, the same at every start (the next start
// deletes the last one's if the kernel has not yet), and never the default
// bridge's veth<8 hex>.
func userVethName(containerID, netID string) string {
	return "vn" + containerID[:min(7, len(containerID))] + netID[:6]
}

// Attach joins req.ID to n (its member record and address, Join), makes
// n's bridge if missing, and wires a veth pair into req.Pid's namespace as
// req.Interface: address, up, the default route if req.DefaultRoute,
// published ports. The Endpoint's NetworkID, IfName and Member say where
// it is. On failure nothing of it is left (no record, address or veth).
// Detach undoes it and leaves the network; DetachAfterExit leaves it and
// lets the kernel take the veth with the namespace.
func (s *UserNetworks) Attach(cfg Config, n *UserNetwork, req UserRequest) (_ *Endpoint, err error) {
	if !isShortHex(req.ID) || req.Pid <= 0 || req.Name == "" {
		return nil, fmt.Errorf("attach to %s: no container id, name or pid", n.Name)
	}
	ifName := req.Interface
	if ifName == "" {
		ifName = containerIf
	}
	mac, err := parseMAC(req.MAC)
	if err != nil {
		return nil, err
	}
	base, b, err := s.ensureBridge(cfg, n)
	if err != nil {
		return nil, err
	}
	var undo undoList
	defer func() {
		if err != nil {
			undo.run()
		}
	}()

	ports, reservations, err := reservePorts(req.Ports)
	if err != nil {
		return nil, err
	}
	undo = append(undo, reservations...)

	hostVeth := userVethName(req.ID, n.ID)
	m, err := s.join(n.ID, Member{ContainerID: req.ID, Name: req.Name, Aliases: req.Aliases, Addr: req.IP,
		MAC: req.MAC, HostVeth: hostVeth, Interface: ifName}, portAddrs(n.Bridge, req.ID))
	if err != nil {
		return nil, err
	}
	leave := func() error { return s.Leave(n.ID, req.ID) }
	undo.push(leave)
	// A restart right after an exit: the last start's veth, left to the
	// kernel (DetachAfterExit), may not be gone yet.
	if err := deleteVeth(hostVeth); err != nil {
		return nil, err
	}
	if mac == nil {
		mac = dockerMAC(m.Addr)
	}
	ep := &Endpoint{
		ID: req.ID, Interface: n.Bridge, HostVeth: hostVeth,
		Addr: netip.PrefixFrom(m.Addr, n.Subnet.Bits()), Gateway: n.Gateway,
		MAC: mac.String(), MTU: b.MTU, Ports: ports,
		NetworkID: n.ID, IfName: ifName, Member: m,
		runDir: s.netRunDir(n.ID), network: n.Name, leave: leave,
	}
	rewrite := func() error { return writeTables(base, n) }
	if err := wire(ep, req.Pid, mac, req.DefaultRoute, &undo, rewrite); err != nil {
		return nil, err
	}
	ep.closers = append(reservations, ep.closers...)
	return ep, nil
}

// Disconnect takes container containerID off network n while it runs
// (`network disconnect`): its veth on n deleted (the container's end goes
// with it), the rules of ports it published on n, then Leave. Not a
// member: no error.
func (s *UserNetworks) Disconnect(n *UserNetwork, containerID string) error {
	if !isNetworkID(n.ID) || !isShortHex(containerID) {
		return nil
	}
	m, err := readMember(s.memberPath(n.ID, containerID))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	var errs []error
	if m.HostVeth != "" {
		errs = append(errs, deleteVeth(m.HostVeth), deleteRulesTo(containerID, m.Addr))
	}
	errs = append(errs, s.Leave(n.ID, containerID))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("disconnect %s from %s: %w", containerID, n.Name, err)
	}
	return nil
}

// RemoveBridge deletes n's device and rules: `network rm` and prune call
// it after Remove took the record (a kill -9 between leaves a device
// without a record, which the next EnsureBridge of a network of the same
// bridge name reuses and a later RemoveBridge takes).
func (s *UserNetworks) RemoveBridge(n *UserNetwork) error {
	if err := os.MkdirAll(s.RunDir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", s.RunDir, err)
	}
	unlock, err := lockFile(filepath.Join(s.RunDir, bridgeLock))
	if err != nil {
		return err
	}
	defer unlock()
	errs := []error{deleteNetworkRules(n)}
	if n.Bridge != "" && n.Bridge != BridgeInterface {
		errs = append(errs, deleteLink(n.Bridge))
	}
	if isNetworkID(n.ID) {
		errs = append(errs, os.RemoveAll(s.netRunDir(n.ID)))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("remove network %s's bridge: %w", n.Name, err)
	}
	return nil
}
