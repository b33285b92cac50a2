package network

// The bridge device skiff0 and the settings it was made with. The steps of
// ensureBridge, in order:
//   1. cheap path: skiff0 exists and bridge.json is there -> done;
//   2. settings: bridge.json if saved (the monitor re-makes a bridge the
//      host lost), else skiff0's own address, else bip, else the first pool
//      subnet that overlaps no route of this namespace;
//   3. forwarding on (noting whether skiff turned it on);
//   4. skiff's nftables table (nftables_linux.go);
//   5. the device: created, gateway address, up, route_localnet;
//   6. bridge.json written (temp file + rename) last, so its presence
//      means every step above succeeded.

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// settings are what EnsureBridge chose, saved as RunDir/bridge.json: what
// Attach reads and what re-makes the same bridge later.
type settings struct {
	Subnet  netip.Prefix `json:"subnet"`  // 172.17.0.0/16
	Gateway netip.Addr   `json:"gateway"` // skiff0's address: 172.17.0.1
	MTU     int          `json:"mtu"`     // the host's default route's, for every veth
	// ForwardDrop: skiff turned ip_forward on, so its forward chain drops
	// what is not its bridge's (docker sets FORWARD DROP only then too:
	// a host that already routed keeps routing).
	ForwardDrop bool `json:"forwardDrop"`
}

// prefix is the gateway's address with the subnet's length: skiff0's.
func (s settings) prefix() netip.Prefix {
	return netip.PrefixFrom(s.Gateway, s.Subnet.Bits())
}

const (
	settingsFile = "bridge.json"
	bridgeLock   = "bridge.lock"
	ipForward    = "/proc/sys/net/ipv4/ip_forward"
	defaultMTU   = 1500
)

func ensureBridge(cfg Config) (settings, error) {
	if s, ok, err := bridgeReady(cfg.RunDir); ok || err != nil {
		return s, err
	}
	// Two skiff commands making the bridge at once would both see
	// forwarding off, or one see the other turn it on: one at a time.
	if err := os.MkdirAll(cfg.RunDir, 0o700); err != nil {
		return settings{}, fmt.Errorf("create %s: %w", cfg.RunDir, err)
	}
	unlock, err := lockFile(filepath.Join(cfg.RunDir, bridgeLock))
	if err != nil {
		return settings{}, err
	}
	defer unlock()
	s, ok, err := bridgeReady(cfg.RunDir)
	if ok || err != nil {
		return s, err
	}
	if s.Subnet.IsValid() {
		return makeBridge(cfg, &s)
	}
	return makeBridge(cfg, nil)
}

// bridgeReady is the cheap check: bridge.json read (its settings, valid
// if saved) and skiff0 there.
func bridgeReady(runDir string) (s settings, ok bool, err error) {
	s, err = loadSettings(runDir)
	if errors.Is(err, os.ErrNotExist) {
		return settings{}, false, nil
	} else if err != nil {
		return settings{}, false, err
	}
	_, err = netlink.LinkByName(BridgeInterface)
	return s, err == nil, nil
}

// makeBridge makes (or completes) the bridge: with saved settings those,
// else new ones.
func makeBridge(cfg Config, saved *settings) (settings, error) {
	var s settings
	if saved != nil {
		s = *saved
	} else {
		var err error
		if s, err = chooseSettings(cfg); err != nil {
			return settings{}, err
		}
	}
	turnedOn, err := forwardingOn()
	if err != nil {
		return settings{}, err
	}
	// Forwarding on already may be skiff's own doing, by another run root
	// in this namespace: its drop policy stays.
	s.ForwardDrop = s.ForwardDrop || turnedOn || forwardDrops()
	if err := setupTable(s); err != nil {
		return settings{}, err
	}
	if err := setupDevice(s); err != nil {
		return settings{}, err
	}
	if err := saveSettings(cfg.RunDir, s); err != nil {
		return settings{}, err
	}
	return s, nil
}

func chooseSettings(cfg Config) (settings, error) {
	s := settings{MTU: defaultRouteMTU()}
	switch {
	case bridgeAddr().IsValid():
		// skiff0 survived its bridge.json (a run root wiped by hand):
		// keep its subnet, containers may still use it.
		p := bridgeAddr()
		s.Subnet, s.Gateway = p.Masked(), p.Addr()
	case cfg.BIP.IsValid():
		if !cfg.BIP.Addr().Is4() {
			return settings{}, fmt.Errorf("bip %s: not an IPv4 address", cfg.BIP)
		}
		s.Subnet, s.Gateway = cfg.BIP.Masked(), cfg.BIP.Addr()
	default:
		routes, err := hostRoutes()
		if err != nil {
			return settings{}, err
		}
		pools := cfg.Pools
		if pools == nil {
			pools = DefaultPools
		}
		subnet, ok := freeSubnet(pools, routes)
		if !ok {
			return settings{}, errors.New("could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network")
		}
		s.Subnet, s.Gateway = subnet, subnet.Addr().Next()
	}
	return s, nil
}

// freeSubnet is the first subnet of pools that overlaps none of taken.
func freeSubnet(pools []Pool, taken []netip.Prefix) (netip.Prefix, bool) {
	for _, pool := range pools {
		base := pool.Base.Masked()
		if !base.Addr().Is4() || pool.Size < base.Bits() || pool.Size > 30 {
			continue
		}
		step := uint64(1) << (32 - pool.Size)
		end := ipv4Uint(base.Addr()) + uint64(1)<<(32-base.Bits())
		for a := ipv4Uint(base.Addr()); a < end; a += step {
			cand := netip.PrefixFrom(uintIPv4(a), pool.Size)
			if !overlapsAny(cand, taken) {
				return cand, true
			}
		}
	}
	return netip.Prefix{}, false
}

func overlapsAny(p netip.Prefix, taken []netip.Prefix) bool {
	for _, t := range taken {
		if p.Overlaps(t) {
			return true
		}
	}
	return false
}

// hostRoutes are the IPv4 destinations of this namespace's main table,
// default route excluded (every subnet "overlaps" 0.0.0.0/0).
func hostRoutes() ([]netip.Prefix, error) {
	routes, err := netlink.RouteList(nil, netlink.FAMILY_V4)
	if err != nil {
		return nil, fmt.Errorf("list the host's routes: %w", err)
	}
	var out []netip.Prefix
	for _, r := range routes {
		if r.Dst == nil {
			continue
		}
		ones, _ := maskOnes(r.Dst)
		if a, ok := netip.AddrFromSlice(r.Dst.IP.To4()); ok && ones > 0 {
			out = append(out, netip.PrefixFrom(a, ones))
		}
	}
	return out, nil
}

// defaultRouteMTU is the MTU of the default route's device, 1500 without
// one: a veth larger than the uplink would make the host fragment.
func defaultRouteMTU() int {
	routes, err := netlink.RouteList(nil, netlink.FAMILY_V4)
	if err != nil {
		return defaultMTU
	}
	for _, r := range routes {
		if ones, _ := maskOnes(r.Dst); ones != 0 {
			continue // not the default route
		}
		if link, err := netlink.LinkByIndex(r.LinkIndex); err == nil && link.Attrs().MTU > 0 {
			return link.Attrs().MTU
		}
	}
	return defaultMTU
}

// bridgeAddr is skiff0's IPv4 address, zero if it has none or is missing.
func bridgeAddr() netip.Prefix {
	link, err := netlink.LinkByName(BridgeInterface)
	if err != nil {
		return netip.Prefix{}
	}
	addrs, err := netlink.AddrList(link, netlink.FAMILY_V4)
	if err != nil || len(addrs) == 0 {
		return netip.Prefix{}
	}
	a, _ := netip.AddrFromSlice(addrs[0].IP.To4())
	ones, _ := addrs[0].Mask.Size()
	return netip.PrefixFrom(a, ones)
}

// forwardingOn turns net.ipv4.ip_forward on; true if it was off.
func forwardingOn() (bool, error) {
	b, err := os.ReadFile(ipForward)
	if err != nil {
		return false, fmt.Errorf("read %s: %w", ipForward, err)
	}
	if strings.TrimSpace(string(b)) == "1" {
		return false, nil
	}
	if err := os.WriteFile(ipForward, []byte("1\n"), 0o644); err != nil {
		return false, fmt.Errorf("turn on IPv4 forwarding: %w", err)
	}
	return true, nil
}

// setupDevice makes skiff0 with the gateway address, up, and lets it route
// 127.0.0.0/8 sources (route_localnet), which the DNAT of 127.0.0.1:port
// to a container needs.
func setupDevice(s settings) error {
	_, err := setupBridgeDevice(BridgeInterface, s.prefix(), s.MTU)
	return err
}

// setupBridgeDevice makes bridge device name (or takes the one there) with
// address gw, up, route_localnet on: skiff0 and every user network's.
func setupBridgeDevice(name string, gw netip.Prefix, mtu int) (netlink.Link, error) {
	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: name, MTU: mtu}}
	if err := netlink.LinkAdd(br); err != nil && !errors.Is(err, unix.EEXIST) {
		return nil, fmt.Errorf("create bridge %s: %w", name, err)
	}
	link, err := netlink.LinkByName(name)
	if err != nil {
		return nil, fmt.Errorf("find bridge %s: %w", name, err)
	}
	addr := &netlink.Addr{IPNet: ipNet(gw)}
	if err := netlink.AddrReplace(link, addr); err != nil {
		return nil, fmt.Errorf("set %s's address %s: %w", name, gw, err)
	}
	if err := netlink.LinkSetUp(link); err != nil {
		return nil, fmt.Errorf("set %s up: %w", name, err)
	}
	localnet := "/proc/sys/net/ipv4/conf/" + name + "/route_localnet"
	if err := os.WriteFile(localnet, []byte("1\n"), 0o644); err != nil {
		return nil, fmt.Errorf("allow 127.0.0.1 to be forwarded to containers: %w", err)
	}
	return link, nil
}

func loadSettings(runDir string) (settings, error) {
	var s settings
	b, err := os.ReadFile(filepath.Join(runDir, settingsFile))
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("read %s: %w", filepath.Join(runDir, settingsFile), err)
	}
	if !s.Subnet.IsValid() || !s.Gateway.IsValid() {
		return s, fmt.Errorf("read %s: no subnet or gateway", filepath.Join(runDir, settingsFile))
	}
	return s, nil
}

func saveSettings(runDir string, s settings) error {
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(runDir, settingsFile), b)
}

// writeFileAtomic writes path through a temporary file and a rename, so a
// reader sees the old content or the new, never a part.
func writeFileAtomic(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(path), err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
