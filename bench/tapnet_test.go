package main

import (
	"os"
	"strings"
	"testing"
	"time"
)

func TestParsePss(t *testing.T) {
	rollup := "00400000-7ffd [rollup]\nRss:               10240 kB\nPss:                6912 kB\nPss_Anon:           4000 kB\n"
	if kb, err := parsePss(rollup); err != nil || kb != 6912 {
		t.Errorf("parsePss = %d, %v; want 6912", kb, err)
	}
	if _, err := parsePss("Rss: 1 kB\n"); err == nil {
		t.Error("parsePss without a Pss line: no error")
	}
	if kb, err := smapsPss(os.Getpid()); err != nil || kb <= 0 {
		t.Errorf("smapsPss(self) = %d, %v", kb, err)
	}
}

func TestGbps(t *testing.T) {
	// 256 MiB in one second is 2.147 Gbit/s.
	if got := gbps(time.Second); got != "2.15 Gbps" {
		t.Errorf("gbps(1s) = %q", got)
	}
	if got := gbps(0); got != "-" {
		t.Errorf("gbps(0) = %q", got)
	}
}

func TestGatewayAddr(t *testing.T) {
	if got := gatewayAddr("127.0.0.1:40123"); got != "10.0.2.2:40123" {
		t.Errorf("gatewayAddr = %q", got)
	}
}

func TestOnlyTapnet(t *testing.T) {
	o := options{runN: 20, pullN: 5, rootlessN: 20, usernetN: 20, netN: 20, life: true, tapnetN: 0, ext4: "/x"}
	o.onlyTapnet()
	if o.tapnetN != 5 || o.runN != 0 || o.pullN != 0 || o.rootlessN != 0 || o.usernetN != 0 || o.netN != 0 || o.life || o.ext4 != "" {
		t.Errorf("onlyTapnet left %+v", o)
	}
	o = options{tapnetN: 3}
	o.onlyTapnet()
	if o.tapnetN != 3 {
		t.Errorf("onlyTapnet changed -tapnet-n 3 to %d", o.tapnetN)
	}
	o = options{tapnetN: 5, rootlessN: 7}
	o.onlyRootless()
	if o.tapnetN != 0 || o.rootlessN != 7 {
		t.Errorf("onlyRootless left tapnetN %d rootlessN %d", o.tapnetN, o.rootlessN)
	}
}

func TestSinkConn(t *testing.T) {
	addr, stop, err := serveLoopback(sinkConn)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	if _, err := sendBytes(addr, 1<<20); err != nil {
		t.Fatal(err)
	}
}

func TestBiggestShift(t *testing.T) {
	m := func(k string, ms float64) phaseMark { return phaseMark{key: k, ms: ms} }
	none := []phaseMark{m("cli start", 0), m("monitor dns-stopped", 46), m("monitor unpublished", 46.1), m("cli done", 50), m(wallKey, 54)}
	tap := []phaseMark{m("cli start", 0), m("monitor dns-stopped", 48), m("monitor tap-only", 50), m("monitor unpublished", 63.6), m("cli done", 68), m(wallKey, 90)}
	got := biggestShift(none, tap)
	if !strings.Contains(got, `"monitor unpublished": +15.50 ms`) {
		t.Errorf("biggestShift = %q", got)
	}
	if got := biggestShift(none, []phaseMark{m("x y", 1)}); !strings.Contains(got, "no shared mark") {
		t.Errorf("no shared mark: %q", got)
	}
}
