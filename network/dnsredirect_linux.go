package network

// The DNS redirect in a container's namespace (issue 19).

import "net/netip"

// RedirectDNS writes, in pid's network namespace, the nftables table that
// DNATs the container's queries to 127.0.0.11:53 (UDP and TCP) to `to`
// (the monitor's DNS responder, dns.Listen's address and port): the rules
// dns.RedirectRules spells in nft's syntax.
func RedirectDNS(pid int, to netip.AddrPort) error { return errNotYet }
