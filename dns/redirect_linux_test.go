package dns

import (
	"encoding/binary"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/net/dns/dnsmessage"
	"golang.org/x/sys/unix"
)

// The redirect RedirectRules describes, written as network/ will write it
// (google/nftables, in the container's namespace): 127.0.0.11:53 reaches
// the server on its random port over UDP and TCP, while the container's
// own server on port 53 keeps 127.0.0.1:53.
func TestRedirectInOwnNamespace(t *testing.T) {
	inOwnNetns(t, func() error {
		udp, tcp, port, err := Listen()
		if err != nil {
			return err
		}
		stop := serveInNetns(udp, tcp)
		defer stop()
		own, err := net.ListenPacket("udp4", "0.0.0.0:53") // the container's own DNS server
		if err != nil {
			return err
		}
		defer own.Close()
		go func() {
			buf := make([]byte, 512)
			for {
				// Not DNS: a reply no resolver takes for the server's.
				if _, from, err := own.ReadFrom(buf); err == nil {
					own.WriteTo([]byte("own:"+string(buf[:2])), from)
				} else {
					return
				}
			}
		}()
		if err := writeRedirect(port); err != nil {
			return fmt.Errorf("writing the redirect (%s): %w", RedirectRules(port), err)
		}
		for _, network := range []string{"udp", "tcp"} {
			if err := expectWeb(t, network, "127.0.0.11:53"); err != nil {
				return err
			}
		}
		// The container's own server still gets its port 53 elsewhere.
		c, err := net.Dial("udp4", "127.0.0.1:53")
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(2 * time.Second))
		c.Write(newQuery(t, 0x4142, "web.", dnsmessage.TypeA))
		buf := make([]byte, 64)
		n, err := c.Read(buf)
		if err != nil || string(buf[:n]) != "own:AB" {
			return fmt.Errorf("the container's own server on 127.0.0.1:53: %q, %v", buf[:n], err)
		}
		return nil
	})
}

// writeRedirect writes RedirectRules(port) with netlink.
func writeRedirect(port uint16) error {
	c, err := nftables.New()
	if err != nil {
		return err
	}
	table := c.AddTable(&nftables.Table{Name: "skiff-dns", Family: nftables.TableFamilyIPv4})
	prio := nftables.ChainPriorityNATDest
	chain := c.AddChain(&nftables.Chain{Name: "output", Table: table, Type: nftables.ChainTypeNAT,
		Hooknum: nftables.ChainHookOutput, Priority: prio})
	for _, proto := range []byte{unix.IPPROTO_UDP, unix.IPPROTO_TCP} {
		c.AddRule(&nftables.Rule{Table: table, Chain: chain, Exprs: []expr.Any{
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: Address.AsSlice()},
			&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{proto}},
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binary.BigEndian.AppendUint16(nil, 53)},
			&expr.Immediate{Register: 1, Data: Address.AsSlice()},
			&expr.Immediate{Register: 2, Data: binary.BigEndian.AppendUint16(nil, port)},
			&expr.NAT{Type: expr.NATTypeDestNAT, Family: unix.NFPROTO_IPV4, RegAddrMin: 1, RegProtoMin: 2, Specified: true},
		}})
	}
	return c.Flush()
}
