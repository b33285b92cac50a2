package network

// Another table's forward chain with policy drop (docker's iptables FORWARD
// DROP through iptables-nft, a firewalld or nft host firewall) drops
// skiff0's routed traffic whatever skiff's own table accepts: every base
// chain at a hook must accept a packet. skiff does not change other tools'
// tables; it names the chain and the command that allows skiff0. Tables of
// the legacy iptables (x_tables) are not visible through nftables and not
// checked.

import (
	"bytes"
	"fmt"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

func forwardBlocked() string {
	c, err := nftables.New()
	if err != nil {
		return ""
	}
	chains, err := c.ListChains()
	if err != nil {
		return ""
	}
	for _, ch := range chains {
		if !dropsForward(ch) {
			continue
		}
		rules, err := c.GetRules(ch.Table, ch)
		if err != nil || allowsBridge(rules) {
			continue
		}
		return blockedWarning(ch)
	}
	return ""
}

// dropsForward: a forward-hook chain of an ip or inet table, not skiff's,
// with policy drop.
func dropsForward(ch *nftables.Chain) bool {
	if ch.Hooknum == nil || *ch.Hooknum != *nftables.ChainHookForward || ch.Policy == nil || *ch.Policy != nftables.ChainPolicyDrop {
		return false
	}
	fam := ch.Table.Family
	if fam != nftables.TableFamilyIPv4 && fam != nftables.TableFamilyINet {
		return false
	}
	return !(fam == nftables.TableFamilyIPv4 && ch.Table.Name == tableName)
}

// allowsBridge: one of rules accepts what comes from or goes to skiff0
// (`iifname skiff0 accept`, iptables' `-i skiff0 -j ACCEPT`).
func allowsBridge(rules []*nftables.Rule) bool {
	name := make([]byte, unix.IFNAMSIZ)
	copy(name, BridgeInterface)
	for _, r := range rules {
		matches, accepts := false, false
		var lastKey expr.MetaKey
		for _, e := range r.Exprs {
			switch e := e.(type) {
			case *expr.Meta:
				lastKey = e.Key
			case *expr.Cmp:
				if (lastKey == expr.MetaKeyIIFNAME || lastKey == expr.MetaKeyOIFNAME) &&
					e.Op == expr.CmpOpEq && bytes.Equal(bytes.TrimRight(e.Data, "\x00"), []byte(BridgeInterface)) {
					matches = true
				}
				lastKey = 0
			case *expr.Verdict:
				accepts = e.Kind == expr.VerdictAccept
			}
		}
		if matches && accepts {
			return true
		}
	}
	return false
}

// blockedWarning is the one line naming ch and how to allow skiff0: the
// iptables command for iptables' own table, nft's for any other.
func blockedWarning(ch *nftables.Chain) string {
	family := "ip"
	if ch.Table.Family == nftables.TableFamilyINet {
		family = "inet"
	}
	fix := fmt.Sprintf("nft insert rule %[1]s %[2]s %[3]s iifname %[4]s accept && nft insert rule %[1]s %[2]s %[3]s oifname %[4]s accept",
		family, ch.Table.Name, ch.Name, BridgeInterface)
	if family == "ip" && ch.Table.Name == "filter" && ch.Name == "FORWARD" {
		fix = fmt.Sprintf("iptables -I FORWARD -i %[1]s -j ACCEPT && iptables -I FORWARD -o %[1]s -j ACCEPT", BridgeInterface)
	}
	return fmt.Sprintf("chain %s of table %s %s drops forwarded packets by policy; allow %s with: %s",
		ch.Name, family, ch.Table.Name, BridgeInterface, fix)
}
