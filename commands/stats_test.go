package commands

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/skiff-dev/skiff/cgroup"
	"github.com/skiff-dev/skiff/state"
)

func TestStatsLine(t *testing.T) {
	const gib = 1 << 30
	ct := &state.Container{ID: strings.Repeat("ab", 32), Name: "web", Status: state.Running}
	t0 := time.Unix(1000, 0)
	prev := statsSample{at: t0, up: true, cg: cgroup.Stats{CPUNanos: 1e9}}
	cur := statsSample{at: t0.Add(time.Second), up: true, rx: 1030, tx: 0,
		cg: cgroup.Stats{CPUNanos: 1.5e9, Memory: 1468006, MemoryLimit: math64(), BlockRead: 4096, BlockWrite: 2e6, Pids: 3}}
	for _, tc := range []struct {
		name      string
		prev, cur statsSample
		hostMem   uint64
		noTrunc   bool
		want      statsRow
	}{
		{"running, unlimited: the host's memory", prev, cur, 2 * gib, false, statsRow{
			Container: "web", ID: "abababababab", Name: "web", CPUPerc: "50.00%",
			MemUsage: "1.4MiB / 2GiB", MemPerc: "0.07%", NetIO: "1.03kB / 0B", BlockIO: "4.1kB / 2MB", PIDs: "3"}},
		{"limited", prev, withLimit(cur, 4<<20), 2 * gib, true, statsRow{
			Container: "web", ID: ct.ID, Name: "web", CPUPerc: "50.00%",
			MemUsage: "1.4MiB / 4MiB", MemPerc: "35.00%", NetIO: "1.03kB / 0B", BlockIO: "4.1kB / 2MB", PIDs: "3"}},
		{"not running", statsSample{}, statsSample{}, 2 * gib, false, statsRow{
			Container: "web", ID: "abababababab", Name: "web", CPUPerc: "0.00%",
			MemUsage: "0B / 0B", MemPerc: "0.00%", NetIO: "0B / 0B", BlockIO: "0B / 0B", PIDs: "0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := statsLine(statsTarget{ct: ct, as: "web"}, tc.prev, tc.cur, tc.hostMem, tc.noTrunc)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("row (-want +got):\n%s", diff)
			}
		})
	}
}

func math64() uint64 { return 1<<63 - 4096 } // v1's "unlimited", page-rounded

func withLimit(s statsSample, limit uint64) statsSample {
	s.cg.MemoryLimit = limit
	return s
}

func TestStatsTableAndJSON(t *testing.T) {
	rows := []statsRow{{Container: "web", ID: "abababababab", Name: "web", CPUPerc: "0.00%",
		MemUsage: "0B / 0B", MemPerc: "0.00%", NetIO: "0B / 0B", BlockIO: "0B / 0B", PIDs: "0"}}
	var b bytes.Buffer
	if err := printRows(&b, statsTable, statsHeader, rows); err != nil {
		t.Fatal(err)
	}
	wantHead := "CONTAINER ID   NAME      CPU %     MEM USAGE / LIMIT   MEM %     NET I/O   BLOCK I/O   PIDS"
	if got := strings.SplitN(b.String(), "\n", 2)[0]; got != wantHead {
		t.Errorf("header\n%q, want\n%q", got, wantHead)
	}
	b.Reset()
	if err := printRows(&b, "{{json .}}", statsHeader, rows); err != nil {
		t.Fatal(err)
	}
	want := `{"BlockIO":"0B / 0B","CPUPerc":"0.00%","Container":"web","ID":"abababababab","MemPerc":"0.00%","MemUsage":"0B / 0B","Name":"web","NetIO":"0B / 0B","PIDs":"0"}` + "\n"
	if b.String() != want {
		t.Errorf("json\n%s want\n%s", b.String(), want)
	}
}

func TestParseNetDev(t *testing.T) {
	const dev = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:  999999      10    0    0    0     0          0         0   999999      10    0    0    0     0       0          0
  eth0:    1030       9    0    0    0     0          0         0      426       5    0    0    0     0       0          0
  eth1:      70       1    0    0    0     0          0         0        4       1    0    0    0     0       0          0
`
	rx, tx := parseNetDev(strings.NewReader(dev))
	if rx != 1100 || tx != 430 {
		t.Errorf("rx, tx = %d, %d; want 1100, 430 (loopback aside)", rx, tx)
	}
}
