// Command i14netprog is the e2e suite's network test program (issue 14),
// built static and put into a test image: busybox's nc has no UDP and
// cannot say which peer address it saw.
//
//	i14netprog tcp-serve ADDR...    accept; reply "peer IP:PORT to IP:PORT\n" (the
//	                                peer, then the server's address) and close
//	i14netprog udp-serve ADDR...    reply to each datagram "peer IP:PORT DATA\n"
//	i14netprog sink ADDR            accept; read to EOF; reply "N\n" (bytes read)
//	i14netprog tcp-dial ADDR        print what the server sent
//	i14netprog udp-dial ADDR MSG    send MSG; print the reply
package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"time"
)

func main() {
	if len(os.Args) < 3 {
		fail(fmt.Errorf("usage: i14netprog tcp-serve|udp-serve|sink|tcp-dial|udp-dial ADDR [MSG]"))
	}
	mode, addrs := os.Args[1], os.Args[2:]
	switch mode {
	case "tcp-serve", "sink":
		for _, a := range addrs {
			l, err := net.Listen("tcp", a)
			if err != nil {
				fail(err)
			}
			go serveTCP(l, mode == "sink")
		}
		fmt.Println("listening")
		select {}
	case "udp-serve":
		for _, a := range addrs {
			c, err := net.ListenPacket("udp", a)
			if err != nil {
				fail(err)
			}
			go serveUDP(c)
		}
		fmt.Println("listening")
		select {}
	case "tcp-dial":
		c, err := net.DialTimeout("tcp", addrs[0], 5*time.Second)
		if err != nil {
			fail(err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.Copy(os.Stdout, c); err != nil {
			fail(err)
		}
	case "udp-dial":
		if len(addrs) < 2 {
			fail(fmt.Errorf("udp-dial ADDR MSG"))
		}
		fmt.Print(udpDial(addrs[0], addrs[1]))
	default:
		fail(fmt.Errorf("unknown mode %q", mode))
	}
}

func serveTCP(l net.Listener, sink bool) {
	for {
		c, err := l.Accept()
		if err != nil {
			fail(err)
		}
		go func() {
			defer c.Close()
			if sink {
				n, _ := io.Copy(io.Discard, c)
				fmt.Fprintf(c, "%d\n", n)
				return
			}
			fmt.Fprintf(c, "peer %s to %s\n", c.RemoteAddr(), c.LocalAddr())
		}()
	}
}

func serveUDP(c net.PacketConn) {
	buf := make([]byte, 2048)
	for {
		n, peer, err := c.ReadFrom(buf)
		if err != nil {
			fail(err)
		}
		c.WriteTo([]byte(fmt.Sprintf("peer %s %s\n", peer, buf[:n])), peer)
	}
}

// udpDial tries a few times: the first datagram may meet a route or a
// neighbour entry not there yet.
func udpDial(addr, msg string) string {
	c, err := net.Dial("udp", addr)
	if err != nil {
		fail(err)
	}
	buf := make([]byte, 2048)
	for try := 0; try < 5; try++ {
		c.Write([]byte(msg))
		c.SetReadDeadline(time.Now().Add(time.Second))
		if n, err := c.Read(buf); err == nil {
			return string(buf[:n])
		}
	}
	fail(fmt.Errorf("no UDP reply from %s", addr))
	return ""
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "i14netprog:", err)
	os.Exit(1)
}
