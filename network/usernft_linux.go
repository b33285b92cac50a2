package network

// User networks' rules (issue 19), in skiff's table, in three regular
// chains that setupTable jumps to but never flushes (so rewriting skiff0's
// base chains keeps them):
//
//	chain user-isolation {   # jumped first from forward: drops only
//	  oifname B iifname != B ct state != established,related ct status != dnat drop
//	  iifname B oifname skiff0 ct state != established,related ct status != dnat drop
//	  # --internal B instead:  iifname B oifname != B drop;  oifname B iifname != B drop
//	}
//	chain user-forward {     # jumped after skiff0's accepts
//	  iifname B accept                                  # (also --internal: within B)
//	  oifname B ct state established,related accept     # not --internal
//	  oifname B ct status dnat accept                   # not --internal
//	}
//	chain user-nat {         # jumped from postrouting; not --internal
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
// Why drops in a chain of their own: every "drop what enters bridge B
// from elsewhere" must be evaluated before any "accept what leaves bridge
// A" (A's `iifname A accept` would pass A -> B otherwise), and putting all
// drops in one chain jumped first makes the order of networks irrelevant.
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
	isolationChain   = "user-isolation"
	userForwardChain = "user-forward"
	userNATChain     = "user-nat"
)

var userChains = []string{isolationChain, userForwardChain, userNATChain}

// userChainsExist: a user network's bridge was made in this namespace, so
// setupTable writes the jumps to the user chains.
func userChainsExist(c *nftables.Conn) bool {
	_, err := c.ListChain(skiffTable, userForwardChain)
	return err == nil
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
	accept := &expr.Verdict{Kind: expr.VerdictAccept}
	if n.Internal {
		return map[string][][]expr.Any{
			isolationChain: {
				concat(ifnameCmp(expr.MetaKeyIIFNAME, expr.CmpOpEq, b), ifnameCmp(expr.MetaKeyOIFNAME, expr.CmpOpNeq, b), drop),
				concat(ifnameCmp(expr.MetaKeyOIFNAME, expr.CmpOpEq, b), ifnameCmp(expr.MetaKeyIIFNAME, expr.CmpOpNeq, b), drop),
			},
			// Within the bridge only (what reaches the forward hook of a
			// host with br_netfilter): the drops above took the rest.
			userForwardChain: {concat(ifnameCmp(expr.MetaKeyIIFNAME, expr.CmpOpEq, b), accept)},
		}
	}
	notReply := concat(ctStateNot(expr.CtStateBitESTABLISHED|expr.CtStateBitRELATED), ctStatusNotDNAT())
	return map[string][][]expr.Any{
		isolationChain: {
			concat(ifnameCmp(expr.MetaKeyOIFNAME, expr.CmpOpEq, b), ifnameCmp(expr.MetaKeyIIFNAME, expr.CmpOpNeq, b), notReply, drop),
			concat(ifnameCmp(expr.MetaKeyIIFNAME, expr.CmpOpEq, b), ifname(expr.MetaKeyOIFNAME, expr.CmpOpEq), notReply, drop),
		},
		userForwardChain: bridgeForwardRules(b),
		userNATChain:     bridgeNATRules(b, n.Subnet),
	}
}

// writeNetworkRules writes n's rules in one batch, replacing any of its
// own or of its device's name (the user chains made if missing), then
// rewrites the base chains (setupTable, with s: skiff0's settings) so
// that they jump to the user chains. Two makers at once each write whole
// batches: the last one's rules stand, never both.
func writeNetworkRules(s settings, n *UserNetwork) error {
	c, err := nftables.New()
	if err != nil {
		return nftError(err)
	}
	stale, err := netRules(c, func(id, bridge string) bool { return id == n.ID || bridge == n.Bridge })
	if err != nil {
		return err
	}
	c.AddTable(skiffTable)
	chains := map[string]*nftables.Chain{}
	for _, name := range userChains {
		chains[name] = c.AddChain(&nftables.Chain{Name: name, Table: skiffTable})
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
	return setupTable(s)
}

// deleteNetworkRules removes every rule whose net tag match accepts.
func deleteNetworkRules(match func(id, bridge string) bool) error {
	c, err := nftables.New()
	if err != nil {
		return nftError(err)
	}
	rules, err := netRules(c, match)
	if err != nil || len(rules) == 0 {
		return err
	}
	for _, r := range rules {
		if err := c.DelRule(r); err != nil {
			return fmt.Errorf("delete rule %d: %w", r.Handle, err)
		}
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
