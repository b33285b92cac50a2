package dns

import (
	"context"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"net"
	"net/netip"
	"strings"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// maxUDPAnswer bounds the buffer an upstream's UDP answer is read into;
// an answer larger than that is taken as truncated and asked again over
// TCP.
const maxUDPAnswer = 4096

// forward sends a client's query to the upstreams in turn and returns the
// first usable answer with the client's id: an upstream silent for
// TryTimeout, unreachable, or answering SERVFAIL or REFUSED passes it to
// the next. A client on UDP is asked for over UDP, then over TCP when the
// answer is truncated (the full answer is relayed when it fits the
// client's limit, else the truncated one, and the client retries over
// TCP); a client on TCP over TCP. With no usable answer the client gets
// the last upstream's failure, or SERVFAIL.
func (s *Server) forward(pkt []byte, q query, tcp bool) []byte {
	var last []byte
	for _, up := range s.upstreams() {
		if s.ctx.Err() != nil {
			return nil
		}
		answer, err := s.tryUpstream(up, pkt, q, tcp)
		if err != nil {
			continue
		}
		last = answer
		if rc := rcode(answer); rc == dnsmessage.RCodeServerFailure || rc == dnsmessage.RCodeRefused {
			continue
		}
		break
	}
	if last == nil {
		return serverFailure(q)
	}
	binary.BigEndian.PutUint16(last, q.header.ID)
	return last
}

// tryUpstream is one upstream's answer to pkt, asked under a fresh id
// (the client's may be guessable; the reply gets it back in forward).
func (s *Server) tryUpstream(up netip.AddrPort, pkt []byte, q query, tcp bool) ([]byte, error) {
	out := append([]byte(nil), pkt...)
	id := uint16(rand.Uint32())
	binary.BigEndian.PutUint16(out, id)
	if tcp {
		return s.exchange(up, "tcp", out, id, q)
	}
	answer, err := s.exchange(up, "udp", out, id, q)
	if err != nil || !truncated(answer) {
		return answer, err
	}
	full, err := s.exchange(up, "tcp", out, id, q)
	if err != nil || len(full) > q.limit {
		return answer, nil
	}
	return full, nil
}

// exchange sends msg to up over network and reads the answer to it, within
// TryTimeout and no longer than the server lives. A datagram that is not
// that answer (another id, another question) is skipped.
func (s *Server) exchange(up netip.AddrPort, network string, msg []byte, id uint16, q query) ([]byte, error) {
	ctx, cancel := context.WithTimeout(s.ctx, s.TryTimeout)
	defer cancel()
	dial := s.Dial
	if dial == nil {
		var d net.Dialer
		dial = d.DialContext
	}
	c, err := dial(ctx, network, up.String())
	if err != nil {
		return nil, err
	}
	defer c.Close()
	deadline, _ := ctx.Deadline()
	c.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Now()) }) // Close gives up at once
	defer stop()
	if network == "tcp" {
		if err := writeFramed(c, msg); err != nil {
			return nil, err
		}
		answer, err := readFramed(c)
		if err != nil {
			return nil, err
		}
		if !answers(answer, id, q) {
			return nil, errNotTheAnswer
		}
		return answer, nil
	}
	if _, err := c.Write(msg); err != nil {
		return nil, err
	}
	buf := make([]byte, maxUDPAnswer)
	for {
		n, err := c.Read(buf)
		if err != nil {
			return nil, err
		}
		if n == len(buf) { // more than the buffer: a truncated answer, TCP brings it whole
			if answers(buf[:headerLen], id, query{}) {
				return truncatedReply(q, id), nil
			}
			continue
		}
		if answers(buf[:n], id, q) {
			return buf[:n], nil
		}
	}
}

var errNotTheAnswer = errors.New("upstream's reply does not answer the query")

// answers says msg is the answer to the query with id: a response with
// that id and, when q has a question, the same one (names compared
// without regard to case). A zero q checks the header only.
func answers(msg []byte, id uint16, q query) bool {
	var p dnsmessage.Parser
	h, err := p.Start(msg)
	if err != nil || !h.Response || h.ID != id {
		return false
	}
	if q.question.Name.Length == 0 {
		return true
	}
	got, err := p.Question()
	if err != nil {
		return false
	}
	return got.Type == q.question.Type && got.Class == q.question.Class &&
		strings.EqualFold(got.Name.String(), q.question.Name.String())
}

// truncatedReply is an empty answer to q under id with TC set: what the
// client gets of an answer too large to read, so that it asks over TCP.
func truncatedReply(q query, id uint16) []byte {
	msg, _ := buildAnswer(nil, q, dnsmessage.RCodeSuccess, nil, 0, 0, true)
	if msg != nil {
		binary.BigEndian.PutUint16(msg, id)
	}
	return msg
}

// truncated says msg's TC bit is set.
func truncated(msg []byte) bool { return len(msg) > 2 && msg[2]&0x02 != 0 }

// rcode is msg's response code (the header's four bits).
func rcode(msg []byte) dnsmessage.RCode { return dnsmessage.RCode(msg[3] & 0x0f) }
