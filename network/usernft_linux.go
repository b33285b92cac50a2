package network

// User networks' rules (issue 19), in skiff's table, in two base chains of
// their own that setupTable never touches (so rewriting skiff0's chains
// keeps them), and their bridges in the set `bridges`, whose traffic
// skiff0's forward chain accepts:
//
//	chain user-isolation { type filter hook forward priority filter - 1; policy accept
//	  oifname B iifname != B ct state != established,related ct status != dnat drop
//	  iifname B oifname skiff0 ct state != established,related ct status != dnat drop
//	  # --internal B instead:  iifname B oifname != B drop;  oifname B iifname != B drop
//	}
//	chain user-nat { type nat hook postrouting priority srcnat + 1   # not --internal
//	  ip saddr <subnet> oifname != B masquerade
//	  ct status dnat ip saddr <subnet> oifname B masquerade
//	  ip saddr 127.0.0.0/8 oifname B masquerade
//	}
//
// Every rule's comment is its network's tag, "net <id> <bridge>": what
// RemoveBridge deletes, and what the next EnsureBridge of a device of the
// same name deletes before writing its own (a network removed by a killed
// command left them).
//
// Why a chain of drops of its own, before the forward chain: every "drop
// what enters bridge B from elsewhere" must be evaluated before any
// "accept what leaves bridge A" (`iifname @bridges accept` would pass
// A -> B otherwise); a drop in an earlier base chain is final, whatever a
// later one accepts, and the order of networks in it never matters. Why
// base chains rather than regular chains jumped to: setupTable's rewrite
// of the base chains would have to know whether to write the jumps, and
// a rewrite by another run root racing the first user network's could
// lose them; nothing here depends on the base chains' content.
//
// A user bridge drops new traffic from every other interface (docker 28's
// `DROP ! -i br -o br`); skiff0 keeps issue 14's rules and drops only what
// comes from a user bridge (the second rule above), so a host that routes
// to skiff0's containers keeps doing so. A published port (DNAT) and the
// replies of a connection (conntrack) cross bridges, as docker's do.

import (
	"errors"
	"fmt"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"golang.org/x/sys/unix"
)

const (
	isolationChain = "user-isolation"
	userNATChain   = "user-nat"
)

var userChains = []string{isolationChain, userNATChain}

// userChainDefs are the user networks' base chains.
func userChainDefs() []*nftables.Chain {
	accept := nftables.ChainPolicyAccept
	return []*nftables.Chain{
		{Name: isolationChain, Table: skiffTable, Type: nftables.ChainTypeFilter, Hooknum: nftables.ChainHookForward,
			Priority: nftables.ChainPriorityRef(*nftables.ChainPriorityFilter - 1), Policy: &accept},
		{Name: userNATChain, Table: skiffTable, Type: nftables.ChainTypeNAT, Hooknum: nftables.ChainHookPostrouting,
			Priority: nftables.ChainPriorityRef(*nftables.ChainPriorityNATSource + 1)},
	}
}

// netTag is the comment of n's rules.
func netTag(n *UserNetwork) []byte {
	return userdata.AppendString(nil, userdata.TypeComment, "net "+n.ID+" "+n.Bridge)
}

// parseNetTag is a rule's network id and bridge, ok if it has a net tag.
func parseNetTag(r *nftables.Rule) (id, bridge string, ok bool) {
	tag, ok := userdata.GetString(r.UserData, userdata.TypeComment)
	f := strings.Fields(tag)
	if !ok || len(f) != 3 || f[0] != "net" {
		return "", "", false
	}
	return f[1], f[2], true
}

// networkRules are n's rules, by chain.
func networkRules(n *UserNetwork) map[string][][]expr.Any {
	b := n.Bridge
	drop := &expr.Verdict{Kind: expr.VerdictDrop}
	if n.Internal {
		// Within the bridge only (what reaches the forward hook of a host
		// with br_netfilter is accepted through the bridges set).
		return map[string][][]expr.Any{isolationChain: {
			concat(ifnameCmp(expr.MetaKeyIIFNAME, expr.CmpOpEq, b), ifnameCmp(expr.MetaKeyOIFNAME, expr.CmpOpNeq, b), drop),
			concat(ifnameCmp(expr.MetaKeyOIFNAME, expr.CmpOpEq, b), ifnameCmp(expr.MetaKeyIIFNAME, expr.CmpOpNeq, b), drop),
		}}
	}
	notReply := concat(ctStateNot(expr.CtStateBitESTABLISHED|expr.CtStateBitRELATED), ctStatusNotDNAT())
	return map[string][][]expr.Any{
		isolationChain: {
			concat(ifnameCmp(expr.MetaKeyOIFNAME, expr.CmpOpEq, b), ifnameCmp(expr.MetaKeyIIFNAME, expr.CmpOpNeq, b), notReply, drop),
			concat(ifnameCmp(expr.MetaKeyIIFNAME, expr.CmpOpEq, b), ifname(expr.MetaKeyOIFNAME, expr.CmpOpEq), notReply, drop),
		},
		userNATChain: bridgeNATRules(b, n.Subnet),
	}
}

// writeNetworkRules writes n's rules and its bridge's place in the bridges
// set in one batch, replacing any rules of its own or of its device's name
// (the chains and the set made if missing: skiff's table may have been
// flushed since skiff0 was made). Two makers at once each write whole
// batches: the last one's rules stand, never both.
func writeNetworkRules(n *UserNetwork) error {
	c, err := nftables.New()
	if err != nil {
		return nftError(err)
	}
	stale, err := netRules(c, func(id, bridge string) bool { return id == n.ID || bridge == n.Bridge })
	if err != nil {
		return err
	}
	c.AddTable(skiffTable)
	if err := c.AddSet(bridgesSet(), []nftables.SetElement{{Key: ifnameKey(n.Bridge)}}); err != nil {
		return fmt.Errorf("add %s to set %s: %w", n.Bridge, bridgesSetName, err)
	}
	chains := map[string]*nftables.Chain{}
	for _, ch := range userChainDefs() {
		chains[ch.Name] = c.AddChain(ch)
	}
	for _, r := range stale {
		if err := c.DelRule(r); err != nil {
			return fmt.Errorf("delete rule %d: %w", r.Handle, err)
		}
	}
	tag := netTag(n)
	for chain, rules := range networkRules(n) {
		for _, r := range rules {
			c.AddRule(&nftables.Rule{Table: skiffTable, Chain: chains[chain], Exprs: r, UserData: tag})
		}
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("write network %s's rules: %w", n.Name, nftError(err))
	}
	return nil
}

// deleteNetworkRules removes n's rules (and any other of its device's
// name) and its bridge from the bridges set.
func deleteNetworkRules(n *UserNetwork) error {
	c, err := nftables.New()
	if err != nil {
		return nftError(err)
	}
	rules, err := netRules(c, func(id, bridge string) bool { return id == n.ID || bridge == n.Bridge })
	if err != nil {
		return err
	}
	for _, r := range rules {
		if err := c.DelRule(r); err != nil {
			return fmt.Errorf("delete rule %d: %w", r.Handle, err)
		}
	}
	set, err := c.GetSetByName(skiffTable, bridgesSetName)
	if err == nil && bridgeInSet(c, set, n.Bridge) {
		if err := c.SetDeleteElements(set, []nftables.SetElement{{Key: ifnameKey(n.Bridge)}}); err != nil {
			return fmt.Errorf("remove %s from set %s: %w", n.Bridge, bridgesSetName, err)
		}
	} else if len(rules) == 0 {
		return nil
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("delete a network's rules: %w", nftError(err))
	}
	return nil
}

// netRules are the user chains' rules whose net tag match accepts; none
// when the table or the chains are missing.
func netRules(c *nftables.Conn, match func(id, bridge string) bool) ([]*nftables.Rule, error) {
	var out []*nftables.Rule
	for _, name := range userChains {
		rules, err := c.GetRules(skiffTable, &nftables.Chain{Name: name, Table: skiffTable})
		if errors.Is(err, unix.ENOENT) {
			continue
		} else if err != nil {
			return nil, fmt.Errorf("list the user networks' rules: %w", nftError(err))
		}
		for _, r := range rules {
			if id, bridge, ok := parseNetTag(r); ok && match(id, bridge) {
				out = append(out, r)
			}
		}
	}
	return out, nil
}

// bridgeInSet: name is an element of set (deleting a missing one fails
// the whole batch).
func bridgeInSet(c *nftables.Conn, set *nftables.Set, name string) bool {
	elems, err := c.GetSetElements(set)
	if err != nil {
		return false
	}
	key := string(ifnameKey(name))
	for _, e := range elems {
		if string(e.Key) == key {
			return true
		}
	}
	return false
}
