package dns

import (
	"net/netip"
	"runtime"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// A flood of queries for names the upstream never answers: the server's
// goroutines stay within its in-flight bound, the rest are dropped, the
// heap does not grow with the flood, and known names are still answered
// while every slot is taken.
func TestFloodBounded(t *testing.T) {
	const maxInFlight = 8
	up := startUpstream(t, func(dnsmessage.Message, string) *dnsmessage.Message { return nil })
	s := &Server{Names: members, Upstreams: []netip.AddrPort{up.addrPort()}, MaxInFlight: maxInFlight, TryTimeout: time.Second}
	ep := serve(t, s)
	time.Sleep(50 * time.Millisecond) // the serving goroutines and the upstream's are up
	base := runtime.NumGoroutine()
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)

	var peak atomic.Int64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if n := int64(runtime.NumGoroutine()); n > peak.Load() {
				peak.Store(n)
			}
			time.Sleep(100 * time.Microsecond)
		}
	}()
	c := dialT(t, "udp", ep.udp)
	const flood = 5000
	for i := range flood {
		c.Write(newQuery(t, uint16(i), "flood.example.", dnsmessage.TypeA))
	}
	// As a resolver does, retry: the kernel drops what overflows the
	// socket's buffer before the server reads it.
	var reply []byte
	for try := 0; try < 10 && reply == nil; try++ {
		reply = exchangeRaw(t, "udp", ep.udp, newQuery(t, 1, "web.", dnsmessage.TypeA), 200*time.Millisecond)
	}
	var m dnsmessage.Message
	if err := m.Unpack(reply); err != nil || !slices.Equal(answerAddrs(m), []string{"172.18.0.2"}) {
		t.Errorf("known name during the flood: %v, %v", answerAddrs(m), err)
	}
	if n := up.count.Load(); n > maxInFlight {
		t.Errorf("upstream got %d queries within the first try's deadline, want at most %d", n, maxInFlight)
	}
	close(stop)
	<-sampled

	// The sampler and ask's goroutines come and go besides the server's.
	if extra := peak.Load() - int64(base); extra > maxInFlight+4 {
		t.Errorf("goroutines peaked %d above the start, want at most MaxInFlight (%d) + 4", extra, maxInFlight)
	}
	if s.Dropped() == 0 {
		t.Errorf("no query dropped out of %d with %d slots", flood, maxInFlight)
	}
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > 1<<20 {
		t.Errorf("heap grew %d bytes over the flood, want under 1 MiB", grew)
	}
	t.Logf("%d queries: %d dropped, %d forwarded, goroutines +%d, heap %+d bytes",
		flood, s.Dropped(), up.count.Load(), peak.Load()-int64(base), int64(after.HeapAlloc)-int64(before.HeapAlloc))
}

// TCP connections past MaxConns are closed at once; those within keep
// answering.
func TestTCPConnectionsBounded(t *testing.T) {
	const maxConns = 4
	ep := serve(t, &Server{Names: members, MaxConns: maxConns})
	var held int
	for i := range maxConns + 4 {
		c := dialT(t, "tcp", ep.tcp)
		if err := writeFramed(c, newQuery(t, uint16(i), "web.", dnsmessage.TypeA)); err != nil {
			continue
		}
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		if _, err := readFramed(c); err == nil {
			held++
		}
	}
	if held != maxConns {
		t.Errorf("%d connections answered, want MaxConns %d", held, maxConns)
	}
}
