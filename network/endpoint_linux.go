package network

// Attaching a container to the bridge, in order (each step pushes its undo,
// and a failure runs them backwards, so nothing is left half-made; a user
// network's Attach, userattach_linux.go, shares steps 2 and 4-7):
//   1. the bridge (cheap when it is there) and its settings;
//   2. the host ports reserved (a port in use fails before anything else);
//   3. the address from the allocator;
//   4. the veth pair: the host end in skiff0, up; the peer made directly
//      in the container's namespace as eth0 with the MTU and MAC;
//   5. inside (a netlink handle in that namespace, no thread of ours
//      switches): eth0's address, eth0 and lo up, default route;
//   6. the DNAT rules, tagged with the id;
//   7. the ::1 forwarders.

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// containerIf is the container's end of the pair.
const containerIf = "eth0"

// vethName is the host end's name: "veth" and the id's first 8 hex digits
// (12 characters of IFNAMSIZ's 15).
func vethName(id string) string {
	if len(id) > 8 {
		id = id[:8]
	}
	return "veth" + id
}

// dockerMAC is docker's MAC for addr: 02:42 and the address's bytes.
func dockerMAC(addr netip.Addr) net.HardwareAddr {
	b := addr.As4()
	return net.HardwareAddr{0x02, 0x42, b[0], b[1], b[2], b[3]}
}

func attach(cfg Config, req Request) (_ *Endpoint, err error) {
	if req.ID == "" || req.Pid <= 0 {
		return nil, fmt.Errorf("attach to %s: no container id or pid", BridgeName)
	}
	mac, err := parseMAC(req.MAC)
	if err != nil {
		return nil, err
	}
	s, err := ensureBridge(cfg)
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

	addr, held, err := allocate(cfg.RunDir, s.Subnet, s.Gateway, req.ID, portAddrs(BridgeInterface, req.ID))
	if err != nil {
		return nil, err
	}
	undo.push(func() error { return release(cfg.RunDir, addr, req.ID) })
	if held {
		// A monitor killed before its Detach (and no Sweep since) left
		// this id's veth and rules: theirs to replace.
		if err := errors.Join(deleteVeth(vethName(req.ID)), deleteRulesOf(map[string]bool{req.ID: true})); err != nil {
			return nil, err
		}
	} else if err := deleteVeth(vethName(req.ID)); err != nil {
		// A restart right after an exit: the last start's veth, left to
		// the kernel (DetachAfterExit), may not be gone yet.
		return nil, err
	}
	if mac == nil {
		mac = dockerMAC(addr)
	}
	ep := &Endpoint{
		ID: req.ID, Interface: BridgeInterface, HostVeth: vethName(req.ID),
		Addr: netip.PrefixFrom(addr, s.Subnet.Bits()), Gateway: s.Gateway,
		MAC: mac.String(), MTU: s.MTU, Ports: ports,
		runDir: cfg.RunDir, network: BridgeName,
	}
	if err := wire(ep, req.Pid, mac, true, &undo, func() error { return setupTable(s) }); err != nil {
		return nil, err
	}
	ep.closers = append(reservations, ep.closers...)
	return ep, nil
}

// undoList is what a multi-step setup has made so far, undone backwards
// when a later step fails.
type undoList []func() error

func (u *undoList) push(f func() error) { *u = append(*u, f) }

func (u undoList) run() {
	for i := len(u) - 1; i >= 0; i-- {
		u[i]()
	}
}

// parseMAC is --mac-address parsed; "" is nil (docker's MAC from the
// address).
func parseMAC(s string) (net.HardwareAddr, error) {
	if s == "" {
		return nil, nil
	}
	mac, err := net.ParseMAC(s)
	if err != nil {
		return nil, fmt.Errorf("invalid MAC address: %s", s)
	}
	return mac, nil
}

// wire is the steps every attachment shares once ep's address is
// chosen and its host ports reserved: the veth pair into pid's namespace
// (the default route through ep.Gateway if defaultRoute), the DNAT rules
// of ep.Ports (rewrite writes skiff's table again if someone deleted it),
// the ::1 forwarders (in ep.closers). Each step's undo is pushed on undo.
func wire(ep *Endpoint, pid int, mac net.HardwareAddr, defaultRoute bool, undo *undoList, rewrite func() error) error {
	if err := addVeth(ep, pid, mac, defaultRoute); err != nil {
		return err
	}
	undo.push(func() error { return deleteVeth(ep.HostVeth) })

	addr := ep.Addr.Addr()
	err := addPortRules(ep.ID, addr, ep.Ports)
	if errors.Is(err, unix.ENOENT) {
		// skiff's table is gone (`nft flush ruleset`) while the bridge
		// stayed: write it again rather than fail every start until a
		// reboot.
		if err := rewrite(); err != nil {
			return err
		}
		err = addPortRules(ep.ID, addr, ep.Ports)
	}
	if err != nil {
		return err
	}
	undo.push(func() error { return deleteRulesOf(map[string]bool{ep.ID: true}) })

	forwarders, err := startForwarders(addr, ep.Ports)
	if err != nil {
		return err
	}
	ep.closers = forwarders
	return nil
}

// addVeth makes the pair (the host end in ep.Interface, the bridge) and
// configures the container's end inside pid's namespace.
func addVeth(ep *Endpoint, pid int, mac net.HardwareAddr, defaultRoute bool) error {
	bridge, err := netlink.LinkByName(ep.Interface)
	if err != nil {
		return fmt.Errorf("find bridge %s: %w", ep.Interface, err)
	}
	nsPath := "/proc/" + strconv.Itoa(pid) + "/ns/net"
	nsFd, err := unix.Open(nsPath, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open the container's network namespace: %w", err)
	}
	ns := netns.NsHandle(nsFd)
	defer ns.Close()

	veth := &netlink.Veth{
		LinkAttrs: netlink.LinkAttrs{Name: ep.HostVeth, MTU: ep.MTU, MasterIndex: bridge.Attrs().Index},
		PeerName:  ep.containerIf(), PeerMTU: uint32(ep.MTU), PeerHardwareAddr: mac,
		PeerNamespace: netlink.NsFd(nsFd),
	}
	if err := netlink.LinkAdd(veth); err != nil {
		return fmt.Errorf("create veth pair %s: %w", ep.HostVeth, err)
	}
	if err := setupHostEnd(ep.HostVeth, portAlias(ep.Addr.Addr(), ep.ID)); err != nil {
		deleteVeth(ep.HostVeth)
		return err
	}
	if err := setupContainerEnd(ns, ep, defaultRoute); err != nil {
		deleteVeth(ep.HostVeth)
		return err
	}
	return nil
}

// containerIf is the container's end of the pair: IfName on a user
// network, eth0 on the default bridge.
func (e *Endpoint) containerIf() string {
	if e.IfName != "" {
		return e.IfName
	}
	return containerIf
}

// portAlias is the host end's alias: the container's address and id, so
// the kernel itself says which addresses skiff0's ports hold.
func portAlias(addr netip.Addr, id string) string { return "skiff " + addr.String() + " " + id }

// portAddrs are the addresses bridge's ports hold by their alias, id's
// own excepted: containers of another run root share skiff0 (one per
// network namespace) but not the allocator's files, and must not get the
// same address; and a veth the kernel has not yet deleted with its dead
// namespace keeps its address from the next container.
func portAddrs(bridgeName, id string) map[netip.Addr]bool {
	bridge, err := netlink.LinkByName(bridgeName)
	if err != nil {
		return nil
	}
	links, err := netlink.LinkList()
	if err != nil {
		return nil
	}
	inUse := map[netip.Addr]bool{}
	for _, l := range links {
		attrs := l.Attrs()
		f := strings.Fields(attrs.Alias)
		if attrs.MasterIndex != bridge.Attrs().Index || len(f) != 3 || f[0] != "skiff" || f[2] == id {
			continue
		}
		if a, err := netip.ParseAddr(f[1]); err == nil {
			inUse[a] = true
		}
	}
	return inUse
}

// setupHostEnd sets the host end's alias (the kernel ignores one given at
// creation) and hairpin on, so a container reaches its own published
// port through the host's address, and sets it up.
func setupHostEnd(name, alias string) error {
	link, err := netlink.LinkByName(name)
	if err != nil {
		return fmt.Errorf("find %s: %w", name, err)
	}
	if err := netlink.LinkSetAlias(link, alias); err != nil {
		return fmt.Errorf("set %s's alias: %w", name, err)
	}
	if err := netlink.LinkSetHairpin(link, true); err != nil {
		return fmt.Errorf("set hairpin mode on %s: %w", name, err)
	}
	if err := netlink.LinkSetUp(link); err != nil {
		return fmt.Errorf("set %s up: %w", name, err)
	}
	return nil
}

func setupContainerEnd(ns netns.NsHandle, ep *Endpoint, defaultRoute bool) error {
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return fmt.Errorf("enter the container's network namespace: %w", err)
	}
	defer h.Close()
	name := ep.containerIf()
	eth, err := h.LinkByName(name)
	if err != nil {
		return fmt.Errorf("find the container's %s: %w", name, err)
	}
	if err := h.AddrAdd(eth, &netlink.Addr{IPNet: ipNet(ep.Addr)}); err != nil {
		return fmt.Errorf("set the container's address %s: %w", ep.Addr, err)
	}
	if err := h.LinkSetUp(eth); err != nil {
		return fmt.Errorf("set the container's %s up: %w", name, err)
	}
	if lo, err := h.LinkByName("lo"); err != nil {
		return fmt.Errorf("find the container's lo: %w", err)
	} else if err := h.LinkSetUp(lo); err != nil {
		return fmt.Errorf("set the container's lo up: %w", err)
	}
	if !defaultRoute {
		return nil // a second network, or an --internal one
	}
	route := &netlink.Route{LinkIndex: eth.Attrs().Index, Gw: ep.Gateway.AsSlice()}
	if err := h.RouteAdd(route); err != nil {
		return fmt.Errorf("add the container's default route via %s: %w", ep.Gateway, err)
	}
	return nil
}

// deleteVeth deletes the pair by its host end; a pair already gone (its
// namespace died with the container) is no error.
func deleteVeth(name string) error { return deleteLink(name) }

// deleteLink deletes device name (a veth pair goes whole); one already
// gone is no error.
func deleteLink(name string) error {
	link, err := netlink.LinkByName(name)
	if err != nil {
		var notFound netlink.LinkNotFoundError
		if errors.As(err, &notFound) {
			return nil
		}
		return fmt.Errorf("find %s: %w", name, err)
	}
	if err := netlink.LinkDel(link); err != nil && !errors.Is(err, unix.ENODEV) {
		return fmt.Errorf("delete %s: %w", name, err)
	}
	return nil
}

// detach undoes attach: rules, veth, reservations and forwarders, address.
func (e *Endpoint) detach() error {
	if e.detached {
		return nil
	}
	e.detached = true
	// Both wait for a kernel grace period (~10 and ~25 ms here): at once.
	rulesErr := make(chan error, 1)
	go func() { rulesErr <- e.unpublish() }()
	errs := []error{deleteVeth(e.HostVeth), <-rulesErr}
	errs = append(errs, e.free())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("detach %s from %s: %w", e.ID, e.network, err)
	}
	return nil
}

// free gives the endpoint's address back: on the default bridge to the
// allocator, on a user network by leaving it (the member record first, so
// the container's names stop answering, then the address). Once only: a
// later member of the same id (a restart) is not this endpoint's.
func (e *Endpoint) free() error {
	if e.leave == nil {
		return release(e.runDir, e.Addr.Addr(), e.ID)
	}
	if e.left {
		return nil
	}
	e.left = true
	return e.leave()
}

// detachAfterExit is Detach for a container whose processes are all
// gone, its network namespace with them: the kernel deletes the veth pair
// when it frees the namespace, so skiff does not wait the ~25 ms its own
// deletion takes. The address is released at once; until the kernel has
// deleted the veth its alias keeps the address from another container
// (bridgePortAddrs), and the same container's next start deletes it
// (attach).
func (e *Endpoint) detachAfterExit() error {
	if e.detached {
		return nil
	}
	e.detached = true
	errs := []error{e.unpublish(), e.free()}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("detach %s from %s: %w", e.ID, e.network, err)
	}
	return nil
}

// unpublish deletes the endpoint's rules (none to look for when it
// published no port), then closes its reservations and forwarders: in
// that order, so a port is never free while a rule still sends it here.
// On a user network it leaves it too: the monitor unpublishes as soon as
// the process exits, and the container's names should go then.
func (e *Endpoint) unpublish() error {
	if e.unpublished {
		return nil
	}
	e.unpublished = true
	var err error
	if len(e.Ports) > 0 {
		err = deleteRulesOf(map[string]bool{e.ID: true})
	}
	for _, c := range e.closers {
		c()
	}
	e.closers = nil
	if e.leave != nil {
		err = errors.Join(err, e.free())
	}
	return err
}

// sweep frees what dead owners hold: their rules, veths and addresses.
// Nothing allocated costs one failed open of the allocations' directory.
func sweep(cfg Config, alive func(id string) bool) error {
	owners, err := readOwners(cfg.RunDir)
	if err != nil || len(owners) == 0 {
		return err
	}
	dead := map[string]bool{}
	for _, id := range owners {
		if !dead[id] && !alive(id) {
			dead[id] = true
		}
	}
	if len(dead) == 0 {
		return nil
	}
	errs := []error{deleteRulesOf(dead)}
	for id := range dead {
		errs = append(errs, deleteVeth(vethName(id)))
	}
	unlock, err := lockAddresses(cfg.RunDir)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	defer unlock()
	for a, id := range owners {
		if dead[id] {
			errs = append(errs, releaseLocked(cfg.RunDir, a, id))
		}
	}
	return errors.Join(errs...)
}
