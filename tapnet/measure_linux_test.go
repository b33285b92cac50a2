package tapnet

import (
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

// BenchmarkThroughput: TCP from the container through the stack to an
// upstream socket (b.SetBytes: go test reports MB/s).
func BenchmarkThroughput(b *testing.B) {
	e := newEnv(b, Config{})
	ln, err := net.Listen("tcp", upstream.String()+":0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	// A sink that acks the end with one byte.
	serveTCP(ln, func(c net.Conn) {
		io.Copy(io.Discard, c)
		c.Write([]byte{1})
	})
	c, err := e.dial(b, "tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 1<<20)
	b.SetBytes(int64(len(buf)))
	b.ResetTimer()
	for range b.N {
		if _, err := c.Write(buf); err != nil {
			b.Fatal(err)
		}
	}
	c.(*net.TCPConn).CloseWrite()
	io.ReadFull(c, make([]byte, 1)) // everything arrived
	b.StopTimer()
	c.Close()
	b.ReportMetric(float64(vmRSS())/1024, "RSS-MiB")
}

// TestRSS logs the process's RSS before a Stack and with one idle
// connection through it (run with -v; the figure is for the report).
func TestRSS(t *testing.T) {
	needNS(t)
	srv := echoTCP(t, upstream)
	settle()
	before := vmRSS()
	e := newEnv(t, Config{})
	c, err := e.dial(t, "tcp", srv.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	roundTrip(c, []byte("x"))
	time.Sleep(100 * time.Millisecond)
	t.Logf("RSS: %d KiB before New, %d KiB with the stack and one idle connection", before, vmRSS())
}

func vmRSS() int {
	st, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(st), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			var kb int
			for _, f := range strings.Fields(v)[:1] {
				for _, r := range f {
					kb = kb*10 + int(r-'0')
				}
			}
			return kb
		}
	}
	return 0
}
