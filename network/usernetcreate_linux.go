package network

// Create's checks and choices for a user network: docker's validation of
// the flags (with its sentences), the subnet from the default pools, the
// id in docker's format.

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// parseCreate checks what needs no other network: name, driver, CIDRs,
// gateway and range inside the subnet, options.
func parseCreate(o CreateOptions) (*UserNetwork, error) {
	if o.Name == "" {
		return nil, errors.New("network name is required")
	}
	if IsPredefined(o.Name) {
		return nil, fmt.Errorf("operation is not permitted on predefined %s network", o.Name)
	}
	n := &UserNetwork{Name: o.Name, Driver: o.Driver, Internal: o.Internal, Labels: o.Labels, Options: o.Options}
	if n.Driver == "" {
		n.Driver = DriverBridge
	}
	if n.Driver != DriverBridge {
		return nil, fmt.Errorf("plugin %q not found", n.Driver)
	}
	if err := parseAddressing(n, o); err != nil {
		return nil, err
	}
	if err := parseOptions(n); err != nil {
		return nil, err
	}
	return n, nil
}

func parseAddressing(n *UserNetwork, o CreateOptions) error {
	if o.Subnet == "" {
		if o.Gateway != "" || o.IPRange != "" {
			return errors.New("every ip-range or gateway must have a corresponding subnet")
		}
		return nil
	}
	subnet, err := parseCIDR(o.Subnet)
	if err != nil {
		return err
	}
	if subnet != subnet.Masked() {
		return fmt.Errorf("invalid subnet %s : it should be %s", subnet, subnet.Masked())
	}
	if subnet.Bits() > 30 {
		return fmt.Errorf("invalid subnet %s: no room for a gateway and a container", subnet)
	}
	n.Subnet, n.SubnetConfigured = subnet, true
	if o.IPRange != "" {
		r, err := parseCIDR(o.IPRange)
		if err != nil {
			return err
		}
		if !subnet.Contains(r.Addr()) || r.Bits() < subnet.Bits() {
			return fmt.Errorf("no matching subnet for range %s", o.IPRange)
		}
		n.IPRange = r.Masked()
	}
	if o.Gateway == "" {
		n.Gateway = subnet.Addr().Next()
		return nil
	}
	gw, err := netip.ParseAddr(o.Gateway)
	if err != nil || !gw.Is4() {
		return fmt.Errorf("invalid argument %q for \"--gateway\" flag: not an IPv4 address", o.Gateway)
	}
	if !subnet.Contains(gw) {
		return fmt.Errorf("no matching subnet for gateway %s", o.Gateway)
	}
	n.Gateway = gw
	return nil
}

// parseCIDR is an IPv4 CIDR, with the error docker's CLI gives for a
// malformed one (net.ParseCIDR's).
func parseCIDR(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("invalid CIDR address: %s", s)
	}
	if !p.Addr().Is4() {
		return netip.Prefix{}, fmt.Errorf("invalid CIDR address: %s: skiff's networks are IPv4 only", s)
	}
	return p, nil
}

// parseOptions takes the bridge's name and MTU out of the driver options.
func parseOptions(n *UserNetwork) error {
	for k, v := range n.Options {
		switch k {
		case OptBridgeName:
			if v == "" || len(v) > 15 || strings.ContainsAny(v, "/ \t\n:") {
				return fmt.Errorf("invalid bridge name %q: at most 15 characters, no '/', ':' or space", v)
			}
			n.Bridge = v
		case OptMTU, optMTUShort:
			mtu, err := strconv.Atoi(v)
			if err != nil || mtu < 68 || mtu > 65535 {
				return fmt.Errorf("invalid MTU number: %s", v)
			}
			n.MTU = mtu
		}
	}
	return nil
}

// checkUnique refuses a name (or bridge device) another network has.
func checkUnique(n *UserNetwork, existing []*UserNetwork) error {
	for _, e := range existing {
		if e.Name == n.Name {
			return fmt.Errorf("network with name %s already exists", n.Name)
		}
		if n.Bridge != "" && e.Bridge == n.Bridge {
			return fmt.Errorf("bridge name %s is already in use by network %s", n.Bridge, e.Name)
		}
	}
	if n.Bridge == BridgeInterface {
		return fmt.Errorf("bridge name %s is already in use by network %s", n.Bridge, BridgeName)
	}
	return nil
}

// placeSubnet checks a configured subnet against the other networks (as
// docker's IPAM: host routes do not refuse an explicit subnet), or picks
// the first pool subnet free of networks and host routes.
func (s *UserNetworks) placeSubnet(n *UserNetwork, existing []*UserNetwork) error {
	taken := []netip.Prefix{s.defaultBridgeSubnet()}
	for _, e := range existing {
		taken = append(taken, e.Subnet)
	}
	if n.SubnetConfigured {
		if overlapsAny(n.Subnet, taken) {
			return ErrPoolOverlap
		}
		return nil
	}
	routes, err := s.routes()
	if err != nil {
		return err
	}
	pools := s.Pools
	if pools == nil {
		pools = DefaultPools
	}
	subnet, ok := freeSubnet(pools, append(taken, routes...))
	if !ok {
		return ErrNoFreePool
	}
	n.Subnet, n.Gateway = subnet, subnet.Addr().Next()
	return nil
}

// defaultBridgeSubnet is skiff0's subnet: as made (bridge.json), else
// the device's address (its bridge.json wiped), else bip, else the first
// pool's first subnet, which EnsureBridge takes on a host whose routes
// leave it free (docker's 172.17.0.0/16).
func (s *UserNetworks) defaultBridgeSubnet() netip.Prefix {
	if st, err := loadSettings(s.RunDir); err == nil {
		return st.Subnet
	}
	if p := s.skiff0(); p.IsValid() {
		return p.Masked()
	}
	if s.BIP.IsValid() {
		return s.BIP.Masked()
	}
	pools := s.Pools
	if pools == nil {
		pools = DefaultPools
	}
	p, _ := freeSubnet(pools[:1], nil)
	return p
}

// newID is docker's network id: 32 random bytes in hex, drawn again if
// its 12-character short form reads as a number (it would be taken for
// one) or starts an existing id.
func (s *UserNetworks) newID(existing []*UserNetwork) (string, error) {
	for {
		id, err := randomHexID()
		if err != nil {
			return "", err
		}
		if _, err := strconv.ParseUint(id[:12], 10, 64); err == nil {
			continue
		}
		if !slices.ContainsFunc(existing, func(e *UserNetwork) bool { return e.ID[:12] == id[:12] }) {
			return id, nil
		}
	}
}

// randomHexID is 32 random bytes in hex: docker's ids of networks and
// endpoints.
func randomHexID() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("generate an id: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}
