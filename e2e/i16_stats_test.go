package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Issue 16, monitoring and faults: `skiff stats`, OOM kills, a fork bomb
// under a pids limit, a CPU burner under a CFS quota.
//
// Until the limit flags (-m, --pids-limit, --cpus) exist, limits are set
// by writing the container's cgroup files from the test (v1 here, v2 on a
// pure v2 host), while the container waits at i16statsGate for the test's
// go-ahead.

// i16statsGate makes a container wait until the test runs
// `exec touch /tmp/go`, so its limits are written before it works.
const i16statsGate = "while [ ! -e /tmp/go ]; do sleep 0.1; done; "

// i16statsCgroup is a container's cgroup directory for one controller:
// its v1 hierarchy's (this VM), else on a pure v2 host (the qemu VM) the
// unified one when that controller is enabled there.
type i16statsCgroup struct {
	dir string
	v2  bool
}

func (c i16statsCgroup) file(name string) string { return filepath.Join(c.dir, name) }

// i16statsCgroupOf finds container id's cgroup for ctrl, or skips: the
// test writes its limits there.
func i16statsCgroupOf(t *testing.T, ctrl, id string) i16statsCgroup {
	t.Helper()
	v1 := filepath.Join("/sys/fs/cgroup", ctrl, "skiff", id)
	if _, err := os.Stat(v1); err == nil {
		return i16statsCgroup{dir: v1}
	}
	v2 := filepath.Join("/sys/fs/cgroup", "skiff", id)
	if b, err := os.ReadFile(filepath.Join(v2, "cgroup.controllers")); err == nil && slices.Contains(strings.Fields(string(b)), ctrl) {
		return i16statsCgroup{dir: v2, v2: true}
	}
	t.Skipf("the container has no %s cgroup, v1 or v2, to write limits in", ctrl)
	return i16statsCgroup{}
}

// i16statsCPUNanos is the CPU time the container's cgroup used.
func i16statsCPUNanos(t *testing.T, id string) uint64 {
	t.Helper()
	if c := i16statsCgroupOf(t, "cpu", id); c.v2 {
		b, err := os.ReadFile(c.file("cpu.stat"))
		if err != nil {
			t.Fatal(err)
		}
		var usec uint64
		if _, err := fmt.Sscanf(string(b), "usage_usec %d", &usec); err != nil {
			t.Fatalf("cpu.stat %q: %v", b, err)
		}
		return usec * 1000
	}
	return i16statsReadUint(t, i16statsCgroupOf(t, "cpuacct", id).file("cpuacct.usage"))
}

func i16statsWrite(t *testing.T, p, v string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(v), 0o644); err != nil {
		t.Fatalf("writing %s: %v", p, err)
	}
}

func i16statsReadUint(t *testing.T, p string) uint64 {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	return n
}

// i16statsGo lets a container waiting at i16statsGate go.
func (s *store) i16statsGo(t *testing.T, id string) {
	t.Helper()
	s.must(t, "exec", id, "touch", "/tmp/go")
}

// i16statsRow is one line of `stats --format json`.
type i16statsRow struct {
	BlockIO, CPUPerc, Container, ID, MemPerc, MemUsage, Name, NetIO, PIDs string
}

// i16statsOnce runs `stats --no-stream --format json` and parses its lines.
func (s *store) i16statsOnce(t *testing.T, args ...string) []i16statsRow {
	t.Helper()
	r := s.must(t, append([]string{"stats", "--no-stream", "--format", "json"}, args...)...)
	var rows []i16statsRow
	for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		if l == "" {
			continue
		}
		var row i16statsRow
		if err := json.Unmarshal([]byte(l), &row); err != nil {
			t.Fatalf("stats json line %q: %v", l, err)
		}
		rows = append(rows, row)
	}
	return rows
}

// i16statsBytes parses one of docker's sizes ("1.4MiB", "1.03kB", "0B").
func i16statsBytes(t *testing.T, s string) float64 {
	t.Helper()
	units := []struct {
		suffix string
		mult   float64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
		{"kB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}, {"B", 1}}
	for _, u := range units {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			f, err := strconv.ParseFloat(n, 64)
			if err != nil {
				t.Fatalf("size %q: %v", s, err)
			}
			return f * u.mult
		}
	}
	t.Fatalf("size %q has no unit", s)
	return 0
}

// i16statsPair splits "a / b" into its two sizes.
func i16statsPair(t *testing.T, s string) (float64, float64) {
	t.Helper()
	a, b, ok := strings.Cut(s, " / ")
	if !ok {
		t.Fatalf("%q is not a pair", s)
	}
	return i16statsBytes(t, a), i16statsBytes(t, b)
}

func i16statsPercent(t *testing.T, s string) float64 {
	t.Helper()
	f, err := strconv.ParseFloat(strings.TrimSuffix(s, "%"), 64)
	if err != nil || !strings.HasSuffix(s, "%") {
		t.Fatalf("percentage %q: %v", s, err)
	}
	return f
}

// A running container's stats, parsed from --format json: a CPU burner's
// CPU %, what a dd into its tmpfs holds, its processes, and the bytes its
// traffic (inside the e2e network namespace) sent and received.
func TestI16StatsRunningContainer(t *testing.T) {
	s := shared(t)
	name := uniqueName(t)
	const mib = 1 << 20
	s.runD(t, "--name", name, fx.busybox, "sh", "-c",
		"dd if=/dev/zero of=/dev/shm/fill bs=1M count=40 2>/dev/null; touch /tmp/filled; "+
			"sleep 1000 & sleep 1000 & while :; do :; done")
	deadline := time.Now().Add(20 * time.Second)
	for s.skiff(nil, "exec", name, "test", "-e", "/tmp/filled").code != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the container's dd did not finish")
		}
		time.Sleep(100 * time.Millisecond)
	}
	rows := s.i16statsOnce(t, name)
	if len(rows) != 1 {
		t.Fatalf("stats %s: %d rows, want 1: %+v", name, len(rows), rows)
	}
	row := rows[0]
	if row.Name != name || row.Container != name || !shortID.MatchString(row.ID) {
		t.Errorf("Name %q Container %q ID %q: want the name, the name as given, a 12-hex id", row.Name, row.Container, row.ID)
	}
	if cpu := i16statsPercent(t, row.CPUPerc); cpu <= 5 || cpu > 110 {
		t.Errorf("CPU %% of a busy loop %s, want above 5%% (one CPU at most)", row.CPUPerc)
	}
	used, limit := i16statsPair(t, row.MemUsage)
	if used < 40*mib || used > 60*mib {
		t.Errorf("memory %s, want about the 40MiB its tmpfs holds", row.MemUsage)
	}
	if limit < 100*mib { // no limit: the host's memory
		t.Errorf("memory limit %s, want the host's memory", row.MemUsage)
	}
	if got := i16statsPercent(t, row.MemPerc); got <= 0 {
		t.Errorf("MEM %% %s, want above 0", row.MemPerc)
	}
	if row.PIDs != "3" { // the busy loop is the shell itself
		t.Errorf("PIDs %s, want 3 (sh and two sleeps)", row.PIDs)
	}
	i16statsPair(t, row.BlockIO) // two sizes; a tmpfs writes no block

	_, txBefore := i16statsPair(t, row.NetIO)
	// Traffic on the bridge: pings to the gateway (no reply needed: what
	// was sent counts). Loopback traffic must not count.
	s.skiff(nil, "exec", name, "sh", "-c", "ping -A -c 20 -s 8000 127.0.0.1 >/dev/null 2>&1; ping -A -c 4 -s 1000 -W 1 $(ip route | awk '/default/ {print $3}') >/dev/null 2>&1")
	row = s.i16statsOnce(t, name)[0]
	rx, tx := i16statsPair(t, row.NetIO)
	if tx < txBefore+4000 {
		t.Errorf("NET I/O %s after 4 pings of 1000 bytes, before %v sent: want 4kB more sent", row.NetIO, txBefore)
	}
	if tx > txBefore+15000 || rx > 15000 {
		t.Errorf("NET I/O %s: loopback's 160kB of pings seem counted", row.NetIO)
	}
}

// --no-stream samples every container over one interval together: five
// containers take about one second, not five as docker's (moby#40437).
// -a adds stopped containers with zeros; --no-trunc gives full ids; the
// default is docker's table.
func TestI16StatsNoStreamFive(t *testing.T) {
	s := newStore(t)
	requireEnv(t)
	s.must(t, "pull", fx.busybox)
	var ids []string
	for i := 0; i < 5; i++ {
		ids = append(ids, s.runD(t, "--name", uniqueName(t), fx.busybox, "sleep", "300"))
	}
	stopped := s.create(t, "--name", uniqueName(t), fx.busybox, "true")
	var r result
	d := timed(func() { r = s.must(t, "stats", "--no-stream") })
	if d > 4*time.Second { // five intervals would be 5s
		t.Errorf("stats --no-stream over 5 containers took %v, want about one interval (1s)", d)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	wantHead := []string{"CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "NET I/O", "BLOCK I/O", "PIDS"}
	for _, h := range wantHead {
		if !strings.Contains(lines[0], h) {
			t.Errorf("header %q lacks %q", lines[0], h)
		}
	}
	if len(lines) != 6 {
		t.Fatalf("stats --no-stream: %d lines, want a header and 5 running containers:\n%s", len(lines), r.stdout)
	}
	for _, id := range ids {
		if !strings.Contains(r.stdout, short(id)) {
			t.Errorf("container %s missing:\n%s", short(id), r.stdout)
		}
	}
	rows := s.i16statsOnce(t, "-a", "--no-trunc")
	if len(rows) != 6 {
		t.Fatalf("stats -a: %d rows, want 6", len(rows))
	}
	for _, row := range rows {
		if !fullID.MatchString(row.ID) {
			t.Errorf("--no-trunc ID %q, want 64 hex", row.ID)
		}
		if row.ID == stopped {
			want := i16statsRow{BlockIO: "0B / 0B", CPUPerc: "0.00%", Container: stopped, ID: stopped, MemPerc: "0.00%",
				MemUsage: "0B / 0B", Name: row.Name, NetIO: "0B / 0B", PIDs: "0"}
			if row != want {
				t.Errorf("stopped container's row %+v, want zeros %+v", row, want)
			}
		}
	}
	if r := s.skiff(nil, "stats", "--no-stream", "nosuchcontainer"); r.code != 1 || !strings.Contains(r.stderr, "No such container: nosuchcontainer") {
		t.Errorf("stats of no container: want exit 1 and docker's message; %v", r)
	}
}

// A container over its memory limit is killed by the kernel: exit 137 and
// State.OOMKilled true, read from the memory cgroup at exit. A container
// killed with SIGKILL by hand is not OOM-killed.
func TestI16OOMKilled(t *testing.T) {
	s := shared(t)
	id := s.runD(t, "--name", uniqueName(t), fx.busybox, "sh", "-c", i16statsGate+"x=a; while :; do x=$x$x; done")
	limit := strconv.Itoa(16 << 20)
	switch cg := i16statsCgroupOf(t, "memory", id); {
	case cg.v2:
		i16statsWrite(t, cg.file("memory.max"), limit)
		if _, err := os.Stat(cg.file("memory.swap.max")); err == nil {
			i16statsWrite(t, cg.file("memory.swap.max"), "0")
		}
	default:
		i16statsWrite(t, cg.file("memory.limit_in_bytes"), limit)
		if _, err := os.Stat(cg.file("memory.memsw.limit_in_bytes")); err == nil {
			i16statsWrite(t, cg.file("memory.memsw.limit_in_bytes"), limit)
		}
	}
	s.i16statsGo(t, id)
	if r := s.must(t, "wait", id); strings.TrimSpace(r.stdout) != "137" {
		t.Errorf("wait: %q, want 137", r.stdout)
	}
	st := s.inspect(t, id).State
	if !st.OOMKilled || st.ExitCode != 137 {
		t.Errorf("State.OOMKilled %v ExitCode %d, want true and 137", st.OOMKilled, st.ExitCode)
	}
	if r := s.must(t, "inspect", "-f", "{{.State.OOMKilled}}", id); strings.TrimSpace(r.stdout) != "true" {
		t.Errorf("inspect -f {{.State.OOMKilled}}: %q", r.stdout)
	}
	// Started again, the record forgets the last OOM kill (docker's too).
	s.must(t, "start", id)
	if st := s.inspect(t, id).State; st.OOMKilled {
		t.Errorf("restarted container still says OOMKilled")
	}

	other := s.runD(t, "--name", uniqueName(t), fx.busybox, "sleep", "300")
	s.must(t, "kill", other)
	s.must(t, "wait", other)
	if st := s.inspect(t, other).State; st.OOMKilled || st.ExitCode != 137 {
		t.Errorf("killed by hand: OOMKilled %v ExitCode %d, want false and 137", st.OOMKilled, st.ExitCode)
	}
}

// An OOM kill its restart policy undoes is shown while the restart waits,
// as docker shows it (the monitor reads the memory cgroup before it
// removes it for the next start).
func TestI16OOMKilledWhileRestarting(t *testing.T) {
	s := shared(t)
	id := s.runD(t, "--name", uniqueName(t), "--restart", "always", "-m", "16m", "--memory-swap", "16m",
		fx.busybox, "sh", "-c", "x=a; while :; do x=$x$x; done")
	defer s.skiff(nil, "rm", "-f", id)
	deadline := time.Now().Add(20 * time.Second)
	for {
		st := s.inspect(t, id).State
		if st.Restarting && st.Status == "restarting" && st.ExitCode == 137 {
			if !st.OOMKilled {
				t.Fatalf("restarting after an OOM kill (exit 137) and State.OOMKilled false")
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("never saw the container restarting after an OOM kill: last state %+v", st)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A fork bomb under a pids limit stays at its limit, its forks fail with
// EAGAIN (the kernel counts them in pids.events), and skiff ps answers
// meanwhile. The bomb forks sleeps until a fork fails, which ends that
// shell (a failed fork is fatal to sh), and a loop starts the next one, so
// it never dies out as the classic `b() { b | b & }` can, sometimes before
// the limit; the container's init is a sleep that forks nothing.
func TestI16PidsForkBomb(t *testing.T) {
	s := shared(t)
	const limit = 24
	id := s.runD(t, "--name", uniqueName(t), fx.busybox, "sh", "-c", i16statsGate+"(while :; do (while :; do sleep 1000 & done); done) & exec sleep 1000")
	cg := i16statsCgroupOf(t, "pids", id) // the same file names on v1 and v2
	i16statsWrite(t, cg.file("pids.max"), strconv.Itoa(limit))
	s.i16statsGo(t, id)
	current := cg.file("pids.current")
	reached := false
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		n := i16statsReadUint(t, current)
		if n > limit {
			t.Fatalf("pids.current %d above the limit %d", n, limit)
		}
		if n == limit {
			reached = true
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !reached {
		t.Fatalf("the fork bomb never reached its limit of %d processes", limit)
	}
	var ps result
	d := timed(func() { ps = s.skiff(nil, "ps") })
	if ps.code != 0 || !strings.Contains(ps.stdout, short(id)) || d > 5*time.Second {
		t.Errorf("ps during the fork bomb: %v in %v, want the container listed at once", ps, d)
	}
	for i := 0; i < 20; i++ {
		if n := i16statsReadUint(t, current); n > limit {
			t.Fatalf("pids.current %d above the limit %d", n, limit)
		}
		time.Sleep(50 * time.Millisecond)
	}
	events, err := os.ReadFile(cg.file("pids.events"))
	if err != nil {
		t.Fatal(err)
	}
	var refused uint64
	fmt.Sscanf(string(events), "max %d", &refused)
	if refused == 0 {
		t.Errorf("pids.events %q: no fork refused (EAGAIN) at the limit", events)
	}
	// The limit, or one below while a failed shell is replaced.
	if row := s.i16statsOnce(t, id)[0]; row.PIDs != strconv.Itoa(limit) && row.PIDs != strconv.Itoa(limit-1) {
		t.Errorf("stats PIDS %s, want the limit %d", row.PIDs, limit)
	}
	if r := s.skiff(nil, "logs", id); !strings.Contains(r.stdout+r.stderr, "Resource temporarily unavailable") {
		t.Logf("logs do not show the shell's EAGAIN (the kernel's count above does): %q", r.stdout+r.stderr)
	}
	if r := s.skiff(nil, "rm", "-f", id); r.code != 0 {
		t.Errorf("rm -f of the fork bomb: %v", r)
	}
}

// A CPU burner held at half a CPU by its CFS quota, measured from its
// cgroup's CPU usage over a few seconds (tolerant bounds: two cores shared
// with other work).
func TestI16CPUQuotaHalf(t *testing.T) {
	s := shared(t)
	id := s.runD(t, "--name", uniqueName(t), fx.busybox, "sh", "-c", i16statsGate+"while :; do :; done")
	if cg := i16statsCgroupOf(t, "cpu", id); cg.v2 {
		i16statsWrite(t, cg.file("cpu.max"), "50000 100000")
	} else {
		i16statsWrite(t, cg.file("cpu.cfs_period_us"), "100000")
		i16statsWrite(t, cg.file("cpu.cfs_quota_us"), "50000")
	}
	s.i16statsGo(t, id)
	time.Sleep(500 * time.Millisecond)
	u0, t0 := i16statsCPUNanos(t, id), time.Now()
	time.Sleep(3 * time.Second)
	u1, t1 := i16statsCPUNanos(t, id), time.Now()
	cpus := float64(u1-u0) / float64(t1.Sub(t0).Nanoseconds())
	if cpus < 0.2 || cpus > 0.6 {
		t.Errorf("burner under a 0.5 CPU quota used %.2f CPUs, want about 0.5", cpus)
	}
	row := s.i16statsOnce(t, id)[0]
	if cpu := i16statsPercent(t, row.CPUPerc); cpu > 65 {
		t.Errorf("stats CPU %% %s under a 0.5 CPU quota", row.CPUPerc)
	}
}

// Without --no-stream, stats redraws docker's way (clear screen, cursor
// home, the table) once an interval, until it is stopped.
func TestI16StatsStreams(t *testing.T) {
	s := shared(t)
	name := uniqueName(t)
	s.runD(t, "--name", name, fx.busybox, "sleep", "300")
	ctx, cancel := context.WithTimeout(context.Background(), 3500*time.Millisecond)
	defer cancel()
	var out bytes.Buffer
	c := s.cmd(ctx, "stats", "--format", "{{.Name}} {{.PIDs}}", name)
	c.Stdout = &out
	c.Run() // ended by the timeout
	frames := strings.Split(out.String(), "\033[2J\033[H")
	if len(frames) < 3 || frames[0] != "" { // "" before the first clear, then 2 or 3 frames
		t.Fatalf("3.5 s of stats: want 2 or 3 redraws, got %q", out.String())
	}
	for _, f := range frames[1:] {
		if f != name+" 1\n" {
			t.Errorf("frame %q, want %q", f, name+" 1\n")
		}
	}
}
