package dns

import (
	"net/netip"
	"strings"

	"golang.org/x/net/dns/dnsmessage"
)

const (
	headerLen  = 12
	minUDPSize = 512 // a reply's limit without EDNS (RFC 1035 4.2.1)
	maxTCPSize = 0xffff
)

// query is what the server reads of a client's message.
type query struct {
	header   dnsmessage.Header
	question dnsmessage.Question
	limit    int // the size the client takes a reply of
}

// answerLocally reads a client's message and answers what needs no
// upstream: a known name, or an error for a message it cannot take.
// forward says the query goes upstream; reply is nil when there is
// nothing to send (a response, or fewer bytes than a header). The reply is
// written into out's array when it fits: the caller's buffer, reused per
// query, so that answering a member's name makes next to no garbage.
func (s *Server) answerLocally(pkt []byte, tcp bool, out []byte) (reply []byte, q query, forward bool) {
	q, rcode, ok := parseQuery(pkt, tcp)
	if !ok {
		return nil, q, false
	}
	if rcode != dnsmessage.RCodeSuccess {
		return errorReply(q, rcode, out), q, false
	}
	if q.question.Class != dnsmessage.ClassINET || s.Names == nil {
		return nil, q, true
	}
	v4, v6, known := s.Names.Lookup(normalize(q.question.Name))
	if !known {
		return nil, q, true
	}
	switch q.question.Type {
	case dnsmessage.TypeA:
		return s.addressReply(q, v4, out), q, false
	case dnsmessage.TypeAAAA:
		return s.addressReply(q, v6, out), q, false
	default:
		return s.addressReply(q, nil, out), q, false
	}
}

// parseQuery takes a client's message apart. ok is false for what gets
// no reply at all: fewer bytes than a header, or a response (answering
// one could loop two servers). rcode is an error to reply with: NOTIMP
// for an opcode other than QUERY, FORMERR for anything but one readable
// question. miekg/dns's default acceptance, which docker's server uses,
// draws the same lines.
func parseQuery(pkt []byte, tcp bool) (q query, rcode dnsmessage.RCode, ok bool) {
	var p dnsmessage.Parser
	h, err := p.Start(pkt)
	if err != nil {
		return q, 0, false
	}
	q.header = h
	if h.Response {
		return q, 0, false
	}
	if h.OpCode != 0 {
		return q, dnsmessage.RCodeNotImplemented, true
	}
	if h := pkt[4:6]; h[0] != 0 || h[1] != 1 { // QDCOUNT: one question, as every server takes
		return q, dnsmessage.RCodeFormatError, true
	}
	if q.question, err = p.Question(); err != nil {
		return q, dnsmessage.RCodeFormatError, true
	}
	if err := p.SkipAllQuestions(); err != nil {
		return q, dnsmessage.RCodeFormatError, true
	}
	q.limit = maxTCPSize
	if !tcp {
		size, err := ednsSize(&p)
		if err != nil {
			return q, dnsmessage.RCodeFormatError, true
		}
		q.limit = max(minUDPSize, size)
	}
	return q, dnsmessage.RCodeSuccess, true
}

// ednsSize is the UDP payload size of the message's OPT record, 0 without
// one.
func ednsSize(p *dnsmessage.Parser) (int, error) {
	if err := p.SkipAllAnswers(); err != nil {
		return 0, err
	}
	if err := p.SkipAllAuthorities(); err != nil {
		return 0, err
	}
	for {
		h, err := p.AdditionalHeader()
		if err == dnsmessage.ErrSectionDone {
			return 0, nil
		}
		if err != nil {
			return 0, err
		}
		if h.Type == dnsmessage.TypeOPT {
			return int(h.Class), nil // OPT's class is the payload size (RFC 6891 6.1.2)
		}
		if err := p.SkipAdditional(); err != nil {
			return 0, err
		}
	}
}

// normalize is a question's name as the records know it: lowercase,
// without the trailing dot.
func normalize(n dnsmessage.Name) string {
	return strings.ToLower(strings.TrimSuffix(n.String(), "."))
}

// replyHeader is docker's reply header: the client's id, opcode and
// recursion desired flag, recursion available.
func replyHeader(q query, rcode dnsmessage.RCode) dnsmessage.Header {
	return dnsmessage.Header{
		ID:                 q.header.ID,
		Response:           true,
		OpCode:             q.header.OpCode,
		RecursionDesired:   q.header.RecursionDesired,
		RecursionAvailable: true,
		RCode:              rcode,
	}
}

// errorReply is a header-only reply with rcode. A FORMERR echoes no
// question: the client's could not be read.
func errorReply(q query, rcode dnsmessage.RCode, out []byte) []byte {
	h := replyHeader(q, rcode)
	b := dnsmessage.NewBuilder(out[:0], h)
	msg, err := b.Finish()
	if err != nil {
		return nil
	}
	return msg
}

// serverFailure is SERVFAIL for a readable question, as a client expects
// it: the question echoed.
func serverFailure(q query) []byte {
	msg, _ := buildAnswer(nil, q, dnsmessage.RCodeServerFailure, nil, 0, 0, false)
	return msg
}

// addressReply answers a known name with addrs, rotated by one place per
// reply, as many as fit the client's limit (TC set when some do not).
func (s *Server) addressReply(q query, addrs []netip.Addr, out []byte) []byte {
	start := 0
	if len(addrs) > 1 {
		start = int(s.rotation.Add(1) % uint32(len(addrs)))
	}
	msg, err := buildAnswer(out, q, dnsmessage.RCodeSuccess, addrs, start, len(addrs), false)
	if err != nil {
		return serverFailure(q)
	}
	if len(msg) <= q.limit {
		return msg
	}
	// Every record of one name and family has the same size: keep as
	// many as fit.
	per := (len(msg) - emptyAnswerLen(q)) / len(addrs)
	fit := (q.limit - emptyAnswerLen(q)) / per
	msg, err = buildAnswer(out, q, dnsmessage.RCodeSuccess, addrs, start, fit, true)
	if err != nil {
		return serverFailure(q)
	}
	return msg
}

// emptyAnswerLen is the size of a reply to q without records: the header
// and the question (a name's wire form is its text and one byte more, the
// root's one byte).
func emptyAnswerLen(q query) int {
	name := int(q.question.Name.Length) + 1
	if q.question.Name.Length <= 1 {
		name = 1
	}
	return headerLen + name + 4
}

// buildAnswer writes a reply echoing the question with n of addrs,
// starting at start and wrapping around, each as the record of its
// family, into out's array (a new one when out is nil or short). Like
// docker's, the reply is not compressed: no name table to allocate.
func buildAnswer(out []byte, q query, rcode dnsmessage.RCode, addrs []netip.Addr, start, n int, truncated bool) ([]byte, error) {
	h := replyHeader(q, rcode)
	h.Truncated = truncated
	b := dnsmessage.NewBuilder(out[:0], h)
	if err := b.StartQuestions(); err != nil {
		return nil, err
	}
	if err := b.Question(q.question); err != nil {
		return nil, err
	}
	if err := b.StartAnswers(); err != nil {
		return nil, err
	}
	rh := dnsmessage.ResourceHeader{Name: q.question.Name, Class: dnsmessage.ClassINET, TTL: answerTTL}
	for i := range n {
		a := addrs[(start+i)%len(addrs)].Unmap()
		var err error
		if a.Is4() {
			err = b.AResource(rh, dnsmessage.AResource{A: a.As4()})
		} else {
			err = b.AAAAResource(rh, dnsmessage.AAAAResource{AAAA: a.As16()})
		}
		if err != nil {
			return nil, err
		}
	}
	return b.Finish()
}
