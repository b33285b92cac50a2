package dns

import (
	"fmt"
	"net"
	"net/netip"
)

// Address is where a container's resolv.conf points on a user network:
// docker's 127.0.0.11, on the container's loopback (127.0.0.0/8 is local
// without adding an address).
var Address = netip.MustParseAddr("127.0.0.11")

// listenTries bounds the search for a port free for both UDP and TCP.
const listenTries = 16

// Listen binds the server's sockets in the calling thread's network
// namespace: UDP on Address at a random port, and TCP on that same port,
// so one rule pair redirects port 53 to both.
func Listen() (net.PacketConn, net.Listener, uint16, error) {
	var lastErr error
	for range listenTries {
		udp, err := net.ListenUDP("udp4", &net.UDPAddr{IP: Address.AsSlice()})
		if err != nil {
			return nil, nil, 0, fmt.Errorf("listening on %s/udp: %w", Address, err)
		}
		port := udp.LocalAddr().(*net.UDPAddr).Port
		tcp, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: Address.AsSlice(), Port: port})
		if err == nil {
			return udp, tcp, uint16(port), nil
		}
		udp.Close()
		lastErr = err
	}
	return nil, nil, 0, fmt.Errorf("listening on %s with one port for UDP and TCP: %w", Address, lastErr)
}

// RedirectRules is the nftables table, in nft's syntax, that sends the
// container's queries to 127.0.0.11:53 to the server's port, for network/
// to write in the container's namespace (network.RedirectDNS, with
// github.com/google/nftables). docker writes the same as iptables DNAT
// rules in the container's namespace (moby's setupIPTable); its SNAT rules for
// the replies are left out: conntrack undoes a DNAT on the replies of the
// connection it made. Only 127.0.0.11 is matched, so a server the
// container runs on its own port 53 keeps every other address.
func RedirectRules(port uint16) string {
	return fmt.Sprintf(`table ip skiff-dns {
	chain output {
		type nat hook output priority dstnat; policy accept;
		ip daddr %[1]s udp dport 53 dnat to %[1]s:%[2]d
		ip daddr %[1]s tcp dport 53 dnat to %[1]s:%[2]d
	}
}
`, Address, port)
}
