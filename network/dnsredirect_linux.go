package network

// The DNS redirect in a container's namespace (issue 19):
//
//	table ip skiff-dns {
//	  chain output { type nat hook output priority dstnat
//	    ip daddr 127.0.0.11 udp dport 53 dnat to 127.0.0.11:<port>
//	    ip daddr 127.0.0.11 tcp dport 53 dnat to 127.0.0.11:<port>
//	  }
//	}
//
// docker writes the same as iptables rules in the container's namespace;
// conntrack undoes the DNAT on the replies. Only the resolver's address
// is matched, so a server the container runs on its own port 53 keeps
// every other address.

import (
	"fmt"
	"net/netip"

	"github.com/google/nftables"
	"github.com/vishvananda/netns"
)

const dnsRedirectTable = "skiff-dns"

// RedirectDNS writes, in pid's network namespace, the nftables table that
// DNATs the container's queries to 127.0.0.11:53 (UDP and TCP) to `to`
// (the monitor's DNS responder, dns.Listen's address and port): the rules
// dns.RedirectRules spells in nft's syntax. The queries' address is to's
// (the responder listens on the address the container asks). Writing it
// again replaces the rules: a restart's new port wins.
func RedirectDNS(pid int, to netip.AddrPort) error {
	if !to.Addr().Is4() || to.Port() == 0 {
		return fmt.Errorf("redirect DNS to %s: not an IPv4 address and port", to)
	}
	ns, err := netns.GetFromPid(pid)
	if err != nil {
		return fmt.Errorf("redirect DNS: network namespace of %d: %w", pid, err)
	}
	defer ns.Close()
	c, err := nftables.New(nftables.WithNetNSFd(int(ns)))
	if err != nil {
		return fmt.Errorf("redirect DNS: %w", nftError(err))
	}
	table := c.AddTable(&nftables.Table{Name: dnsRedirectTable, Family: nftables.TableFamilyIPv4})
	chain := c.AddChain(&nftables.Chain{Name: "output", Table: table, Type: nftables.ChainTypeNAT,
		Hooknum: nftables.ChainHookOutput, Priority: nftables.ChainPriorityNATDest})
	c.FlushChain(chain)
	for _, proto := range []string{"udp", "tcp"} {
		c.AddRule(&nftables.Rule{Table: table, Chain: chain,
			Exprs: concat(daddrIs(to.Addr()), l4proto(proto), dport(53, 53), dnat(to.Addr(), to.Port()))})
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("redirect DNS: write table ip %s in the namespace of %d: %w", dnsRedirectTable, pid, nftError(err))
	}
	return nil
}
