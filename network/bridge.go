package network

// The API of the default bridge network (issue 14), fixed before its
// implementation so that the CLI, the monitor and the tests could be
// written against it at once. Everything here runs as root in the
// host's network namespace (the monitor's, or the CLI's); the
// container's namespace is reached through its init's pid.

import (
	"errors"
	"net/netip"
)

// Pool is one of docker's default-address-pools: subnets of Size bits
// carved from Base.
type Pool struct {
	Base netip.Prefix `json:"base"`
	Size int          `json:"size"`
}

// DefaultPools are docker's default address pools, in docker's order:
// 172.17.0.0/16 .. 172.31.0.0/16 as /16s, then 192.168.0.0/16 as /20s.
var DefaultPools = []Pool{
	{Base: netip.MustParsePrefix("172.17.0.0/16"), Size: 16},
	{Base: netip.MustParsePrefix("172.18.0.0/15"), Size: 16},
	{Base: netip.MustParsePrefix("172.20.0.0/14"), Size: 16},
	{Base: netip.MustParsePrefix("172.24.0.0/14"), Size: 16},
	{Base: netip.MustParsePrefix("172.28.0.0/14"), Size: 16},
	{Base: netip.MustParsePrefix("192.168.0.0/16"), Size: 20},
}

// BridgeName and BridgeInterface name docker's default network and
// skiff's device for it (docker's is docker0).
const (
	BridgeName      = "bridge"
	BridgeInterface = "skiff0"
)

// Config is how the default bridge is made: docker's daemon.json keys
// "bip" and "default-address-pools" (config file), and where its
// allocations live.
type Config struct {
	// BIP is "bip": the bridge's own address and prefix (172.17.0.1/16);
	// zero: the first pool subnet that overlaps no host route and no
	// other skiff network, gateway its first address.
	BIP   netip.Prefix
	Pools []Pool // nil: DefaultPools
	// RunDir is <runroot>/networks: the bridge's saved settings, the
	// address allocator's lock and allocations. It is on a tmpfs, as the
	// bridge is gone after a reboot too.
	RunDir string
}

// PortMap is one published port or range: host ports HostPort ..
// HostPort+Count-1 to container ports ContainerPort .. +Count-1.
type PortMap struct {
	Proto         string     `json:"proto"`           // "tcp" or "udp"
	HostIP        netip.Addr `json:"hostIP,omitzero"` // zero: every host address (0.0.0.0)
	HostPort      uint16     `json:"hostPort"`        // 0 (with Count 1): a random free port, chosen by Attach
	ContainerPort uint16     `json:"containerPort"`
	Count         uint16     `json:"count,omitempty"` // 0 or 1: one port
}

// Request is one container's attachment to the default bridge.
type Request struct {
	ID  string // the container's 64-hex id: owner of its address, tag of its rules, source of the veth's name
	Pid int    // the container's init: /proc/<Pid>/ns/net is the namespace eth0 goes into
	MAC string // --mac-address; "": docker's 02:42 + the IPv4 address
	// Ports are published through nftables (DNAT, hairpin and loopback
	// masquerade), their host ports reserved by sockets the Endpoint
	// holds (conmon's way); ::1 is served by a forwarder the Endpoint
	// runs (no NAT from IPv6 to the container's IPv4).
	Ports []PortMap
}

// Endpoint is a container attached to the bridge: what inspect shows
// (NetworkSettings) and what Detach undoes. It lives in the monitor for
// as long as the container runs: its sockets reserve the host ports.
type Endpoint struct {
	ID        string
	Interface string       // the bridge: skiff0
	HostVeth  string       // the host end of the pair
	Addr      netip.Prefix // eth0's address and the bridge's prefix (172.17.0.2/16)
	Gateway   netip.Addr
	MAC       string
	MTU       int
	Ports     []PortMap // as Request.Ports, random host ports resolved
	// On a user network (UserNetworks.Attach): the network's id, the
	// container's end of the pair (eth0, eth1 ...) and its member record
	// (aliases, endpoint id); zero on the default bridge.
	NetworkID string
	IfName    string
	Member    Member

	closers     []func() error // reservations, forwarders: closed by Unpublish or Detach
	runDir      string         // Config.RunDir: where the address is released
	network     string         // the network's name, for errors
	leave       func() error   // a user network's Leave of this member; nil on the default bridge
	left        bool
	detached    bool
	unpublished bool // Unpublish ran: rules and reservations are gone
}

// ErrNoNftables is the error of bridge networking on a kernel without
// nf_tables; --network none and host still work there.
var ErrNoNftables = errors.New("bridge networking needs the kernel's nf_tables (modprobe nf_tables), or run with --network none or --network host")

// ErrPoolExhausted is every pool (or bip's subnet) out of addresses.
var ErrPoolExhausted = errors.New("no available IPv4 addresses on the bridge network: remove unused containers or set larger default-address-pools in the config file")

// EnsureBridge makes the default bridge if it is missing: the subnet
// (cfg.BIP, else chosen from cfg.Pools), the device up with the gateway
// address, forwarding on, skiff's nftables table with its masquerade
// and forward rules; saves what it chose under cfg.RunDir. It is cheap
// when all is there (one netlink lookup), so every start may call it.
func EnsureBridge(cfg Config) error {
	_, err := ensureBridge(cfg)
	return err
}

// Attach wires container req.ID into the bridge: its address from the
// file-locked allocator, a veth pair (eth0 inside, MTU of the host's
// default route), default route, the MAC, published ports (reserved,
// then DNAT'd). On failure nothing of it is left.
func Attach(cfg Config, req Request) (*Endpoint, error) { return attach(cfg, req) }

// Unpublish withdraws the container's published ports: their rules, then
// the host ports' reservations and forwarders. The monitor calls it as
// soon as the process exits, before it reports the exit, so that the next
// container may publish the same ports at once; Detach does the slower
// rest (the veth's removal waits for a kernel grace period) afterwards.
func (e *Endpoint) Unpublish() error { return e.unpublish() }

// Detach undoes Attach: rules, veth, reservations and forwarders gone,
// address released. It is safe to call twice.
func (e *Endpoint) Detach() error { return e.detach() }

// DetachAfterExit is Detach once the container's processes are all gone
// and no other container shares its network namespace: the kernel removes
// the veth pair with the namespace, asynchronously, so skiff does not wait
// for it; the address is released at once (the veth's alias keeps it from
// other containers until the kernel is done).
func (e *Endpoint) DetachAfterExit() error { return e.detachAfterExit() }

// Sweep removes what containers whose monitor is gone left (rules,
// veths, addresses): alive says whether id's monitor still runs. With
// nothing allocated it costs one failed open.
func Sweep(cfg Config, alive func(id string) bool) error { return sweep(cfg, alive) }

// ForwardBlocked names a forward-hook chain of another table that drops
// skiff0's traffic by policy (docker's iptables FORWARD DROP, a host
// firewall), as one line saying how to allow skiff0; "" if none does.
// The caller prefixes it (the CLI prints "skiff: warning: " and the line).
func ForwardBlocked() string { return forwardBlocked() }
