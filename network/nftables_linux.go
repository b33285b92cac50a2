package network

// skiff's nftables table, the only one it ever changes (other tools' rules
// stay as they are):
//
//	table ip skiff {
//	  chain prerouting  { type nat hook prerouting priority dstnat; jump published }
//	  chain output      { type nat hook output priority dstnat; jump published }
//	  chain published   { one DNAT rule per published port or range, its comment the container's id }
//	  chain postrouting { type nat hook postrouting priority srcnat
//	    ip saddr <subnet> oifname != skiff0 masquerade            # outbound NAT
//	    ct status dnat ip saddr <subnet> oifname skiff0 masquerade # hairpin
//	    ip saddr 127.0.0.0/8 oifname skiff0 masquerade             # 127.0.0.1:port
//	  }
//	  set bridges { type ifname; elements = { skiff0, <user networks' bridges> } }
//	  chain forward { type filter hook forward priority filter; policy drop|accept
//	    iifname @bridges accept
//	    oifname @bridges ct state established,related accept
//	    oifname @bridges ct status dnat accept
//	  }
//	  chain user-isolation { ... } # user networks' drops and masquerades, in
//	  chain user-nat { ... }       # base chains of their own (usernft_linux.go)
//	}
//
// A published rule: `fib daddr type local` (no host IP: every local
// address, 127.0.0.1 included, as the output chain sees it) or `ip daddr
// <host IP>`, then `meta l4proto tcp|udp th dport <port or range>`, then
// `dnat to <container>` (a range with equal ports keeps the port: one
// rule for a whole range) or `dnat to <container>:<port>` (one rule per
// port when host and container ports differ).
// skiff0's base chains (prerouting, output, postrouting, forward) are
// flushed and written again whenever the bridge is made; the published
// chain, the bridges set and the user networks' chains are left alone, so running containers keep their ports and user
// networks their rules. The forward chain accepts for every bridge of the
// set, so a user network adds its bridge there rather than rules here.

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"golang.org/x/sys/unix"
)

const (
	tableName      = "skiff"
	publishedChain = "published"
	ipsDstNAT      = 1 << 5 // conntrack's IPS_DST_NAT status bit
)

var skiffTable = &nftables.Table{Name: tableName, Family: nftables.TableFamilyIPv4}

func publishedChainRef() *nftables.Chain {
	return &nftables.Chain{Name: publishedChain, Table: skiffTable}
}

// setupTable writes skiff's table for s in one batch; a kernel without
// nf_tables fails it with ErrNoNftables.
func setupTable(s settings) error {
	c, err := nftables.New()
	if err != nil {
		return nftError(err)
	}
	policy := nftables.ChainPolicyAccept
	if s.ForwardDrop {
		policy = nftables.ChainPolicyDrop
	}
	c.AddTable(skiffTable)
	if err := c.AddSet(bridgesSet(), []nftables.SetElement{{Key: ifnameKey(BridgeInterface)}}); err != nil {
		return fmt.Errorf("write nftables set %s: %w", bridgesSetName, err)
	}
	published := c.AddChain(publishedChainRef())
	pre := c.AddChain(&nftables.Chain{Name: "prerouting", Table: skiffTable, Type: nftables.ChainTypeNAT,
		Hooknum: nftables.ChainHookPrerouting, Priority: nftables.ChainPriorityNATDest})
	out := c.AddChain(&nftables.Chain{Name: "output", Table: skiffTable, Type: nftables.ChainTypeNAT,
		Hooknum: nftables.ChainHookOutput, Priority: nftables.ChainPriorityNATDest})
	post := c.AddChain(&nftables.Chain{Name: "postrouting", Table: skiffTable, Type: nftables.ChainTypeNAT,
		Hooknum: nftables.ChainHookPostrouting, Priority: nftables.ChainPriorityNATSource})
	fwd := c.AddChain(&nftables.Chain{Name: "forward", Table: skiffTable, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookForward, Priority: nftables.ChainPriorityFilter, Policy: &policy})
	for _, ch := range []*nftables.Chain{pre, out, post, fwd} {
		c.FlushChain(ch)
	}
	jump := []expr.Any{&expr.Verdict{Kind: expr.VerdictJump, Chain: published.Name}}
	c.AddRule(&nftables.Rule{Table: skiffTable, Chain: pre, Exprs: jump})
	c.AddRule(&nftables.Rule{Table: skiffTable, Chain: out, Exprs: jump})

	for _, r := range bridgeNATRules(BridgeInterface, s.Subnet) {
		c.AddRule(&nftables.Rule{Table: skiffTable, Chain: post, Exprs: r})
	}
	accept := &expr.Verdict{Kind: expr.VerdictAccept}
	for _, r := range [][]expr.Any{
		concat(inBridges(expr.MetaKeyIIFNAME), accept),
		concat(inBridges(expr.MetaKeyOIFNAME), ctState(expr.CtStateBitESTABLISHED|expr.CtStateBitRELATED), accept),
		concat(inBridges(expr.MetaKeyOIFNAME), ctStatusDNAT(), accept),
	} {
		c.AddRule(&nftables.Rule{Table: skiffTable, Chain: fwd, Exprs: r})
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("write nftables table ip %s: %w", tableName, nftError(err))
	}
	return nil
}

// bridgeNATRules are a bridge's masquerades: what leaves its subnet for
// elsewhere, hairpin (a container reaching a published port of its own
// bridge through the host's address) and 127.0.0.1's published ports.
func bridgeNATRules(bridge string, subnet netip.Prefix) [][]expr.Any {
	masq := &expr.Masq{}
	return [][]expr.Any{
		concat(saddrIn(subnet), ifnameCmp(expr.MetaKeyOIFNAME, expr.CmpOpNeq, bridge), masq),
		concat(ctStatusDNAT(), saddrIn(subnet), ifnameCmp(expr.MetaKeyOIFNAME, expr.CmpOpEq, bridge), masq),
		concat(saddrIn(netip.MustParsePrefix("127.0.0.0/8")), ifnameCmp(expr.MetaKeyOIFNAME, expr.CmpOpEq, bridge), masq),
	}
}

const bridgesSetName = "bridges"

// bridgesSet is the set of skiff's bridges: skiff0 and every user
// network's, whose traffic the forward chain accepts (what crosses from
// one to another the user networks' isolation chain dropped before).
func bridgesSet() *nftables.Set {
	return &nftables.Set{Table: skiffTable, Name: bridgesSetName, KeyType: nftables.TypeIFName}
}

// ifnameKey is name as the kernel compares interface names: IFNAMSIZ
// bytes, zero-padded.
func ifnameKey(name string) []byte {
	b := make([]byte, unix.IFNAMSIZ)
	copy(b, name)
	return b
}

// inBridges is `iifname @bridges` or `oifname @bridges`.
func inBridges(key expr.MetaKey) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: key, Register: 1},
		&expr.Lookup{SourceRegister: 1, SetName: bridgesSetName},
	}
}

// forwardDrops: skiff's forward chain exists with policy drop.
func forwardDrops() bool {
	c, err := nftables.New()
	if err != nil {
		return false
	}
	ch, err := c.ListChain(skiffTable, "forward")
	return err == nil && ch.Policy != nil && *ch.Policy == nftables.ChainPolicyDrop
}

// nftError is ErrNoNftables for the errors of a kernel without nf_tables
// (no nfnetlink: the socket fails; no nf_tables: the batch is refused).
func nftError(err error) error {
	for _, no := range []error{unix.EPROTONOSUPPORT, unix.EAFNOSUPPORT, unix.EOPNOTSUPP} {
		if errors.Is(err, no) {
			return fmt.Errorf("%w (%v)", ErrNoNftables, err)
		}
	}
	return err
}

// addPortRules adds the DNAT rules of ports to addr, tagged with id, in
// one batch.
func addPortRules(id string, addr netip.Addr, ports []PortMap) error {
	c, err := nftables.New()
	if err != nil {
		return nftError(err)
	}
	chain := publishedChainRef()
	n := 0
	for _, pm := range ports {
		for _, r := range portRules(addr, pm) {
			c.AddRule(&nftables.Rule{Table: skiffTable, Chain: chain, Exprs: r, UserData: idTag(id)})
			n++
		}
	}
	if n == 0 {
		return nil
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("add the published ports' rules: %w", nftError(err))
	}
	return nil
}

// portRules are pm's DNAT rules: one for a range whose host and container
// ports are equal (the port is kept), one per port otherwise; none for an
// IPv6 host address (served by the ::1 forwarder only).
func portRules(addr netip.Addr, pm PortMap) [][]expr.Any {
	var match []expr.Any
	switch {
	case !pm.HostIP.IsValid():
		match = localDaddr()
	case pm.HostIP.Is4():
		match = daddrIs(pm.HostIP)
	default:
		return nil
	}
	match = append(match, l4proto(pm.Proto)...)
	count := max(pm.Count, 1)
	if pm.HostPort == pm.ContainerPort {
		return [][]expr.Any{concat(match, dport(pm.HostPort, pm.HostPort+count-1), dnat(addr, 0))}
	}
	rules := make([][]expr.Any, 0, count)
	for i := range count {
		rules = append(rules, concat(match, dport(pm.HostPort+i, pm.HostPort+i), dnat(addr, pm.ContainerPort+i)))
	}
	return rules
}

// deleteRulesOf removes every rule of skiff's published chain whose tag is
// one of ids; a missing table or chain has none.
func deleteRulesOf(ids map[string]bool) error {
	return deletePublished(func(id string, _ *nftables.Rule) bool { return ids[id] })
}

// deleteRulesTo removes id's published rules that DNAT to addr: its ports
// on one network of several.
func deleteRulesTo(id string, addr netip.Addr) error {
	return deletePublished(func(tag string, r *nftables.Rule) bool { return tag == id && dnatsTo(r, addr) })
}

// dnatsTo: r is a DNAT to addr (its address loaded by an immediate).
func dnatsTo(r *nftables.Rule, addr netip.Addr) bool {
	to, nat := false, false
	for _, e := range r.Exprs {
		switch e := e.(type) {
		case *expr.Immediate:
			to = to || bytes.Equal(e.Data, addr.AsSlice())
		case *expr.NAT:
			nat = e.Type == expr.NATTypeDestNAT
		}
	}
	return to && nat
}

// deletePublished removes the published rules match accepts (given each
// rule's tag).
func deletePublished(match func(tag string, r *nftables.Rule) bool) error {
	c, err := nftables.New()
	if err != nil {
		return nftError(err)
	}
	rules, err := c.GetRules(skiffTable, publishedChainRef())
	if errors.Is(err, unix.ENOENT) {
		return nil
	} else if err != nil {
		return fmt.Errorf("list the published ports' rules: %w", nftError(err))
	}
	n := 0
	for _, r := range rules {
		if id, ok := userdata.GetString(r.UserData, userdata.TypeComment); ok && match(id, r) {
			if err := c.DelRule(r); err != nil {
				return fmt.Errorf("delete rule %d: %w", r.Handle, err)
			}
			n++
		}
	}
	if n == 0 {
		return nil
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("delete the published ports' rules: %w", err)
	}
	return nil
}

// idTag is the rule's comment: the container's id (`nft list table ip
// skiff` shows whose rule it is).
func idTag(id string) []byte { return userdata.AppendString(nil, userdata.TypeComment, id) }

func concat(parts ...any) []expr.Any {
	var out []expr.Any
	for _, p := range parts {
		switch p := p.(type) {
		case []expr.Any:
			out = append(out, p...)
		case expr.Any:
			out = append(out, p)
		}
	}
	return out
}

// ifname matches the input or output interface's name against skiff0.
func ifname(key expr.MetaKey, op expr.CmpOp) []expr.Any {
	return ifnameCmp(key, op, BridgeInterface)
}

// ifnameCmp matches the input or output interface's name against dev.
func ifnameCmp(key expr.MetaKey, op expr.CmpOp, dev string) []expr.Any {
	name := make([]byte, unix.IFNAMSIZ)
	copy(name, dev)
	return []expr.Any{
		&expr.Meta{Key: key, Register: 1},
		&expr.Cmp{Op: op, Register: 1, Data: name},
	}
}

// saddrIn is `ip saddr <p>`.
func saddrIn(p netip.Prefix) []expr.Any {
	p = p.Masked()
	mask := ipNet(p).Mask
	return []expr.Any{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 12, Len: 4},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: mask, Xor: make([]byte, 4)},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: p.Addr().AsSlice()},
	}
}

// daddrIs is `ip daddr <a>`.
func daddrIs(a netip.Addr) []expr.Any {
	return []expr.Any{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: a.AsSlice()},
	}
}

// localDaddr is `fib daddr type local`: any address of this host.
func localDaddr() []expr.Any {
	return []expr.Any{
		&expr.Fib{Register: 1, FlagDADDR: true, ResultADDRTYPE: true},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binary.NativeEndian.AppendUint32(nil, unix.RTN_LOCAL)},
	}
}

func l4proto(proto string) []expr.Any {
	p := byte(unix.IPPROTO_TCP)
	if proto == "udp" {
		p = unix.IPPROTO_UDP
	}
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{p}},
	}
}

// dport is `th dport <from>` or `th dport <from>-<to>`.
func dport(from, to uint16) []expr.Any {
	load := &expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2}
	if from == to {
		return []expr.Any{load, &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: be16(from)}}
	}
	return []expr.Any{load, &expr.Range{Op: expr.CmpOpEq, Register: 1, FromData: be16(from), ToData: be16(to)}}
}

// dnat is `dnat to <addr>` (port 0: the packet's port kept) or
// `dnat to <addr>:<port>`.
func dnat(addr netip.Addr, port uint16) []expr.Any {
	out := []expr.Any{&expr.Immediate{Register: 1, Data: addr.AsSlice()}}
	nat := &expr.NAT{Type: expr.NATTypeDestNAT, Family: unix.NFPROTO_IPV4, RegAddrMin: 1}
	if port != 0 {
		out = append(out, &expr.Immediate{Register: 2, Data: be16(port)})
		nat.RegProtoMin = 2
		nat.Specified = true
	}
	return append(out, nat)
}

// ctStatusDNAT is `ct status dnat`.
func ctStatusDNAT() []expr.Any {
	return ctBits(expr.CtKeySTATUS, ipsDstNAT)
}

// ctState is `ct state <bits>`.
func ctState(bits uint32) []expr.Any { return ctBits(expr.CtKeySTATE, bits) }

// ctStateNot and ctStatusNotDNAT are the negations: `ct state !=
// established,related` (new, invalid, untracked) and `ct status != dnat`.
func ctStateNot(bits uint32) []expr.Any { return ctBitsCmp(expr.CtKeySTATE, bits, expr.CmpOpEq) }
func ctStatusNotDNAT() []expr.Any       { return ctBitsCmp(expr.CtKeySTATUS, ipsDstNAT, expr.CmpOpEq) }

// ctBits: one of bits is set.
func ctBits(key expr.CtKey, bits uint32) []expr.Any { return ctBitsCmp(key, bits, expr.CmpOpNeq) }

// ctBitsCmp compares key's bits masked by bits with zero: Neq, one is
// set; Eq, none is.
func ctBitsCmp(key expr.CtKey, bits uint32, op expr.CmpOp) []expr.Any {
	return []expr.Any{
		&expr.Ct{Register: 1, Key: key},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
			Mask: binary.NativeEndian.AppendUint32(nil, bits), Xor: make([]byte, 4)},
		&expr.Cmp{Op: op, Register: 1, Data: make([]byte, 4)},
	}
}

func be16(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }

// skiffPublishes: a rule of skiff's published chain DNATs proto's port
// (only asked when binding the port failed, to word the error).
func skiffPublishes(proto string, port uint16) bool {
	c, err := nftables.New()
	if err != nil {
		return false
	}
	rules, err := c.GetRules(skiffTable, publishedChainRef())
	if err != nil {
		return false
	}
	want := l4proto(proto)[1].(*expr.Cmp).Data
	for _, r := range rules {
		if ruleProto(r) == string(want) && ruleCoversPort(r, port) {
			return true
		}
	}
	return false
}

// ruleProto is the protocol byte a published rule matches, "" if none.
func ruleProto(r *nftables.Rule) string {
	for i, e := range r.Exprs {
		if m, ok := e.(*expr.Meta); ok && m.Key == expr.MetaKeyL4PROTO && i+1 < len(r.Exprs) {
			if c, ok := r.Exprs[i+1].(*expr.Cmp); ok {
				return string(c.Data)
			}
		}
	}
	return ""
}

// ruleCoversPort: the rule's `th dport` equals port or its range holds it.
func ruleCoversPort(r *nftables.Rule, port uint16) bool {
	for i, e := range r.Exprs {
		p, ok := e.(*expr.Payload)
		if !ok || p.Base != expr.PayloadBaseTransportHeader || p.Offset != 2 || i+1 >= len(r.Exprs) {
			continue
		}
		switch m := r.Exprs[i+1].(type) {
		case *expr.Cmp:
			return len(m.Data) == 2 && binary.BigEndian.Uint16(m.Data) == port
		case *expr.Range:
			return len(m.FromData) == 2 && len(m.ToData) == 2 &&
				binary.BigEndian.Uint16(m.FromData) <= port && port <= binary.BigEndian.Uint16(m.ToData)
		}
	}
	return false
}
