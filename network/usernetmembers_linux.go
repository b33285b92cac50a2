package network

// Members of user networks: what the DNS responder of every container
// reads (names, aliases, addresses) and what keeps `network rm` from
// removing a network in use. One file per member,
// <runroot>/networks/user/<netid>/members/<containerid>.json, written
// whole by a rename: readers (many DNS responders, inspect) read the
// directory without a lock and see each member whole or not at all.
// Writers hold the store's lock (networks.lock), so that a join cannot
// race the network's removal. Addresses come from the same allocator as
// the default bridge's (ipam_linux.go), one per network under
// <runroot>/networks/user/<netid>/.
//
// A join allocates, then writes the record; a leave removes the record,
// then releases. A kill between leaves an address whose owner has no
// record, or a record whose container is gone: SweepMembers, which
// every command runs (as network.Sweep), frees both once the container's
// monitor is dead.

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Member is one container on a user network.
type Member struct {
	ContainerID string     `json:"containerID"` // 64 hex
	Name        string     `json:"name"`        // the container's name, without docker's leading '/'
	Aliases     []string   `json:"aliases,omitempty"`
	Addr        netip.Addr `json:"addr"`       // on Join: a requested --ip, or zero for the next free one
	MAC         string     `json:"mac"`        // on Join: --mac-address, or "" for docker's 02:42 + address
	EndpointID  string     `json:"endpointID"` // set by Join: 64 hex, as inspect's EndpointID
	// HostVeth and Interface are the pair's host end (in the network's
	// bridge) and the container's end (eth0, eth1 ...), set by Attach:
	// what a live disconnect deletes.
	HostVeth  string `json:"hostVeth,omitempty"`
	Interface string `json:"interface,omitempty"`
}

const membersDir = "members"

// ErrAddressInUse is docker's IPAM error for a requested --ip that is taken.
var ErrAddressInUse = errors.New("Address already in use")

// Join records m on network netID (a full id, from Lookup): its address
// (m.Addr if given, else the lowest free one of the network's range) and
// MAC are filled in the returned member.
func (s *UserNetworks) Join(netID string, m Member) (Member, error) { return s.join(netID, m, nil) }

// join is Join skipping the addresses of inUse too (Attach's: those the
// bridge's veths still hold).
func (s *UserNetworks) join(netID string, m Member, inUse map[netip.Addr]bool) (Member, error) {
	if !isShortHex(m.ContainerID) || m.Name == "" {
		return Member{}, fmt.Errorf("join network: no container name or a bad id %q", m.ContainerID)
	}
	if !isNetworkID(netID) {
		return Member{}, &NotFoundError{Ref: netID}
	}
	unlock, err := s.lock()
	if err != nil {
		return Member{}, err
	}
	defer unlock()
	n, err := s.read(netID)
	if errors.Is(err, os.ErrNotExist) {
		return Member{}, &NotFoundError{Ref: netID}
	} else if err != nil {
		return Member{}, err
	}
	if _, err := os.Stat(s.memberPath(n.ID, m.ContainerID)); err == nil {
		return Member{}, fmt.Errorf("endpoint with name %s already exists in network %s", m.Name, n.Name)
	}
	runDir := s.netRunDir(n.ID)
	if m.Addr, err = s.memberAddr(n, m, inUse); err != nil {
		return Member{}, err
	}
	if m.MAC == "" {
		m.MAC = dockerMAC(m.Addr).String()
	}
	if m.EndpointID, err = randomHexID(); err != nil {
		return Member{}, errors.Join(err, release(runDir, m.Addr, m.ContainerID))
	}
	if err := s.writeMember(n.ID, m); err != nil {
		return Member{}, errors.Join(err, release(runDir, m.Addr, m.ContainerID))
	}
	return m, nil
}

// memberAddr is m's address on n: the requested one, checked and claimed
// as docker's IPAM does, or the allocator's next in the network's range.
func (s *UserNetworks) memberAddr(n *UserNetwork, m Member, inUse map[netip.Addr]bool) (netip.Addr, error) {
	runDir := s.netRunDir(n.ID)
	if !m.Addr.IsValid() {
		first, last := n.allocatable()
		a, _, err := allocateIn(runDir, first, last, n.Gateway, m.ContainerID, inUse)
		if errors.Is(err, ErrPoolExhausted) {
			return netip.Addr{}, fmt.Errorf("no available IPv4 addresses on this network's address pools: %s (%s): %w", n.Name, n.ID, err)
		}
		return a, err
	}
	if err := n.CheckAddr(m.Addr); err != nil {
		return netip.Addr{}, err
	}
	a, _, err := allocateIn(runDir, m.Addr, m.Addr, n.Gateway, m.ContainerID, nil)
	if errors.Is(err, ErrPoolExhausted) {
		return netip.Addr{}, ErrAddressInUse // another's, or the gateway
	}
	return a, err
}

// allocatable are the first and last address containers get: the
// subnet's without its network and broadcast addresses, narrowed to
// --ip-range, whose own first and last docker gives out too.
func (n *UserNetwork) allocatable() (first, last netip.Addr) {
	first, last = n.Subnet.Addr().Next(), lastAddr(n.Subnet).Prev()
	if n.IPRange.IsValid() {
		if a := n.IPRange.Addr(); first.Less(a) {
			first = a
		}
		if a := lastAddr(n.IPRange); a.Less(last) {
			last = a
		}
	}
	return first, last
}

func (s *UserNetworks) writeMember(netID string, m Member) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(s.memberPath(netID, m.ContainerID), b); err != nil {
		return fmt.Errorf("record member %s: %w", m.Name, err)
	}
	return nil
}

// DNSNames are the names m answers to on its network, as docker's
// inspect lists them: its name, its short id, its aliases.
func (m Member) DNSNames() []string {
	names := []string{m.Name}
	if len(m.ContainerID) >= 12 {
		names = append(names, m.ContainerID[:12])
	}
	for _, a := range m.Aliases {
		if !slices.Contains(names, a) {
			names = append(names, a)
		}
	}
	return names
}

// Leave removes containerID from network netID: its record (its names
// stop answering), then its address. Leaving twice is no error.
func (s *UserNetworks) Leave(netID, containerID string) error {
	if !isNetworkID(netID) || !isShortHex(containerID) {
		return nil // no such member
	}
	unlock, err := s.lock()
	if err != nil {
		return err
	}
	defer unlock()
	return s.leaveLocked(netID, containerID)
}

func (s *UserNetworks) leaveLocked(netID, containerID string) error {
	path := s.memberPath(netID, containerID)
	m, err := readMember(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove member %s: %w", containerID, err)
	}
	return release(s.netRunDir(netID), m.Addr, containerID)
}

// ContainerNetworks are the user networks containerID is a member of,
// by network id: what its inspect shows and what its DNS answers from.
func (s *UserNetworks) ContainerNetworks(containerID string) (map[string]Member, error) {
	out := map[string]Member{}
	if !isShortHex(containerID) {
		return out, nil
	}
	entries, err := os.ReadDir(filepath.Join(s.RunDir, userRunSubdir))
	if errors.Is(err, os.ErrNotExist) {
		return out, nil
	} else if err != nil {
		return nil, fmt.Errorf("read user networks' members: %w", err)
	}
	for _, e := range entries {
		m, err := readMember(s.memberPath(e.Name(), containerID))
		if errors.Is(err, os.ErrNotExist) {
			continue
		} else if err != nil {
			return nil, err
		}
		out[e.Name()] = m
	}
	return out, nil
}

// Members are network netID's members, by name; read without a lock
// (each record is whole), for the DNS responder and inspect.
func (s *UserNetworks) Members(netID string) ([]Member, error) { return s.members(netID) }

func (s *UserNetworks) members(netID string) ([]Member, error) {
	if !isNetworkID(netID) {
		return nil, nil
	}
	dir := filepath.Join(s.netRunDir(netID), membersDir)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("read members: %w", err)
	}
	var out []Member
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") || !strings.HasSuffix(e.Name(), recordSuffix) {
			continue // a temporary file
		}
		m, err := readMember(filepath.Join(dir, e.Name()))
		if errors.Is(err, os.ErrNotExist) {
			continue // left meanwhile
		} else if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b Member) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

func readMember(path string) (Member, error) {
	var m Member
	b, err := os.ReadFile(path)
	if err != nil {
		return m, err
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("read member %s: %w", path, err)
	}
	return m, nil
}

// SweepMembers removes what dead containers left on user networks (alive
// says whether a container's monitor runs): their records, their
// addresses, the host veths and published ports' rules of those Attach
// made, and the run-time directory of a network whose removal was killed.
// With no user network it costs one failed open.
func (s *UserNetworks) SweepMembers(alive func(containerID string) bool) error {
	root := filepath.Join(s.RunDir, userRunSubdir)
	entries, err := os.ReadDir(root)
	if errors.Is(err, os.ErrNotExist) || (err == nil && len(entries) == 0) {
		return nil
	} else if err != nil {
		return fmt.Errorf("read user networks' members: %w", err)
	}
	if !s.sweepNeeded(entries, alive) {
		return nil
	}
	unlock, err := s.lock()
	if err != nil {
		return err
	}
	defer unlock()
	var errs []error
	for _, e := range entries {
		if isNetworkID(e.Name()) {
			errs = append(errs, s.sweepNetwork(e.Name(), alive))
		}
	}
	return errors.Join(errs...)
}

// sweepNeeded is the lock-free look: a network's directory without a
// record, or an address owner that is dead. Owners suffice for members:
// a member's address is allocated before its record is written and
// released after it is removed, so every record has its address.
func (s *UserNetworks) sweepNeeded(entries []os.DirEntry, alive func(string) bool) bool {
	for _, e := range entries {
		if !isNetworkID(e.Name()) {
			continue
		}
		if _, err := os.Stat(s.recordPath(e.Name())); err != nil {
			return true
		}
		owners, _ := readOwners(s.netRunDir(e.Name()))
		for _, id := range owners {
			if !alive(id) {
				return true
			}
		}
	}
	return false
}

func (s *UserNetworks) sweepNetwork(netID string, alive func(string) bool) error {
	if _, err := os.Stat(s.recordPath(netID)); errors.Is(err, os.ErrNotExist) {
		return os.RemoveAll(s.netRunDir(netID)) // a removal killed after its first step
	}
	// A killed writer's temporary file (only holders of the lock write).
	tmps, _ := filepath.Glob(filepath.Join(s.netRunDir(netID), membersDir, ".*"))
	for _, t := range tmps {
		os.Remove(t)
	}
	members, err := s.members(netID)
	if err != nil {
		return err
	}
	var errs []error
	attached := map[string]bool{}
	for _, m := range members {
		if alive(m.ContainerID) {
			continue
		}
		if m.HostVeth != "" {
			// Attach made it: a veth (unless the kernel took it with the
			// namespace) and maybe published ports' rules.
			attached[m.ContainerID] = true
			errs = append(errs, deleteVeth(m.HostVeth))
		}
		errs = append(errs, s.leaveLocked(netID, m.ContainerID))
	}
	if len(attached) > 0 {
		errs = append(errs, deleteRulesOf(attached))
	}
	runDir := s.netRunDir(netID)
	owners, err := readOwners(runDir)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	for a, id := range owners {
		if !alive(id) {
			errs = append(errs, release(runDir, a, id))
		}
	}
	return errors.Join(errs...)
}

func (s *UserNetworks) netRunDir(netID string) string {
	return filepath.Join(s.RunDir, userRunSubdir, netID)
}

func (s *UserNetworks) memberPath(netID, containerID string) string {
	return filepath.Join(s.netRunDir(netID), membersDir, containerID+recordSuffix)
}

// isShortHex is a container id, full or short: lowercase hex only, so
// that it never names a path outside the members' directory.
func isShortHex(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !strings.ContainsRune("0123456789abcdef", c) {
			return false
		}
	}
	return true
}

// CheckAddr is docker's check of a requested address (--ip, connect
// --ip) on n: only on a network with a configured subnet, inside it, not
// its network or broadcast address. Whether it is free is Join's to say.
func (n *UserNetwork) CheckAddr(a netip.Addr) error {
	if !n.SubnetConfigured {
		return errors.New("user specified IP address is supported only when connecting to networks with user configured subnets")
	}
	if !n.Subnet.Contains(a) || a == n.Subnet.Addr() || a == lastAddr(n.Subnet) {
		return fmt.Errorf("invalid address %s: It does not belong to any of this network's subnets", a)
	}
	if a == n.Gateway {
		return ErrAddressInUse // docker's IPAM holds the gateway's
	}
	return nil
}
