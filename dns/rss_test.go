package dns

import (
	"bufio"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

const rssChildEnv = "SKIFF_DNS_RSS_CHILD"

// The server's resident memory in a process of its own (this test binary
// re-executed: its baseline is the test framework's, the growth is the
// server's), through 50,000 known-name queries and a 50,000-query flood
// to a silent upstream. The monitor's budget with DNS is 8 MB, 4.5 MB of
// it the monitor today: the server may add 3.5 MB.
func TestRSSUnderFlood(t *testing.T) {
	if os.Getenv(rssChildEnv) != "" {
		rssChild()
		return
	}
	if testing.Short() || raceEnabled {
		t.Skip("measures memory over 100,000 queries, without the race detector's")
	}
	child := exec.Command(os.Args[0], "-test.run=^TestRSSUnderFlood$")
	child.Env = append(os.Environ(), rssChildEnv+"=1")
	stdin, _ := child.StdinPipe()
	stdout, _ := child.StdoutPipe()
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer child.Wait()
	defer stdin.Close()
	lines := bufio.NewScanner(stdout)
	rss := func() int {
		fmt.Fprintln(stdin, "rss")
		lines.Scan()
		var kB int
		fmt.Sscan(lines.Text(), &kB)
		return kB
	}
	lines.Scan()
	addr := lines.Text()
	serving := rss()

	c := dialT(t, "udp", addr)
	buf := make([]byte, 1500)
	known := newQuery(t, 1, "web.", dnsmessage.TypeA)
	for range 50000 {
		c.Write(known)
		c.SetReadDeadline(time.Now().Add(time.Second))
		c.Read(buf)
	}
	afterKnown := rss()
	flood := newQuery(t, 2, "flood.example.", dnsmessage.TypeA)
	for range 50000 {
		c.Write(flood)
	}
	afterFlood := rss()
	t.Logf("VmRSS: %d kB serving, %d kB after 50,000 known names, %d kB after a 50,000-query flood", serving, afterKnown, afterFlood)
	if grew := max(afterKnown, afterFlood) - serving; grew > 3500 {
		t.Errorf("resident memory grew %d kB, want at most 3,500", grew)
	}
}

// rssChild serves on 127.0.0.1 with a silent upstream, prints its
// address, then its VmRSS in kB for every line on stdin.
func rssChild() {
	silent, _ := net.ListenPacket("udp4", "127.0.0.1:0")
	udp, _ := net.ListenPacket("udp4", "127.0.0.1:0")
	s := &Server{Names: stored{}, Upstreams: []netip.AddrPort{netip.MustParseAddrPort(silent.LocalAddr().String())}}
	go s.Serve(udp, nil)
	fmt.Println(udp.LocalAddr())
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		fmt.Println(rssKB())
	}
	s.Close()
	os.Exit(0)
}

// stored answers from addresses it holds, as the monitor's records will
// (records, the map of the other tests, makes new slices per lookup).
type stored struct{}

var storedWeb = []netip.Addr{netip.MustParseAddr("172.18.0.2")}

func (stored) Lookup(name string) (v4, v6 []netip.Addr, ok bool) {
	if strings.EqualFold(name, "web") {
		return storedWeb, nil, true
	}
	return nil, nil, false
}
