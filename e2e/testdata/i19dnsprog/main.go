// Command i19dnsprog is the e2e suite's and the bench's client for names
// between containers (issue 19), built static and put into a test image:
// busybox-static's wget crashes (SIGSEGV before it connects, Debian's
// 1.35), and busybox has no DNS client that can be timed.
//
//	i19dnsprog get URL              HTTP GET (3 s); print the body; exit 1 on
//	                                an error or a status other than 200. The
//	                                name is resolved as any Go program does:
//	                                /etc/hosts, then resolv.conf's servers.
//	i19dnsprog bench NAME N         N A queries of NAME, one at a time over UDP,
//	                                to resolv.conf's first name server; print
//	                                "median MICROS p90 MICROS answers N".
package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

func main() {
	if len(os.Args) < 3 {
		fail(fmt.Errorf("usage: i19dnsprog get URL | bench NAME N"))
	}
	switch os.Args[1] {
	case "get":
		get(os.Args[2])
	case "bench":
		if len(os.Args) < 4 {
			fail(fmt.Errorf("bench NAME N"))
		}
		n, err := strconv.Atoi(os.Args[3])
		if err != nil || n <= 0 {
			fail(fmt.Errorf("bench: N %q", os.Args[3]))
		}
		bench(os.Args[2], n)
	default:
		fail(fmt.Errorf("unknown mode %q", os.Args[1]))
	}
}

func get(url string) {
	resp, err := (&http.Client{Timeout: 3 * time.Second}).Get(url)
	if err != nil {
		fail(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		fail(err)
	}
	if resp.StatusCode != http.StatusOK {
		fail(fmt.Errorf("GET %s: %s", url, resp.Status))
	}
	os.Stdout.Write(body)
}

// bench times n queries, each its own round trip on one socket.
func bench(name string, n int) {
	server, err := firstNameserver()
	if err != nil {
		fail(err)
	}
	c, err := net.Dial("udp", net.JoinHostPort(server, "53"))
	if err != nil {
		fail(err)
	}
	defer c.Close()
	buf := make([]byte, 1500)
	durs := make([]time.Duration, 0, n)
	answers := 0
	for i := range n {
		q := query(uint16(i), name)
		start := time.Now()
		c.SetDeadline(start.Add(2 * time.Second))
		if _, err := c.Write(q); err != nil {
			fail(err)
		}
		m, err := c.Read(buf)
		if err != nil {
			fail(fmt.Errorf("query %d of %s to %s: %w", i, name, server, err))
		}
		durs = append(durs, time.Since(start))
		var p dnsmessage.Parser
		h, err := p.Start(buf[:m])
		if err == nil && h.ID == uint16(i) && h.RCode == dnsmessage.RCodeSuccess {
			if p.SkipAllQuestions() == nil {
				if a, err := p.AllAnswers(); err == nil && len(a) > 0 {
					answers++
				}
			}
		}
	}
	slices.Sort(durs)
	fmt.Printf("median %d p90 %d answers %d\n", durs[n/2].Microseconds(), durs[n*9/10].Microseconds(), answers)
}

func query(id uint16, name string) []byte {
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: id, RecursionDesired: true})
	b.StartQuestions()
	b.Question(dnsmessage.Question{Name: dnsmessage.MustNewName(strings.TrimSuffix(name, ".") + "."),
		Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET})
	msg, err := b.Finish()
	if err != nil {
		fail(err)
	}
	return msg
}

func firstNameserver() (string, error) {
	f, err := os.Open("/etc/resolv.conf")
	if err != nil {
		return "", err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if fs := strings.Fields(s.Text()); len(fs) >= 2 && fs[0] == "nameserver" {
			return fs[1], nil
		}
	}
	return "", fmt.Errorf("no nameserver in /etc/resolv.conf")
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "i19dnsprog:", err)
	os.Exit(1)
}
