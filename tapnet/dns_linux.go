package tapnet

import (
	"net"
	"time"
)

// dnsTimeout is how long one resolver has to answer before the next is
// asked (glibc's default per-server timeout is 5s; a resolver that is down
// must not cost the container's own retry).
const dnsTimeout = 2 * time.Second

// dnsIdle ends a container's DNS flow: a resolver uses a new source port
// per lookup or two, so a flow is done in milliseconds and 120s of UDP's
// idle would keep thousands of them.
const dnsIdle = 10 * time.Second

// serveDNS answers the container's queries at 10.0.2.3 over UDP: each query
// goes to the resolvers in turn, the first reply comes back unchanged.
func (s *Stack) serveDNS(in net.Conn) {
	if !s.hold(in) {
		in.Close()
		return
	}
	defer func() { in.Close(); s.release(in) }()
	buf := make([]byte, 65535)
	for {
		in.SetReadDeadline(time.Now().Add(dnsIdle))
		n, err := in.Read(buf)
		if err != nil {
			return
		}
		if reply := s.resolve(buf[:n]); reply != nil {
			in.Write(reply)
		}
	}
}

// resolve sends query to each resolver until one replies; nil if none did
// (the container's resolver then retries, as after a lost datagram).
func (s *Stack) resolve(query []byte) []byte {
	for _, r := range s.cfg.Resolvers {
		if reply := ask(r.String(), query); reply != nil {
			return reply
		}
		if s.ctx.Err() != nil {
			return nil
		}
	}
	return nil
}

func ask(server string, query []byte) []byte {
	c, err := net.Dial("udp", server)
	if err != nil {
		return nil
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(dnsTimeout))
	if _, err := c.Write(query); err != nil {
		return nil
	}
	buf := make([]byte, 65535)
	for {
		n, err := c.Read(buf)
		if err != nil {
			return nil
		}
		// The reply's id must be the query's: a late reply to an earlier
		// query on a reused port is not this one's answer.
		if n >= 2 && len(query) >= 2 && buf[0] == query[0] && buf[1] == query[1] {
			return buf[:n]
		}
	}
}
