package dns

import (
	"net"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/net/dns/dnsmessage"
)

// BenchmarkKnownName is one UDP query for a member's name and its reply,
// client and server in this process on 127.0.0.1: allocs/op count both
// sides. rss-kB is the process's resident set after the run.
func BenchmarkKnownName(b *testing.B) {
	benchQueries(b, &Server{Names: members}, "web.")
}

// BenchmarkSharedAlias answers three addresses, rotated.
func BenchmarkSharedAlias(b *testing.B) {
	benchQueries(b, &Server{Names: members}, "api.")
}

// BenchmarkForwarded goes through the server to a fake upstream on
// 127.0.0.1 and back.
func BenchmarkForwarded(b *testing.B) {
	up := startUpstream(b, func(q dnsmessage.Message, _ string) *dnsmessage.Message { return answerA(q, "192.0.2.1") })
	benchQueries(b, &Server{Names: members, Upstreams: []netip.AddrPort{up.addrPort()}}, "example.com.")
}

func benchQueries(b *testing.B, s *Server, name string) {
	ep := serve(b, s)
	c, err := net.Dial("udp", ep.udp)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	q := newQuery(b, 1, name, dnsmessage.TypeA)
	buf := make([]byte, 1500)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := c.Write(q); err != nil {
			b.Fatal(err)
		}
		if _, err := c.Read(buf); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(rssKB()), "rss-kB")
}

// rssKB is VmRSS of /proc/self/status, 0 when unreadable.
func rssKB() int {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil || runtime.GOOS != "linux" {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return n
		}
	}
	return 0
}
