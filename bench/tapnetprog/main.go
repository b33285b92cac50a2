// Command tapnetprog is the bench's traffic program for the rootless
// network tables (issue 21), built static: the same binary sends and sinks
// in a skiff container on tapnet, in a bare slirp4netns namespace and on
// the host's loopback, so the program's own cost is the same on each line.
// Each mode times itself and prints one line the bench parses.
//
//	tapnetprog send ADDR N      dial, write N bytes in 64 KiB writes, half
//	                            close, read the sink's count; print
//	                            "ns DURATION" (dial to count)
//	tapnetprog connect ADDR N   N times one after the other: dial, read to
//	                            EOF (the server writes a byte and closes);
//	                            print "ns MEDIAN" of the N
//	tapnetprog sink ADDR        accept; read to EOF; reply "N\n" (bytes read)
package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

func main() {
	if len(os.Args) < 3 {
		fail(fmt.Errorf("usage: tapnetprog send|connect ADDR N | sink ADDR"))
	}
	addr := os.Args[2]
	n := 0
	if os.Args[1] != "sink" {
		var err error
		if len(os.Args) < 4 {
			fail(fmt.Errorf("%s ADDR N", os.Args[1]))
		}
		if n, err = strconv.Atoi(os.Args[3]); err != nil || n <= 0 {
			fail(fmt.Errorf("%s: N %q", os.Args[1], os.Args[3]))
		}
	}
	switch os.Args[1] {
	case "send":
		d, err := send(addr, n)
		if err != nil {
			fail(err)
		}
		fmt.Printf("ns %d\n", d.Nanoseconds())
	case "connect":
		ds := make([]time.Duration, 0, n)
		for i := 0; i < n; i++ {
			d, err := connect(addr)
			if err != nil {
				fail(fmt.Errorf("connect #%d: %w", i+1, err))
			}
			ds = append(ds, d)
		}
		slices.Sort(ds)
		fmt.Printf("ns %d\n", ds[len(ds)/2].Nanoseconds())
	case "sink":
		l, err := net.Listen("tcp", addr)
		if err != nil {
			fail(err)
		}
		fmt.Println("listening")
		for {
			c, err := l.Accept()
			if err != nil {
				fail(err)
			}
			go func() {
				defer c.Close()
				n, _ := io.Copy(io.Discard, c)
				fmt.Fprintf(c, "%d\n", n)
			}()
		}
	default:
		fail(fmt.Errorf("unknown mode %q", os.Args[1]))
	}
}

func send(addr string, n int) (time.Duration, error) {
	buf := make([]byte, 64<<10)
	start := time.Now()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(120 * time.Second))
	for left := n; left > 0; left -= len(buf) {
		if _, err := c.Write(buf[:min(left, len(buf))]); err != nil {
			return 0, fmt.Errorf("write to %s: %w", addr, err)
		}
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		return 0, err
	}
	reply, err := io.ReadAll(c)
	d := time.Since(start)
	if err != nil {
		return 0, fmt.Errorf("read the count from %s: %w", addr, err)
	}
	if got := strings.TrimSpace(string(reply)); got != strconv.Itoa(n) {
		return 0, fmt.Errorf("sink at %s read %q bytes, sent %d", addr, got, n)
	}
	return d, nil
}

func connect(addr string) (time.Duration, error) {
	start := time.Now()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	b, err := io.ReadAll(c)
	d := time.Since(start)
	if err != nil || len(b) != 1 {
		return 0, fmt.Errorf("read %d bytes from %s (want 1): %v", len(b), addr, err)
	}
	return d, nil
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "tapnetprog:", err)
	os.Exit(1)
}
